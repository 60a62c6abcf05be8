package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ---- the virtual inbound listener ------------------------------------------------------------

// origConn is a redirected connection that reports its original destination (SO_ORIGINAL_DST)
// as its local address, as Envoy's original_dst listener filter restores it.
type origConn struct {
	net.Conn
	orig net.Addr
}

func (o *origConn) LocalAddr() net.Addr { return o.orig }

// SO_ORIGINAL_DST from linux/netfilter_ipv4.h.
const soOriginalDst = 80

func originalDst(c net.Conn) (*net.TCPAddr, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var addr *net.TCPAddr
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		// The kernel returns a sockaddr_in; the IPv6Mreq struct is a 20-byte buffer that holds it.
		mreq, e := syscall.GetsockoptIPv6Mreq(int(fd), syscall.IPPROTO_IP, soOriginalDst)
		if e != nil {
			sockErr = e
			return
		}
		b := mreq.Multiaddr
		addr = &net.TCPAddr{IP: net.IPv4(b[4], b[5], b[6], b[7]), Port: int(b[2])<<8 | int(b[3])}
	})
	if err != nil {
		return nil, err
	}
	return addr, sockErr
}

// chanListener feeds one filter chain the connections the virtual listener sorted to it.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (cl *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-cl.conns:
		return c, nil
	case <-cl.done:
		return nil, net.ErrClosed
	}
}

func (cl *chanListener) Close() error {
	cl.once.Do(func() { close(cl.done) })
	return nil
}

func (cl *chanListener) Addr() net.Addr { return cl.addr }

func (cl *chanListener) deliver(c net.Conn) {
	select {
	case cl.conns <- c:
	case <-cl.done:
		c.Close()
	}
}

// startInbound listens where the pod's capture rule redirects inbound TCP (Istio's 15006) and
// hands each connection to the chain for its original destination port; a port without a chain
// is passed through untouched, as Istio's passthrough chain does.
func startInbound(cfg *Config, id *identity, l Listener) (func(), error) {
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return nil, err
	}
	chains := map[int]func(net.Conn){}
	var closers []func()
	for _, c := range l.Chains {
		serve, closeFn, err := startChain(cfg, id, l.Name, c)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("chain for port %d: %w", c.Port, err)
		}
		chains[c.Port] = serve
		closers = append(closers, closeFn)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				orig, err := originalDst(c)
				if err != nil {
					c.Close()
					return
				}
				oc := &origConn{Conn: c, orig: orig}
				if serve, ok := chains[orig.Port]; ok {
					serve(oc)
					return
				}
				passthrough(oc, orig.String())
			}()
		}
	}()
	return func() {
		ln.Close()
		for _, c := range closers {
			c()
		}
	}, nil
}

func passthrough(c net.Conn, upstream string) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	pipe(c, up)
}

// sortTLS applies the chain's PeerAuthentication mode: STRICT wraps every connection in TLS
// (a plaintext client fails the handshake and is closed), PERMISSIVE sniffs the first byte (a TLS
// record starts with 0x16), DISABLE serves plaintext.
func sortTLS(c net.Conn, mode string, id *identity) net.Conn {
	switch mode {
	case "DISABLE":
		return c
	case "", "STRICT":
		return tls.Server(c, id.serverTLS())
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil
	}
	peeked := &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		return tls.Server(peeked, id.serverTLS())
	}
	return peeked
}

func startChain(cfg *Config, id *identity, listener string, c Chain) (func(net.Conn), func(), error) {
	if c.TLSMode != "DISABLE" && id == nil {
		return nil, nil, fmt.Errorf("tlsMode %q needs an identity", c.TLSMode)
	}
	authz, err := buildAuthorizers(cfg, c)
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("%s:%d", listener, c.Port)
	if c.Protocol == "tcp" {
		return func(conn net.Conn) {
			if sorted := sortTLS(conn, c.TLSMode, id); sorted != nil {
				serveInboundTCP(sorted, name, c, id, authz)
			}
		}, func() {}, nil
	}
	cl := newChanListener(&net.TCPAddr{Port: c.Port})
	h := &inboundHTTP{name: name, chain: c, id: id, authz: authz}
	h.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// ORIGINAL_DST: the app at the address the client dialled.
			local, _ := pr.In.Context().Value(http.LocalAddrContextKey).(net.Addr)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = local.String()
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Envoy's answer when the upstream cannot be reached.
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "upstream connect error or disconnect/reset before headers")
		},
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(cl)
	return func(conn net.Conn) {
		sorted := sortTLS(conn, c.TLSMode, id)
		if sorted == nil {
			return
		}
		// Envoy closes a connection whose TLS handshake fails (a plaintext client under STRICT);
		// net/http would answer it with a 400 instead, so the handshake happens here first.
		if tc, ok := sorted.(*tls.Conn); ok {
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				tc.Close()
				return
			}
			tc.SetDeadline(time.Time{})
		}
		cl.deliver(sorted)
	}, func() { srv.Close() }, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// ---- the ext_authz call ---------------------------------------------------------------------

type verdict struct {
	kind    string // allowed, denied, error, skipped
	status  int
	headers []*corev3.HeaderValueOption
	removes []string
	respAdd []*corev3.HeaderValueOption
	body    string
	detail  string
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strconv.FormatUint(binary.BigEndian.Uint64(b[:]), 10)
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func socketAddress(addr net.Addr) *corev3.Address {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	p, _ := strconv.Atoi(port)
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Protocol:      corev3.SocketAddress_TCP,
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)},
	}}}
}

// peers fills source and destination as Envoy does: downstream remote/local addresses, the peer
// certificate's principal and our own (only on a TLS connection).
func peers(remote, local net.Addr, id *identity, peer *x509.Certificate) (*authv3.AttributeContext_Peer, *authv3.AttributeContext_Peer) {
	src := &authv3.AttributeContext_Peer{Address: socketAddress(remote)}
	dst := &authv3.AttributeContext_Peer{Address: socketAddress(local)}
	if peer != nil {
		src.Principal = principalOf(peer)
		dst.Principal = id.principal
	}
	return src, dst
}

func (a *authorizer) call(req *authv3.CheckRequest) verdict {
	resp, err := a.check(req)
	if err != nil {
		if a.settings.FailureModeAllow {
			v := verdict{kind: "allowed", detail: "failure_mode_allow: " + err.Error()}
			if a.settings.AddFailureHeader {
				v.headers = []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-envoy-auth-failure-mode-allowed", Value: "true"}}}
			}
			return v
		}
		return verdict{kind: "error", status: a.settings.StatusOnError, detail: err.Error()}
	}
	if resp.GetStatus().GetCode() != 0 {
		v := verdict{kind: "denied", status: http.StatusForbidden, detail: resp.GetStatus().GetMessage()}
		if d := resp.GetDeniedResponse(); d != nil {
			if code := d.GetStatus().GetCode(); code != 0 {
				v.status = int(code)
			}
			v.headers = d.GetHeaders()
			v.body = d.GetBody()
		}
		return v
	}
	v := verdict{kind: "allowed"}
	if ok := resp.GetOkResponse(); ok != nil {
		v.headers = ok.GetHeaders()
		v.removes = ok.GetHeadersToRemove()
		v.respAdd = ok.GetResponseHeadersToAdd()
	}
	return v
}

// applyHeaders follows HeaderValueOption: append (the deprecated bool, default true for ext_authz
// ok_response), else overwrite.
func applyHeaders(h http.Header, opts []*corev3.HeaderValueOption) {
	for _, o := range opts {
		key, value := o.GetHeader().GetKey(), o.GetHeader().GetValue()
		switch {
		case o.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
			h.Set(key, value)
		case o.GetAppendAction() == corev3.HeaderValueOption_ADD_IF_ABSENT:
			if h.Get(key) == "" {
				h.Set(key, value)
			}
		case o.GetAppend() != nil && !o.GetAppend().GetValue():
			h.Set(key, value)
		default:
			h.Add(key, value)
		}
	}
}

// ---- HTTP inbound ---------------------------------------------------------------------------

type inboundHTTP struct {
	name  string
	chain Chain
	id    *identity
	authz []*authorizer
	proxy *httputil.ReverseProxy
}

func (h *inboundHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, _ := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	var peer *x509.Certificate
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		peer = r.TLS.PeerCertificates[0]
	}
	// What Envoy's HTTP connection manager adds before the filters run.
	if r.Header.Get("x-request-id") == "" {
		r.Header.Set("x-request-id", uuid())
	}
	r.Header.Set("x-forwarded-proto", "http")
	if peer != nil {
		r.Header.Add("x-forwarded-client-cert", h.id.xfcc(peer))
	}

	v := verdict{kind: "skipped"}
	for _, a := range h.authz {
		if h.chain.Custom != nil && !customMatches(h.chain.Custom, r.Method, r.RequestURI, strconv.Itoa(h.chain.Port)) {
			continue
		}
		src, dst := peers(remote, local, h.id, peer)
		req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source:      src,
			Destination: dst,
			Request: &authv3.AttributeContext_Request{
				Time: timestamppb.New(started),
				Http: &authv3.AttributeContext_HttpRequest{
					Id:       newRequestID(),
					Method:   r.Method,
					Headers:  checkHeaders(r),
					Path:     r.RequestURI,
					Host:     r.Host,
					Scheme:   "http",
					Protocol: r.Proto,
					Size:     r.ContentLength,
				},
			},
			MetadataContext: &corev3.Metadata{},
		}}
		v = a.call(req)
		if v.kind != "allowed" {
			break
		}
		applyHeaders(r.Header, v.headers)
		for _, k := range v.removes {
			r.Header.Del(k)
		}
		applyHeaders(w.Header(), v.respAdd)
	}
	logLine(map[string]any{
		"msg": "check", "chain": h.name, "verdict": v.kind, "method": r.Method, "path": r.RequestURI,
		"source": r.RemoteAddr, "principal": principalOrEmpty(peer), "detail": v.detail,
		"checkMs": float64(time.Since(started).Microseconds()) / 1000,
	})
	if v.kind == "denied" || v.kind == "error" {
		applyHeaders(w.Header(), v.headers)
		w.Header().Set("content-length", strconv.Itoa(len(v.body)))
		w.WriteHeader(v.status)
		io.WriteString(w, v.body)
		return
	}
	h.proxy.ServeHTTP(w, r)
}

func principalOrEmpty(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return principalOf(c)
}

// checkHeaders is request.http.headers as Envoy fills it: lower-case names, the HTTP/2-style
// pseudo-headers, and repeated headers joined with ",".
func checkHeaders(r *http.Request) map[string]string {
	out := map[string]string{
		":authority": r.Host,
		":method":    r.Method,
		":path":      r.RequestURI,
	}
	for k, vs := range r.Header {
		out[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	// Envoy reports a body-less request's length as "content-length: 0" (the istio.io task's log).
	if r.ContentLength >= 0 && r.Header.Get("content-length") == "" && (r.Method == http.MethodGet || r.ContentLength > 0) {
		out["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	return out
}

// ---- TCP inbound (network ext_authz: one Check per connection, no HTTP attributes) ------------

func serveInboundTCP(c net.Conn, name string, l Chain, id *identity, authz []*authorizer) {
	defer c.Close()
	started := time.Now()
	var peer *x509.Certificate
	if tc, ok := c.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		tc.SetDeadline(time.Time{})
		if pcs := tc.ConnectionState().PeerCertificates; len(pcs) > 0 {
			peer = pcs[0]
		}
	}
	v := verdict{kind: "skipped"}
	for _, a := range authz {
		if l.Custom != nil && !customMatches(l.Custom, "", "", strconv.Itoa(l.Port)) {
			continue
		}
		src, dst := peers(c.RemoteAddr(), c.LocalAddr(), id, peer)
		v = a.call(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{Source: src, Destination: dst}})
		if v.kind != "allowed" {
			break
		}
	}
	logLine(map[string]any{
		"msg": "check", "chain": name, "verdict": v.kind, "source": c.RemoteAddr().String(),
		"principal": principalOrEmpty(peer), "detail": v.detail,
		"checkMs": float64(time.Since(started).Microseconds()) / 1000,
	})
	if v.kind == "denied" || v.kind == "error" {
		// Envoy's network ext_authz closes the connection on deny or error.
		return
	}
	up, err := net.DialTimeout("tcp", c.LocalAddr().String(), 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	pipe(c, up)
}

func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	copyHalf := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	go copyHalf(a, b)
	go copyHalf(b, a)
	wg.Wait()
}

// ---- Istio CUSTOM: which requests the ext_authz filter is enabled for -----------------------

// customMatches is Istio's matching of a CUSTOM policy's rules (generateFilterMatcher): a request
// is sent to the authorizer only if some operation matches. String values match exactly, as a
// "prefix*", as a "*suffix", or "*" for presence; paths are compared without the query.
func customMatches(c *CustomRules, method, uri, port string) bool {
	path := uri
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for _, op := range c.Operations {
		if len(op.Ports) > 0 && !anyMatch(op.Ports, port) {
			continue
		}
		if method != "" || uri != "" {
			if len(op.Methods) > 0 && !anyMatch(op.Methods, method) {
				continue
			}
			if len(op.NotMethods) > 0 && anyMatch(op.NotMethods, method) {
				continue
			}
			if len(op.Paths) > 0 && !anyMatch(op.Paths, path) {
				continue
			}
			if len(op.NotPaths) > 0 && anyMatch(op.NotPaths, path) {
				continue
			}
		} else if len(op.Methods) > 0 || len(op.Paths) > 0 {
			// HTTP-only fields never match a TCP connection.
			continue
		}
		return true
	}
	return false
}

func anyMatch(patterns []string, value string) bool {
	for _, p := range patterns {
		switch {
		case p == "*":
			if value != "" {
				return true
			}
		case strings.HasSuffix(p, "*"):
			if strings.HasPrefix(value, strings.TrimSuffix(p, "*")) {
				return true
			}
		case strings.HasPrefix(p, "*"):
			if strings.HasSuffix(value, strings.TrimPrefix(p, "*")) {
				return true
			}
		case p == value:
			return true
		}
	}
	return false
}
