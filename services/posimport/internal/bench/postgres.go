package bench

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/pgcluster"
)

// pgServer is where the scenarios' databases live.
type pgServer struct {
	adminURL string
	cluster  *pgcluster.Cluster
}

// startPostgres uses DatabaseURL's server or starts a private cluster (fsync off: the
// scenarios' data is thrown away).
func (b *bench) startPostgres(ctx context.Context) error {
	if b.o.DatabaseURL != "" {
		b.pg.adminURL = b.o.DatabaseURL
	} else {
		b.say("starting a private PostgreSQL cluster")
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(b.dir, "pg"), Fast: true})
		if err != nil {
			return err
		}
		b.pg.cluster, b.pg.adminURL = c, c.URL()
	}
	conn, err := pgx.Connect(ctx, b.pg.adminURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var version, fsync, commit string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')").
		Scan(&version, &fsync, &commit); err != nil {
		return fmt.Errorf("read PostgreSQL settings: %w", err)
	}
	where := "DATABASE_URL's server"
	if b.pg.cluster != nil {
		where = "private cluster"
	}
	b.pgInfo = fmt.Sprintf("%s (%s, fsync %s, synchronous_commit %s)", version, where, fsync, commit)
	return nil
}

func (b *bench) stopPostgres(ctx context.Context) {
	if b.pg.cluster == nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_ = b.pg.cluster.Stop(sctx, "fast")
}

// createDatabase makes a fresh database and returns its URL and a function that drops it.
func (b *bench) createDatabase(ctx context.Context, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, b.pg.adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	db := fmt.Sprintf("posimport_bench_%s_%d", name, time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(b.pg.adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + db
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, b.pg.adminURL)
		if err != nil {
			return
		}
		defer func() { _ = c.Close(ctx) }()
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}
