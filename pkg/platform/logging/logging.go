// Package logging builds the services' slog loggers: JSON to stderr, a level from
// configuration, and a "service" attribute so the lines of the all-in-one process can be told
// apart. Secrets stay out of logs because their type (package secret) redacts itself.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a JSON logger writing to w at the given level ("debug", "info", "warn", "error").
func New(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// Discard returns a logger that drops everything, for tests that do not read logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
