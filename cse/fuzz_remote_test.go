package cse

import (
	"context"
	"errors"
	"testing"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

// stubSender answers every request sent to "http://up" with 2000 and an
// empty <remoteCSE>, and fails for any other point of access.
type stubSender struct{}

func (stubSender) Send(_ context.Context, poa string, _ codec.Format, req *primitive.Request) (*primitive.Response, error) {
	if poa != "http://up" {
		return nil, errors.New("unreachable")
	}
	return &primitive.Response{RSC: primitive.RSCOK, PC: map[string]any{"m2m:csr": map[string]any{}}}, nil
}

// FuzzRemoteRequest sends fuzzed originators, targets, types and contents to
// an MN-CSE that has a registrar and a registered ASN, or to an IN-CSE with
// a registered MN: the paths of CSE registration, announcement, remote
// originators and routing never panic and never answer with an internal
// error. (The CSEs keep what the inputs create: a failure may need the
// sequence, not only the last input, to reproduce.)
func FuzzRemoteRequest(f *testing.F) {
	st, err := sqlite.Open(f.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	inSt, err := sqlite.Open(f.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		f.Fatal(err)
	}
	defer inSt.Close()
	in, err := New(ctx, Config{Registration: Registration{Sender: stubSender{}}}, inSt, nil)
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(ctx, Config{CSEID: "/id-mn", CSEName: "cse-mn", CSEType: TypeMN, Registration: Registration{
		Registrar: Registrar{URL: "http://up", CSEID: "/id-in", Name: "cse-in"}, Sender: stubSender{},
		CredentialBindings: map[string]string{"cred": "/id-bound"}, AcceptDeclaredCredentials: true,
	}}, st, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := c.createRegistrarCSR(ctx, map[string]any{"rn": "cse-in", "csi": "/id-in", "cst": int64(1), "poa": []any{"http://up"}}); err != nil {
		f.Fatal(err)
	}
	req := primitive.NewRequest()
	req.Op, req.Ty, req.To, req.From, req.RQI = primitive.OpCreate, 16, "cse-mn", "/id-asn", "1"
	req.Content = map[string]any{"m2m:csr": map[string]any{"cb": "/id-asn/cse-asn", "rr": true, "srv": []any{"3"}, "poa": []any{"http://down"}, "dcse": []any{"/id-asn2"}}}
	if r := c.Handle(ctx, req); r.RSC != primitive.RSCCreated {
		f.Fatalf("registering the ASN: %v %v", r.RSC, r.PC)
	}
	req.To, req.From = "cse-in", "/id-mn"
	req.Content = map[string]any{"m2m:csr": map[string]any{"cb": "/id-mn/cse-mn", "rr": true, "srv": []any{"3"}, "poa": []any{"http://up"}, "dcse": []any{"/id-asn"}}}
	if r := in.Handle(ctx, req); r.RSC != primitive.RSCCreated {
		f.Fatalf("registering the MN: %v %v", r.RSC, r.PC)
	}
	for _, s := range []struct {
		op       int
		from, to string
		ty       int
		body     string
	}{
		{1, "/id-x", "cse-mn", 16, `{"m2m:csr":{"cb":"//onecse.example/id-x/cse-x","csi":"/id-x","rr":true,"srv":["3"]}}`},
		{1, "", "cse-mn", 16, `{"m2m:csr":{"cb":"//onecse.example/-/cse-x","rr":true,"srv":["3"],"lbl":["Credential-ID:cred"]}}`},
		{1, "/id-asn/S", "/id-in", 10002, `{"m2m:aeA":{"lnk":"/id-asn/S"}}`},
		{1, "/id-asn/Sab", "cse-mn", 10002, `{"m2m:aeA":{"lnk":"/id-asn/Sab"}}`},
		{2, "/id-asn/Cae", "/id-in/cse-in/x", 0, ``},
		{2, "/id-in/Cae", "/id-asn2/cse-y", 0, ``},
		{3, "/id-asn", "/id-mn/id-asn", 0, `{"m2m:csr":{"dcse":["/id-mn"]}}`},
		{4, "/id-asn", "cse-mn/id-asn", 0, ``},
		{2, "//other.example/id-z/Cq", "//onecse.example/id-mn/cse-mn", 0, ``},
		// Announcement (announce.go): announced resources of another CSE,
		// and originals with at.
		{1, "/id-asn", "cse-mn", 10005, `{"m2m:cbA":{"rn":"cbA-id-asn","lnk":"/id-asn/id-asn"}}`},
		{1, "/id-asn", "cse-mn/cbA-id-asn", 10003, `{"m2m:cntA":{"lnk":"/id-asn/cnt1","mni":3}}`},
		{1, "/id-asn", "cse-mn", 10002, `{"m2m:aeA":{"lnk":"/id-asn/Cx","aei":"/id-asn/Cx"}}`},
		{1, "CAdmin", "cse-mn", 3, `{"m2m:cnt":{"rn":"a","at":["/id-in","/id-asn","/id-mn","x"],"aa":["mni","lbl"]}}`},
		{3, "CAdmin", "cse-mn/a", 0, `{"m2m:cnt":{"at":["/id-in/q"],"mni":1}}`},
	} {
		f.Add(false, s.op, s.from, s.to, s.ty, []byte(s.body))
		f.Add(true, s.op, s.from, s.to, s.ty, []byte(s.body))
	}
	f.Add(true, 1, "/id-mn", "/id-in", 10002, []byte(`{"m2m:aeA":{"lnk":"/id-mn"}}`))
	f.Fuzz(func(t *testing.T, atIN bool, op int, from, to string, ty int, body []byte) {
		req := primitive.NewRequest()
		req.Op, req.From, req.To, req.Ty, req.RQI, req.RVI = primitive.Operation(op), from, to, ty, "f", "3"
		if len(body) > 0 {
			m, err := codec.Decode(codec.JSON, body)
			if err != nil {
				return
			}
			req.Content = m
		}
		cse := c
		if atIN {
			cse = in
		}
		resp := cse.Handle(ctx, req)
		if resp == nil || resp.RSC == primitive.RSCInternalServerError {
			t.Fatalf("%+v → %+v", req, resp)
		}
	})
}
