package envconfig_test

import (
	"bytes"
	"log/slog"
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
