package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-27T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	read := func() (*debug.BuildInfo, bool) { return bi, true }
	got := get(read).String()
	want := "onecse v1.4.0 (commit 0123abcd, modified, 2026-11-27T10:00:00Z, " + runtime.Version() + ")"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	if got, want := get(none).String(), "onecse (devel) (commit unknown, "+runtime.Version()+")"; got != want {
		t.Errorf("without build info: got %q, want %q", got, want)
	}
	Version, Commit = "v9.9.9", "feedbeef"
	defer func() { Version, Commit = "", "" }()
	if got, want := get(read).String(), "onecse v9.9.9 (commit feedbeef, 2026-11-27T10:00:00Z, "+runtime.Version()+")"; got != want {
		t.Errorf("with -ldflags: got %q, want %q", got, want)
	}
}
