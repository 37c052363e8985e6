// Package logging builds the services' slog loggers: JSON lines on stderr at a level from
// configuration, in the shape log pipelines accept (Elasticsearch, encoding/json/v2).
//
// Every line carries each key once, and always one "service" (the service that logged it,
// which tells the lines of the all-in-one process apart) and one "component" (the part of the
// service, e.g. "worker" or "scheduler"; "main" for a process's own lines). The handler
// enforces this, so no caller has to know which keys its parents set:
//   - an attribute added later replaces an earlier one with the same key at the same level:
//     logger.With("component", "worker") names a child logger, whatever its parent was named,
//     and a record's own attribute wins over the logger's;
//   - a duration is written in milliseconds under a key ending in "_ms" ("fetch" or "fetch_ms"
//     with a time.Duration value is written "fetch_ms": 146.9);
//   - an attribute named like a key the JSON handler writes itself (time, level, msg, source)
//     is written with "_attr" appended.
//
// Secrets stay out of logs because their type (package secret) redacts itself.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// The keys every line has, and the component of a process's own lines.
const (
	ServiceKey       = "service"
	ComponentKey     = "component"
	DefaultComponent = "main"
)

// New returns service's JSON logger writing to w at level ("debug", "info", "warn", "error").
func New(w io.Writer, level, service string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return JSON(w, l, service), nil
}

// JSON returns service's JSON logger writing to w at level.
func JSON(w io.Writer, level slog.Leveler, service string) *slog.Logger {
	h := NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	return slog.New(h).With(ServiceKey, service, ComponentKey, DefaultComponent)
}

// Discard returns a logger that drops everything, for tests that do not read logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Handler writes records through another handler (a JSON handler) with each key once and
// durations in milliseconds (see the package doc).
type Handler struct {
	// inner has the groups opened so far, with the attributes of the levels above the current
	// one already added.
	inner slog.Handler
	// attrs are the current level's attributes, each key once, in the order first added.
	attrs []slog.Attr
	// grouped says a group is open: the reserved keys are those of the top level only.
	grouped bool
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler writing through inner.
func NewHandler(inner slog.Handler) *Handler { return &Handler{inner: inner} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	attrs := make([]slog.Attr, len(h.attrs), len(h.attrs)+len(as))
	copy(attrs, h.attrs)
	for _, a := range as {
		attrs = put(attrs, a, !h.grouped)
	}
	return &Handler{inner: h.inner, attrs: attrs, grouped: h.grouped}
}

// WithGroup implements slog.Handler. The current level's attributes are fixed before the
// group opens: later ones belong to the group, so they cannot repeat a key of this level.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	inner := h.inner
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	return &Handler{inner: inner.WithGroup(name), grouped: true}
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, len(h.attrs), len(h.attrs)+r.NumAttrs())
	copy(attrs, h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = put(attrs, a, !h.grouped)
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	return h.inner.Handle(ctx, out)
}

// reserved are the keys the JSON handler writes itself at the top level.
var reserved = map[string]bool{slog.TimeKey: true, slog.LevelKey: true, slog.MessageKey: true, slog.SourceKey: true}

// put adds a to attrs, replacing an attribute with the same key; top says attrs are the
// line's top level.
func put(attrs []slog.Attr, a slog.Attr, top bool) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return attrs // slog drops empty attributes
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		members := a.Value.Group()
		if a.Key == "" { // an unnamed group's members belong to this level
			for _, m := range members {
				attrs = put(attrs, m, top)
			}
			return attrs
		}
		var inner []slog.Attr
		for _, m := range members {
			inner = put(inner, m, false)
		}
		if len(inner) == 0 {
			return attrs // slog drops empty groups
		}
		a.Value = slog.GroupValue(inner...)
	case slog.KindDuration:
		a = Millis(a.Key, a.Value.Duration())
	}
	if top && reserved[a.Key] {
		a.Key += "_attr"
	}
	for i := range attrs {
		if attrs[i].Key == a.Key {
			attrs[i] = a
			return attrs
		}
	}
	return append(attrs, a)
}

// Millis is d in milliseconds under key, with "_ms" appended unless key ends in it.
func Millis(key string, d time.Duration) slog.Attr {
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Float64(key, float64(d)/float64(time.Millisecond))
}
