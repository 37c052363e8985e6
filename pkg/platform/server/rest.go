package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// The HTTP limits' defaults (Config.WithDefaults).
const (
	// DefaultMaxBodyBytes caps a request body: the largest REST request (a department with
	// a hundred registers, an import of many departments) is a few kilobytes.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultReadHeaderTimeout bounds the wait for a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the wait for a whole request, body included: a body trickled
	// a byte at a time is cut off when it runs out.
	DefaultReadTimeout = 30 * time.Second
	// DefaultIdleTimeout closes a kept-alive connection that sends no next request.
	DefaultIdleTimeout = 2 * time.Minute
)

// WithDefaults returns c with its zero HTTP limits set to the defaults.
func (c Config) WithDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// NewHTTPServer returns an HTTP server for h with cfg's limits: header, read and idle timeouts,
// and every request body capped at cfg.MaxBodyBytes. The service's own port and posimport's
// other HTTP servers (the simulator's) are built by it, so none is left unbounded.
func NewHTTPServer(h http.Handler, cfg Config, logger *slog.Logger) *http.Server {
	cfg = cfg.WithDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           http.MaxBytesHandler(h, cfg.MaxBodyBytes),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// restFront is what a REST request passes before the gateway sees it:
//
//   - its bearer token is verified from the headers alone, so a caller without a valid one is
//     answered 401 without a byte of its body read (the connection is then closed);
//   - its body is read whole, at most MaxBodyBytes (413 beyond) within ReadTimeout (408 when it
//     trickles), and handed to the gateway from memory, where the decoder (decodeBody) refuses
//     an empty or malformed one naming the field;
//   - a response the client does not take is logged to the JSON log, not printed as text.
func (s *Server) restFront(gw http.Handler) http.Handler {
	limit := s.cfg.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if _, err := s.opts.Authorizer.AuthenticateHeader(header); err != nil {
			w.Header().Set("WWW-Authenticate", bearerChallenge(header))
			refuse(w, r, http.StatusUnauthorized, err)
			return
		}
		body, code, err := readBody(w, r, limit, s.cfg.ReadTimeout)
		if err != nil {
			refuse(w, r, code, err)
			return
		}
		r.Body = body
		gw.ServeHTTP(&logWriter{ResponseWriter: w, log: s.opts.Logger, r: r}, r)
	})
}

// bearerChallenge is the WWW-Authenticate value of a 401 (RFC 6750 §3): a request without a
// bearer token gets the bare challenge, one with a token that did not verify
// error="invalid_token". The reason stays in the body, never in the header.
func bearerChallenge(authorization string) string {
	scheme, _, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return `Bearer realm="posimport"`
	}
	return `Bearer realm="posimport", error="invalid_token"`
}

// readBody reads r's body whole (at most limit bytes). It returns the gateway's body, or the
// HTTP status and error to refuse the request with.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) (*restBody, int, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return &restBody{}, 0, nil
	}
	tooLarge := apierr.Invalid("body", "the request body is larger than %d bytes", limit)
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case err == nil:
		return &restBody{Reader: *bytes.NewReader(buf.Bytes())}, 0, nil
	case errors.As(err, &tooBig):
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return nil, http.StatusRequestTimeout, status.Errorf(codes.DeadlineExceeded, "the request body did not arrive within %v", timeout)
	default:
		return nil, http.StatusBadRequest, apierr.Invalid("body", "the request body could not be read")
	}
}

// refuse answers err with httpStatus in the gateway's error shape, and closes the connection
// when the request's body was not read, so the server does not read it afterwards either.
func refuse(w http.ResponseWriter, r *http.Request, httpStatus int, err error) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	st, _ := apierr.ToStatus(err)
	b, merr := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(st.Proto())
	if merr != nil {
		b = []byte(fmt.Sprintf(`{"code":%d,"message":"request refused","details":[]}`, st.Code()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// restBody is a request's body, read by restFront; the decoder notes on it why it refused it,
// for the error handler (the gateway keeps only the error's text).
type restBody struct {
	bytes.Reader
	failure *bodyFailure
}

// Close implements io.Closer.
func (*restBody) Close() error { return nil }

var _ io.ReadCloser = (*restBody)(nil)

// logWriter sends a failed write of a response to the JSON log. The gateway would print it
// as plain text ("Failed to write response") through grpclog; it gets nil and nothing else
// happens, since the client is gone either way.
type logWriter struct {
	http.ResponseWriter
	log  *slog.Logger
	r    *http.Request
	once sync.Once
}

func (w *logWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err != nil {
		w.once.Do(func() {
			w.log.WarnContext(w.r.Context(), "REST response not written", "method", w.r.Method, "path", w.r.URL.Path, "error", err)
		})
		return len(p), nil //nolint:nilerr // logged once; the handler cannot act on a gone client
	}
	return n, nil
}

// Flush lets streaming answers through.
func (w *logWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
