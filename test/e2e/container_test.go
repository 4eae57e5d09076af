package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/primitive"
)

// Container limits and counters (TS-0004 7.4.6, 7.4.7.2.1; protocol.md 3.5).

// instances returns the contentInstance children of path in creation order
// (rcn=8 filtered by ty=4), as the admin.
func instances(t *testing.T, c *testcse.CSE, path string) []map[string]any {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: path + "?rcn=8&ty=4", From: admin}).Must(t, 2000)
	var out []map[string]any
	l, _ := r.Res("m2m:cnt")["m2m:cin"].([]any)
	for _, k := range l {
		out = append(out, k.(map[string]any))
	}
	return out
}

func cntAttrs(t *testing.T, c *testcse.CSE, path string) map[string]any {
	t.Helper()
	return get(t, c, path)["m2m:cnt"].(map[string]any)
}

// checkCounters asserts that cni and cbs agree with the children and returns them.
func checkCounters(t *testing.T, c *testcse.CSE, path string) (cni, cbs int64) {
	t.Helper()
	cnt := cntAttrs(t, c, path)
	kids := instances(t, c, path)
	var sum int64
	for _, k := range kids {
		sum += k["cs"].(int64)
	}
	cni, cbs = cnt["cni"].(int64), cnt["cbs"].(int64)
	if cni != int64(len(kids)) || cbs != sum {
		t.Fatalf("%s: cni %d cbs %d, but %d children with %d bytes", path, cni, cbs, len(kids), sum)
	}
	return cni, cbs
}

func cons(kids []map[string]any) string {
	var s []string
	for _, k := range kids {
		s = append(s, fmt.Sprint(k["con"]))
	}
	return strings.Join(s, ",")
}

func TestContainerMaxNrOfInstances(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c", "mni": 3})
	for i := range 5 {
		c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": fmt.Sprint(i)})
		if cni, _ := checkCounters(t, c, "/cse-in/ae/c"); cni != int64(min(i+1, 3)) {
			t.Fatalf("after %d instances cni = %d", i+1, cni)
		}
	}
	if got := cons(instances(t, c, "/cse-in/ae/c")); got != "2,3,4" {
		t.Fatalf("kept %s, want the newest 2,3,4", got)
	}
	if st := cntAttrs(t, c, "/cse-in/ae/c")["st"]; st != int64(5) {
		t.Fatalf("st = %v, want 5", st)
	}
	// Lowering mni drops the oldest at once; the answer shows it.
	up := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": 1}}}).Must(t, 2004).Res("m2m:cnt")
	if up["cni"] != int64(1) || up["cbs"] != int64(1) {
		t.Fatalf("UPDATE answer cni %v cbs %v", up["cni"], up["cbs"])
	}
	checkCounters(t, c, "/cse-in/ae/c")
	if got := cons(instances(t, c, "/cse-in/ae/c")); got != "4" {
		t.Fatalf("kept %s after mni=1", got)
	}
	// Raising it keeps what is there; removing it lifts the limit.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mni": nil}}}).Must(t, 2004)
	for i := range 4 {
		c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": fmt.Sprint(i)})
	}
	if cni, _ := checkCounters(t, c, "/cse-in/ae/c"); cni != 5 {
		t.Fatalf("cni = %d without mni", cni)
	}
}

func TestContainerMaxByteSize(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c", "mbs": 10})
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "aaaa"})
	// One instance bigger than mbs: 5207 NOT_ACCEPTABLE, nothing changes.
	before := snap(t, c, "/cse-in/ae/c")
	r := c.Do(testcse.Req{Method: "POST", Path: "/cse-in/ae/c", From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": "12345678901"}}}).Must(t, 5207)
	if !strings.Contains(dbg(r), "maxByteSize") {
		t.Errorf("debug %q", dbg(r))
	}
	before.mustEqual(t, c, "/cse-in/ae/c")
	// Exactly mbs is fine.
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "bbbb"})
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "cccc"}) // 12 > 10: drop the oldest
	cni, cbs := checkCounters(t, c, "/cse-in/ae/c")
	if cni != 2 || cbs != 8 || cons(instances(t, c, "/cse-in/ae/c")) != "bbbb,cccc" {
		t.Fatalf("cni %d cbs %d kept %s", cni, cbs, cons(instances(t, c, "/cse-in/ae/c")))
	}
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": "0123456789"}) // alone it fits
	if cni, cbs := checkCounters(t, c, "/cse-in/ae/c"); cni != 1 || cbs != 10 {
		t.Fatalf("cni %d cbs %d", cni, cbs)
	}
	// Lowering mbs drops at once.
	c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mbs": 100}}}).Must(t, 2004)
	for _, s := range []string{"a", "bb", "ccc"} {
		c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": s})
	}
	up := c.Do(testcse.Req{Method: "PUT", Path: "/cse-in/ae/c", From: aei, Body: map[string]any{"m2m:cnt": map[string]any{"mbs": 5}}}).Must(t, 2004).Res("m2m:cnt")
	if up["cbs"] != int64(5) || up["cni"] != int64(2) {
		t.Fatalf("after mbs=5: %v", up)
	}
	checkCounters(t, c, "/cse-in/ae/c")
	// Both limits together.
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "both", "mni": 3, "mbs": 6})
	for _, s := range []string{"aa", "bb", "cc", "dd", "eeee"} {
		c.Create(aei, "/cse-in/ae/both", 4, "m2m:cin", map[string]any{"con": s})
	}
	if got := cons(instances(t, c, "/cse-in/ae/both")); got != "dd,eeee" {
		t.Fatalf("kept %s", got)
	}
	checkCounters(t, c, "/cse-in/ae/both")
}

// TestContentSize: cs is the byte length of a string content (UTF-8) and of
// the JSON form of anything else.
func TestContentSize(t *testing.T) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c"})
	for _, tc := range []struct {
		con any
		cs  int64
	}{{"abc", 3}, {"é", 2}, {"", 0}, {map[string]any{"a": 1}, 7}, {[]any{1, 2}, 5}, {int64(12345), 5}, {true, 4}} {
		cin := c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"con": tc.con})
		if cin["cs"] != tc.cs {
			t.Errorf("con %v: cs %v, want %d", tc.con, cin["cs"], tc.cs)
		}
	}
	checkCounters(t, c, "/cse-in/ae/c")
}

// TestContainerMaxInstanceAge: an instance's et is capped at ct+mia and the
// instance is removed (and the counters fixed) once it is reached.
func TestContainerMaxInstanceAge(t *testing.T) {
	t.Parallel()
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", map[string]any{"rn": "c", "mia": 2})
	cin := c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": "old", "con": "x", "et": future(time.Hour)})
	ct, _ := primitive.ParseTime(cin["ct"].(string))
	et, _ := primitive.ParseTime(cin["et"].(string))
	if et.Sub(ct) != 2*time.Second {
		t.Fatalf("et - ct = %s, want mia 2s", et.Sub(ct))
	}
	asked := future(1500 * time.Millisecond)
	short := c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": "short", "con": "yy", "et": asked})
	if short["et"] != asked {
		t.Fatalf("an et within mia was changed from %s to %v", asked, short["et"])
	}
	checkCounters(t, c, "/cse-in/ae/c")
	deadline := time.Now().Add(6 * time.Second)
	for {
		cnt := cntAttrs(t, c, "/cse-in/ae/c")
		if cnt["cni"] == int64(0) && cnt["cbs"] == int64(0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances not removed after mia: %v", cnt)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/ae/c/old", From: aei}).Must(t, 4004)
	if n := len(instances(t, c, "/cse-in/ae/c")); n != 0 {
		t.Fatalf("%d instances left", n)
	}
	// The names are free again: the expiry loop really deleted them.
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": "old", "con": "x"})
	c.Create(aei, "/cse-in/ae/c", 4, "m2m:cin", map[string]any{"rn": "short", "con": "x"})
}

// TestContainerCountersConcurrent: cni, cbs and st stay exact when many
// clients add instances to one container at the same time.
func TestContainerCountersConcurrent(t *testing.T) {
	const workers, each = 16, 50
	t.Parallel()
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("ae")
	for _, tc := range []struct {
		rn  string
		mni any
	}{{"free", nil}, {"capped", 100}} {
		t.Run(tc.rn, func(t *testing.T) {
			attrs := map[string]any{"rn": tc.rn}
			if tc.mni != nil {
				attrs["mni"] = tc.mni
			}
			c.Create(aei, "/cse-in/ae", 3, "m2m:cnt", attrs)
			path := "/cse-in/ae/" + tc.rn
			var wg sync.WaitGroup
			errs := make(chan string, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						// Sizes vary so that cbs is a real sum.
						con := strings.Repeat("x", 1+(w*each+i)%17)
						r := c.Do(testcse.Req{Method: "POST", Path: path, From: aei, Ty: 4, Body: map[string]any{"m2m:cin": map[string]any{"con": con}}})
						if r.RSC != 2001 {
							errs <- fmt.Sprintf("%d %s", r.RSC, r.Body)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatal(e)
			}
			cni, _ := checkCounters(t, c, path)
			want := int64(workers * each)
			if tc.mni != nil {
				want = 100
			}
			if cni != want {
				t.Fatalf("cni = %d, want %d", cni, want)
			}
			if st := cntAttrs(t, c, path)["st"]; st != int64(workers*each) {
				t.Fatalf("st = %v, want %d", st, workers*each)
			}
			// Every instance got a distinct stateTag; the kept ones are the newest.
			seen := map[int64]bool{}
			for _, k := range instances(t, c, path) {
				st := k["st"].(int64)
				if seen[st] || st < int64(workers*each)-want+1 {
					t.Fatalf("instance stateTag %d repeated or too old", st)
				}
				seen[st] = true
			}
		})
	}
}
