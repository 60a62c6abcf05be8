// Command envoy-lite stands in for istio-proxy (Envoy) in the examples/istio end-to-end test,
// because no Envoy can be installed here. Per pod it runs:
//
//   - inbound listeners: mTLS termination (PeerAuthentication STRICT, PERMISSIVE or DISABLE), then
//     Envoy's ext_authz filter (HTTP: one Check per request; TCP: one Check per connection), then
//     forwarding to the app;
//   - outbound listeners: the app sends plain HTTP (or TCP) to a local port and envoy-lite carries
//     it over mTLS to the peer pod, as Envoy's outbound listeners do.
//
// The CheckRequest is built with Envoy's own generated types (go-control-plane's
// envoy/service/auth/v3), field for field as Envoy under Istio fills it, and the filter settings
// are Envoy's own ExtAuthz messages decoded from the EnvoyFilter's typed_config. So a wrong field on
// the authorizer's side fails the test instead of agreeing with itself.
//
// Usage: envoy-lite -c config.yaml. Logs one JSON line per Check on stdout; prints
// {"msg":"ready"} once every listener is bound.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

var logMu sync.Mutex

// logLine writes one JSON object per line on stdout (the test reads these).
func logLine(fields map[string]any) {
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	data, err := json.Marshal(fields)
	if err != nil {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	os.Stdout.Write(append(data, '\n'))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "envoy-lite: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	configPath := flag.String("c", "", "configuration file (YAML)")
	flag.Parse()
	if *configPath == "" || flag.NArg() != 0 {
		fail("usage: envoy-lite -c <config.yaml>")
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fail("%v", err)
	}
	id, err := loadIdentity(cfg.Identity)
	if err != nil {
		fail("%v", err)
	}
	var closers []func()
	for _, l := range cfg.Listeners {
		closeFn, err := startListener(cfg, id, l)
		if err != nil {
			fail("listener %s: %v", l.Name, err)
		}
		closers = append(closers, closeFn)
	}
	logLine(map[string]any{"msg": "ready"})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	for _, c := range closers {
		c()
	}
}

func startListener(cfg *Config, id *identity, l Listener) (func(), error) {
	switch {
	case l.Direction == "inbound":
		return startInbound(cfg, id, l)
	case l.Protocol == "http":
		return startOutboundHTTP(id, l)
	default:
		return startOutboundTCP(id, l)
	}
}
