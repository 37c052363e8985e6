// Package configservice builds the config service: a client's POS settings, the departments'
// POS mapping and the weekly-balance field definitions. main.go wires it from the environment;
// `posimport up` wires it in-process.
package configservice

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/config/internal/api"
	"github.com/posimport/posimport/services/config/internal/store"
)

// Schema is the service's PostgreSQL schema.
const Schema = store.Schema

// Policy is the service's role table.
var Policy authn.Policy = api.Policy

// Config is the service's configuration: the common one only.
type Config struct {
	app.Config
}

// Deps are what the service runs on.
type Deps struct {
	// Pool's connections use Schema.
	Pool   *pgxpool.Pool
	Logger *slog.Logger
}

// Migrations returns the service's embedded migrations.
func Migrations() fs.FS { return store.Migrations() }

// Service is the config service.
type Service struct {
	api    *api.Server
	logger *slog.Logger
}

// New builds the service. cfg has no settings of the service's own yet; it keeps the
// constructor the shape of the other services'.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Pool == nil {
		return nil, errors.New("configservice: a pool is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{api: api.New(store.New(d.Pool)), logger: d.Logger.With("component", "config")}, nil
}

// Register adds the service's gRPC and REST handlers and its OpenAPI document to srv.
func (s *Service) Register(srv *server.Server) error {
	posimportv1.RegisterConfigServiceServer(srv.GRPC(), s.api)
	doc, err := posimportv1.OpenAPI("config")
	if err != nil {
		return err
	}
	srv.Register(posimportv1.ConfigService_ServiceDesc.ServiceName,
		func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return posimportv1.RegisterConfigServiceHandler(ctx, mux, conn)
		}, doc)
	return nil
}
