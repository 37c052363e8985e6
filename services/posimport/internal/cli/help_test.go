package cli

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestHelpForEveryCommand walks the command tree: every command says what it does and every
// flag what it means; shell completion is generated.
func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%q: flag --%s has no help", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		var out bytes.Buffer
		if err := Execute(context.Background(), []string{"completion", shell}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "posimport") {
			t.Errorf("completion %s: %v (%d bytes)", shell, err, out.Len())
		}
	}
}

// TestVersion: --version names the release or the module version, the VCS revision from the
// build or from the build's flags, and the Go version.
func TestVersion(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-03T08:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	goVersion := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name, release, revision string
		bi                      *debug.BuildInfo
		want                    string
	}{
		{"checkout", "", "", vcs, "posimport (devel) (revision 0123abcd, 2026-12-03T08:00:00Z, modified) " + goVersion},
		{"release from make", "v1.4.0", "6055395abcde-dirty", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			"posimport v1.4.0 (revision 6055395abcde-dirty) " + goVersion},
		{"the build's revision wins", "", "6055395abcde", vcs, "posimport (devel) (revision 0123abcd, 2026-12-03T08:00:00Z, modified) " + goVersion},
		{"module version", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "posimport v1.2.3 " + goVersion},
		{"nothing known", "", "", nil, "posimport (unknown) " + goVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := versionString(tc.release, tc.revision, tc.bi); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	var out bytes.Buffer
	if err := Execute(context.Background(), []string{"--version"}, &out, io.Discard); err != nil || out.String() != buildVersion()+"\n" {
		t.Errorf("--version: %q, %v; want %q", out.String(), err, buildVersion())
	}
}

// TestFlagValueCompletion: the shell completes the values of --role, --type and --provider.
func TestFlagValueCompletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"token", "--role", ""}, []string{"supervisor", "regional_supervisor", "integration_contact", "viewer"}},
		{[]string{"config", "fields", "set", "5266", "--type", ""}, []string{"discounts", "goods_returned", "goods_sold", "gross_sales",
			"net_sales", "none", "returns", "transactions", "visitors"}},
		{[]string{"config", "settings", "set", "--provider", ""}, []string{"none", "restaurant", "retail"}},
	} {
		var out bytes.Buffer
		if err := Execute(context.Background(), append([]string{cobra.ShellCompNoDescRequestCmd}, tc.args...), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if diff := cmp.Diff(append(tc.want, ":4"), lines); diff != "" { // 4: no file completion
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}
