package primitive

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLabelExpr(t *testing.T) {
	for _, tc := range []struct {
		src    string
		op     string
		key    string
		values []string
	}{
		{"color", "", "color", nil},
		{" color ", "", "color", nil},
		{"NT color", "NT", "color", nil},
		{"color EQ red", "EQ", "color", []string{"red"}},
		{"color:red", "EQ", "color", []string{"red"}},
		{"url:http://x", "EQ", "url", []string{"http://x"}}, // split at the first ':'
		{"color NE red", "NE", "color", []string{"red"}},
		{"color IN (red, green)", "IN", "color", []string{"red", "green"}},
		{"color IN (red,green)", "IN", "color", []string{"red", "green"}},
		{"color IN (red)", "IN", "color", []string{"red"}},
		{"color NI ( red , green )", "NI", "color", []string{"red", "green"}},
	} {
		e, err := ParseLabelExpr(tc.src)
		if err != nil || e.Op != tc.op || e.Key != tc.key || !reflect.DeepEqual(e.Values, tc.values) || e.String() != tc.src {
			t.Errorf("ParseLabelExpr(%q) = %+v, %v; want op %q key %q values %q", tc.src, e, err, tc.op, tc.key, tc.values)
		}
	}
	for _, src := range []string{
		"", "  ", "NT", "NT a b", "NT a:b", "a:", ":b", "a b", "a EQ", "a EQ b c", "a eq b", "a LT b",
		"a IN b", "a IN (b", "a IN b)", "a IN ()", "a IN (b,,c)", "a IN (b, )", "a:b EQ c", "a NE (b)", "(a)", "a,b",
	} {
		_, err := ParseLabelExpr(src)
		if ErrorRSC(err) != RSCBadRequest || !strings.Contains(err.Error(), "labelsQuery") {
			t.Errorf("ParseLabelExpr(%q): %v, want a 4000 naming labelsQuery", src, err)
		}
	}
}

func TestLabelExprMatch(t *testing.T) {
	labels := map[string][]string{
		"red":      {"color:red", "room"},
		"green":    {"color:green"},
		"both":     {"color:red", "color:blue"},
		"bare":     {"color"},
		"none":     {"size:big"},
		"empty":    nil,
		"colorful": {"colorful:red"}, // another key that starts the same
	}
	for _, tc := range []struct {
		expr string
		want []string // the label sets it matches, sorted by name
	}{
		{"color", []string{"bare", "both", "green", "red"}},
		{"NT color", []string{"colorful", "empty", "none"}},
		{"color EQ red", []string{"both", "red"}},
		{"color:red", []string{"both", "red"}},
		{"color NE red", []string{"green"}}, // "both" has color:red; "bare" has no value
		{"color IN (red, green)", []string{"both", "green", "red"}},
		{"color NI (red, green)", nil},
		{"color NI (red)", []string{"green"}},
		{"color NI (green)", []string{"both", "red"}},
		{"room", []string{"red"}},
	} {
		e, err := ParseLabelExpr(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, name := range []string{"bare", "both", "colorful", "empty", "green", "none", "red"} {
			if e.Match(labels[name]) {
				got = append(got, name)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q matches %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestContentQuery(t *testing.T) {
	doc := map[string]any{"temp": int64(25), "unit": "C", "readings": []any{float64(1), float64(30)}}
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"$.temp", true},
		{"$.humidity", false},
		{"$[?@.temp > 20]", false}, // a filter selects children: doc itself is not one
		{"$[?@ == 'C']", true},
		{"$.readings[?@ > 20]", true},
		{"$.readings[?@ > 50]", false},
		{`$[?@.temp > 20 && @.unit == "C"]`, false},
	} {
		q, err := ParseContentQuery(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Match(doc); got != tc.want || q.String() != tc.q {
			t.Errorf("%s on %v = %v, want %v", tc.q, doc, got, tc.want)
		}
	}
	for _, bad := range []string{"", "temp", "$.", "$[?@.t >", "$[", "$..", "$.a b"} {
		if _, err := ParseContentQuery(bad); ErrorRSC(err) != RSCBadRequest || !strings.Contains(err.Error(), "contentFilterQuery") {
			t.Errorf("ParseContentQuery(%q): %v, want a 4000 naming contentFilterQuery", bad, err)
		}
	}
}
