package balanceservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string
		wantAddr string
		wantTTL  time.Duration
		wantTick time.Duration
	}{
		{name: "defaults", env: map[string]string{}, wantAddr: "config:9090", wantTTL: 30 * time.Second, wantTick: time.Minute},
		{name: "set", env: map[string]string{"CONFIG_ADDR": "127.0.0.1:9091", "CONFIG_CACHE_TTL": "5s", "AUTO_CONFIRM_INTERVAL": "15s"},
			wantAddr: "127.0.0.1:9091", wantTTL: 5 * time.Second, wantTick: 15 * time.Second},
		{name: "bad duration", env: map[string]string{"CONFIG_ADDR": "x:1", "CONFIG_CACHE_TTL": "soon"}, wantErr: "CONFIG_CACHE_TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cfg balanceservice.Config
			err := envconfig.LoadFrom(&cfg, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ConfigAddr != tc.wantAddr || cfg.ConfigCacheTTL != tc.wantTTL || cfg.AutoConfirmInterval != tc.wantTick {
				t.Errorf("config = %q %v %v", cfg.ConfigAddr, cfg.ConfigCacheTTL, cfg.AutoConfirmInterval)
			}
		})
	}
}
