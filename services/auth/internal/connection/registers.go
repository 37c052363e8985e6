package connection

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// NewRegisterWindow is how long a register first seen by an import is shown as new.
const NewRegisterWindow = 7 * 24 * time.Hour

// MaxRegisters bounds the registers a report may carry and GetConnection lists.
const MaxRegisters = 1000

// ReportRegisters records what an import saw of a client's registers, and returns the
// reported registers that import saw first and the account's unmapped registers after the
// report. The report must be about the connection's account.
func (m *Manager) ReportRegisters(ctx context.Context, r store.RegisterReport) (firstSeen, unmapped []store.Register, err error) {
	keys, err := m.store.ReportRegisters(ctx, r, m.now())
	var mismatch *store.AccountMismatchError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, apierr.FailedPrecondition("client %s has no POS connection", r.ClientID)
	case errors.As(err, &mismatch):
		return nil, nil, apierr.FailedPrecondition("%s: the import read an account the client is no longer connected to", mismatch.Error())
	case errors.Is(err, store.ErrConcurrentUpdate):
		return nil, nil, apierr.Aborted("another report of client %s was written at the same time; report again", r.ClientID)
	case err != nil:
		return nil, nil, err
	}
	// Every register of the account, to pick the first seen from (a register first seen long
	// ago by a report repeated now is not in the recent ones).
	all, err := m.store.Registers(ctx, r.ClientID, r.AccountID, time.Unix(0, 0), MaxRegisters)
	if err != nil {
		return nil, nil, err
	}
	for _, reg := range all {
		if slices.Contains(keys, reg.RegisterKey) {
			firstSeen = append(firstSeen, reg)
		}
		if !reg.Mapped {
			unmapped = append(unmapped, reg)
		}
	}
	m.log.InfoContext(ctx, "registers reported", "client_id", r.ClientID, "import_id", r.ImportID,
		"registers", len(r.Registers), "first_seen", len(firstSeen), "unmapped", len(unmapped))
	return firstSeen, unmapped, nil
}

// Registers lists the registers of a connection's account that need a person's eye: the
// unmapped ones, and those first seen within NewRegisterWindow.
func (m *Manager) Registers(ctx context.Context, c store.Connection) ([]store.Register, error) {
	return m.store.Registers(ctx, c.ClientID, c.AccountID, m.now().Add(-NewRegisterWindow), MaxRegisters)
}

// SeenRecently reports whether r was first seen within NewRegisterWindow.
func (m *Manager) SeenRecently(r store.Register) bool {
	return !r.FirstSeenTime.Before(m.now().Add(-NewRegisterWindow))
}
