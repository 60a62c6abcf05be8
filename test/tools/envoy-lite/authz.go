package main

import (
	"context"
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// authorizer is one ext_authz filter: its settings and a gRPC channel to its cluster (plain
// h2c, as Envoy's envoy_grpc cluster with DestinationRule tls.mode DISABLE).
type authorizer struct {
	settings *AuthzSettings
	client   authv3.AuthorizationClient
}

func buildAuthorizers(cfg *Config, l Chain) ([]*authorizer, error) {
	var out []*authorizer
	for i, raw := range l.ExtAuthz {
		s, err := cfg.authzSettings(raw, l.Protocol)
		if err != nil {
			return nil, fmt.Errorf("extAuthz[%d]: %w", i, err)
		}
		conn, err := grpc.NewClient(s.Target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, fmt.Errorf("extAuthz[%d]: %w", i, err)
		}
		out = append(out, &authorizer{settings: s, client: authv3.NewAuthorizationClient(conn)})
	}
	return out, nil
}

func (a *authorizer) check(req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.settings.Timeout)
	defer cancel()
	return a.client.Check(ctx, req)
}
