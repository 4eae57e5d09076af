package cse

import (
	"context"
	"slices"
	"strings"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
)

// targetMembers applies Group Request Target Members (TS-0004 7.4.14.2.4):
// the request goes only to the members it lists. An entry must be a member
// of the group as written in its memberIDs, or a member of one of its
// sub-groups (a member ending in /fopt), else the request is refused with
// 4000. It returns the members to send the request to, in memberIDs order,
// and for each the grtm to pass on: nil for a member named itself, the
// entries that belong to a sub-group for that sub-group's fanOutPoint.
// Without grtm every member is a target.
func (c *CSE) targetMembers(ctx context.Context, req *primitive.Request, mid []string) ([]string, [][]string, error) {
	pass := make([][]string, len(mid))
	if len(req.GRTM) == 0 {
		return mid, pass, nil
	}
	want := map[string]bool{}
	var others []string
	for _, m := range req.GRTM {
		if slices.Contains(mid, m) {
			want[m] = true
		} else if !slices.Contains(others, m) {
			others = append(others, m)
		}
	}
	// Entries that are no member of this group may be members of a
	// sub-group: its memberIDs are read with the originator's rights.
	for i, m := range mid {
		if len(others) == 0 {
			break
		}
		sub, ok := strings.CutSuffix(m, "/"+virtFanOut)
		if !ok || want[m] {
			continue
		}
		resp := c.Handle(ctx, memberRequest(req, primitive.OpRetrieve, sub))
		if resp.RSC != primitive.RSCOK {
			continue
		}
		grp, _ := resp.PC["m2m:grp"].(map[string]any)
		subMid := resource.StringList(grp["mid"])
		for _, o := range others {
			if slices.Contains(subMid, o) {
				pass[i] = append(pass[i], o)
			}
		}
		others = slices.DeleteFunc(others, func(o string) bool { return slices.Contains(pass[i], o) })
	}
	if len(others) > 0 {
		return nil, nil, primitive.Errorf(primitive.RSCBadRequest, "grtm (Group Request Target Members): %q is not a member of the group nor of one of its sub-groups", others)
	}
	var targets []string
	var targetPass [][]string
	for i, m := range mid {
		if want[m] || len(pass[i]) > 0 {
			targets = append(targets, m)
			if want[m] {
				targetPass = append(targetPass, nil) // the whole member
			} else {
				targetPass = append(targetPass, pass[i])
			}
		}
	}
	return targets, targetPass, nil
}
