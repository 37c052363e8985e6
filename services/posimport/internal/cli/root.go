// Package cli is the posimport command line: a cobra root command with one file per
// subcommand. Each subcommand file adds itself in newRoot.
package cli

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/platform/logging"
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
	// dataDir is posimport up's data directory: its keys, PostgreSQL cluster and JetStream store.
	dataDir string
}

func (g *globals) logger() *slog.Logger { return g.loggerTo(g.stderr) }

// loggerTo is the JSON logger at the --log-level, writing to w; the services running in this
// process name themselves in its lines.
func (g *globals) loggerTo(w io.Writer) *slog.Logger {
	return logging.JSON(w, g.logLevel, "posimport")
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "posimport",
		Short: "Import point-of-sale sales into the weekly balance",
		Long: `posimport imports point-of-sale sales from Lightspeed into the weekly balance: hourly gross
sales, net sales, discounts, returns, transactions, goods sold, goods returned and visitors per
department and local day.

Start everything on this machine with "posimport up" (add --simulate for the Lightspeed
simulator), or see it all work with "posimport demo". The other commands drive and watch
posimport through its gRPC API: "import", "balance", "config", "auth" and "token".`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().TextVar(&g.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", envOr("POSIMPORT_DATA_DIR", ".posimport"),
		"data directory of posimport up: keys, PostgreSQL cluster, JetStream store [$POSIMPORT_DATA_DIR]")
	root.AddCommand(newSimCommand(g), newUpCommand(g), newDemoCommand(g), newTokenCommand(g),
		newImportCommand(g), newBalanceCommand(g), newConfigCommand(g), newAuthCommand(g), newBenchCommand(g),
		newOpenAPICommand(g))
	return root
}
