// Package natstest gives tests a JetStream connection: to NATS_URL when set (CI points it at
// the machine's server), or to an embedded server of the test's own. Tests sharing a server
// keep apart by naming their streams with Prefix.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/natsjs"
)

// Conn returns a JetStream connection closed at cleanup.
func Conn(t testing.TB) *natsjs.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := natsjs.Connect(ctx, natsjs.Options{
		URL:      os.Getenv("NATS_URL"),
		Name:     "natstest",
		StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("natstest: %v (set NATS_URL to a JetStream-enabled server, or let the test embed one)", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Prefix returns a unique, stream-name-safe prefix for one test, e.g. "T3F9A1C2".
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "T" + strings.ToUpper(hex.EncodeToString(b))
}
