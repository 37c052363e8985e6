package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
)

// ServiceDirectory lists clients through the config service (POS import on) and the auth
// service (connection status).
type ServiceDirectory struct {
	Config posimportv1.ConfigServiceClient
	Auth   posimportv1.AuthServiceClient
}

// Clients implements Directory.
func (d ServiceDirectory) Clients(ctx context.Context) ([]ClientStatus, error) {
	conns := map[string]posimportv1.ConnectionStatus{}
	for tok := ""; ; {
		resp, err := d.Auth.ListConnections(ctx, &posimportv1.ListConnectionsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		for _, c := range resp.GetConnections() {
			conns[c.GetClientId()] = c.GetStatus()
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	var out []ClientStatus
	for tok := ""; ; {
		resp, err := d.Config.ListClients(ctx, &posimportv1.ListClientsRequest{PosImportEnabledOnly: true, PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		for _, c := range resp.GetClients() {
			st := conns[c.GetClientId()]
			out = append(out, ClientStatus{
				ClientID:        c.GetClientId(),
				Enabled:         st == posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED,
				NeedsReauth:     st == posimportv1.ConnectionStatus_CONNECTION_STATUS_NEEDS_REAUTH,
				Status:          st.String(),
				IntradayMinutes: int(c.GetIntradayRefreshMinutes()),
			})
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	return out, nil
}

// StarterLauncher starts scheduled imports with the starter.
type StarterLauncher struct{ Starter *starter.Starter }

// Launch implements Launcher.
func (l StarterLauncher) Launch(ctx context.Context, client string, now, scheduledFor time.Time, runDate civil.Date) (uuid.UUID, []uuid.UUID, error) {
	return l.Starter.Create(ctx, starter.Request{
		ClientID: client, Trigger: posimportv1.ImportTrigger_IMPORT_TRIGGER_SCHEDULED, CreatedBy: "scheduler",
		Scheduled: true, ScheduledFor: scheduledFor, Now: now, RunDate: runDate,
	})
}

// Publish implements Launcher.
func (l StarterLauncher) Publish(ctx context.Context, jobs []uuid.UUID) { l.Starter.Publish(ctx, jobs) }
