package cse_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

// TestSARequirement: which requests without a security association are
// refused with 4107 under each rule. SAFromOtherHosts (the default of an
// IN-CSE, "auto") refuses AE and CSE registration from a peer on another
// host, accepts it from loopback and from a binding that does not know the
// peer's address (MQTT), and creates nothing when it refuses.
func TestSARequirement(t *testing.T) {
	remote := primitive.Peer{Binding: "http", Addr: netip.MustParseAddr("192.0.2.10")}
	remote6 := primitive.Peer{Binding: "http", Addr: netip.MustParseAddr("2001:db8::1")}
	loop := primitive.Peer{Binding: "http", Addr: netip.MustParseAddr("127.0.0.1")}
	loop6 := primitive.Peer{Binding: "http", Addr: netip.MustParseAddr("::1")}
	unknown := primitive.Peer{Binding: "mqtt"}

	tests := []struct {
		name     string
		rule     cse.SARequirement
		peer     primitive.Peer
		refused  bool // 4107
		isRemote bool // a CSE registration rather than an AE's
	}{
		{"auto/ae/remote", cse.SAFromOtherHosts, remote, true, false},
		{"auto/ae/remote-v6", cse.SAFromOtherHosts, remote6, true, false},
		{"auto/ae/loopback", cse.SAFromOtherHosts, loop, false, false},
		{"auto/ae/loopback-v6", cse.SAFromOtherHosts, loop6, false, false},
		{"auto/ae/unknown-peer", cse.SAFromOtherHosts, unknown, false, false},
		{"auto/cse/remote", cse.SAFromOtherHosts, remote, true, true},
		{"auto/cse/loopback", cse.SAFromOtherHosts, loop, false, true},
		{"always/ae/loopback", cse.SAAlways, loop, true, false},
		{"always/ae/unknown-peer", cse.SAAlways, unknown, true, false},
		{"always/cse/loopback", cse.SAAlways, loop, true, true},
		{"never/ae/remote", cse.SANever, remote, false, false},
		{"never/cse/remote", cse.SANever, remote, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			cfg := cse.Config{CSEID: "/id-in", CSEName: "cse-in", CSEType: cse.TypeIN}
			cfg.RequireSAForAEs, cfg.RequireSAForCSEs = tc.rule, tc.rule
			c, err := cse.New(context.Background(), cfg, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := primitive.NewRequest()
			req.Op, req.To, req.RQI, req.RVI, req.Peer = primitive.OpCreate, "cse-in", "1", "3", tc.peer
			if tc.isRemote {
				req.Ty, req.From = 16, "/id-mn"
				req.Content = map[string]any{"m2m:csr": map[string]any{"rn": "cse-mn", "csi": "/id-mn", "cb": "/id-mn/cse-mn", "cst": 2, "rr": true, "srv": []any{"3"}, "poa": []any{"http://192.0.2.10:8080"}}}
			} else {
				req.Ty, req.From = 2, "Csensor"
				req.Content = map[string]any{"m2m:ae": map[string]any{"rn": "sensor", "api": "Nsensor", "rr": false, "srv": []any{"3"}}}
			}
			resp := c.Handle(context.Background(), req)
			if got := resp.RSC == primitive.RSCSecurityAssociationRequired; got != tc.refused {
				t.Fatalf("answered %v %v, want 4107: %v", resp.RSC, resp.PC, tc.refused)
			}
			// What was created: nothing when refused, the one registree
			// otherwise (so that the count is known to see it).
			get := primitive.NewRequest()
			get.Op, get.To, get.RQI, get.RVI, get.From = primitive.OpRetrieve, "cse-in", "2", "3", "CAdmin"
			get.RCN = primitive.RCNChildResources
			r := c.Handle(context.Background(), get)
			if r.RSC != primitive.RSCOK {
				t.Fatalf("retrieve children: %v %v", r.RSC, r.PC)
			}
			want := 1
			if tc.refused {
				want = 0
			}
			if n := childCount(r.PC); n != want && !(tc.isRemote && !tc.refused) {
				t.Fatalf("%d registrees after the registration, want %d: %v", n, want, r.PC)
			}
		})
	}
}

func childCount(pc map[string]any) int {
	n := 0
	for _, v := range pc {
		m, _ := v.(map[string]any)
		for _, k := range []string{"m2m:ae", "m2m:csr"} {
			l, _ := m[k].([]any)
			n += len(l)
		}
	}
	return n
}
