package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	extauthzhttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	extauthznet "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/ext_authz/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
)

// Config is envoy-lite's own file format. The ext_authz blocks are not ours: they are Envoy's
// typed_config (an Any with "@type"), taken verbatim from an EnvoyFilter patch or from what Istio
// generates for a CUSTOM provider, and decoded with Envoy's own generated types.
type Config struct {
	// Identity is the pod's workload certificate (a SPIFFE URI SAN), its key and the mesh root.
	Identity *Identity `json:"identity,omitempty"`
	// Clusters maps an Envoy cluster name (as envoy_grpc.cluster_name refers to it) to a gRPC target,
	// e.g. "outbound|1||dikastes.calico.cluster.local": "unix:///var/run/dikastes/dikastes.sock".
	Clusters  map[string]string `json:"clusters,omitempty"`
	Listeners []Listener        `json:"listeners"`
}

type Identity struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
	CA   string `json:"ca"`
}

type Listener struct {
	Name string `json:"name"`
	// Direction is "inbound" (Istio's virtualInbound: connections that the pod's capture rule
	// redirected here, sorted into filter chains by their original destination port) or
	// "outbound" (a local port the app sends to; carried over mTLS to a peer pod).
	Direction string `json:"direction"`
	Listen    string `json:"listen"`
	// Chains of an inbound listener, one per original destination port.
	Chains []Chain `json:"chains,omitempty"`
	// Protocol of an outbound listener: "http" (routed by the request's authority) or "tcp".
	Protocol string `json:"protocol,omitempty"`
	// Routes of an outbound HTTP listener: the request's host:port → the peer pod's address.
	Routes map[string]string `json:"routes,omitempty"`
	// Upstream of an outbound TCP listener: the peer pod's address.
	Upstream string `json:"upstream,omitempty"`
}

// Chain is one inbound filter chain: TLS per PeerAuthentication, ext_authz filters, then the app
// at the original destination (Istio's ORIGINAL_DST inbound cluster).
type Chain struct {
	Port int `json:"port"`
	// Protocol is "http" (HTTP connection manager with HTTP filters) or "tcp" (tcp_proxy with
	// network filters).
	Protocol string `json:"protocol"`
	// TLSMode as PeerAuthentication's: STRICT (default), PERMISSIVE or DISABLE.
	TLSMode string `json:"tlsMode,omitempty"`
	// ExtAuthz holds the filter configs in chain order (HTTP or network ext_authz typed_config).
	ExtAuthz []map[string]any `json:"extAuthz,omitempty"`
	// Custom, when set, plays Istio's CUSTOM action: the shadow RBAC filter enables ext_authz only for
	// requests that match one of these rules (Istio's `rules[].to[].operation`).
	Custom *CustomRules `json:"custom,omitempty"`
}

// CustomRules are an AuthorizationPolicy's `to.operation` clauses, as Istio matches them for the
// CUSTOM action's filter_enabled_metadata.
type CustomRules struct {
	Operations []Operation `json:"operations"`
}

type Operation struct {
	Paths      []string `json:"paths,omitempty"`
	NotPaths   []string `json:"notPaths,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	NotMethods []string `json:"notMethods,omitempty"`
	Ports      []string `json:"ports,omitempty"`
}

// AuthzSettings is what envoy-lite uses of an ext_authz filter config.
type AuthzSettings struct {
	Target           string
	Timeout          time.Duration
	FailureModeAllow bool
	AddFailureHeader bool
	StatusOnError    int
}

// Envoy's ext_authz default when grpc_service.timeout is not set.
const defaultExtAuthzTimeout = 200 * time.Millisecond

func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cfg.Listeners) == 0 {
		return nil, fmt.Errorf("%s: no listeners", path)
	}
	for i, l := range cfg.Listeners {
		switch l.Direction {
		case "inbound":
			for j, c := range l.Chains {
				if c.Protocol != "http" && c.Protocol != "tcp" {
					return nil, fmt.Errorf("listener %s chain %d: protocol must be http or tcp", l.Name, j)
				}
				switch c.TLSMode {
				case "", "STRICT", "PERMISSIVE", "DISABLE":
				default:
					return nil, fmt.Errorf("listener %s chain %d: tlsMode %q", l.Name, j, c.TLSMode)
				}
			}
		case "outbound":
			if l.Protocol != "http" && l.Protocol != "tcp" {
				return nil, fmt.Errorf("listener %d (%s): protocol must be http or tcp", i, l.Name)
			}
		default:
			return nil, fmt.Errorf("listener %d (%s): direction must be inbound or outbound", i, l.Name)
		}
	}
	return &cfg, nil
}

// authzSettings decodes one typed_config with Envoy's generated types (an unknown field or a
// wrong type is an error, as Envoy would reject the config) and resolves its gRPC cluster.
func (c *Config) authzSettings(raw map[string]any, protocol string) (*AuthzSettings, error) {
	doc, err := yaml.Marshal(raw)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var anyCfg anypb.Any
	if err := protojson.Unmarshal(js, &anyCfg); err != nil {
		return nil, fmt.Errorf("ext_authz typed_config: %w", err)
	}
	msg, err := anyCfg.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("ext_authz typed_config: %w", err)
	}
	s := &AuthzSettings{Timeout: defaultExtAuthzTimeout, StatusOnError: 403}
	switch m := msg.(type) {
	case *extauthzhttp.ExtAuthz:
		if protocol != "http" {
			return nil, fmt.Errorf("an HTTP ext_authz filter on a %s listener", protocol)
		}
		if m.GetTransportApiVersion().String() != "V3" {
			return nil, fmt.Errorf("transport_api_version must be V3")
		}
		if err := s.setService(c, m.GetGrpcService().GetEnvoyGrpc().GetClusterName(), m.GetGrpcService().GetGoogleGrpc().GetTargetUri()); err != nil {
			return nil, err
		}
		if t := m.GetGrpcService().GetTimeout(); t != nil {
			s.Timeout = t.AsDuration()
		}
		s.FailureModeAllow = m.GetFailureModeAllow()
		s.AddFailureHeader = m.GetFailureModeAllowHeaderAdd()
		if code := m.GetStatusOnError().GetCode(); code != 0 {
			s.StatusOnError = int(code)
		}
	case *extauthznet.ExtAuthz:
		if protocol != "tcp" {
			return nil, fmt.Errorf("a network ext_authz filter on a %s listener", protocol)
		}
		if m.GetTransportApiVersion().String() != "V3" {
			return nil, fmt.Errorf("transport_api_version must be V3")
		}
		if err := s.setService(c, m.GetGrpcService().GetEnvoyGrpc().GetClusterName(), m.GetGrpcService().GetGoogleGrpc().GetTargetUri()); err != nil {
			return nil, err
		}
		if t := m.GetGrpcService().GetTimeout(); t != nil {
			s.Timeout = t.AsDuration()
		}
		s.FailureModeAllow = m.GetFailureModeAllow()
	default:
		return nil, fmt.Errorf("typed_config %s is not an ext_authz filter", anyCfg.GetTypeUrl())
	}
	return s, nil
}

func (s *AuthzSettings) setService(c *Config, cluster, googleTarget string) error {
	switch {
	case cluster != "":
		target, ok := c.Clusters[cluster]
		if !ok {
			return fmt.Errorf("ext_authz refers to cluster %q, which is not in clusters", cluster)
		}
		s.Target = target
	case googleTarget != "":
		s.Target = googleTarget
	default:
		return fmt.Errorf("ext_authz has no grpc_service (envoy_grpc.cluster_name or google_grpc.target_uri)")
	}
	if strings.TrimSpace(s.Target) == "" {
		return fmt.Errorf("ext_authz target is empty")
	}
	return nil
}
