package intraday

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
)

// ServiceDirectory lists clients through the config service (POS import on, the interval) and
// the auth service (connection status).
type ServiceDirectory struct {
	Config posimportv1.ConfigServiceClient
	Auth   posimportv1.AuthServiceClient
}

// Clients implements Directory.
func (d ServiceDirectory) Clients(ctx context.Context) ([]Client, error) {
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
	var out []Client
	for tok := ""; ; {
		resp, err := d.Config.ListClients(ctx, &posimportv1.ListClientsRequest{PosImportEnabledOnly: true, PageSize: 1000, PageToken: tok})
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		for _, c := range resp.GetClients() {
			out = append(out, Client{
				ClientID: c.GetClientId(), Minutes: int(c.GetIntradayRefreshMinutes()),
				Enabled: conns[c.GetClientId()] == posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED,
			})
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
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
