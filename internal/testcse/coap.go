package testcse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	coapdtls "github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapudp "github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/config"
)

// ---- CoAP ----

// CoAPClient carries Msg over the CoAP binding (TS-0008) with the option
// numbers written out here, not taken from the binding, so that the binding
// is tested against what a client sends.
type CoAPClient struct {
	cc   *udpClient.Conn
	name string
	// NON sends requests as Non-confirmable messages.
	NON bool
	// CBOR sends and asks for CBOR (Content-Format 60) instead of JSON (50).
	CBOR bool
}

// StartCoAP starts a CSE with a CoAP listener on 127.0.0.1:0.
func StartCoAP(t testing.TB, mod func(*config.Config)) *CSE {
	return Start(t, func(c *config.Config) {
		c.CoAP = "127.0.0.1:0"
		if mod != nil {
			mod(c)
		}
	})
}

// DialCoAP connects to the plain CoAP listener of c.
func DialCoAP(t testing.TB, c *CSE) *CoAPClient {
	t.Helper()
	addr := c.Server.CoAPAddr()
	if addr == "" {
		t.Fatal("the CSE has no CoAP listener")
	}
	cc, err := coapudp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &CoAPClient{cc: cc, name: "coap"}
}

// DialCoAPS connects over DTLS to addr with cfg; the handshake is done (or
// has failed) when it returns.
func DialCoAPS(addr string, cfg *piondtls.Config) (*CoAPClient, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	uc, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	dc, err := piondtls.Client(&connectedUDP{uc}, raddr, cfg)
	if err != nil {
		uc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dc.HandshakeContext(ctx); err != nil {
		dc.Close()
		return nil, err
	}
	return &CoAPClient{cc: coapdtls.Client(dc), name: "coaps"}, nil
}

type connectedUDP struct{ *net.UDPConn }

func (c *connectedUDP) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

// Close closes the connection.
func (k *CoAPClient) Close() { k.cc.Close() }

func (k *CoAPClient) Name() string {
	n := k.name
	if k.CBOR {
		n += "-cbor"
	}
	if k.NON {
		n += "-non"
	}
	return n
}

// CoAPResp is a raw CoAP answer.
type CoAPResp struct {
	Code codes.Code
	Opts message.Options
	Body []byte
}

// Opt returns the value of an option ("" when absent).
func (r *CoAPResp) Opt(id message.OptionID) string {
	for _, o := range r.Opts {
		if o.ID == id {
			return string(o.Value)
		}
	}
	return ""
}

// UintOpt returns the unsigned value of an option (-1 when absent).
func (r *CoAPResp) UintOpt(id message.OptionID) int {
	for _, o := range r.Opts {
		if o.ID == id {
			n := 0
			for _, b := range o.Value {
				n = n<<8 | int(b)
			}
			return n
		}
	}
	return -1
}

// Result reads the answer as a oneM2M response.
func (r *CoAPResp) Result(t testing.TB) *Result {
	t.Helper()
	res := &Result{RSC: r.UintOpt(307), RQI: r.Opt(283), Raw: r.Body}
	if len(r.Body) > 0 {
		f := codec.JSON
		switch r.UintOpt(uint16ID(message.ContentFormat)) {
		case 60, 10010:
			f = codec.CBOR
		}
		m, err := codec.Decode(f, r.Body)
		if err != nil {
			t.Fatalf("answer (CoAP %v) not decoded: %v: %q", r.Code, err, r.Body)
		}
		res.PC = m
		if f == codec.CBOR {
			if j, err := codec.Encode(codec.JSON, m); err == nil {
				res.Raw = j
			}
		}
	}
	return res
}

func uint16ID(id message.OptionID) message.OptionID { return id }

// Do sends one request with exactly these options and payload.
func (k *CoAPClient) Do(t testing.TB, code codes.Code, opts message.Options, body []byte) *CoAPResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := k.cc.AcquireMessage(ctx)
	defer k.cc.ReleaseMessage(m)
	tok, err := message.GetToken()
	if err != nil {
		t.Fatal(err)
	}
	m.SetCode(code)
	m.SetToken(tok)
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].ID < opts[j].ID })
	m.ResetOptionsTo(opts)
	if body != nil {
		m.SetBody(bytes.NewReader(body))
	}
	if k.NON {
		m.SetType(message.NonConfirmable)
	}
	resp, err := k.cc.Do(m)
	if err != nil {
		t.Fatalf("coap %v: %v", code, err)
	}
	defer k.cc.ReleaseMessage(resp)
	out := &CoAPResp{Code: resp.Code()}
	out.Opts, _ = resp.Options().Clone()
	if b := resp.Body(); b != nil {
		out.Body, _ = io.ReadAll(b)
	}
	return out
}

// Options builds the options of a oneM2M request: Uri-Path from To (the
// "~" and "_" forms), From, a fresh RQI, RVI 3, and the Params: the
// timestamps, ec, gid and vsi as options, the rest as Uri-Query items
// (lists '+'-joined).
func (k *CoAPClient) Options(m Msg) message.Options {
	var opts message.Options
	add := func(id message.OptionID, v []byte) { opts = append(opts, message.Option{ID: id, Value: v}) }
	var segs []string
	switch {
	case strings.HasPrefix(m.To, "//"):
		segs = append([]string{"_"}, strings.Split(m.To[2:], "/")...)
	case strings.HasPrefix(m.To, "/"):
		segs = append([]string{"~"}, strings.Split(m.To[1:], "/")...)
	default:
		segs = strings.Split(m.To, "/")
	}
	for _, s := range segs {
		add(message.URIPath, []byte(s))
	}
	if m.From != "" {
		add(279, []byte(m.From))
	}
	add(283, []byte(nextRQI()))
	add(271, []byte("3"))
	if m.Ty != 0 {
		add(267, uintVal(m.Ty))
	}
	cf := 50
	if k.CBOR {
		cf = 60
	}
	add(message.Accept, uintVal(cf))
	var q []string
	addQ := func(name string, v any) {
		if l, ok := v.([]any); ok {
			var items []string
			for _, e := range l {
				items = append(items, fmt.Sprint(e))
			}
			q = append(q, name+"="+strings.Join(items, "+"))
			return
		}
		q = append(q, name+"="+fmt.Sprint(v))
	}
	strOpts := map[string]message.OptionID{"rqet": 291, "rset": 295, "oet": 299, "ot": 259, "gid": 311, "vsi": 331}
	for name, v := range m.Params {
		switch {
		case strOpts[name] != 0:
			add(strOpts[name], []byte(fmt.Sprint(v)))
		case name == "ec":
			add(303, uintVal(toInt(v)))
		case name == "fc":
			for fk, fv := range v.(map[string]any) {
				if fk == "atr" {
					for _, a := range fv.([]any) {
						am := a.(map[string]any)
						addQ(am["nm"].(string), am["val"])
					}
					continue
				}
				addQ(fk, fv)
			}
		case name == "rt":
			addQ("rt", v.(map[string]any)["rtv"])
		default:
			addQ(name, v)
		}
	}
	if m.Op == 2 && m.PC != nil {
		if l, ok := m.PC["m2m:atrl"]; ok {
			addQ("atrl", l)
		}
	}
	sort.Strings(q)
	for _, s := range q {
		add(message.URIQuery, []byte(s))
	}
	return opts
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

func uintVal(n int) []byte {
	var b []byte
	for v := uint32(n); v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return b
}

// Send implements Client.
func (k *CoAPClient) Send(t testing.TB, m Msg) *Result {
	t.Helper()
	opts := k.Options(m)
	var code codes.Code
	switch m.Op {
	case 1, 5:
		code = codes.POST
	case 2:
		code = codes.GET
	case 3:
		code = codes.PUT
	case 4:
		code = codes.DELETE
	}
	var body []byte
	if m.PC != nil && m.Op != 2 {
		f, cf := codec.JSON, 50
		if k.CBOR {
			f, cf = codec.CBOR, 60
		}
		var err error
		if body, err = codec.Encode(f, m.PC); err != nil {
			t.Fatal(err)
		}
		opts = append(opts, message.Option{ID: message.ContentFormat, Value: uintVal(cf)})
	}
	return k.Do(t, code, opts, body).Result(t)
}
