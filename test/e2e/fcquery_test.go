package e2e

// labelsQuery (lbq, TS-0004 7.3.3.17.16) and content-based discovery
// (cfs/cfq, TS-0004 7.3.3.17.13) over HTTP: raw query strings, so that the
// binding's encoding ('+' separates list items, %20 is a space) is part of
// what is tested.

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/onecse/onecse/internal/testcse"
)

// fcqFixture: an AE with a container "c" (label "color", bare) holding
// four instances:
//
//	i1  color:red room     cnf application/json:0  {"temp":25,"unit":"C"}
//	i2  color:green        no cnf                  {"temp":15,"unit":"C","tags":["a+b"]}
//	i3  color:blue color:red                       "plain text" (not JSON)
//	i4  size:big           cnf text/plain:0        {"temp":30} (JSON, but marked text)
func fcqFixture(t *testing.T) (*testcse.CSE, string) {
	c := testcse.Start(t, nil)
	aei := c.RegisterAE("q")
	c.Create(aei, "/cse-in/q", 3, "m2m:cnt", map[string]any{"rn": "c", "lbl": []any{"color"}})
	for _, in := range []map[string]any{
		{"rn": "i1", "lbl": []any{"color:red", "room"}, "cnf": "application/json:0", "con": `{"temp":25,"unit":"C"}`},
		{"rn": "i2", "lbl": []any{"color:green"}, "con": `{"temp":15,"unit":"C","tags":["a+b"]}`},
		{"rn": "i3", "lbl": []any{"color:blue", "color:red"}, "con": "plain text"},
		{"rn": "i4", "lbl": []any{"size:big"}, "cnf": "text/plain:0", "con": `{"temp":30}`},
	} {
		c.Create(aei, "/cse-in/q/c", 4, "m2m:cin", in)
	}
	return c, aei
}

// q builds a query item with the value percent-encoded (a space as %20).
func q(name, value string) string {
	return name + "=" + strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
}

func TestDiscoveryLabelsQuery(t *testing.T) {
	c, aei := fcqFixture(t)
	const p = "cse-in/q/c/"
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{q("lbq", "color"), []string{"cse-in/q/c", p + "i1", p + "i2", p + "i3"}},
		{q("lbq", "NT color") + "&ty=4", []string{p + "i4"}},
		{q("lbq", "NT color"), []string{p + "i4"}}, // the target itself is not searched
		{q("lbq", "color EQ red"), []string{p + "i1", p + "i3"}},
		{q("lbq", "color:red"), []string{p + "i1", p + "i3"}},
		{q("lbq", "color NE red"), []string{p + "i2"}}, // i3 has color:red too; c has no value
		{q("lbq", "color IN (red, green)"), []string{p + "i1", p + "i2", p + "i3"}},
		{q("lbq", "color NI (red)"), []string{p + "i2"}},
		{q("lbq", "color NI (green)"), []string{p + "i1", p + "i3"}},
		{q("lbq", "size"), []string{p + "i4"}},
		// Several expressions are OR-ed: '+'-joined or repeated.
		{q("lbq", "color:green") + "+" + q("", "size:big")[1:], []string{p + "i2", p + "i4"}},
		{q("lbq", "color:green") + "&" + q("lbq", "room"), []string{p + "i1", p + "i2"}},
		// With other conditions: AND by default, OR with fo=2.
		{q("lbq", "color") + "&ty=3", []string{"cse-in/q/c"}},
		{q("lbq", "color EQ red") + "&lbl=size:big&fo=2", []string{p + "i1", p + "i3", p + "i4"}},
		{q("lbq", "color EQ red") + "&lbl=size:big", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if got := aclDiscover(t, c, aei, "/cse-in/q", tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	// Conditional retrieval: the instances of c that match.
	if got := childNames(t, c, aei, "/cse-in/q/c?rcn=4&"+q("lbq", "color NE green")); !slices.Equal(got, []string{"i1", "i3"}) {
		t.Fatalf("rcn=4 with lbq: %v", got)
	}
	// A malformed expression is a 4000 naming it; the same with a good one
	// beside it too (nothing is half-answered).
	for _, bad := range []string{"color LT red", "color EQ", "color IN red", "color IN (red,,green)", "NT a b", "a:", "color eq red"} {
		r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&" + q("lbq", bad), From: aei}).Must(t, 4000)
		if !strings.Contains(string(r.Body), "lbq") {
			t.Errorf("lbq=%q: %s does not name lbq", bad, r.Body)
		}
		c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&" + q("lbq", "color") + "&" + q("lbq", bad), From: aei}).Must(t, 4000)
	}
}

func TestDiscoveryContentFilter(t *testing.T) {
	c, aei := fcqFixture(t)
	const p = "cse-in/q/c/"
	cf := func(query string) string { return "cfs=1&" + q("cfq", query) }
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// Only JSON content matches: i3 is text, i4 is marked text/plain.
		{cf("$.unit"), []string{p + "i1", p + "i2"}},
		{cf("$.temp"), []string{p + "i1", p + "i2"}},
		{cf("$.humidity"), nil},
		// A test on the content itself: a filter with an absolute query.
		{cf("$[?$.temp > 20]"), []string{p + "i1"}},
		{cf("$[?$.temp <= 20 && $.unit == 'C']"), []string{p + "i2"}},
		// A '+' inside the query is part of it, not a list separator.
		{"cfs=1&cfq=" + strings.ReplaceAll(url.PathEscape("$.tags[?@ == 'a+b']"), "%2B", "+"), []string{p + "i2"}},
		// With other conditions: AND by default, OR with fo=2.
		{cf("$.unit") + "&lbl=color:red", []string{p + "i1"}},
		{cf("$.unit") + "&ty=3", nil}, // a container has no content
		{cf("$[?$.temp > 20]") + "&lbl=color:green&fo=2", []string{p + "i1", p + "i2"}},
		{cf("$.unit") + "&" + q("lbq", "NT room"), []string{p + "i2"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			if got := aclDiscover(t, c, aei, "/cse-in/q", tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	// Conditional retrieval: the instances of c whose content matches.
	if got := childNames(t, c, aei, "/cse-in/q/c?rcn=4&"+cf("$[?$.temp < 20]")); !slices.Equal(got, []string{"i2"}) {
		t.Fatalf("rcn=4 with cfq: %v", got)
	}
	// Rejected: 4000 naming what is wrong; smf is 5001 (no semantic
	// descriptors to evaluate it against).
	for query, want := range map[string]struct {
		rsc   int
		names string
	}{
		q("cfq", "$.unit"):                {4000, "cfs"},
		"cfs=1":                           {4000, "cfq"},
		"cfs=2&" + q("cfq", "$.unit"):     {4000, "cfs"},
		"cfs=1&" + q("cfq", "$[?@.t >"):   {4000, "cfq"},
		"cfs=1&" + q("cfq", "unit"):       {4000, "cfq"},
		cf("$.a") + "&" + q("cfq", "$.b"): {4000, "cfq"},
		q("smf", "SELECT ?s WHERE {}"):    {5001, "smf"},
	} {
		r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/q?fu=1&" + query, From: aei}).Must(t, want.rsc)
		if !strings.Contains(string(r.Body), want.names) {
			t.Errorf("%s: %s does not name %s", query, r.Body, want.names)
		}
	}
}

// childNames retrieves path (with rcn=4 in its query) and returns the rn of
// the instances in the answer, sorted.
func childNames(t *testing.T, c *testcse.CSE, from, path string) []string {
	t.Helper()
	r := c.Do(testcse.Req{Method: "GET", Path: path, From: from}).Must(t, 2000)
	var out []string
	cins, _ := r.Res("m2m:cnt")["m2m:cin"].([]any)
	for _, e := range cins {
		m, _ := e.(map[string]any)
		out = append(out, m["rn"].(string))
	}
	slices.Sort(out)
	return out
}
