package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

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
