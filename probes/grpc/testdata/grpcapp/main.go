// Command grpcapp is the gRPC probe's test program: a gRPC server, an HTTP
// server whose handler makes gRPC calls, or both in one process. Its
// service is declared with grpc's generic API (a hand-written ServiceDesc
// and a codec of plain strings), so no protoc output is needed, and it
// builds against every grpc-go release the probe supports.
//
//	GRPCAPP_MODE=server   gRPC server on 127.0.0.1:0
//	GRPCAPP_MODE=client   HTTP server; GET /run?target=ADDR makes the calls
//	GRPCAPP_MODE=both     both (the default); /run calls its own gRPC server
//
// It prints "listening on ADDR" for the address the test talks to: the gRPC
// one for server, the HTTP one otherwise.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const service = "sonde.test.Echo"

// codec carries messages as plain strings (*string).
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) { return []byte(*v.(*string)), nil }
func (codec) Unmarshal(b []byte, v any) error {
	*v.(*string) = string(b)
	return nil
}
func (codec) Name() string { return "sonderaw" }

func unary(f func(ctx context.Context, in string) (string, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in string
		if err := dec(&in); err != nil {
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return &out, nil
	}
}

// self is the client of the process's own server ("both"), for Nested.
var self *grpc.ClientConn

var desc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Ok", Handler: unary(func(_ context.Context, in string) (string, error) { return "ok " + in, nil })},
		{MethodName: "NotFound", Handler: unary(func(context.Context, string) (string, error) {
			return "", status.Error(codes.NotFound, "no such thing")
		})},
		{MethodName: "Internal", Handler: unary(func(context.Context, string) (string, error) {
			return "", status.Error(codes.Internal, "boom")
		})},
		{MethodName: "Sleep", Handler: unary(func(ctx context.Context, _ string) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})},
		{MethodName: "Traced", Handler: unary(func(ctx context.Context, _ string) (string, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			return strings.Join(md.Get("traceparent"), ","), nil
		})},
		{MethodName: "Nested", Handler: unary(func(ctx context.Context, in string) (string, error) {
			// A call made on the handler's goroutine with its context.
			var out string
			if self == nil {
				return "", status.Error(codes.FailedPrecondition, "no self client")
			}
			err := self.Invoke(ctx, "/"+service+"/Ok", &in, &out)
			return out, err
		})},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "ServerStream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			var in string
			if err := ss.RecvMsg(&in); err != nil {
				return err
			}
			n, _ := strconv.Atoi(in)
			for i := 0; i < n; i++ {
				m := strconv.Itoa(i)
				if err := ss.SendMsg(&m); err != nil {
					return err
				}
			}
			return nil
		}},
		{StreamName: "ClientStream", ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			n := 0
			for {
				var in string
				err := ss.RecvMsg(&in)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				n++
			}
			out := strconv.Itoa(n)
			return ss.SendMsg(&out)
		}},
		{StreamName: "Bidi", ServerStreams: true, ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			for {
				var in string
				err := ss.RecvMsg(&in)
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := ss.SendMsg(&in); err != nil {
					return err
				}
			}
		}},
	},
}

func serve() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	s.RegisterService(&desc, nil)
	go s.Serve(l)
	return l.Addr().String()
}

var (
	mu    sync.Mutex
	conns = map[string]*grpc.ClientConn{}
)

func dial(target string) (*grpc.ClientConn, error) {
	mu.Lock()
	defer mu.Unlock()
	if c := conns[target]; c != nil {
		return c, nil
	}
	c, err := grpc.Dial(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype(codec{}.Name())))
	if err != nil {
		return nil, err
	}
	conns[target] = c
	return c, nil
}

func call(ctx context.Context, c *grpc.ClientConn, method, in string) (string, error) {
	var out string
	err := c.Invoke(ctx, "/"+service+"/"+method, &in, &out)
	return out, err
}

// stream runs one streaming RPC: sends msgs (then half-closes) and
// receives until the end, returning what it received.
func stream(ctx context.Context, c *grpc.ClientConn, method string, sd *grpc.StreamDesc, msgs ...string) ([]string, error) {
	cs, err := c.NewStream(ctx, sd, "/"+service+"/"+method)
	if err != nil {
		return nil, err
	}
	var got []string
	for _, m := range msgs {
		m := m
		if err := cs.SendMsg(&m); err != nil {
			return nil, err
		}
		if sd.ServerStreams && sd.ClientStreams { // bidi: echo each
			var r string
			if err := cs.RecvMsg(&r); err != nil {
				return nil, err
			}
			got = append(got, r)
		}
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	for {
		var r string
		err := cs.RecvMsg(&r)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, r)
		if !sd.ServerStreams {
			return got, nil // one response; RecvMsg took the status too
		}
	}
}

// scenarios runs every call against target, in order, and reports each.
func scenarios(ctx context.Context, target, tp, ts string) string {
	c, err := dial(target)
	if err != nil {
		return "dial: " + err.Error()
	}
	var b strings.Builder
	report := func(name string, v any, err error) {
		fmt.Fprintf(&b, "%s: %v %v\n", name, v, status.Code(err))
	}
	out, err := call(ctx, c, "Ok", "hi")
	report("Ok", out, err)
	out, err = call(ctx, c, "NotFound", "x")
	report("NotFound", out, err)
	out, err = call(ctx, c, "Internal", "x")
	report("Internal", out, err)
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	out, err = call(dctx, c, "Sleep", "x")
	cancel()
	report("Sleep", out, err)
	got, err := stream(ctx, c, "ServerStream", &grpc.StreamDesc{ServerStreams: true}, "3")
	report("ServerStream", got, err)
	got, err = stream(ctx, c, "ClientStream", &grpc.StreamDesc{ClientStreams: true}, "a", "b", "c")
	report("ClientStream", got, err)
	got, err = stream(ctx, c, "Bidi", &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "a", "b", "c")
	report("Bidi", got, err)
	if tp != "" {
		tctx := metadata.AppendToOutgoingContext(ctx, "traceparent", tp)
		if ts != "" {
			tctx = metadata.AppendToOutgoingContext(tctx, "tracestate", ts)
		}
		out, err = call(tctx, c, "Traced", "x")
		report("Traced", out, err)
	}
	if self != nil {
		out, err = call(ctx, c, "Nested", "n")
		report("Nested", out, err)
	}
	return b.String()
}

// loop makes n Ok calls, or n messages on one bidi stream (for counting
// probe hits), or cancels a bidi stream after one message.
func loop(ctx context.Context, target, kind string, n int) string {
	c, err := dial(target)
	if err != nil {
		return err.Error()
	}
	switch kind {
	case "unary":
		for i := 0; i < n; i++ {
			if _, err := call(ctx, c, "Ok", "x"); err != nil {
				return err.Error()
			}
		}
	case "cancel":
		// A bidi stream the client abandons by cancelling its context.
		sctx, cancel := context.WithCancel(ctx)
		cs, err := c.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/"+service+"/Bidi")
		if err != nil {
			cancel()
			return err.Error()
		}
		m := "x"
		if err := cs.SendMsg(&m); err != nil {
			cancel()
			return err.Error()
		}
		if err := cs.RecvMsg(&m); err != nil {
			cancel()
			return err.Error()
		}
		cancel()
		if err := cs.RecvMsg(&m); status.Code(err) != codes.Canceled {
			return "after cancel: " + err.Error()
		}
	case "bidi":
		msgs := make([]string, n)
		if _, err := stream(ctx, c, "Bidi", &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, msgs...); err != nil {
			return err.Error()
		}
	}
	return "done"
}

func main() {
	encoding.RegisterCodec(codec{})
	mode := os.Getenv("GRPCAPP_MODE")
	if mode == "" {
		mode = "both"
	}
	own := ""
	if mode == "server" || mode == "both" {
		own = serve()
		if mode == "server" {
			fmt.Println("listening on", own)
			select {}
		}
		c, err := dial(own)
		if err != nil {
			log.Fatal(err)
		}
		self = c
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/run", func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Query().Get("target")
		if target == "" {
			target = own
		}
		q := r.URL.Query()
		fmt.Fprint(w, scenarios(r.Context(), target, q.Get("traceparent"), q.Get("tracestate")))
	})
	// /big: one Ok call whose metadata holds a value of 2000 bytes.
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Query().Get("target")
		if target == "" {
			target = own
		}
		c, err := dial(target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		ctx := metadata.AppendToOutgoingContext(r.Context(), "x-big", strings.Repeat("a", 2000))
		out, err := call(ctx, c, "Ok", "big")
		fmt.Fprintln(w, out, status.Code(err))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Query().Get("target")
		if target == "" {
			target = own
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		fmt.Fprint(w, loop(r.Context(), target, r.URL.Query().Get("kind"), n))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", l.Addr())
	if own != "" {
		fmt.Println("grpc on", own)
	}
	log.Fatal(http.Serve(l, mux))
}
