package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// release and revision say which posimport a binary is when the build sets them (make build
// and make demo do: RELEASE=v1.4.0, and git describe's revision), since go build records no
// VCS revision in a go.work workspace:
//
//	go build -ldflags "-X github.com/posimport/posimport/services/posimport/internal/cli.release=v1.4.0"
//
// NOTE: package variables, because -X can set nothing else.
var release, revision string

// versionString says which posimport this is: the release set at build time, else the
// module's version ("(devel)" for a build from a checkout); the VCS revision and its time when
// go build recorded them (outside a workspace), else the revision set at build time; and the
// Go version and platform.
func versionString(release, revision string, bi *debug.BuildInfo) string {
	v := release
	var vcs []string
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			vcs = append(vcs, "revision "+rev)
			revision = ""
		}
		if t := settings["vcs.time"]; t != "" {
			vcs = append(vcs, t)
		}
		if settings["vcs.modified"] == "true" {
			vcs = append(vcs, "modified")
		}
	}
	if revision != "" {
		vcs = append([]string{"revision " + revision}, vcs...)
	}
	if v == "" {
		v = "(unknown)"
	}
	out := "posimport " + v
	if len(vcs) > 0 {
		out += " (" + strings.Join(vcs, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion is versionString of this binary.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionString(release, revision, bi)
}
