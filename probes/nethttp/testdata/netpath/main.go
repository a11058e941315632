// Command netpath is the fixture of the network-path propagation tests.
// ROLE=callee serves /echo: it answers with the traceparent and tracestate
// values it received and checksums of the body and the X-Data headers.
// ROLE=caller (and ROLE=plain, run uninstrumented) call CALLEE's /echo
// from their handlers: /seq, /conc, /own, /forward; the caller's /record
// sends crafted requests to a recorder and returns the first write and the
// rest of each, as net/http's transport writes them. It builds with Go
// 1.19 (math/rand, counted loops, patterns without a method), so that the
// network path runs against the oldest net/http here too.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Echo is /echo's answer.
type Echo struct {
	Traceparent []string `json:"traceparent"`
	Tracestate  []string `json:"tracestate"`
	BodySum     string   `json:"body_sum"`
	HeaderSum   string   `json:"header_sum"`
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func headerSum(h http.Header) string {
	return sum([]byte(strings.Join(h.Values("X-Data"), "\n") + "|" + h.Get("Content-Type")))
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	json.NewEncoder(w).Encode(Echo{
		Traceparent: r.Header.Values("Traceparent"), Tracestate: r.Header.Values("Tracestate"),
		BodySum: sum(body), HeaderSum: headerSum(r.Header),
	})
}

var (
	callee string
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
)

// Result sums up calls to /echo.
type Result struct {
	N           int      `json:"n"`
	OneTP       int      `json:"one_traceparent"` // exactly one traceparent received
	SumsOK      int      `json:"sums_ok"`
	Errors      []string `json:"errors,omitempty"`
	Traceparent []string `json:"traceparent,omitempty"` // of the last call
}

func (res *Result) add(e Echo, err error, bodySum, hdrSum string) {
	res.N++
	if err != nil {
		if len(res.Errors) < 5 {
			res.Errors = append(res.Errors, err.Error())
		}
		return
	}
	if len(e.Traceparent) == 1 {
		res.OneTP++
	}
	if e.BodySum == bodySum && e.HeaderSum == hdrSum {
		res.SumsOK++
	}
	res.Traceparent = e.Traceparent
}

// call sends one request with a random body and X-Data headers to /echo,
// with the extra headers hdr.
func call(r *http.Request, rng *rand.Rand, hdr http.Header) (Echo, string, string, error) {
	n := rng.Intn(3000)
	if rng.Intn(10) == 0 {
		n = 4000 + rng.Intn(8000) // over the 4 KB write buffer
	}
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(rng.Intn(256))
	}
	if rng.Intn(5) == 0 {
		copy(body, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	method := "POST"
	if n == 0 {
		method = "GET"
	}
	req, _ := http.NewRequestWithContext(r.Context(), method, "http://"+callee+"/echo", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	for i, k := 0, 1+rng.Intn(3); i < k; i++ {
		req.Header.Add("X-Data", strconv.FormatUint(rng.Uint64(), 36)+"; a=\"b\"")
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var e Echo
	resp, err := client.Do(req)
	if err != nil {
		return e, "", "", err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&e)
	return e, sum(body), headerSum(req.Header), err
}

// newRand returns a generator seeded from a and b.
func newRand(a, b uint64) *rand.Rand { return rand.New(rand.NewSource(int64(a<<8 | b))) }

func reply(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }

func main() {
	callee = os.Getenv("CALLEE")
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/seq", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		rng := newRand(uint64(n), 1)
		var res Result
		for i := 0; i < n; i++ {
			e, bs, hs, err := call(r, rng, nil)
			res.add(e, err, bs, hs)
		}
		reply(w, res)
	})
	mux.HandleFunc("/conc", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		var mu sync.Mutex
		var wg sync.WaitGroup
		var res Result
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				rng := newRand(uint64(i), 2)
				<-start
				e, bs, hs, err := call(r, rng, nil)
				mu.Lock()
				res.add(e, err, bs, hs)
				mu.Unlock()
			}(i)
		}
		close(start)
		wg.Wait()
		reply(w, res)
	})
	mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		var res Result
		e, bs, hs, err := call(r, newRand(3, 3), http.Header{"Traceparent": {r.URL.Query().Get("tp")}})
		res.add(e, err, bs, hs)
		reply(w, res)
	})
	mux.HandleFunc("/forward", func(w http.ResponseWriter, r *http.Request) {
		// A proxy: the caller's trace context goes on unchanged.
		var res Result
		e, bs, hs, err := call(r, newRand(4, 4), http.Header{"Traceparent": r.Header.Values("Traceparent")})
		res.add(e, err, bs, hs)
		reply(w, res)
	})
	mux.HandleFunc("/record", record)
	mux.HandleFunc("/tls", func(w http.ResponseWriter, r *http.Request) {
		// HTTPS (HTTP/1.1 over TLS) to a server of this process: the
		// kernel sees ciphertext, which is never edited.
		srv := httptest.NewUnstartedServer(http.HandlerFunc(echo))
		srv.EnableHTTP2 = false
		srv.StartTLS()
		defer srv.Close()
		c := srv.Client()
		req, _ := http.NewRequestWithContext(r.Context(), "GET", srv.URL+"/echo", nil)
		var res Result
		var e Echo
		resp, err := c.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
		}
		res.add(e, err, sum(nil), headerSum(req.Header))
		reply(w, res)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Recorded is one request of /record: its first write and the rest, as
// the transport writes them.
type Recorded struct {
	Name  string `json:"name"`
	First []byte `json:"first"`
	Rest  []byte `json:"rest"`
}

// writes records each Write as one element.
type writes [][]byte

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, append([]byte(nil), p...))
	return len(p), nil
}

// recordCases are the requests /record sends; inTP is the caller's
// traceparent.
func recordCases(r *http.Request, to string) []func() *http.Request {
	u := "http://" + to + "/rec/"
	mk := func(method, name string, body io.Reader, hdr ...string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequestWithContext(r.Context(), method, u+name, body)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			return req
		}
	}
	big := strings.Repeat("b", 5000)
	return []func() *http.Request{
		mk("GET", "get", nil),
		mk("POST", "post", nil, "Content-Type", "text/plain"),
		mk("POST", "getbody", nil),
		mk("GET", "bighead", nil, "X-Big", big),
		mk("POST", "bigbody", nil),
		mk("GET", "longline?q="+strings.Repeat("q", 3000), nil),
		mk("GET", "own", nil, "Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
		mk("GET", "same", nil, "Traceparent", r.Header.Get("Traceparent")),
		mk("GET", "apptracestate", nil, "Tracestate", "app=1"),
		mk("POST", "chunked", nil),
	}
}

// recordBodies are the bodies of the record cases, by name.
var recordBodies = map[string]string{
	"post":    "hello",
	"getbody": "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"bigbody": strings.Repeat("0123456789", 1000),
	"chunked": "chunked body",
}

func record(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	var out []Recorded
	for _, mk := range recordCases(r, to) {
		req := mk()
		name := strings.TrimPrefix(req.URL.Path, "/rec/")
		body := recordBodies[name]
		withBody := func(req *http.Request) {
			if body == "" {
				return
			}
			if name == "chunked" {
				req.Body = io.NopCloser(io.MultiReader(strings.NewReader(body)))
				req.ContentLength = -1
				return
			}
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body))
		}
		// What the transport writes: the same request written to a 4 KB
		// bufio.Writer (its write buffer) over a recorder.
		rec, copyReq := &writes{}, mk()
		withBody(copyReq)
		bw := bufio.NewWriterSize(rec, 4096)
		copyReq.Write(bw)
		bw.Flush()
		withBody(req)
		resp, err := c.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		var first, rest []byte
		if len(*rec) > 0 {
			first = (*rec)[0]
			rest = bytes.Join((*rec)[1:], nil)
		}
		out = append(out, Recorded{Name: name, First: first, Rest: rest})
	}
	reply(w, out)
}
