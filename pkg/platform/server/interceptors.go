package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// chainUnary runs interceptors in order, the first outermost, as grpc.ChainUnaryInterceptor
// does; the result is given to the gRPC server and used by in-process gateway calls alike.
func chainUnary(interceptors ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return interceptors[0](ctx, req, info, chainedHandler(interceptors, 0, info, handler))
	}
}

func chainedHandler(interceptors []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(interceptors)-1 {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return interceptors[i+1](ctx, req, info, chainedHandler(interceptors, i+1, info, final))
	}
}

// mapErrorsUnary is where handler errors become statuses: apierr.ToStatus, once. Internal
// errors are logged with their cause and answered without it.
func mapErrorsUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, toStatusErr(ctx, logger, info.FullMethod, err)
		}
		return resp, nil
	}
}

func mapErrorsStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return toStatusErr(ss.Context(), logger, info.FullMethod, err)
		}
		return nil
	}
}

func toStatusErr(ctx context.Context, logger *slog.Logger, method string, err error) error {
	st, internal := apierr.ToStatus(err)
	if internal {
		logger.ErrorContext(ctx, "request failed", "method", method, "code", st.Code().String(), "error", err)
	}
	return st.Err()
}

func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				logger.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				logger.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

// logUnary logs each RPC at debug, and refusals (4xx-like codes) at info, so an operator can
// see who was turned away without the noise of every read.
func logUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		level := slog.LevelDebug
		if code != codes.OK && code != codes.Internal {
			level = slog.LevelInfo
		}
		logger.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(), "duration", time.Since(start))
		return resp, err
	}
}

type rpcMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRPCMetrics(reg prometheus.Registerer) *rpcMetrics {
	m := &rpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posimport_grpc_requests_total",
			Help: "RPCs handled, by service, method and status code.",
		}, []string{"service", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "posimport_grpc_request_duration_seconds",
			Help:    "Unary RPC handling time, by service and method (streams, which last as long as they follow something, are left out).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"service", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe counts an RPC and, for a unary one (start not zero), its handling time.
func (m *rpcMetrics) observe(full string, start time.Time, err error) {
	svc, method := splitMethod(full)
	m.requests.WithLabelValues(svc, method, status.Code(err).String()).Inc()
	if !start.IsZero() {
		m.duration.WithLabelValues(svc, method).Observe(time.Since(start).Seconds())
	}
}

func (m *rpcMetrics) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.observe(info.FullMethod, start, err)
		return resp, err
	}
}

func (m *rpcMetrics) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		// A stream's time is how long it followed something (WatchImport: an import's whole
		// run), not latency: in the histogram it would skew the service's quantiles.
		m.observe(info.FullMethod, time.Time{}, err)
		return err
	}
}

func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	svc, method, _ := strings.Cut(full, "/")
	return svc, method
}
