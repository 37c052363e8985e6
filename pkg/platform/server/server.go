// Package server runs one service process's network face: a gRPC port (the services,
// the standard health service, reflection, and the interceptors for authentication, error
// mapping, metrics, logging and panic recovery) and an HTTP port (grpc-gateway pointed at the
// gRPC listener, so REST passes the same interceptors, plus /openapi.json, /metrics, /healthz
// and /readyz). Run stops both gracefully when its context ends, and stops everything when
// either fails.
//
// The HTTP port is bounded (Config's limits): REST verifies the bearer token before it reads
// a body, reads at most MaxBodyBytes within ReadTimeout, and answers its own refusals with the
// services' error contract (rest.go, gatewayerr.go).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
)

// Config is the network part of a service's configuration.
type Config struct {
	// GRPCAddr is where gRPC listens.
	GRPCAddr string `env:"GRPC_ADDR" envDefault:":9090"`
	// HTTPAddr is where REST, /openapi.json, /metrics, /healthz and /readyz listen.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// ShutdownTimeout bounds the graceful stop; in-flight RPCs are cut after it.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// MaxBodyBytes caps an HTTP request's body: larger ones get 413 (default
	// DefaultMaxBodyBytes, 1 MiB).
	MaxBodyBytes int64 `env:"HTTP_MAX_BODY_BYTES"`
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout bound the wait for a request's headers,
	// for the whole request, and for a kept-alive connection's next request (defaults
	// DefaultReadHeaderTimeout 10s, DefaultReadTimeout 30s, DefaultIdleTimeout 2m).
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT"`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT"`
}

// Options are the server's dependencies.
type Options struct {
	// Name of the service (or "posimport" for the all-in-one), used in logs.
	Name string
	// Logger for the server and request logs.
	Logger *slog.Logger
	// Authorizer checks every RPC; required.
	Authorizer *authn.Authorizer
	// Registry collects metrics; nil creates one with the Go and process collectors.
	Registry *prometheus.Registry
}

// GatewayRegistrar registers one service's REST handlers on the gateway mux.
type GatewayRegistrar func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error

// Server is one process's gRPC and HTTP servers.
type Server struct {
	cfg      Config
	opts     Options
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	httpMux  *http.ServeMux

	grpcLis, httpLis net.Listener

	// unary is the chained unary interceptor the gRPC server runs; in-process gateway calls
	// run the very same one.
	unary grpc.UnaryServerInterceptor

	mu       sync.Mutex
	gateways []GatewayRegistrar
	// clientGateways are the gateways given a connection that calls local services
	// in-process (RegisterGateway); local holds those services' unary methods.
	clientGateways []GatewayClientRegistrar
	local          map[string]localMethod
	jsonEncoders   map[reflect.Type]*jsonEncoder
	openapi        [][]byte
	readiness      map[string]func(context.Context) error
	services       []string
}

// New binds both ports at once, so Addr methods work before Run (tests listen on ":0").
func New(cfg Config, opts Options) (*Server, error) {
	if opts.Authorizer == nil {
		return nil, errors.New("server: an Authorizer is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := newRPCMetrics(reg)
	s := &Server{
		cfg: cfg.WithDefaults(), opts: opts, registry: reg,
		health:       health.NewServer(),
		httpMux:      http.NewServeMux(),
		readiness:    map[string]func(context.Context) error{},
		local:        map[string]localMethod{},
		jsonEncoders: map[reflect.Type]*jsonEncoder{},
	}
	s.unary = chainUnary(
		recoverUnary(opts.Logger),
		m.unary(),
		logUnary(opts.Logger),
		mapErrorsUnary(opts.Logger),
		opts.Authorizer.UnaryInterceptor(),
	)
	s.grpc = grpc.NewServer(
		grpc.UnaryInterceptor(s.unary),
		grpc.ChainStreamInterceptor(
			recoverStream(opts.Logger),
			m.stream(),
			mapErrorsStream(opts.Logger),
			opts.Authorizer.StreamInterceptor(),
		),
	)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)

	var err error
	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("server: listen gRPC %s: %w", cfg.GRPCAddr, err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		_ = s.grpcLis.Close()
		return nil, fmt.Errorf("server: listen HTTP %s: %w", cfg.HTTPAddr, err)
	}
	return s, nil
}

// Close releases the ports of a server that will not Run (Run releases them itself).
func (s *Server) Close() error {
	return errors.Join(s.grpcLis.Close(), s.httpLis.Close())
}

// GRPC returns the gRPC server for registering services (before Run).
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Registry returns the metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Register adds a service: its gRPC name (for health), its REST handlers and its OpenAPI
// document.
func (s *Server) Register(serviceName string, gw GatewayRegistrar, openapi []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = append(s.services, serviceName)
	if gw != nil {
		s.gateways = append(s.gateways, gw)
	}
	if openapi != nil {
		s.openapi = append(s.openapi, openapi)
	}
}

// Handle adds an HTTP route beside the REST API (e.g. the OAuth callback).
func (s *Server) Handle(pattern string, h http.Handler) { s.httpMux.Handle(pattern, h) }

// AddReadiness adds a check /readyz runs (database ping, NATS connection).
func (s *Server) AddReadiness(name string, check func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readiness[name] = check
}

// Run serves until ctx ends or a server fails, then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	logger := s.opts.Logger
	s.mu.Lock()
	gwMarshaler := s.gatewayMarshaler()
	gwMux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, gwMarshaler),
		runtime.WithRoutingErrorHandler(routingError), runtime.WithErrorHandler(gatewayError))
	conn, err := grpc.NewClient(loopback(s.GRPCAddr()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("server: gateway connection: %w", err)
	}
	defer func() { _ = conn.Close() }()
	for _, gw := range s.gateways {
		if err := gw(ctx, gwMux, conn); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("server: register gateway: %w", err)
		}
	}
	local := s.localConn(conn)
	for _, gw := range s.clientGateways {
		if err := gw(ctx, gwMux, local); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("server: register gateway: %w", err)
		}
	}
	openapi, err := mergeOpenAPI(s.opts.Name, s.openapi)
	s.mu.Unlock()
	if err != nil {
		return err
	}

	s.httpMux.Handle("GET /openapi.json", openAPIHandler(openapi))
	s.httpMux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.httpMux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.httpMux.HandleFunc("GET /readyz", s.ready)
	s.httpMux.Handle("/", validUTF8(s.restFront(recycling(gwMux, gwMarshaler))))
	httpSrv := NewHTTPServer(s.httpMux, s.cfg, logger)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.grpc.Serve(s.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gRPC server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := httpSrv.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("HTTP server: %w", err)
		}
		return nil
	})
	s.setServing(healthpb.HealthCheckResponse_SERVING)
	logger.InfoContext(ctx, "server started", "grpc_addr", s.GRPCAddr(), "http_addr", s.HTTPAddr())

	g.Go(func() error {
		<-gctx.Done()
		s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		_ = httpSrv.Shutdown(stopCtx)
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-stopCtx.Done():
			logger.Warn("graceful stop timed out; cutting in-flight RPCs")
			s.grpc.Stop()
		}
		return nil
	})
	err = g.Wait()
	logger.Info("server stopped", "error", err)
	return err
}

func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.SetServingStatus("", st)
	for _, name := range s.services {
		s.health.SetServingStatus(name, st)
	}
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(s.readiness))
	for k, v := range s.readiness {
		checks[k] = v
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var failed []string
	for name, check := range checks {
		if err := check(ctx); err != nil {
			// The check's error stays in the log; the probe only needs which dependency failed.
			s.opts.Logger.Warn("readiness check failed", "check", name, "error", err)
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, name := range failed {
			_, _ = fmt.Fprintf(w, "%s: not ready\n", name)
		}
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// loopback turns a wildcard listen address into one the gateway can dial.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// routingError answers a known path asked with a method it does not serve 405 Method Not
// Allowed; grpc-gateway's default says 501, a server error, for a client's mistake. Other
// routing errors keep the default.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, status int) {
	if status != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write([]byte(`{"code":12,"message":"Method Not Allowed","details":[]}`))
}

// validUTF8 refuses a request whose path or query, once unescaped, is not UTF-8 with 400: the
// gateway would copy it into a proto string, which gRPC then cannot marshal (a 500).
func validUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) {
			refuse(w, r, http.StatusBadRequest, apierr.Invalid("path", "the request path is not valid UTF-8"))
			return
		}
		for k, vs := range r.URL.Query() {
			if !utf8.ValidString(k) || slices.ContainsFunc(vs, func(v string) bool { return !utf8.ValidString(v) }) {
				refuse(w, r, http.StatusBadRequest, apierr.Invalid("query", "the query string is not valid UTF-8"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
