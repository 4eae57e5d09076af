package coap

import (
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/onecse/onecse/primitive"
)

// FuzzDecode feeds arbitrary datagrams through go-coap's decoder and the
// CoAP→primitive mapping: no panic, and every refusal is a oneM2M error with
// a status code.
func FuzzDecode(f *testing.F) {
	seed := func(code codes.Code, opts message.Options, body []byte) {
		f.Add(encoded(message.Message{Code: code, Token: []byte{1}, Options: opts, Payload: body, MessageID: 1, Type: message.Confirmable}))
	}
	p := func(id message.OptionID, v string) message.Option { return message.Option{ID: id, Value: []byte(v)} }
	seed(codes.POST, message.Options{p(message.URIPath, "cse-in"), p(message.ContentFormat, "\x32"), p(optTY, "\x02"), p(optFR, "C"), p(optRVI, "3"), p(optRQI, "1")}, []byte(`{"m2m:ae":{"rn":"a","api":"Na","rr":true,"srv":["3"]}}`))
	seed(codes.GET, message.Options{p(message.URIPath, "~"), p(message.URIPath, "id-in"), p(message.URIPath, "cse-in"), p(message.URIQuery, "fu=1"), p(message.URIQuery, "ty=3+4"), p(optFR, "CAdmin")}, nil)
	seed(codes.POST, message.Options{p(message.URIPath, "_"), p(message.URIPath, "sp"), p(message.URIQuery, "op=3"), p(optRTURI, "a&b"), p(message.ContentFormat, "\x3c")}, []byte{0xa1, 0x61, 0x61, 0x01})
	seed(codes.DELETE, message.Options{p(message.URIPath, "x"), p(optEC, "\x02"), p(optOT, "20250101T000000"), p(optRQET, "1000")}, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m message.Message
		if _, err := coder.DefaultCoder.Decode(data, &m); err != nil {
			return
		}
		d, err := decode(inMsg{code: m.Code, opts: m.Options, body: m.Payload}, time.Unix(1700000000, 0))
		if d == nil || d.req == nil {
			t.Fatal("no decoded request")
		}
		if err != nil {
			if e := primitive.AsError(err); e.RSC < 4000 {
				t.Fatalf("error without a failure status: %v", err)
			}
			return
		}
		if d.req.Op < 1 || d.req.Op > 5 || d.req.To == "" {
			t.Fatalf("decoded without an operation or target: %+v", d.req)
		}
	})
}

func encoded(m message.Message) []byte {
	b := make([]byte, 4096)
	n, err := coder.DefaultCoder.Encode(m, b)
	if err != nil {
		return nil
	}
	return b[:n]
}
