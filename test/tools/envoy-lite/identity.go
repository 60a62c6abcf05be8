package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
)

// identity is the pod's workload certificate and the mesh root, as Istio's SDS would hand them to
// Envoy. Without one, listeners run plaintext only.
type identity struct {
	cert      tls.Certificate
	leaf      *x509.Certificate
	roots     *x509.CertPool
	principal string
}

func loadIdentity(cfg *Identity) (*identity, error) {
	if cfg == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.CA)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("identity: no certificate in %s", cfg.CA)
	}
	return &identity{cert: cert, leaf: leaf, roots: roots, principal: principalOf(leaf)}, nil
}

// principalOf is Envoy's rule for source/destination.principal: "URI SAN, DNS SAN or Subject in
// that order" (attribute_context.proto).
func principalOf(c *x509.Certificate) string {
	if len(c.URIs) > 0 {
		return c.URIs[0].String()
	}
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return c.Subject.String()
}

// verifyPeer checks the peer's chain against the mesh root only, as Istio does: workload
// certificates carry SPIFFE URIs, not host names.
func (id *identity) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         id.roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	return err
}

// serverTLS requires and verifies a client certificate (Istio mTLS).
func (id *identity) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return id.verifyPeer(cs, x509.ExtKeyUsageClientAuth)
		},
	}
}

// clientTLS presents the pod's certificate and verifies the server's chain.
func (id *identity) clientTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.cert},
		MinVersion:   tls.VersionTLS12,
		// The chain is checked in VerifyConnection; there is no host name to check.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return id.verifyPeer(cs, x509.ExtKeyUsageServerAuth)
		},
	}
}

// xfcc is the x-forwarded-client-cert element Envoy appends on a sidecar's inbound listener
// (forward_client_cert_details APPEND_FORWARD, set_current_client_cert_details {uri, subject}).
func (id *identity) xfcc(peer *x509.Certificate) string {
	sum := sha256.Sum256(peer.Raw)
	uri := ""
	if len(peer.URIs) > 0 {
		uri = peer.URIs[0].String()
	}
	return fmt.Sprintf("By=%s;Hash=%s;Subject=%q;URI=%s", id.principal, hex.EncodeToString(sum[:]), peer.Subject.String(), uri)
}
