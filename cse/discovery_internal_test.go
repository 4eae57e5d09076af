package cse

import (
	"slices"
	"testing"

	"github.com/onecse/onecse/primitive"
)

// TestIndexLabels: the label index narrows a discovery only by a set of
// labels of which every match must hold one.
func TestIndexLabels(t *testing.T) {
	lbq := func(exprs ...string) []primitive.LabelExpr {
		var out []primitive.LabelExpr
		for _, s := range exprs {
			e, err := primitive.ParseLabelExpr(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		fc   primitive.FilterCriteria
		want []string
	}{
		{"none", primitive.FilterCriteria{}, nil},
		{"lbl", primitive.FilterCriteria{Labels: []string{"a"}}, []string{"a"}},
		{"lbl first", primitive.FilterCriteria{Labels: []string{"a"}, LabelsQuery: lbq("k:v")}, []string{"a"}},
		{"EQ and IN", primitive.FilterCriteria{LabelsQuery: lbq("k:v", "c IN (r, g)")}, []string{"k:v", "c:r", "c:g"}},
		{"a bare key is not exact", primitive.FilterCriteria{LabelsQuery: lbq("k:v", "c")}, nil},
		{"NE is not", primitive.FilterCriteria{LabelsQuery: lbq("c NE r")}, nil},
		{"NT is not", primitive.FilterCriteria{LabelsQuery: lbq("NT c")}, nil},
		{"NI is not", primitive.FilterCriteria{LabelsQuery: lbq("c NI (r)")}, nil},
		{"OR", primitive.FilterCriteria{FO: 2, Labels: []string{"a"}, LabelsQuery: lbq("k:v")}, nil},
	} {
		if got := indexLabels(&tc.fc); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
