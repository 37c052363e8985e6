package localkeys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/authn"
)

func TestLoadOrCreateKeepsKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("Load of an empty directory: %v, want ErrNoKeys", err)
	}
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.SigningKey.Reveal() != k2.SigningKey.Reveal() || k1.TokenKeys.Reveal() != k2.TokenKeys.Reveal() {
		t.Error("the keys changed between runs")
	}
	for _, name := range []string{signingKeyFile, tokenKeysFile} {
		st, err := os.Stat(filepath.Join(dir, dirName, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, st.Mode(), err)
		}
	}
	// A token minted with the key verifies with the process's configuration.
	tok, err := k2.Mint("cli:test", authn.RoleSupervisor, []string{"acme"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v, err := authn.NewVerifier(authn.Config{Audience: Audience, Keys: k1.VerificationKeys()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(tok)
	if err != nil || p.Role != authn.RoleSupervisor || len(p.Clients) != 1 || p.Clients[0] != "acme" {
		t.Errorf("verify minted token: %+v %v", p, err)
	}
	if _, err := k2.Mint("x", authn.RoleService, []string{"*"}, time.Minute); err == nil {
		t.Error("minted a service token")
	}
	if _, err := k2.Mint("x", authn.RoleSupervisor, []string{"*"}, time.Minute); err == nil {
		t.Error("minted a token for all clients")
	}
	if _, err := k2.Mint("x", authn.RoleSupervisor, []string{"acme"}, authn.MaxTokenLifetime+time.Minute); err == nil {
		t.Error("minted a token longer than the maximum lifetime")
	}
	// Each service signs as itself, with a key of its own that verifies only its identity.
	seen := map[string]bool{}
	for _, name := range Services {
		s := k2.Service(name)
		tok, err := s.SignService(time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(tok)
		if err != nil || p.Service != name || p.Subject != authn.ServiceSubject(name) {
			t.Errorf("%s: verify its token: %+v %v", name, p, err)
		}
		if seen[s.Key().ID] || seen[string(s.Key().Public)] {
			t.Errorf("%s shares a key", name)
		}
		seen[s.Key().ID], seen[string(s.Key().Public)] = true, true
		if k1.Service(name).Key().ID != s.Key().ID || !k1.Service(name).Key().Public.Equal(s.Key().Public) {
			t.Errorf("%s: the derived key changed between runs", name)
		}
	}
	if strings.Contains(k1.SigningKey.String(), "=") {
		t.Error("the signing key prints itself")
	}
}

func TestConcurrentFirstRunsAgree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := make([]*Keys, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreate(dir)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || k.SigningKey.Reveal() != keys[0].SigningKey.Reveal() {
			t.Fatal("concurrent first runs made different keys")
		}
	}
}

func TestRefusesKeysOthersCanRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, dirName, signingKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Load of a world-readable key: %v", err)
	}
}
