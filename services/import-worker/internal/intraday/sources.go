package intraday

import (
	"context"
	"time"

	"github.com/google/uuid"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/schedule"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
)

// ServiceDirectory lists clients as the nightly run's directory does, with their interval.
type ServiceDirectory struct{ schedule.ServiceDirectory }

// Clients implements Directory.
func (d ServiceDirectory) Clients(ctx context.Context) ([]Client, error) {
	all, err := d.ServiceDirectory.Clients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(all))
	for _, c := range all {
		out = append(out, Client{ClientID: c.ClientID, Minutes: c.IntradayMinutes, Enabled: c.Enabled})
	}
	return out, nil
}

// StarterLauncher starts refreshes with the starter.
type StarterLauncher struct{ Starter *starter.Starter }

// Launch implements Launcher.
func (l StarterLauncher) Launch(ctx context.Context, client string, now time.Time) (uuid.UUID, error) {
	return l.Starter.Start(ctx, starter.Request{
		ClientID: client, Trigger: posimportv1.ImportTrigger_IMPORT_TRIGGER_SCHEDULED, CreatedBy: "intraday",
		Scheduled: true, Intraday: true, Now: now,
	})
}
