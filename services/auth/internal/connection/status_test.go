package connection

import (
	"errors"
	"testing"

	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/store"
)

const (
	retail     = posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL
	restaurant = posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT
)

func TestAfterConsent(t *testing.T) {
	t.Parallel()
	prev := func(s posimportv1.ConnectionStatus, en bool) *store.Connection {
		return &store.Connection{Status: s, Enabled: en, Provider: retail, AccountID: "100001"}
	}
	tests := []struct {
		name        string
		prev        *store.Connection
		provider    posimportv1.PosProvider
		account     string
		want        posimportv1.ConnectionStatus
		wantEnabled bool
	}{
		{name: "first consent", prev: nil, provider: retail, account: "100001", want: connected},
		{name: "again while connected", prev: prev(connected, false), provider: retail, account: "100001", want: connected},
		{name: "again while enabled, same account", prev: prev(enabled, true), provider: retail, account: "100001", want: enabled, wantEnabled: true},
		{name: "again while enabled, other account", prev: prev(enabled, true), provider: retail, account: "100002", want: connected},
		{name: "lapsed while enabled, same account", prev: prev(needsReauth, true), provider: retail, account: "100001", want: enabled, wantEnabled: true},
		{name: "lapsed while enabled, other account", prev: prev(needsReauth, true), provider: retail, account: "100002", want: connected},
		{name: "lapsed while enabled, other provider", prev: prev(needsReauth, true), provider: restaurant, account: "100001", want: connected},
		{name: "lapsed while connected", prev: prev(needsReauth, false), provider: retail, account: "100001", want: connected},
		{name: "after disconnect", prev: prev(disconnected, false), provider: retail, account: "100001", want: connected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, en := afterConsent(tc.prev, tc.provider, tc.account)
			if got != tc.want || en != tc.wantEnabled {
				t.Errorf("afterConsent = %s, enabled %v; want %s, %v", got, en, tc.want, tc.wantEnabled)
			}
		})
	}
}

func TestAfterSetEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cur         posimportv1.ConnectionStatus
		enable      bool
		want        posimportv1.ConnectionStatus
		wantChanged bool
		wantErr     bool
	}{
		{cur: connected, enable: true, want: enabled, wantChanged: true},
		{cur: enabled, enable: true, want: enabled},
		{cur: enabled, enable: false, want: connected, wantChanged: true},
		{cur: connected, enable: false, want: connected},
		{cur: notConnected, enable: true, wantErr: true},
		{cur: needsReauth, enable: true, wantErr: true},
		{cur: needsReauth, enable: false, wantErr: true},
		{cur: disconnected, enable: true, wantErr: true},
		{cur: disconnected, enable: false, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.cur.String()+map[bool]string{true: "/enable", false: "/disable"}[tc.enable], func(t *testing.T) {
			t.Parallel()
			got, changed, err := afterSetEnabled(tc.cur, tc.enable)
			if tc.wantErr {
				if !errors.Is(err, apierr.ErrFailedPrecondition) {
					t.Fatalf("err = %v, want FailedPrecondition", err)
				}
				return
			}
			if err != nil || got != tc.want || changed != tc.wantChanged {
				t.Errorf("afterSetEnabled = %s, %v, %v; want %s, %v", got, changed, err, tc.want, tc.wantChanged)
			}
		})
	}
}

func TestAfterDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cur         posimportv1.ConnectionStatus
		wantChanged bool
		wantErr     bool
	}{
		{cur: connected, wantChanged: true},
		{cur: enabled, wantChanged: true},
		{cur: needsReauth, wantChanged: true},
		{cur: disconnected},
		{cur: notConnected, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.cur.String(), func(t *testing.T) {
			t.Parallel()
			got, changed, err := afterDisconnect(tc.cur)
			if tc.wantErr {
				if !errors.Is(err, apierr.ErrFailedPrecondition) {
					t.Fatalf("err = %v, want FailedPrecondition", err)
				}
				return
			}
			if err != nil || got != disconnected || changed != tc.wantChanged {
				t.Errorf("afterDisconnect = %s, %v, %v", got, changed, err)
			}
		})
	}
}
