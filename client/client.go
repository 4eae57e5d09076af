// Package client is a oneM2M application entity (AE) over HTTP: it registers
// with its registrar CSE, over a security association when it has a
// credential (TS-0003 8.2.1: the AE is Entity A, the TLS client), and then
// creates, retrieves, updates, deletes, discovers and subscribes, receiving
// its notifications on a small HTTP server of its own.
//
// The Association Configuration of TS-0003 9.1.1 is Config: the registrar's
// point of access and CSE-ID (IdB), and the credential — a pre-shared key
// with its KpsaID (TLS 1.2 PSK, security/tlspsk), or an AE-ID certificate
// with its key and the trust anchor of the registrar's certificate. The
// registrar's identity is verified before any request goes out: with a
// certificate, the registrar's certificate must chain to the trust anchor
// and be a CSE-ID certificate of exactly that CSE-ID (the host name plays no
// part); with a PSK, completing the handshake proves the registrar holds the
// key its operator bound to this AE.
//
// A Client is safe for concurrent use once registered.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	httpb "github.com/onecse/onecse/binding/http"
	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/security/certid"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

// Credential is what the AE proves its identity with. Set the PSK fields or
// the certificate fields, not both; none means no security association
// (plain http:// or a server-authenticated https://, for development).
type Credential struct {
	// PSKIdentity is the KpsaID (e.g. "sensor7@in.example.com"); the key
	// is PSKKey, or read in hex from PSKKeyFile (mode 0600).
	PSKIdentity string
	PSKKeyFile  string
	PSKKey      []byte

	// CertFile and KeyFile are the AE-ID certificate (PEM, chain allowed)
	// and its private key (PEM, mode 0600); CAFile holds the trust anchors
	// of the registrar's CSE-ID certificate.
	CertFile, KeyFile, CAFile string
}

func (c Credential) psk() bool  { return c.PSKIdentity != "" }
func (c Credential) cert() bool { return c.CertFile != "" || c.KeyFile != "" }

// Config is the registration configuration of the AE.
type Config struct {
	// URL is the registrar's point of access: http://host:port or
	// https://host:port (no path).
	URL string
	// CSEID is the registrar's SP-relative CSE-ID, e.g. "/id-in". With a
	// certificate it is what the registrar's certificate must name.
	CSEID string
	// SPID is the M2M-SP-ID ("//onecse.example" when empty); with
	// certificates it maps certificate names to oneM2M identities, with
	// Domain (the domain of CSE-ID certificates; default: SPID without
	// "//").
	SPID, Domain string

	Credential Credential

	// AEID is the From of the registration (TS-0001 10.2.2.2 step 002):
	// "" (no preference: From absent), "C" or "S" (an AE-ID of that kind
	// assigned by the registrar or the IN-CSE), or an AE-ID-Stem ("Cabc",
	// "Sabc") held from an earlier registration or provisioned with the
	// credential. With an AE-ID certificate it defaults to the stem the
	// certificate names and must not differ from it.
	AEID string
	// AppID (api) is mandatory: it starts with 'R' or 'N'.
	AppID string
	// Name is the resource name of the <AE> ("" lets the registrar choose).
	Name string
	// Labels (lbl) of the <AE>, optional.
	Labels []string

	// Notify is the listen address of the notification receiver, e.g.
	// "127.0.0.1:0" or ":9000" ("" for none: the AE is then not
	// request-reachable unless PoA says otherwise). NotifyURL is the URL
	// the registrar reaches it at (default: http://<listen address>/notify).
	Notify, NotifyURL string
	// PoA are more points of access of the AE, after the receiver's.
	PoA []string

	// Format is the serialisation of requests (codec.JSON by default, or
	// codec.CBOR); notifications are asked for in the same one.
	Format codec.Format
	// Timeout bounds a request without a deadline of its own (default 30 s).
	Timeout time.Duration
	// Log receives the client's few log lines (nil: none). Keys never
	// appear in them.
	Log *slog.Logger
}

// Client is an AE.
type Client struct {
	cfg  Config
	base string // scheme://host:port
	hc   *httpb.Client
	log  *slog.Logger
	rqi  atomic.Uint64

	mu  sync.Mutex
	aei string // the AE-ID-Stem once registered
	ri  string // the <AE>'s resource ID

	recv  *receiver
	subMu sync.Mutex
}

// New checks the configuration and prepares the connection (no I/O with
// the registrar yet); it starts the notification receiver if Notify is set.
func New(cfg Config) (*Client, error) {
	if cfg.SPID == "" {
		cfg.SPID = "//onecse.example"
	}
	if cfg.Domain == "" {
		cfg.Domain = strings.TrimPrefix(cfg.SPID, "//")
	}
	if cfg.Format == codec.FormatNone {
		cfg.Format = codec.JSON
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("client: URL %q must be http://host:port or https://host:port", cfg.URL)
	}
	if !resource.IsCSEID(cfg.CSEID) || strings.HasPrefix(cfg.CSEID, "//") {
		return nil, fmt.Errorf("client: CSEID %q must be the registrar's SP-relative CSE-ID, e.g. /id-in", cfg.CSEID)
	}
	if cfg.AppID == "" || !strings.ContainsAny(cfg.AppID[:1], "RNr") {
		return nil, fmt.Errorf("client: AppID %q must start with R or N", cfg.AppID)
	}
	switch {
	case cfg.AEID == "", cfg.AEID == "C", cfg.AEID == "S", primitive.IsAEStem(cfg.AEID):
	default:
		return nil, fmt.Errorf("client: AEID %q must be empty, C, S or an AE-ID-Stem (C… or S…)", cfg.AEID)
	}
	cr := cfg.Credential
	if cr.psk() && cr.cert() {
		return nil, errors.New("client: the credential is a PSK or a certificate, not both")
	}
	if (cr.psk() || cr.cert()) && u.Scheme != "https" {
		return nil, fmt.Errorf("client: a credential needs an https:// URL, not %s", cfg.URL)
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	o := httpb.ClientOptions{MaxConnsPerHost: 8, Timeout: cfg.Timeout}
	switch {
	case cr.psk():
		key := cr.PSKKey
		if key == nil {
			k, err := credentials.ReadKeyFile(cr.PSKKeyFile)
			if err != nil {
				return nil, fmt.Errorf("client: PSK key file: %w", err)
			}
			key = k
		}
		if len(key) < 16 {
			return nil, errors.New("client: the PSK must be at least 16 bytes")
		}
		pcfg := &tlspsk.Config{Identity: cr.PSKIdentity, Key: key, HandshakeTimeout: 10 * time.Second}
		o.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != hostport {
				// Every request goes to the registrar; the key is for it only.
				return nil, fmt.Errorf("client: %s is not the registrar %s", addr, hostport)
			}
			return tlspsk.DialContext(ctx, network, addr, pcfg)
		}
	case cr.cert():
		tc, stem, err := certTLS(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.AEID == "" {
			cfg.AEID = stem
		} else if cfg.AEID != stem {
			return nil, fmt.Errorf("client: AEID %q is not the AE-ID %q the certificate names", cfg.AEID, stem)
		}
		o.TLS = tc
	}
	c := &Client{cfg: cfg, base: u.Scheme + "://" + u.Host, hc: httpb.NewClient(o), log: cfg.Log}
	if cfg.Notify != "" {
		if c.recv, err = startReceiver(cfg.Notify, cfg.NotifyURL, cfg.Log); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// certTLS is the AE's side of a certificate association: its AE-ID
// certificate, and the registrar's verified against CAFile and required to
// name the registrar CSE-ID. It returns the AE-ID-Stem of the certificate.
func certTLS(cfg Config) (*tls.Config, string, error) {
	cr := cfg.Credential
	certPEM, err := os.ReadFile(cr.CertFile)
	if err != nil {
		return nil, "", fmt.Errorf("client: certificate: %w", err)
	}
	keyPEM, err := credentials.ReadSecretFile(cr.KeyFile)
	if err != nil {
		return nil, "", fmt.Errorf("client: certificate key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", errors.New("client: the certificate and key files are not a matching PEM certificate and key")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, "", fmt.Errorf("client: certificate: %w", err)
	}
	m := certid.Mapper{SPID: cfg.SPID, Domain: cfg.Domain}
	id, err := m.Of(leaf)
	if err != nil {
		return nil, "", fmt.Errorf("client: certificate: %w", err)
	}
	if id.AEID == "" {
		return nil, "", fmt.Errorf("client: the certificate is a CSE-ID certificate (%s), not an AE-ID one", id.CredentialID())
	}
	caPEM, err := os.ReadFile(cr.CAFile)
	if err != nil {
		return nil, "", fmt.Errorf("client: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
		}
	}
	if pool.Equal(x509.NewCertPool()) {
		return nil, "", fmt.Errorf("client: CA file %s: no PEM certificate in it", cr.CAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, // TS-0003 10.2's mandatory suite
		},
		InsecureSkipVerify: true, // the chain and the CSE-ID are checked here:
		VerifyConnection:   m.VerifyServer(pool, cfg.CSEID),
	}, id.AEID, nil
}

// AEID returns the AE-ID-Stem the registrar assigned ("" before Register).
// Keep it to register again with the same identity (Config.AEID).
func (c *Client) AEID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aei
}

// NotifyURL is the URL of the notification receiver ("" without one).
func (c *Client) NotifyURL() string {
	if c.recv == nil {
		return ""
	}
	return c.recv.url
}

// Close stops the notification receiver and drops idle connections. It
// does not deregister.
func (c *Client) Close() error {
	c.hc.Close()
	if c.recv != nil {
		return c.recv.close()
	}
	return nil
}

// request returns a request from this AE.
func (c *Client) request(op primitive.Operation, to string) *primitive.Request {
	req := primitive.NewRequest()
	req.Op, req.To, req.RVI = op, to, "3"
	req.RQI = fmt.Sprintf("c%d-%d", time.Now().UnixNano()%1e9, c.rqi.Add(1))
	req.From = c.AEID()
	req.FromPresent = req.From != ""
	return req
}

// Do sends req as it is (From, RQI and RVI are filled when empty) and
// returns the answer, whatever its status. An error means no answer came.
func (c *Client) Do(ctx context.Context, req *primitive.Request) (*primitive.Response, error) {
	if req.From == "" {
		req.From = c.AEID()
	}
	if req.RQI == "" {
		req.RQI = fmt.Sprintf("c%d-%d", time.Now().UnixNano()%1e9, c.rqi.Add(1))
	}
	if req.RVI == "" {
		req.RVI = "3"
	}
	return c.hc.Send(ctx, c.base, c.cfg.Format, req)
}

// send sends req and turns an answer other than want into a
// *primitive.Error carrying its status and debug text.
func (c *Client) send(ctx context.Context, req *primitive.Request, want primitive.RSC) (*primitive.Response, error) {
	resp, err := c.hc.Send(ctx, c.base, c.cfg.Format, req)
	if err != nil {
		return nil, err
	}
	if resp.RSC != want {
		return resp, answerError(req, resp)
	}
	return resp, nil
}

func answerError(req *primitive.Request, resp *primitive.Response) error {
	msg, _ := resp.PC["m2m:dbg"].(string)
	if msg == "" {
		msg = "no explanation given"
	}
	return primitive.Errorf(resp.RSC, "%s %s: %s", opName(req.Op), req.To, msg)
}

func opName(op primitive.Operation) string {
	switch op {
	case primitive.OpCreate:
		return "CREATE"
	case primitive.OpRetrieve:
		return "RETRIEVE"
	case primitive.OpUpdate:
		return "UPDATE"
	case primitive.OpDelete:
		return "DELETE"
	case primitive.OpNotify:
		return "NOTIFY"
	}
	return fmt.Sprintf("operation %d", int(op))
}

// base returns the registrar's <CSEBase> address.
func (c *Client) cseBase() string { return c.cfg.CSEID }

// Register creates the <AE> (TS-0001 10.2.2.2): From as Config.AEID says,
// the content with api, rr, srv, poa and csz. It keeps the AE-ID the
// registrar assigned (AEID). Registering again with a stem that is still
// registered (4117: the AE restarted) takes the existing <AE> over and
// brings its poa up to date.
func (c *Client) Register(ctx context.Context) error {
	ae := map[string]any{
		"api": c.cfg.AppID,
		"srv": []any{"3"},
		"csz": []any{codec.ContentType(c.cfg.Format, false, "")},
	}
	poa := c.poa()
	ae["rr"] = len(poa) > 0
	if len(poa) > 0 {
		ae["poa"] = poa
	}
	if c.cfg.Name != "" {
		ae["rn"] = c.cfg.Name
	}
	if len(c.cfg.Labels) > 0 {
		ae["lbl"] = anyList(c.cfg.Labels)
	}
	req := c.request(primitive.OpCreate, c.cseBase())
	req.From, req.FromPresent = c.cfg.AEID, c.cfg.AEID != ""
	req.Ty = resource.TyAE
	req.Content = map[string]any{"m2m:ae": ae}
	resp, err := c.hc.Send(ctx, c.base, c.cfg.Format, req)
	if err != nil {
		return fmt.Errorf("registering with %s at %s: %w", c.cfg.CSEID, c.cfg.URL, err)
	}
	switch resp.RSC {
	case primitive.RSCCreated:
	case primitive.RSCOriginatorHasAlreadyRegistered:
		if !primitive.IsAEStem(c.cfg.AEID) || len(c.cfg.AEID) < 2 {
			return answerError(req, resp)
		}
		return c.resume(ctx, poa)
	default:
		return answerError(req, resp)
	}
	got, _ := resp.PC["m2m:ae"].(map[string]any)
	aei, _ := got["aei"].(string)
	ri, _ := got["ri"].(string)
	if aei == "" {
		return fmt.Errorf("registering with %s: the answer has no AE-ID", c.cfg.CSEID)
	}
	if ri == "" {
		ri = aei
	}
	c.mu.Lock()
	c.aei, c.ri = stemOf(aei), ri
	c.mu.Unlock()
	c.log.Info("AE registered", "registrar", c.cfg.CSEID, "aei", aei)
	return nil
}

// resume takes over the <AE> of this stem that is still registered.
func (c *Client) resume(ctx context.Context, poa []any) error {
	c.mu.Lock()
	c.aei, c.ri = c.cfg.AEID, c.cfg.AEID
	c.mu.Unlock()
	cur, err := c.Retrieve(ctx, c.cseBase()+"/"+c.cfg.AEID)
	if err != nil {
		c.mu.Lock()
		c.aei, c.ri = "", ""
		c.mu.Unlock()
		return fmt.Errorf("the AE-ID %s is registered already and cannot be taken over: %w", c.cfg.AEID, err)
	}
	ae, _ := cur["m2m:ae"].(map[string]any)
	if ri, _ := ae["ri"].(string); ri != "" {
		c.mu.Lock()
		c.ri = ri
		c.mu.Unlock()
	}
	if !sameList(ae["poa"], poa) {
		if _, err := c.Update(ctx, c.self(), map[string]any{"m2m:ae": map[string]any{"poa": poa, "rr": len(poa) > 0}}); err != nil {
			return err
		}
	}
	c.log.Info("AE registration taken over", "registrar", c.cfg.CSEID, "aei", c.cfg.AEID)
	return nil
}

// Self is the SP-relative address of the own <AE> ("/id-in/Csensor7");
// its children are below it ("/id-in/Csensor7/readings", TS-0001 9.3.1's
// hybrid form). "" before Register.
func (c *Client) Self() string {
	if c.AEID() == "" {
		return ""
	}
	return c.self()
}

// self is the SP-relative address of the own <AE>.
func (c *Client) self() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.CSEID + "/" + c.ri
}

func (c *Client) poa() []any {
	var out []any
	if c.recv != nil {
		out = append(out, c.recv.url)
	}
	for _, p := range c.cfg.PoA {
		out = append(out, p)
	}
	return out
}

// Deregister deletes the <AE> (TS-0001 10.2.2.5).
func (c *Client) Deregister(ctx context.Context) error {
	if c.AEID() == "" {
		return errors.New("not registered")
	}
	if err := c.Delete(ctx, c.self()); err != nil {
		return err
	}
	c.mu.Lock()
	c.aei, c.ri = "", ""
	c.mu.Unlock()
	return nil
}

// Create creates a resource under parent from content, a one-member map
// keyed by its type ({"m2m:cnt": {...}}), and returns the created resource
// as the registrar answered it.
func (c *Client) Create(ctx context.Context, parent string, content map[string]any) (map[string]any, error) {
	ty, err := typeOf(content)
	if err != nil {
		return nil, err
	}
	req := c.request(primitive.OpCreate, parent)
	req.Ty, req.Content = ty, content
	resp, err := c.send(ctx, req, primitive.RSCCreated)
	if err != nil {
		return nil, err
	}
	return resp.PC, nil
}

// Retrieve reads the resource at to.
func (c *Client) Retrieve(ctx context.Context, to string) (map[string]any, error) {
	resp, err := c.send(ctx, c.request(primitive.OpRetrieve, to), primitive.RSCOK)
	if err != nil {
		return nil, err
	}
	return resp.PC, nil
}

// Update changes the attributes given in content ({"m2m:cnt": {"mni": 5}}).
func (c *Client) Update(ctx context.Context, to string, content map[string]any) (map[string]any, error) {
	req := c.request(primitive.OpUpdate, to)
	req.Content = content
	resp, err := c.send(ctx, req, primitive.RSCUpdated)
	if err != nil {
		return nil, err
	}
	return resp.PC, nil
}

// Delete deletes the resource at to.
func (c *Client) Delete(ctx context.Context, to string) error {
	_, err := c.send(ctx, c.request(primitive.OpDelete, to), primitive.RSCDeleted)
	return err
}

// Discover returns the addresses of the resources below to that match fc
// (its FU is set to discovery; nil matches everything).
func (c *Client) Discover(ctx context.Context, to string, fc *primitive.FilterCriteria) ([]string, error) {
	if fc == nil {
		fc = primitive.NewFilterCriteria()
	}
	f := *fc
	f.FU = primitive.FUDiscovery
	req := c.request(primitive.OpRetrieve, to)
	req.FC = &f
	resp, err := c.send(ctx, req, primitive.RSCOK)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"m2m:uril", "m2m:URIList"} {
		if l, ok := resp.PC[k]; ok {
			return resource.StringList(l), nil
		}
	}
	if len(resp.PC) == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("discovery at %s: the answer is not a URI list", to)
}

// typeOf returns the resource type of a one-member content map.
func typeOf(content map[string]any) (int, error) {
	if len(content) != 1 {
		return 0, fmt.Errorf("the content must have exactly one member, such as m2m:cnt")
	}
	for k := range content {
		for _, ty := range resource.Supported() {
			if resource.Key(ty) == k {
				return ty, nil
			}
		}
		return 0, fmt.Errorf("%q is not a resource type this client knows", k)
	}
	return 0, nil
}

// stemOf turns an AE-ID in any form into its stem ("/id-in/Cabc" → "Cabc").
func stemOf(aei string) string {
	if i := strings.LastIndexByte(aei, '/'); i >= 0 {
		return aei[i+1:]
	}
	return aei
}

func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func sameList(v any, want []any) bool {
	have := resource.StringList(v)
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if have[i] != want[i] {
			return false
		}
	}
	return true
}
