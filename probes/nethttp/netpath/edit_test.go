package netpath

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

var testReq = Request{
	Trace:   [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	Span:    [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	Sampled: true,
}

const testTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestEditCases(t *testing.T) {
	same, other := testReq, testReq
	same.App, other.App = AppSame, AppOther
	longLine := "GET /" + strings.Repeat("a", ReqLineMax) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	bigHead := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 5000) + "\r\n\r\n"
	for _, tc := range []struct {
		name string
		in   string
		r    Request
		ts   string
		want string
		out  Outcome
	}{
		{"get", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", testReq, "",
			"GET /a HTTP/1.1\r\ntraceparent: " + testTP + "\r\nHost: x\r\n\r\n", Inserted},
		{"tracestate", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", testReq, "congo=t61rcWkgMzE",
			"GET /a HTTP/1.1\r\ntraceparent: " + testTP + "\r\ntracestate: congo=t61rcWkgMzE\r\nHost: x\r\n\r\n", Inserted},
		{"post body GET", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\n", testReq, "",
			"POST /p HTTP/1.1\r\ntraceparent: " + testTP + "\r\nHost: x\r\nContent-Length: 20\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\n", Inserted},
		{"app other trace", "GET / HTTP/1.1\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n", other, "", "", KeptApp},
		{"forwarded same trace", "GET / HTTP/1.1\r\nHost: x\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-00\r\n\r\n", same, "",
			"GET / HTTP/1.1\r\nHost: x\r\nTraceparent: " + testTP + "\r\n\r\n", Reparented},
		{"forwarded not in window", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 5000) + "\r\n", same, "", "", SameNotSeen},
		{"forwarded malformed", "GET / HTTP/1.1\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-11\r\n\r\n", same, "", "", SameNotSeen},
		{"request line too long", longLine, testReq, "", "", NoRequestLine},
		{"head split: first write without a line end", "GET /abc", testReq, "", "", NoRequestLine},
		{"head over 4 KB", bigHead, testReq, "",
			"GET / HTTP/1.1\r\ntraceparent: " + testTP + "\r\n" + bigHead[len("GET / HTTP/1.1\r\n"):], Inserted},
		{"pipelined: first request only", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", testReq, "",
			"GET /1 HTTP/1.1\r\ntraceparent: " + testTP + "\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", Inserted},
		{"tracestate of the app kept", "GET / HTTP/1.1\r\nTracestate: a=b\r\n\r\n", Request{Trace: testReq.Trace, Span: testReq.Span, Sampled: true, AppTraceState: true}, "congo=x",
			"GET / HTTP/1.1\r\ntraceparent: " + testTP + "\r\nTracestate: a=b\r\n\r\n", Inserted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, out := Edit([]byte(tc.in), tc.r, []byte(tc.ts))
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if out != tc.out || string(got) != want {
				t.Errorf("Edit = %v %q\nwant %v %q", out, got, tc.out, want)
			}
		})
	}
}

// FuzzEdit checks the model's rules on any first write: untouched unless
// inserted or reparented; an insertion is exactly the header lines after
// the request line; a reparenting changes only the parent ID and flags of
// a traceparent of the same trace; a request Go's server parses still
// parses, with the same method, target, headers and body and exactly one
// traceparent.
func FuzzEdit(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), byte(0), true, []byte(""))
	f.Add([]byte("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET "), byte(0), false, []byte("a=b"))
	f.Add([]byte("GET / HTTP/1.1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01\r\n\r\n"), byte(2), true, []byte(""))
	f.Fuzz(func(t *testing.T, in []byte, app byte, sampled bool, ts []byte) {
		r := testReq
		r.App, r.Sampled = App(app%3), sampled
		r.AppTraceState = app&4 != 0
		orig := bytes.Clone(in)
		out, o := Edit(in, r, ts)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Edit changed its input")
		}
		switch o {
		case KeptApp, SameNotSeen, NoRequestLine:
			if !bytes.Equal(out, in) {
				t.Fatalf("%v but changed: %q -> %q", o, in, out)
			}
			return
		case Inserted:
			if r.App != AppNone {
				t.Fatalf("inserted with app %v", r.App)
			}
			eol := bytes.IndexByte(in, '\n') + 1
			if eol < 10 || eol > ReqLineMax || eol > HeadWindow {
				t.Fatalf("inserted after a request line of %d bytes", eol)
			}
			want := append(append(append([]byte{}, in[:eol]...), HeaderLines(r, ts)...), in[eol:]...)
			if !bytes.Equal(out, want) {
				t.Fatalf("inserted %q, want %q", out, want)
			}
		case Reparented:
			if r.App != AppSame || len(out) != len(in) {
				t.Fatalf("reparented with app %v, %d -> %d bytes", r.App, len(in), len(out))
			}
			i := bytes.Index(out, []byte(Traceparent(r)))
			if i < 0 || i >= HeadWindow {
				t.Fatalf("no %s in %q", Traceparent(r), out)
			}
			for j := range out {
				if out[j] != in[j] && (j < i+36 || j >= i+55) {
					t.Fatalf("byte %d changed outside the parent ID and flags", j)
				}
			}
			if !bytes.Equal(in[i:i+36], out[i:i+36]) {
				t.Fatalf("trace changed")
			}
		default:
			t.Fatalf("unknown outcome %v", o)
		}
		// What Go's server makes of it.
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		body, berr := io.ReadAll(req.Body)
		got, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(out)))
		if err != nil {
			t.Fatalf("%v: request no longer parses: %v\n%q\n%q", o, err, in, out)
		}
		gbody, gerr := io.ReadAll(got.Body)
		if got.Method != req.Method || got.RequestURI != req.RequestURI || got.Proto != req.Proto ||
			!bytes.Equal(body, gbody) || (berr == nil) != (gerr == nil) {
			t.Fatalf("%v: request changed: %s %s %s %q -> %s %s %s %q", o, req.Method, req.RequestURI, req.Proto, body,
				got.Method, got.RequestURI, got.Proto, gbody)
		}
		for k, v := range req.Header {
			if k == "Traceparent" || k == "Tracestate" {
				continue
			}
			if strings.Join(got.Header[k], "\n") != strings.Join(v, "\n") {
				t.Fatalf("%v: header %s %q -> %q", o, k, v, got.Header[k])
			}
		}
		if o == Inserted && len(req.Header["Traceparent"]) == 0 {
			if tp := got.Header["Traceparent"]; len(tp) != 1 || tp[0] != Traceparent(r) {
				t.Fatalf("traceparent %q, want one %s", tp, Traceparent(r))
			}
		}
	})
}
