package cli

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/services/posimport/internal/localkeys"
)

// personRoles are the roles a minted token may carry: people's, never a service's.
var personRoles = []authn.Role{authn.RoleSupervisor, authn.RoleRegionalSupervisor, authn.RoleIntegrationContact, authn.RoleViewer}

func newTokenCommand(g *globals) *cobra.Command {
	var (
		clients []string
		role    string
		subject string
		ttl     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a bearer token for REST or gRPC calls, from the local signing key",
		Long: `Mint a bearer JWT for a person acting for some clients, signed with the key posimport up keeps
in <data-dir>/keys. Use it with curl against the REST API, or with --token/POSIMPORT_TOKEN.

A token names its clients: there is no token for "all clients" (only the services' own tokens
are), and it lives at most 24h (the longest lifetime the services accept). The API commands
mint a 10-minute token like this one by themselves when --token is not given and --data-dir
holds the key.`,
		Example: `  posimport token --client acme --role supervisor
  curl -H "Authorization: Bearer $(posimport token --client acme)" http://127.0.0.1:8080/v1/clients/acme/settings`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if len(clients) == 0 {
				return errors.New("--client is required")
			}
			if slices.Contains(clients, authn.AllClients) {
				return errors.New(`--client: "*" (all clients) is for the services' own tokens; name the clients`)
			}
			r := authn.Role(role)
			if !slices.Contains(personRoles, r) {
				return fmt.Errorf("--role: %q is not one of %v", role, personRoles)
			}
			if ttl <= 0 || ttl > authn.MaxTokenLifetime {
				return fmt.Errorf("--ttl: %v is outside (0, %v], the lifetime every service accepts", ttl, authn.MaxTokenLifetime)
			}
			keys, err := localkeys.Load(g.dataDir)
			if err != nil {
				return fmt.Errorf("%w: run posimport up first, or point --data-dir at its data directory", err)
			}
			tok, err := keys.Mint(subject, r, clients, ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, tok)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&clients, "client", nil, "client id the token may act for (repeat or comma-separate for several)")
	fl.StringVar(&role, "role", string(authn.RoleSupervisor), "role: supervisor, regional_supervisor, integration_contact or viewer")
	fl.StringVar(&subject, "subject", operator(), "who the token is for (the JWT sub claim)")
	fl.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	roles := make([]string, len(personRoles))
	for i, r := range personRoles {
		roles[i] = string(r)
	}
	completeWords(cmd, "role", roles...)
	return cmd
}
