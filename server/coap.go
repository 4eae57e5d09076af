package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"

	piondtls "github.com/pion/dtls/v3"

	coapb "github.com/onecse/onecse/binding/coap"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
)

// The CoAP binding (TS-0008): a plain UDP listener, a DTLS-PSK listener with
// the keys of the credential store, and a DTLS listener with certificates.
// A DTLS association yields the same Credential-IDs as its TLS counterpart
// ("12-<KpsaID>", "32-<CSE-ID>", "33-<AE-ID-Stem>"), so the core checks From
// against the same bindings.

// lateCore lets the listeners be bound (and their ports known for the
// points of access) before the core exists; no request is served before
// Start, when the core is set.
type lateCore struct {
	c interface {
		Handle(context.Context, *primitive.Request) *primitive.Response
	}
}

func (l *lateCore) Handle(ctx context.Context, req *primitive.Request) *primitive.Response {
	return l.c.Handle(ctx, req)
}

type coapListeners struct {
	b                *coapb.Binding
	core             *lateCore
	plain, psk, cert *coapb.Listener
}

// listenCoAP binds the configured CoAP listeners (nil when CoAP is off).
func listenCoAP(cfg config.Config, creds *credentials.Store, certTLS *tls.Config, certA *certAssoc, log *slog.Logger) (*coapListeners, error) {
	if cfg.CoAP == "" && cfg.CoAPSPSK == "" && cfg.CoAPSCert == "" {
		return nil, nil
	}
	cl := &coapListeners{core: &lateCore{}}
	opt := coapb.Options{MaxBody: cfg.MaxBody, Log: log}
	opt.Authenticate = func(c net.Conn) (string, bool) {
		if id, ok := coapb.PSKIdentity(c); ok {
			return credentials.CredentialID(id), true
		}
		if leaf, ok := coapb.PeerLeaf(c); ok && certA != nil {
			return certA.credentialOf(leaf), true
		}
		return "", false
	}
	cl.b = coapb.New(cl.core, opt)
	var err error
	if cfg.CoAP != "" {
		if cl.plain, err = cl.b.ListenUDP(cfg.CoAP); err != nil {
			return nil, fmt.Errorf("coap listener: %w", err)
		}
	}
	if cfg.CoAPSPSK != "" {
		pcfg := coapb.PSKServerConfig(func(identity string) ([]byte, error) {
			k, err := creds.GetKey(identity)
			if k == nil && err == nil {
				log.Warn("DTLS-PSK handshake refused: unknown, expired or revoked credential", "kpsa-id", identity)
			}
			return k, err
		})
		if cl.psk, err = cl.b.ListenDTLS(cfg.CoAPSPSK, pcfg); err != nil {
			cl.b.Close()
			return nil, fmt.Errorf("coaps-psk listener: %w", err)
		}
	}
	if cfg.CoAPSCert != "" {
		ccfg := coapb.CertServerConfig(certTLS.Certificates[0], certTLS.ClientCAs, func(leaf *x509.Certificate) error {
			if _, err := certA.m.Of(leaf); err != nil {
				return err
			}
			if certA.isRevoked(leaf) {
				return fmt.Errorf("the client certificate is revoked")
			}
			return nil
		})
		if cl.cert, err = cl.b.ListenDTLS(cfg.CoAPSCert, ccfg); err != nil {
			cl.b.Close()
			return nil, fmt.Errorf("coaps-cert listener: %w", err)
		}
	}
	return cl, nil
}

// poa lists the coap:// and coaps:// points of access.
func (cl *coapListeners) poa() []string {
	var out []string
	if cl.plain != nil {
		out = append(out, "coap://"+advertised(cl.plain.Addr()))
	}
	if cl.psk != nil {
		out = append(out, "coaps://"+advertised(cl.psk.Addr()))
	}
	if cl.cert != nil {
		out = append(out, "coaps://"+advertised(cl.cert.Addr()))
	}
	return out
}

func (cl *coapListeners) listeners() []*coapb.Listener {
	var out []*coapb.Listener
	for _, l := range []*coapb.Listener{cl.plain, cl.psk, cl.cert} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// coapSender is the CoAP client the core sends with. A coaps:// registrar
// is reached with the registrar PSK or certificate; other coaps:// targets
// with this CSE's certificate (tls-cert) verified against tls-client-ca,
// when configured.
func coapSender(cfg config.Config) (*coapb.Client, error) {
	var regHost string
	var regCfg *piondtls.Config
	if u, err := url.Parse(cfg.RegistrarURL); err == nil && u.Scheme == "coaps" {
		regHost = u.Host
		if u.Port() == "" {
			regHost = net.JoinHostPort(u.Hostname(), "5684")
		}
		switch {
		case cfg.RegistrarPSKIdentity != "":
			key, err := credentials.ReadKeyFile(cfg.RegistrarPSKKeyFile)
			if err != nil {
				return nil, fmt.Errorf("registrar-psk-key-file: %w", err)
			}
			regCfg = coapb.PSKClientConfig(cfg.RegistrarPSKIdentity, key)
		case cfg.RegistrarCert != "":
			tc, err := registrarTLS(cfg)
			if err != nil {
				return nil, err
			}
			regCfg = &piondtls.Config{
				Certificates: tc.Certificates, CipherSuites: coapb.CertSuites,
				ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret,
				InsecureSkipVerify:   true, // verified as the registrar's below
				VerifyConnection: func(st *piondtls.State) error {
					var certs []*x509.Certificate
					for _, raw := range st.PeerCertificates {
						c, err := x509.ParseCertificate(raw)
						if err != nil {
							return err
						}
						certs = append(certs, c)
					}
					return tc.VerifyConnection(tls.ConnectionState{PeerCertificates: certs})
				},
			}
		}
	}
	var own func(serverName string) *piondtls.Config
	if cfg.TLSCert != "" && cfg.TLSKey != "" && cfg.TLSClientCA != "" {
		certPEM, err := os.ReadFile(cfg.TLSCert)
		if err != nil {
			return nil, fmt.Errorf("tls-cert: %w", err)
		}
		keyPEM, err := credentials.ReadSecretFile(cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls-key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls-cert/tls-key: not a matching PEM certificate and key")
		}
		caPEM, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		own = func(serverName string) *piondtls.Config {
			return &piondtls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, CipherSuites: coapb.CertSuites,
				ExtendedMasterSecret: piondtls.RequestExtendedMasterSecret, ServerName: serverName}
		}
	}
	return coapb.NewClient(coapb.ClientOptions{DTLS: func(hostport string) *piondtls.Config {
		if hostport == regHost && regCfg != nil {
			return regCfg
		}
		if own == nil {
			return nil
		}
		host, _, _ := net.SplitHostPort(hostport)
		return own(host)
	}}), nil
}
