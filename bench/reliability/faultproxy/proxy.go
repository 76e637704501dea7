package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one request the proxy received.
type Request struct {
	// Method and Path (without the query) of the request.
	Method, Path string
	// Query is the raw query string.
	Query string
	// Arrived is when the proxy received the request; Ended is when the
	// proxy was done with it (answered, reset, dropped or released).
	Arrived, Ended time.Time
	// Fault is the fault that struck the request ("" when it was
	// forwarded untouched).
	Fault string
	// Status is the status code the client received, 0 when it received
	// none (a reset, a lost response) or the headers came through a
	// fault (the upstream's code is kept then).
	Status int
}

// String returns "METHOD /path -> status [fault]".
func (r Request) String() string {
	s := fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status)
	if r.Fault != "" {
		s += " [" + r.Fault + "]"
	}
	return s
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithClock replaces the clock that times For windows and requests.
func WithClock(now func() time.Time) Option { return func(p *Proxy) { p.now = now } }

// Proxy is a fault-injecting reverse proxy on 127.0.0.1. It is safe for
// concurrent use.
type Proxy struct {
	upstream  *url.URL
	transport *http.Transport
	srv       *http.Server
	ln        net.Listener
	now       func() time.Time
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	rules    []*Injection
	log      []Request
	hijacked map[net.Conn]struct{}
}

// New starts a proxy on 127.0.0.1 (a free port) in front of upstream, an
// http:// base URL such as a test registry's URL. Close it when done.
func New(upstream string, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want an http://host:port URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on 127.0.0.1: %w", err)
	}
	p := &Proxy{
		upstream: &url.URL{Scheme: u.Scheme, Host: u.Host},
		transport: &http.Transport{
			Proxy:               nil,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     30 * time.Second,
		},
		ln:       ln,
		now:      time.Now,
		closing:  make(chan struct{}),
		hijacked: map[net.Conn]struct{}{},
	}
	for _, o := range opts {
		o(p)
	}
	p.srv = &http.Server{Handler: p, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Host returns the proxy's host:port, e.g. "127.0.0.1:40123".
func (p *Proxy) Host() string { return p.ln.Addr().String() }

// URL returns the proxy's base URL, e.g. "http://127.0.0.1:40123".
func (p *Proxy) URL() string { return "http://" + p.Host() }

// Close stops the proxy: it releases every stall and closes every
// connection, then the upstream connections.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closing)
		_ = p.srv.Close()
		p.mu.Lock()
		for c := range p.hijacked {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.transport.CloseIdleConnections()
	})
}

// Inject adds a rule and returns its Injection, to watch it.
func (p *Proxy) Inject(r Rule) *Injection {
	in := &Injection{p: p, rule: r, armed: r.After == nil, started: make(chan struct{})}
	p.mu.Lock()
	p.rules = append(p.rules, in)
	p.mu.Unlock()
	return in
}

// Count returns how many requests of class c the proxy has received,
// faulted or not.
func (p *Proxy) Count(c Class) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		if c.match(r.Method, r.Path) {
			n++
		}
	}
	return n
}

// Counts returns the number of requests received per class, for the given
// classes, keyed by class name.
func (p *Proxy) Counts(classes ...Class) map[string]int {
	m := make(map[string]int, len(classes))
	for _, c := range classes {
		m[c.Name] = p.Count(c)
	}
	return m
}

// Requests returns every request received so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Injection is a rule in force. Its methods are safe for concurrent use.
type Injection struct {
	p    *Proxy
	rule Rule

	// Guarded by p.mu.
	armed     bool
	spent     bool
	seen      int
	hits      []int // indices into p.log
	windowEnd time.Time

	startOnce sync.Once
	started   chan struct{}
}

// Applied returns how many requests the fault has struck.
func (in *Injection) Applied() int {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	return len(in.hits)
}

// Hits returns the requests the fault struck, in arrival order.
func (in *Injection) Hits() []Request {
	in.p.mu.Lock()
	defer in.p.mu.Unlock()
	out := make([]Request, len(in.hits))
	for i, h := range in.hits {
		out[i] = in.p.log[h]
	}
	return out
}

// Started is closed when the fault first struck: a status was sent, a
// connection reset or dropped, a body cut, or a stall began (after its n
// bytes went out).
func (in *Injection) Started() <-chan struct{} { return in.started }

func (in *Injection) strike() { in.startOnce.Do(func() { close(in.started) }) }

// decide is called under p.mu for a request that just arrived (log index
// idx) and reports whether the rule strikes it.
func (in *Injection) decide(method, path string, now time.Time, idx int) bool {
	if in.spent {
		return false
	}
	if !in.armed {
		if !in.rule.After.match(method, path) {
			return false
		}
		in.armed = true
	}
	if !in.rule.Class.match(method, path) {
		return false
	}
	if !in.windowEnd.IsZero() && !now.Before(in.windowEnd) {
		in.spent = true
		return false
	}
	in.seen++
	if in.seen <= in.rule.Skip {
		return false
	}
	if in.rule.Times > 0 && len(in.hits) >= in.rule.Times {
		in.spent = true
		return false
	}
	if in.rule.For > 0 && in.windowEnd.IsZero() {
		in.windowEnd = now.Add(in.rule.For)
	}
	in.hits = append(in.hits, idx)
	return true
}

// arrive logs r and picks the rule that strikes it, if any.
func (p *Proxy) arrive(r *http.Request) (int, *Injection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	idx := len(p.log)
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Arrived: now})
	for _, in := range p.rules {
		if in.decide(r.Method, r.URL.Path, now, idx) {
			p.log[idx].Fault = in.rule.Fault.String()
			return idx, in
		}
	}
	return idx, nil
}

// end records the status the client got for request idx.
func (p *Proxy) end(idx, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log[idx].Status = status
	p.log[idx].Ended = p.now()
}

// ServeHTTP forwards r to the upstream, or applies the fault of the first
// rule that strikes it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idx, in := p.arrive(r)
	status := 0
	defer func() { p.end(idx, status) }()
	if in == nil || in.rule.Fault.kind == kindPass {
		if in != nil {
			in.strike()
		}
		status = p.forward(w, r)
		return
	}
	f := in.rule.Fault
	switch f.kind {
	case kindStatus:
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		code := "UNAVAILABLE"
		if f.status == http.StatusTooManyRequests {
			code = "TOOMANYREQUESTS"
		}
		_, _ = fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"faultproxy: injected %d"}]}`+"\n", code, f.status)
		status = f.status
		in.strike()
	case kindReset:
		p.hijackAndClose(w, true)
		in.strike()
	case kindResetAfter:
		if hasBody(r) {
			_, _ = io.CopyN(io.Discard, r.Body, f.n)
			p.hijackAndClose(w, true)
			in.strike()
			return
		}
		status = p.cut(w, r, in)
	case kindTruncate, kindStall:
		status = p.cut(w, r, in)
	case kindLost:
		resp, err := p.roundTrip(r)
		if err != nil {
			status = badGateway(w, err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		p.hijackAndClose(w, false)
		in.strike()
	}
}

// hasBody reports whether r carries a request body.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// forward relays r to the upstream and its response back, streaming, and
// returns the status code.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) int {
	resp, err := p.roundTrip(r)
	if err != nil {
		return badGateway(w, err)
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHopHeaders(h)
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		// The upstream or the client broke off mid-body: abort the
		// client's connection rather than end the body cleanly.
		panic(http.ErrAbortHandler)
	}
	return resp.StatusCode
}

// cut forwards r, then gives the client the response headers and a part
// of the body, and resets, closes or stalls the connection as the fault
// of in says. It returns the upstream's status code.
func (p *Proxy) cut(w http.ResponseWriter, r *http.Request, in *Injection) int {
	f := in.rule.Fault
	resp, err := p.roundTrip(r)
	if err != nil {
		return badGateway(w, err)
	}
	defer resp.Body.Close()
	conn, bw, ok := p.hijack(w)
	if !ok {
		return 0
	}
	defer p.release(conn)
	n := f.n
	if r.Method == http.MethodHead {
		n = 0
	} else if resp.ContentLength >= 0 && n >= resp.ContentLength {
		n = max(resp.ContentLength-1, 0)
	}
	writeHead(bw.Writer, resp)
	_, _ = io.CopyN(bw.Writer, resp.Body, n)
	_ = bw.Flush()
	switch f.kind {
	case kindStall:
		in.strike()
		gone := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, bw.Reader)
			close(gone)
		}()
		select {
		case <-gone:
		case <-p.closing:
		}
		_ = conn.Close()
	case kindResetAfter:
		reset(conn)
		in.strike()
	default: // kindTruncate
		_ = conn.Close()
		in.strike()
	}
	return resp.StatusCode
}

// roundTrip sends r to the upstream with the client's Host header, so that
// the registry's absolute URLs point back at the proxy.
func (p *Proxy) roundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	u := *p.upstream
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out.URL = &u
	out.RequestURI = ""
	out.Host = r.Host
	out.Close = false
	removeHopHeaders(out.Header)
	if !hasBody(r) {
		out.Body = http.NoBody
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %s %s to %s: %w", r.Method, r.URL.Path, p.upstream.Host, err)
	}
	return resp, nil
}

func badGateway(w http.ResponseWriter, err error) int {
	http.Error(w, err.Error(), http.StatusBadGateway)
	return http.StatusBadGateway
}

// hijack takes over the client's connection.
func (p *Proxy) hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	conn, bw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, false
	}
	p.mu.Lock()
	p.hijacked[conn] = struct{}{}
	p.mu.Unlock()
	return conn, bw, true
}

// release forgets a hijacked connection (closing it).
func (p *Proxy) release(conn net.Conn) {
	_ = conn.Close()
	p.mu.Lock()
	delete(p.hijacked, conn)
	p.mu.Unlock()
}

// hijackAndClose drops the client's connection without a response: with
// a TCP RST when rst is set, else with a clean close.
func (p *Proxy) hijackAndClose(w http.ResponseWriter, rst bool) {
	conn, _, ok := p.hijack(w)
	if !ok {
		return
	}
	if rst {
		reset(conn)
	}
	p.release(conn)
}

// reset closes conn with a TCP RST instead of a FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeHead writes resp's status line and headers for a connection that
// closes after the body: Content-Length is the upstream's.
func writeHead(w *bufio.Writer, resp *http.Response) {
	_, _ = fmt.Fprintf(w, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	removeHopHeaders(h)
	h.Del("Content-Length")
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("Connection", "close")
	_ = h.Write(w)
	_, _ = w.WriteString("\r\n")
}

// hopHeaders are the hop-by-hop headers a proxy does not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, k := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(k))
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}
