package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/posimport/posimport/pkg/platform/secret"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const canary = "canary-7f3a9c"
	s := secret.New(canary)
	type cfg struct {
		Name  string
		Token secret.Secret
		Ptr   *secret.Secret
	}
	c := cfg{Name: "x", Token: s, Ptr: &s}

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", c, "token", s)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s), "%x": fmt.Sprintf("%x", s),
		"json": string(js), "slog": logs.String(), "error": fmt.Errorf("wrap: %v", s).Error(),
	}
	for name, out := range outputs {
		if strings.Contains(out, canary) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if s.Reveal() != canary {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
}

func TestSecretUnmarshalText(t *testing.T) {
	t.Parallel()
	var s secret.Secret
	if err := s.UnmarshalText([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if s.Reveal() != "abc" || s.IsZero() {
		t.Errorf("got %q", s.Reveal())
	}
	if !secret.New("").IsZero() || secret.New("").String() != "" {
		t.Error("empty secret should be zero and print empty")
	}
}
