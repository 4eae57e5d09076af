package multicse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// Announcement (announceTo / announcedAttribute) of <AE> and <container>
// (TS-0001 9.6.26, 10.2.18; issue 4).

// announcedAt returns the address ("/id-in/<ri>") that an original's at
// holds for the target csi, failing the test when there is none.
func announcedAt(t *testing.T, orig map[string]any, csi string) string {
	t.Helper()
	for _, e := range strs(orig["at"]) {
		if strings.HasPrefix(e, csi+"/") {
			return e
		}
	}
	t.Fatalf("at %v holds no announced resource on %s", orig["at"], csi)
	return ""
}

// onIN reads an announced resource on the IN by its at entry.
func onIN(tr *tree, addr string) *testcse.Resp {
	return get(tr.in, "/~"+addr)
}

func TestAnnounceAEAndContainer(t *testing.T) {
	tr := startTree(t)
	// An AE on the MN announced to the IN, with two OA attributes.
	r := tr.mn.Do(testcse.Req{Method: "POST", Path: "/cse-mn", From: "C", Ty: 2, Body: map[string]any{"m2m:ae": map[string]any{
		"rn": "meter", "api": "Nmeter", "rr": true, "srv": []any{"3"}, "lbl": []any{"floor:1"}, "poa": []any{"http://10.0.0.1:80"},
		"at": []any{"/id-in"}, "aa": []any{"api", "poa", "ct"}}}}).Must(t, 2001)
	ae := r.Res("m2m:ae")
	aei := ae["aei"].(string)
	addr := announcedAt(t, ae, "/id-in")
	// The original keeps it: a RETRIEVE shows the same at.
	if got := get(tr.mn, "/cse-mn/meter").Must(t, 2000).Res("m2m:ae")["at"]; !reflect.DeepEqual(strs(got), []string{addr}) {
		t.Errorf("stored at %v, want [%s]", got, addr)
	}
	aeA := onIN(tr, addr).Must(t, 2000).Res("m2m:aeA")
	if aeA["ty"] != int64(10002) || aeA["lnk"] != "/id-mn/"+aei || aeA["api"] != "Nmeter" ||
		!reflect.DeepEqual(strs(aeA["poa"]), []string{"http://10.0.0.1:80"}) || !reflect.DeepEqual(strs(aeA["lbl"]), []string{"floor:1"}) {
		t.Errorf("announced AE %v", aeA)
	}
	for _, na := range []string{"rr", "acpi", "at", "aa", "ct"} { // rr not in aa; acpi, at, aa NA; ct no OA
		if na != "ct" {
			if _, ok := aeA[na]; ok {
				t.Errorf("announced AE carries %s: %v", na, aeA)
			}
		}
	}
	// Its parent is the MN's <CSEBaseAnnc> on the IN (TS-0001 9.6.26.1),
	// which the MN created under the IN's <CSEBase>.
	cba := get(tr.in, "/cse-in/cbA-id-mn").Must(t, 2000).Res("m2m:cbA")
	mnBase := get(tr.mn, "/cse-mn").Res("m2m:cb")
	if aeA["pi"] != cba["ri"] || cba["pi"] != get(tr.in, "/cse-in").Res("m2m:cb")["ri"] || cba["ty"] != int64(10005) ||
		cba["lnk"] != "/id-mn/"+mnBase["ri"].(string) || !reflect.DeepEqual(cba["srv"], mnBase["srv"]) {
		t.Errorf("announced AE under %v; <CSEBaseAnnc> %v", aeA["pi"], cba)
	}
	// An announced AE-ID is SP-relative (TS-0001 9.6.26.1); here aei is not
	// announced (not in aa).
	if _, ok := aeA["aei"]; ok {
		t.Errorf("aei announced without aa: %v", aeA)
	}

	// A container of the AE announced to the IN goes under the AE's
	// announcement.
	cnt := tr.mn.Create(aei, "/cse-mn/meter", 3, "m2m:cnt", map[string]any{"rn": "data", "mni": 5, "at": []any{"/id-in"}, "aa": []any{"mni"}})
	caddr := announcedAt(t, cnt, "/id-in")
	cntA := onIN(tr, caddr).Must(t, 2000).Res("m2m:cntA")
	if cntA["ty"] != int64(10003) || cntA["lnk"] != "/id-mn/"+cnt["ri"].(string) || cntA["mni"] != int64(5) || cntA["pi"] != aeA["ri"] {
		t.Errorf("announced container %v (announced AE %v)", cntA, aeA["ri"])
	}

	// Updates of announced attributes follow; others do not travel.
	tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{
		"lbl": []any{"floor:2"}, "apn": "not announced"}}}).Must(t, 2004)
	aeA = onIN(tr, addr).Must(t, 2000).Res("m2m:aeA")
	if !reflect.DeepEqual(strs(aeA["lbl"]), []string{"floor:2"}) || aeA["apn"] != nil {
		t.Errorf("after the update the announced AE is %v", aeA)
	}
	// aa grows: apn and aei are announced now; poa leaves aa: removed.
	tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{
		"aa": []any{"api", "apn", "aei"}}}}).Must(t, 2004)
	aeA = onIN(tr, addr).Must(t, 2000).Res("m2m:aeA")
	if aeA["apn"] != "not announced" || aeA["poa"] != nil || aeA["aei"] != "/id-mn/"+aei {
		t.Errorf("after the aa update the announced AE is %v", aeA)
	}
	tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter/data", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 7}}}).Must(t, 2004)
	if got := onIN(tr, caddr).Must(t, 2000).Res("m2m:cntA")["mni"]; got != int64(7) {
		t.Errorf("announced mni %v, want 7", got)
	}
	// The IN's administrator deletes the container's announcement: the next
	// update of an announced attribute announces it again.
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/~" + caddr, From: "CAdmin"}).Must(t, 2002)
	r = tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter/data", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 8}}}).Must(t, 2004)
	caddr2 := announcedAt(t, r.Res("m2m:cnt"), "/id-in")
	if caddr2 == caddr || len(strs(r.Res("m2m:cnt")["at"])) != 1 {
		t.Errorf("at %v after re-announcing (was %s)", r.Res("m2m:cnt")["at"], caddr)
	}
	if got := onIN(tr, caddr2).Must(t, 2000).Res("m2m:cntA"); got["mni"] != int64(8) || got["pi"] != aeA["ri"] {
		t.Errorf("re-announced container %v", got)
	}
	caddr = caddr2

	// rcn=7 on the announced resource answers the original, fetched from
	// the MN (here by the IN's administrator, whom the AE's creator rule
	// does not name: 4103 from the MN comes back).
	tr.in.Do(testcse.Req{Method: "GET", Path: "/~" + addr + "?rcn=7", From: "CAdmin"}).Must(t, 4103)
	tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"acpi": []any{"cse-mn/open"}}}}).Must(t, 4000) // no such ACP yet
	openACP(tr.mn)
	tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: "CAdmin", Body: map[string]any{"m2m:ae": map[string]any{"acpi": []any{"cse-mn/open"}}}}).Must(t, 2004)
	orig := tr.in.Do(testcse.Req{Method: "GET", Path: "/~" + addr + "?rcn=7", From: "CAdmin"}).Must(t, 2000).Res("m2m:ae")
	if orig["aei"] != aei || orig["apn"] != "not announced" {
		t.Errorf("rcn=7 gave %v", orig)
	}
	get(tr.in, "/cse-in?rcn=7").Must(t, 4000) // not an announced resource

	// Removing the IN from at removes the announcement (and with it the
	// container's, its child on the IN).
	r = tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"at": nil}}}).Must(t, 2004)
	if at, ok := r.Res("m2m:ae")["at"]; ok {
		t.Errorf("at after removal: %v", at)
	}
	onIN(tr, addr).Must(t, 4004)
	onIN(tr, caddr).Must(t, 4004)
	// The container is no longer announced there either: its at is empty.
	if at, ok := get(tr.mn, "/cse-mn/meter/data").Must(t, 2000).Res("m2m:cnt")["at"]; ok {
		t.Errorf("the container's at after its AE left the IN: %v", at)
	}

	// Announced again; deleting the original removes it.
	r = tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"at": []any{"/id-in"}}}}).Must(t, 2004)
	addr2 := announcedAt(t, r.Res("m2m:ae"), "/id-in")
	onIN(tr, addr2).Must(t, 2000)
	// at given again with the CSE-ID keeps the same announcement.
	r = tr.mn.Do(testcse.Req{Method: "PUT", Path: "/cse-mn/meter", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"at": []any{"/id-in"}}}}).Must(t, 2004)
	if got := announcedAt(t, r.Res("m2m:ae"), "/id-in"); got != addr2 {
		t.Errorf("re-stating at moved the announcement from %s to %s", addr2, got)
	}
	tr.mn.Do(testcse.Req{Method: "DELETE", Path: "/cse-mn/meter", From: aei}).Must(t, 2002)
	onIN(tr, addr2).Must(t, 4004)
}

// A container of the ASN announced to the IN (two hops, under the ASN's
// <CSEBaseAnnc> there), and a target that cannot be reached is left out of at.
func TestAnnounceFromASN(t *testing.T) {
	tr := startTree(t)
	cnt := tr.asn.Create("CAdmin", "/cse-asn", 3, "m2m:cnt", map[string]any{"rn": "far", "lbl": []any{"x"}, "at": []any{"/id-in", "/id-nowhere"}})
	if at := strs(cnt["at"]); len(at) != 1 {
		t.Fatalf("at %v, want the IN's announcement only", at)
	}
	addr := announcedAt(t, cnt, "/id-in")
	cntA := onIN(tr, addr).Must(t, 2000).Res("m2m:cntA")
	if cntA["lnk"] != "/id-asn/"+cnt["ri"].(string) || !reflect.DeepEqual(strs(cntA["lbl"]), []string{"x"}) {
		t.Errorf("announced container %v", cntA)
	}
	tr.asn.Do(testcse.Req{Method: "DELETE", Path: "/cse-asn/far", From: "CAdmin"}).Must(t, 2002)
	onIN(tr, addr).Must(t, 4004)

	// A container announced while its AE is not: under the <CSEBaseAnnc>;
	// deregistering the AE removes it too, and a grandchild announced with
	// it (under its announcement) goes with it.
	aei := tr.asn.RegisterAE("dev")
	c1 := tr.asn.Create(aei, "/cse-asn/dev", 3, "m2m:cnt", map[string]any{"rn": "c1", "at": []any{"/id-in"}})
	c2 := tr.asn.Create(aei, "/cse-asn/dev/c1", 3, "m2m:cnt", map[string]any{"rn": "c2", "at": []any{"/id-in"}})
	a1, a2 := announcedAt(t, c1, "/id-in"), announcedAt(t, c2, "/id-in")
	cba := get(tr.in, "/cse-in/cbA-id-asn").Must(t, 2000).Res("m2m:cbA")["ri"]
	if got := onIN(tr, a1).Must(t, 2000).Res("m2m:cntA")["pi"]; got != cba {
		t.Errorf("c1 announced under %v, want the ASN's <CSEBaseAnnc> %v", got, cba)
	}
	if got := onIN(tr, a2).Must(t, 2000).Res("m2m:cntA")["pi"]; "/id-in/"+got.(string) != a1 {
		t.Errorf("c2 announced under %v, want %s", got, a1)
	}
	tr.asn.Do(testcse.Req{Method: "DELETE", Path: "/cse-asn/dev", From: aei}).Must(t, 2002)
	onIN(tr, a1).Must(t, 4004)
	onIN(tr, a2).Must(t, 4004)

	// The AE announced after its container and then withdrawn from the IN:
	// the container's announcement (under the <CSEBaseAnnc>) goes too.
	aei = tr.asn.RegisterAE("dev2")
	c3 := tr.asn.Create(aei, "/cse-asn/dev2", 3, "m2m:cnt", map[string]any{"rn": "c3", "at": []any{"/id-in"}})
	a3 := announcedAt(t, c3, "/id-in")
	tr.asn.Do(testcse.Req{Method: "PUT", Path: "/cse-asn/dev2", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"at": []any{"/id-in"}}}}).Must(t, 2004)
	tr.asn.Do(testcse.Req{Method: "PUT", Path: "/cse-asn/dev2", From: aei, Body: map[string]any{"m2m:ae": map[string]any{"at": []any{}}}}).Must(t, 2004)
	onIN(tr, a3).Must(t, 4004)
	if at, ok := get(tr.asn, "/cse-asn/dev2/c3").Must(t, 2000).Res("m2m:cnt")["at"]; ok {
		t.Errorf("c3's at after its AE left the IN: %v", at)
	}
}

// Only the announcing CSE creates, updates and deletes announced resources.
func TestAnnouncedResourcesGuarded(t *testing.T) {
	tr := startTree(t)
	openACP(tr.in)
	inAE := tr.in.RegisterAE("app")
	mnAE := tr.mn.RegisterAE("other")
	body := func(lnk string) map[string]any {
		return map[string]any{"m2m:cntA": map[string]any{"lnk": lnk, "acpi": []any{"cse-in/open"}}}
	}
	count := func() int {
		r := tr.in.Do(testcse.Req{Method: "GET", Path: "/cse-in?fu=1&ty=10003", From: "CAdmin"}).Must(t, 2000)
		return len(strs(r.JSON["m2m:uril"]))
	}
	for _, tc := range []struct {
		name string
		c    *testcse.CSE
		path string
		from string
		lnk  string
		rsc  int
	}{
		{"an AE of the IN", tr.in, "/cse-in", inAE, "/id-mn/cnt1", 4103},
		{"an AE of the MN", tr.mn, "/~/id-in/cse-in", mnAE, "/id-mn/cnt1", 4103},
		{"the IN's administrator", tr.in, "/cse-in", "CAdmin", "/id-mn/cnt1", 4103},
		{"the MN for an original of another CSE", tr.in, "/cse-in", "/id-mn", "/id-asn/cnt1", 4000},
		{"the MN without lnk", tr.in, "/cse-in", "/id-mn", "", 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body(tc.lnk)
			if tc.lnk == "" {
				delete(b["m2m:cntA"].(map[string]any), "lnk")
			}
			delete(b["m2m:cntA"].(map[string]any), "acpi")
			tc.c.Do(testcse.Req{Method: "POST", Path: tc.path, From: tc.from, Ty: 10003, Body: b}).Must(t, tc.rsc)
			if n := count(); n != 0 {
				t.Errorf("%d announced containers on the IN", n)
			}
		})
	}
	// The MN's own announcement; the IN's AE can neither change nor delete
	// it, even though it may (by the ACP) read it.
	cnt := tr.mn.Create("CAdmin", "/cse-mn", 3, "m2m:cnt", map[string]any{"rn": "c", "lbl": []any{"a"}, "at": []any{"/id-in"}})
	addr := announcedAt(t, cnt, "/id-in")
	tr.in.Do(testcse.Req{Method: "PUT", Path: "/~" + addr, From: inAE, Body: map[string]any{"m2m:cntA": map[string]any{"lbl": []any{"b"}}}}).Must(t, 4103)
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/~" + addr, From: inAE}).Must(t, 4103)
	// The ASN (another CSE) cannot either.
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/~" + addr, From: "/id-asn"}).Must(t, 4103)
	if got := strs(onIN(tr, addr).Must(t, 2000).Res("m2m:cntA")["lbl"]); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("lbl %v after refused changes", got)
	}
	// Even an announced resource whose acpi lets everybody do everything
	// (the MN sent one) is changed by the MN only.
	r := tr.in.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "/id-mn", Ty: 10003, Body: body("/id-mn/cnt9")}).Must(t, 2001)
	open := "/id-in/" + r.Res("m2m:cntA")["ri"].(string)
	tr.in.Do(testcse.Req{Method: "PUT", Path: "/~" + open, From: inAE, Body: map[string]any{"m2m:cntA": map[string]any{"lbl": []any{"b"}}}}).Must(t, 4103)
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/~" + open, From: "/id-asn"}).Must(t, 4103)
	tr.in.Do(testcse.Req{Method: "GET", Path: "/~" + open, From: inAE}).Must(t, 2000)
	tr.in.Do(testcse.Req{Method: "PUT", Path: "/~" + open, From: "/id-mn", Body: map[string]any{"m2m:cntA": map[string]any{"lbl": []any{"b"}}}}).Must(t, 2004)
	tr.in.Do(testcse.Req{Method: "DELETE", Path: "/~" + open, From: "/id-mn"}).Must(t, 2002)
	// Under another CSE's announcement nobody else creates.
	tr.in.Do(testcse.Req{Method: "POST", Path: "/~" + addr, From: "/id-asn", Ty: 10003, Body: body("/id-asn/x")}).Must(t, 4103)
}
