package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/pgcluster"
	"github.com/posimport/posimport/pkg/platform/postgres"
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
		var settings []string
		if b.o.PGStatements {
			settings = append(settings, "shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track_planning=on")
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(b.dir, "pg"), Fast: true, Settings: settings})
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
	db := fmt.Sprintf("posimport_bench_%s_%d", name, time.Now().UnixNano())
	u, err := postgres.CreateDatabase(ctx, b.pg.adminURL, db)
	if err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = postgres.DropDatabase(ctx, b.pg.adminURL, db)
	}
	return u, drop, nil
}
