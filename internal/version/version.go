// Package version is onecse's version and the commit it was built from,
// read from the build information Go embeds (module version for
// "go install ...@vX", VCS revision for builds in a checkout), unless set
// at link time:
//
//	go build -ldflags "-X github.com/onecse/onecse/internal/version.Version=v1.2.3 -X github.com/onecse/onecse/internal/version.Commit=abc1234" ./cmd/onecse
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit override the build information when set (-ldflags -X).
var (
	Version string
	Commit  string
)

// Info describes the running binary.
type Info struct {
	Version  string // module version, "(devel)" for a build in a checkout
	Commit   string // VCS revision, "unknown" when not recorded
	Time     string // commit time (RFC 3339), "" when not recorded
	Modified bool   // built from a checkout with uncommitted changes
	Go       string // Go version
}

// Get returns the version information.
func Get() Info {
	return get(debug.ReadBuildInfo)
}

func get(read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: "(devel)", Commit: "unknown", Go: runtime.Version()}
	if bi, ok := read(); ok {
		if v := bi.Main.Version; v != "" {
			i.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Commit = s.Value
			case "vcs.time":
				i.Time = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		i.Version = Version
	}
	if Commit != "" {
		i.Commit = Commit
		i.Modified = false
	}
	return i
}

// String is the line "onecse --version" prints.
func (i Info) String() string {
	s := fmt.Sprintf("onecse %s (commit %s", i.Version, i.Commit)
	if i.Modified {
		s += ", modified"
	}
	if i.Time != "" {
		s += ", " + i.Time
	}
	return s + ", " + i.Go + ")"
}
