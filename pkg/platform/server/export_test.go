package server

import (
	"log/slog"
	"net/http"
)

// RESTFront is restFront for tests that call it in-process.
func RESTFront(s *Server, next http.Handler) http.Handler { return s.restFront(next) }

// NewLogWriter is logWriter for tests.
func NewLogWriter(w http.ResponseWriter, log *slog.Logger, r *http.Request) http.ResponseWriter {
	return &logWriter{ResponseWriter: w, log: log, r: r}
}

// GatewayError is the gateway's error handler.
var GatewayError = gatewayError
