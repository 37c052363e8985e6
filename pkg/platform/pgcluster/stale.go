package pgcluster

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
)

// StopStale stops a cluster that an earlier process left running in dir (one that was
// killed before it could stop it), so that Start can start it again. Without a postmaster.pid
// in dir's data directory it does nothing; a pid file of a server that is gone is left for
// PostgreSQL itself to clear at start.
func StopStale(ctx context.Context, dir string) error {
	c := &Cluster{opts: Options{Dir: dir}}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	binDir, err := findBinDir()
	if err != nil {
		return err
	}
	c.binDir = binDir
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err == nil {
			c.runAs = "postgres"
		}
	}
	// pg_ctl status exits 0 only when a server runs on the data directory.
	if _, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "status"); err != nil {
		return nil //nolint:nilerr // no server runs there: nothing to stop
	}
	return c.Stop(ctx, "fast")
}
