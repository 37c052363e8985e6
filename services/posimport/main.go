// Command posimport is the all-in-one binary and operator CLI of posimport. Run
// "posimport --help" for its commands.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // DST rules must hold in bare images

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/services/posimport/internal/cli"
)

func main() {
	// gRPC's and the gateway's own error lines are JSON on stderr, as the services' logs are.
	logging.RouteGRPCLog(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "posimport:", err)
		os.Exit(1)
	}
}
