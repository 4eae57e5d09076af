package postgres

import (
	"slices"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
)

// WalkLabeled finds the labelled resources through the GIN index on lbl
// (resources_lbl): lbl && $labels is "has one of them".
func (t *tx) WalkLabeled(path string, labels []string, types []int, fn func(*resource.Resource) bool) error {
	ls := store.NewLabels(labels)
	uniq, labelled := ls.Distinct, ls.Match
	if len(uniq) == 0 {
		return nil
	}
	if !t.readOnly {
		// In the writer the deferred Puts of the group are not in the lbl
		// column yet: read the subtree instead.
		return t.Walk(path, types, func(r *resource.Resource) bool {
			return !labelled(r) || fn(r)
		})
	}
	lo, hi := path+"/", path+"0"
	for {
		var rs []*resource.Resource
		var err error
		if len(types) > 0 {
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE lbl && $1 AND path > $2 AND path < $3 AND ty = ANY($4) ORDER BY path LIMIT $5", uniq, lo, hi, types, walkChunk)
		} else {
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE lbl && $1 AND path > $2 AND path < $3 ORDER BY path LIMIT $4", uniq, lo, hi, walkChunk)
		}
		if err != nil {
			return err
		}
		for _, r := range rs {
			// A cached copy may be newer than the row.
			if !labelled(r) || (len(types) > 0 && !slices.Contains(types, r.Ty)) {
				continue
			}
			if !fn(r) {
				return nil
			}
		}
		if len(rs) < walkChunk {
			return nil
		}
		lo = rs[len(rs)-1].Path
	}
}
