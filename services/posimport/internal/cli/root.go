// Package cli is the posimport command line: a cobra root command with one file per
// subcommand. Each subcommand file adds itself in newRoot.
package cli

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// Execute runs the command line args with output to stdout and stderr, until ctx ends for the
// long-running commands.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// globals are the flags every command shares.
type globals struct {
	stdout, stderr io.Writer
	logLevel       slog.Level
}

func (g *globals) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: g.logLevel}))
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "posimport",
		Short:         "Import point-of-sale sales into the weekly balance",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().TextVar(&g.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	root.AddCommand(newSimCommand(g))
	return root
}
