package notify

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/store/sqlite"
)

// TestMatches: step 1.0 of TS-0004 7.5.1.2.2, table-driven.
func TestMatches(t *testing.T) {
	cin := func(ct string, st, cs int64) map[string]any {
		return map[string]any{"ty": int64(4), "ct": ct, "lt": ct, "et": "20300101T000000", "st": st, "cs": cs}
	}
	res := cin("20250601T120000", 5, 10)
	cases := []struct {
		name string
		enc  map[string]any
		net  int64
		ty   int
		res  map[string]any
		mod  []string
		want bool
	}{
		{"no enc: updates", nil, 1, 3, res, []string{"lbl"}, true},
		{"no enc: not a new child", nil, 3, 4, res, nil, false},
		{"net list", map[string]any{"net": []any{int64(3), int64(4)}}, 4, 4, res, nil, true},
		{"net list, other type", map[string]any{"net": []any{int64(3), int64(4)}}, 1, 3, res, nil, false},
		{"atr hit", map[string]any{"atr": []any{"lbl", "mni"}}, 1, 3, res, []string{"lt", "mni"}, true},
		{"atr miss", map[string]any{"atr": []any{"lbl"}}, 1, 3, res, []string{"lt", "mni"}, false},
		{"atr only on updates", map[string]any{"net": []any{int64(3)}, "atr": []any{"lbl"}}, 3, 4, res, nil, true},
		{"chty hit", map[string]any{"net": []any{int64(3)}, "chty": []any{int64(4)}}, 3, 4, res, nil, true},
		{"chty miss", map[string]any{"net": []any{int64(3)}, "chty": []any{int64(3)}}, 3, 4, res, nil, false},
		{"chty not for the resource's own deletion", map[string]any{"net": []any{int64(2)}, "chty": []any{int64(3)}}, 2, 4, res, nil, true},
		{"crb", map[string]any{"net": []any{int64(3)}, "crb": "20250601T120001"}, 3, 4, res, nil, true},
		{"crb equal", map[string]any{"net": []any{int64(3)}, "crb": "20250601T120000"}, 3, 4, res, nil, false},
		{"cra equal", map[string]any{"net": []any{int64(3)}, "cra": "20250601T120000"}, 3, 4, res, nil, true},
		{"ms", map[string]any{"net": []any{int64(3)}, "ms": "20250601T120001"}, 3, 4, res, nil, false},
		{"us", map[string]any{"net": []any{int64(3)}, "us": "20250601T120001"}, 3, 4, res, nil, true},
		{"exb", map[string]any{"net": []any{int64(3)}, "exb": "20300101T000001"}, 3, 4, res, nil, true},
		{"exa", map[string]any{"net": []any{int64(3)}, "exa": "20300101T000001"}, 3, 4, res, nil, false},
		{"stb", map[string]any{"net": []any{int64(3)}, "stb": int64(5)}, 3, 4, res, nil, true},
		{"sts", map[string]any{"net": []any{int64(3)}, "sts": int64(5)}, 3, 4, res, nil, false},
		{"sza", map[string]any{"net": []any{int64(3)}, "sza": int64(10)}, 3, 4, res, nil, true},
		{"szb", map[string]any{"net": []any{int64(3)}, "szb": int64(10)}, 3, 4, res, nil, false},
		{"size of a resource without cs", map[string]any{"net": []any{int64(3)}, "sza": int64(0)}, 3, 3, map[string]any{"ty": int64(3)}, nil, false},
		{"AND", map[string]any{"net": []any{int64(3)}, "sza": int64(1), "szb": int64(5)}, 3, 4, res, nil, false},
		{"OR", map[string]any{"net": []any{int64(3)}, "sza": int64(1), "szb": int64(5), "fo": int64(2)}, 3, 4, res, nil, true},
		{"OR, none", map[string]any{"net": []any{int64(3)}, "sza": int64(11), "szb": int64(5), "fo": int64(2)}, 3, 4, res, nil, false},
		{"OR does not open the event type", map[string]any{"net": []any{int64(3)}, "sza": int64(1), "fo": int64(2)}, 1, 3, res, nil, false},
	}
	for _, tc := range cases {
		a := map[string]any{"ri": "sub1", "nu": []any{"x"}}
		if tc.enc != nil {
			a["enc"] = tc.enc
		}
		if got := parseSub(a).matches(tc.net, newEventRes(tc.ty, tc.res), tc.mod); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestParseSub: the defaults and the delivery policies of a subscription.
func TestParseSub(t *testing.T) {
	s := parseSub(map[string]any{"ri": "s", "nu": []any{"a", "b"}})
	if fmt.Sprint(s.nets) != "[1]" || s.nct != 1 || s.batch || s.latest || s.rateMax != 0 || s.hasExc || s.ec != 0 {
		t.Errorf("defaults: %+v", s)
	}
	s = parseSub(map[string]any{"ri": "s", "nct": int64(3), "nec": int64(2), "exc": int64(4), "ln": true,
		"bn": map[string]any{"num": int64(5), "dur": "PT2S"}, "rl": map[string]any{"mnn": int64(3), "tww": "PT1M"}})
	if s.nct != 3 || s.ec != ecLatest || !s.hasExc || s.exc != 4 || !s.batch || s.batchNum != 5 || s.batchDur != 2*time.Second || s.rateMax != 3 || s.rateWin != time.Minute {
		t.Errorf("policies: %+v", s)
	}
	if s := parseSub(map[string]any{"nec": int64(2)}); s.ec != 2 {
		t.Errorf("nec: ec %d", s.ec)
	}
}

// TestContent: step 2.1 of TS-0004 7.5.1.2.2.
func TestContent(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	core, err := cse.New(context.Background(), cse.Config{}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]any{"ri": "cnt1", "ty": int64(3), "lbl": []any{"a"}, "mni": int64(3), "lt": "x"}
	for nct, want := range map[int64]string{
		1: "map[m2m:cnt:map[lbl:[a] lt:x mni:3 ri:cnt1 ty:3]]",
		2: "map[m2m:cnt:map[lbl:[a] mbs:<nil>]]",
		3: "map[m2m:uri:/id-in/cnt1]",
	} {
		s := parseSub(map[string]any{"ri": "s", "nct": nct, "cr": "Cme"})
		got := s.content(core, 3, res, []string{"lbl", "mbs"})
		if fmt.Sprint(got) != want {
			t.Errorf("nct %d: %v, want %s", nct, got, want)
		}
		sgn := s.notification(core, 1, got)
		if sgn["sur"] != "/id-in/s" || sgn["cr"] != "Cme" || sgn["nev"].(map[string]any)["net"] != int64(1) {
			t.Errorf("notification %v", sgn)
		}
	}
	if d := parseSub(map[string]any{"ri": "s"}).deletion(core); fmt.Sprint(d) != "map[sud:true sur:/id-in/s]" {
		t.Errorf("deletion %v", d)
	}
}

// BenchmarkMatchThousandSubs is the notifier's work for one new
// contentInstance under a container with 1,000 subscriptions to child
// creations whose size condition it does not meet: each event is parsed once,
// then tested against every subscription.
func BenchmarkMatchThousandSubs(b *testing.B) {
	subs := make([]*sub, 1000)
	for i := range subs {
		subs[i] = parseSub(map[string]any{"ri": "sub" + strconv.Itoa(i), "nu": []any{"http://127.0.0.1/n"},
			"enc": map[string]any{"net": []any{int64(3)}, "chty": []any{int64(4)}, "sza": int64(1 << 30)}})
	}
	ss := newSubjectSubs(subs)
	res := map[string]any{"ri": "cin1", "ty": int64(4), "cs": int64(32), "st": int64(7),
		"ct": "20261127T210219,041781", "lt": "20261127T210219,041781", "et": "20271127T210218,992243"}
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if m := ss.matching(3, at, "cin1", 4, res, nil); len(m) != 0 {
			b.Fatal("a subscription matched")
		}
	}
}

// Subscriptions share a criteria number exactly when their criteria are the
// same, so that an event's verdict for one holds for the others.
func TestCritKey(t *testing.T) {
	encs := []map[string]any{
		{"net": []any{int64(3)}},
		{"net": []any{int64(3), int64(1)}}, // the event types are not part of it (byNet)
		{"net": []any{int64(3)}, "chty": []any{int64(4)}},
		{"net": []any{int64(3)}, "sza": int64(10)},
		{"net": []any{int64(3)}, "sza": int64(11)},
		{"net": []any{int64(3)}, "szb": int64(10)},
		{"net": []any{int64(3)}, "sza": int64(10), "fo": int64(2)},
		{"net": []any{int64(1)}, "atr": []any{"lbl"}},
		{"net": []any{int64(1)}, "atr": []any{"lbl", "acpi"}},
		{"net": []any{int64(1)}, "atr": []any{"lbl acpi"}},
		{"net": []any{int64(3)}, "cra": "20250601T120000"},
		{"net": []any{int64(3)}, "crb": "20250601T120000"},
		{"net": []any{int64(3)}, "sts": int64(0)},
	}
	var subs []*sub
	for i, enc := range encs {
		subs = append(subs, parseSub(map[string]any{"ri": "s" + strconv.Itoa(i), "enc": enc}))
	}
	subs = append(subs, parseSub(map[string]any{"ri": "again", "enc": map[string]any{"net": []any{int64(3)}, "sza": int64(10)}}))
	ss := newSubjectSubs(subs)
	if ss.crits != len(encs)-1 {
		t.Errorf("%d distinct criteria, want %d", ss.crits, len(encs)-1)
	}
	if subs[0].crit != subs[1].crit {
		t.Error("criteria that differ only in net were told apart")
	}
	if last := subs[len(subs)-1]; last.crit != subs[3].crit {
		t.Error("the same criteria got two numbers")
	}
	seen := map[int]int{}
	for i, sb := range subs[2 : len(subs)-1] {
		if j, ok := seen[sb.crit]; ok {
			t.Errorf("criteria %v and %v share a number", encs[j+2], encs[i+2])
		}
		seen[sb.crit] = i
	}
}

// matching leaves out the subscriptions created after the event, those
// expired at its time and a subscription's own creation, and keeps one that
// expires long after the year 2262 (beyond UnixNano).
func TestMatchingSkips(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	enc := map[string]any{"net": []any{int64(3)}}
	mk := func(ri, ct, et string) *sub {
		a := map[string]any{"ri": ri, "enc": enc}
		if ct != "" {
			a["ct"] = ct
		}
		if et != "" {
			a["et"] = et
		}
		return parseSub(a)
	}
	ss := newSubjectSubs([]*sub{
		mk("before", "20260601T115959", "20270101T000000"),
		mk("later", "20260601T120001", ""),
		mk("expired", "20250101T000000", "20260601T120000"),
		mk("far", "20250101T000000", "99991231T235959"),
		mk("own", "20260601T120000", ""),
		mk("noTimes", "", ""),
	})
	var got []string
	for _, sb := range ss.matching(3, at, "own", 23, map[string]any{"ri": "own", "ty": int64(23)}, nil) {
		got = append(got, sb.ri)
	}
	if want := []string{"before", "far", "noTimes"}; !slices.Equal(got, want) {
		t.Errorf("matching: %v, want %v", got, want)
	}
}
