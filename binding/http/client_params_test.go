package http

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// recorder is a core that keeps the request the binding decoded.
type recorder struct{ got chan *primitive.Request }

func (r recorder) Handle(_ context.Context, req *primitive.Request) *primitive.Response {
	r.got <- req
	return &primitive.Response{RSC: primitive.RSCOK}
}

// Every request parameter the client sends arrives at the binding's decoder
// as it was sent: the client is the decoder's exact reverse (TS-0009 6.2.2.2
// query, 6.4 headers), which forwarding across CSEs relies on.
func TestClientParametersRoundTrip(t *testing.T) {
	rec := recorder{got: make(chan *primitive.Request, 1)}
	srv := httptest.NewServer(New(rec, Options{}))
	defer srv.Close()
	ts := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	i64 := func(n int64) *int64 { return &n }
	no := false
	for _, tc := range []struct {
		name string
		req  primitive.Request
		want func(*primitive.Request) // adjusts the expectation where the wire differs
	}{
		{name: "discovery", req: primitive.Request{Op: primitive.OpRetrieve, To: "/id-in/cse-in", RCN: primitive.RCNAbsent, DRT: 1,
			FC: &primitive.FilterCriteria{FU: 1, Lim: 5, Lvl: 2, Ofst: 2, FO: 1, Ty: []int{3, 4}, Labels: []string{"a:b", "c d"},
				CRA: ts, STS: i64(1), SZB: i64(9), ContentTypes: []string{"text/plain"},
				Attrs: []primitive.AttrCond{{Name: "rn", Value: "x+y"}}}}},
		{name: "partial retrieve", req: primitive.Request{Op: primitive.OpRetrieve, To: "/id-in/cse-in/cnt#lbl", RCN: primitive.RCNAbsent, ATRL: []string{"rn"}},
			want: func(r *primitive.Request) { r.To, r.ATRL = "/id-in/cse-in/cnt", []string{"lbl", "rn"} }},
		{name: "headers", req: primitive.Request{Op: primitive.OpUpdate, To: "cse-in/cnt", RCN: 9, RQET: ts, RSET: ts, OET: ts.Add(-time.Minute),
			OT: "20300102T030405", EC: 3, GID: "g1", VSI: "v1", RT: &primitive.ResponseType{RTV: 2, NU: []string{"/id-mn/Cae", "http://x/y"}},
			RP: "PT1M", DA: &no, RIDs: []string{"a", "b"}, Content: map[string]any{"m2m:cnt": map[string]any{"lbl": []any{"x"}}}}},
		{name: "delete", req: primitive.Request{Op: primitive.OpDelete, To: "//sp.example/id-in/cse-in/x", RCN: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.From, req.FromPresent, req.RQI, req.RVI = "/id-mn/Cae", true, "rq-"+tc.name, "4"
			if _, err := NewClient(ClientOptions{}).Send(context.Background(), srv.URL, codec.FormatNone, &req); err != nil {
				t.Fatal(err)
			}
			got := <-rec.got
			got.Peer = primitive.Peer{}
			want := req
			if tc.want != nil {
				tc.want(&want)
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("decoded\n %+v %+v\nsent\n %+v %+v", got, got.FC, &want, want.FC)
			}
		})
	}
}
