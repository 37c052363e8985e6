package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestSimCommandRestaurant serves the K-Series side with its flags: the output lists the
// business locations, and the Financial API is there (it refuses an unauthenticated call).
func TestSimCommandRestaurant(t *testing.T) {
	t.Parallel()
	out := &lineWriter{wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Execute(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--products", "restaurant", "--from", "2026-01-01", "--until", "2026-01-03",
			"--restaurant-businesses", "2", "--restaurant-locations", "1", "--restaurant-devices", "3", "--restaurant-sales-per-day", "5",
			"--restaurant-zones", "Australia/Sydney", "--restaurant-day-start", "4h", "--auto-consent", "--log-level", "warn"}, out, io.Discard)
	}()
	for !strings.Contains(out.String(), "/admin/") {
		select {
		case <-out.wrote:
		case err := <-done:
			t.Fatalf("sim ended early: %v\n%s", err, out)
		}
	}
	text := out.String()
	base := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(text)
	if base == nil || !strings.Contains(text, "location   300002001 of business 300002") || !strings.Contains(text, "Australia/Sydney, 3 devices") ||
		strings.Contains(text, "R-Series") {
		t.Fatalf("output:\n%s", text)
	}
	resp, err := http.Get(base[1] + "/f/v2/business-location/300001001/sales?from=2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated sales: %d, want 401", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestSimCommandRestaurantBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sim", "--products", "retail,gastro", "--addr", "127.0.0.1:0"},
		{"sim", "--restaurant-day-start", "25h", "--addr", "127.0.0.1:0"},
		{"sim", "--restaurant-zones", "Mars/Olympus", "--addr", "127.0.0.1:0"},
	} {
		if err := Execute(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
