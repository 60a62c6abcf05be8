package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// startOutboundHTTP is the app-facing side: plain HTTP in (as a proxy request
// "GET http://httpbin.demo:8000/…" or with a Host header), mTLS to the peer pod chosen by the
// request's authority, as Envoy's outbound route to an endpoint.
func startOutboundHTTP(id *identity, l Listener) (func(), error) {
	if id == nil {
		return nil, fmt.Errorf("an outbound listener needs an identity")
	}
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		TLSClientConfig: id.clientTLS(),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			endpoint := l.Routes[pr.In.Host]
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = endpoint
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("x-envoy-attempt-count", "1")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// What Envoy answers when the peer resets or closes the connection.
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "upstream connect error or disconnect/reset before headers. reset reason: "+err.Error())
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := l.Routes[r.Host]; !ok {
			// Envoy's BlackHoleCluster / no route answer.
			w.WriteHeader(http.StatusNotFound)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: handler, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// startOutboundTCP carries a plain TCP connection over mTLS to one peer address.
func startOutboundTCP(id *identity, l Listener) (func(), error) {
	if id == nil {
		return nil, fmt.Errorf("an outbound listener needs an identity")
	}
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d := &net.Dialer{Timeout: 5 * time.Second}
				up, err := tls.DialWithDialer(d, "tcp", l.Upstream, id.clientTLS())
				if err != nil {
					return
				}
				defer up.Close()
				pipe(c, up)
			}()
		}
	}()
	return func() { ln.Close() }, nil
}
