package envconfig_test

import (
	"bytes"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/pkg/platform/secret"
)

type testConfig struct {
	Addr     string        `env:"ADDR" envDefault:":8080"`
	Timeout  time.Duration `env:"TIMEOUT" envDefault:"5s"`
	Password secret.Secret `env:"PASSWORD"`
	List     []string      `env:"LIST" envSeparator:","`
}

func TestLoadFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ map[string]string
		want    testConfig
		wantErr string
	}{
		{name: "defaults", environ: map[string]string{}, want: testConfig{Addr: ":8080", Timeout: 5 * time.Second}},
		{
			name:    "set",
			environ: map[string]string{"ADDR": ":1", "TIMEOUT": "1m", "PASSWORD": "pw", "LIST": "a,b"},
			want:    testConfig{Addr: ":1", Timeout: time.Minute, Password: secret.New("pw"), List: []string{"a", "b"}},
		},
		{name: "bad duration", environ: map[string]string{"TIMEOUT": "soon"}, wantErr: "TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got testConfig
			err := envconfig.LoadFrom(&got, tc.environ)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b secret.Secret) bool { return a.Reveal() == b.Reveal() })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestConfigLogMasksSecrets(t *testing.T) {
	t.Parallel()
	var cfg testConfig
	if err := envconfig.LoadFrom(&cfg, map[string]string{"PASSWORD": "canary-pw-91"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configuration", "config", cfg)
	if strings.Contains(buf.String(), "canary-pw-91") || !strings.Contains(buf.String(), secret.Redacted) {
		t.Errorf("log = %s", buf.String())
	}
}

type aliasConfig struct {
	Slots int `env:"SLOTS"`
	Inner struct {
		URL string `env:"API_URL" envDeprecated:"API_BASE_URL"`
	}
}

// TestDeprecatedAlias: a deprecated variable sets its field while the new one is not set, and
// is reported; the new one wins when both are; an unset variable keeps the value filled in
// before loading (a service's default).
func TestDeprecatedAlias(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		environ   map[string]string
		wantURL   string
		wantSlots int
		wantAlias []envconfig.Alias
	}{
		{name: "neither: the default stays", environ: map[string]string{}, wantURL: "https://default", wantSlots: 4},
		{name: "new name", environ: map[string]string{"API_URL": "https://new", "SLOTS": "2"}, wantURL: "https://new", wantSlots: 2},
		{name: "deprecated name", environ: map[string]string{"API_BASE_URL": "https://old"}, wantURL: "https://old", wantSlots: 4,
			wantAlias: []envconfig.Alias{{Deprecated: "API_BASE_URL", Name: "API_URL"}}},
		{name: "both: the new name wins", environ: map[string]string{"API_BASE_URL": "https://old", "API_URL": "https://new"},
			wantURL: "https://new", wantSlots: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := aliasConfig{Slots: 4}
			cfg.Inner.URL = "https://default"
			before := maps.Clone(tc.environ)
			if err := envconfig.LoadFrom(&cfg, tc.environ); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(before, tc.environ) {
				t.Errorf("LoadFrom changed the caller's environment to %v", tc.environ)
			}
			if cfg.Inner.URL != tc.wantURL || cfg.Slots != tc.wantSlots {
				t.Errorf("URL %q slots %d, want %q %d", cfg.Inner.URL, cfg.Slots, tc.wantURL, tc.wantSlots)
			}
			if diff := cmp.Diff(tc.wantAlias, envconfig.Deprecated(&cfg, tc.environ)); diff != "" {
				t.Errorf("Deprecated (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValues: the startup log's description of a configuration names each variable, nested
// structs' too, and writes its value as the operator would set it, secrets masked.
func TestValues(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Base testConfig
		Port int `env:"PORT" envDefault:"9"`
	}
	if err := envconfig.LoadFrom(&cfg, map[string]string{"PASSWORD": "canary-pw-91", "LIST": "a,b"}); err != nil {
		t.Fatal(err)
	}
	got := envconfig.Values(&cfg)
	want := map[string]string{"ADDR": ":8080", "TIMEOUT": "5s", "PASSWORD": secret.Redacted, "LIST": "a,b", "PORT": "9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}
