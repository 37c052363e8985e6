package connection

import (
	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// The statuses, shortened.
const (
	notConnected = posimportv1.ConnectionStatus_CONNECTION_STATUS_NOT_CONNECTED
	connected    = posimportv1.ConnectionStatus_CONNECTION_STATUS_CONNECTED
	enabled      = posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED
	needsReauth  = posimportv1.ConnectionStatus_CONNECTION_STATUS_NEEDS_REAUTH
	disconnected = posimportv1.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED
)

// holdsTokens reports whether a connection in status has tokens to hand out.
func holdsTokens(s posimportv1.ConnectionStatus) bool { return s == connected || s == enabled }

// afterConsent is the status a connection takes when consent is given, and whether it stays
// enabled. A lapse (NEEDS_REAUTH) or a re-consent while ENABLED returns to ENABLED when the
// integration contact had enabled it and the account is the same: the integration contact
// already approved exactly this data source. Another account, another provider, or a
// connection that was disconnected on purpose needs the integration contact again.
func afterConsent(prev *store.Connection, provider posimportv1.PosProvider, accountID string) (posimportv1.ConnectionStatus, bool) {
	if prev == nil {
		return connected, false
	}
	same := prev.Provider == provider && prev.AccountID == accountID
	if (prev.Status == needsReauth || prev.Status == enabled) && prev.Enabled && same {
		return enabled, true
	}
	return connected, false
}

// afterSetEnabled is the status after the integration contact enables or disables the
// integration; changed is false when the status already was the wanted one.
func afterSetEnabled(cur posimportv1.ConnectionStatus, enable bool) (_ posimportv1.ConnectionStatus, changed bool, _ error) {
	switch {
	case enable && cur == connected:
		return enabled, true, nil
	case enable && cur == enabled, !enable && cur == connected:
		return cur, false, nil
	case !enable && cur == enabled:
		return connected, true, nil
	case cur == needsReauth:
		return cur, false, apierr.FailedPrecondition("the POS refused the stored consent (status NEEDS_REAUTH): a supervisor must connect again first")
	case cur == disconnected:
		return cur, false, apierr.FailedPrecondition("the integration is disconnected: a supervisor must connect it first")
	}
	return cur, false, apierr.FailedPrecondition("the integration is not connected: a supervisor must give consent first")
}

// afterDisconnect is the status after Disconnect; changed is false when it already was
// disconnected.
func afterDisconnect(cur posimportv1.ConnectionStatus) (_ posimportv1.ConnectionStatus, changed bool, _ error) {
	switch cur {
	case connected, enabled, needsReauth:
		return disconnected, true, nil
	case disconnected:
		return cur, false, nil
	}
	return cur, false, apierr.FailedPrecondition("the integration is not connected")
}
