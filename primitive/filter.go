package primitive

import "time"

// Filter usage values (m2m:filterUsage).
const (
	FUDiscovery            = 1
	FUConditionalRetrieval = 2
	FUIPEOnDemand          = 3
)

// AttrCond is one attribute condition {nm, val} of atr/catr/patr.
type AttrCond struct {
	Name  string
	Value any
}

// FilterCriteria is m2m:filterCriteria (TS-0004 6.3.5.8). Zero values mean
// "condition absent"; pointers are used where zero is a valid condition.
type FilterCriteria struct {
	CRB, CRA, MS, US, EXB, EXA time.Time
	STS, STB                   *int64
	SZA, SZB                   *int64
	Labels                     []string
	Ty                         []int
	ChildTy                    []int
	ParentTy                   []int
	ContentTypes               []string
	Attrs                      []AttrCond
	ChildLabels                []string
	ParentLabels               []string
	LabelsQuery                []LabelExpr   // OR-ed, like the values of any one condition
	CFS                        int           // contentFilterSyntax, 0 when absent
	CFQ                        *ContentQuery // contentFilterQuery, compiled
	FU                         int           // 0 when absent (= conditional retrieval)
	FO                         int           // 0 when absent (= AND)
	Lim                        int           // -1 when absent
	Lvl                        int           // 0 when absent
	Ofst                       int           // 0 when absent
	ARP                        string
}

// NewFilterCriteria returns criteria with the absent markers set.
func NewFilterCriteria() *FilterCriteria { return &FilterCriteria{Lim: -1} }

// Check holds the rules between members that no single member can check
// once all are set: contentFilterQuery and contentFilterSyntax come together
// (TS-0004 7.3.3.17.13.1: a cfq shall be included when cfs is; a cfq alone
// has no syntax to be read with).
func (f *FilterCriteria) Check() error {
	if f == nil {
		return nil
	}
	if f.CFS != 0 && f.CFQ == nil {
		return Errorf(RSCBadRequest, "contentFilterSyntax (cfs) is given without a contentFilterQuery (cfq)")
	}
	if f.CFQ != nil && f.CFS == 0 {
		return Errorf(RSCBadRequest, "contentFilterQuery (cfq) is given without contentFilterSyntax (cfs=1, JSONPath)")
	}
	return nil
}

// IsDiscovery reports whether the criteria ask for discovery (fu=1).
func (f *FilterCriteria) IsDiscovery() bool { return f != nil && f.FU == FUDiscovery }
