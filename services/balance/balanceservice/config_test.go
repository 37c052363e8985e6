package balanceservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/services/balance/balanceservice"
)

// TestConfigFromEnvironment: the settings are read over their defaults, and a parse error
// names the variable.
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
			cfg := balanceservice.Config{}.WithDefaults() // as main.go loads it
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

// TestConfigDefaultsAndValidate: zero settings (a Config built in code) take the same defaults
// as the environment's, a negative cache TTL stays (never reuse), and New refuses a negative
// auto-confirm interval, naming its variable, where it used to take the default.
func TestConfigDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	got := balanceservice.Config{}.WithDefaults()
	if got.ConfigAddr != "config:9090" || got.ConfigCacheTTL != 30*time.Second || got.AutoConfirmInterval != time.Minute {
		t.Errorf("defaults = %q %v %v", got.ConfigAddr, got.ConfigCacheTTL, got.AutoConfirmInterval)
	}
	if got := (balanceservice.Config{ConfigCacheTTL: -1}).WithDefaults(); got.ConfigCacheTTL != -1 || got.Validate() != nil {
		t.Errorf("negative CONFIG_CACHE_TTL: %v, %v; want it kept and valid", got.ConfigCacheTTL, got.Validate())
	}
	_, err := balanceservice.New(balanceservice.Config{AutoConfirmInterval: -time.Second}, balanceservice.Deps{})
	if err == nil || !strings.Contains(err.Error(), "AUTO_CONFIRM_INTERVAL") {
		t.Errorf("New with a negative interval: %v, want an error naming AUTO_CONFIRM_INTERVAL", err)
	}
}
