package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/view"
)

func newAuthCommand(g *globals) *cobra.Command {
	f := &apiFlags{}
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "A client's connection to its POS: status, consent, enabling",
		Long: `A client's connection to Lightspeed: its integration status, the OAuth consent that connects it,
and enabling it (the integration contact's step). Status goes NOT_CONNECTED → CONNECTED
(consent) → ENABLED (integration contact); NEEDS_REAUTH when Lightspeed refuses the refresh
token; DISCONNECTED on purpose.`,
	}
	addAPIFlags(cmd, f)
	cmd.AddCommand(newAuthStatus(g, f), newAuthConnect(g, f), newAuthEnable(g, f, true), newAuthEnable(g, f, false), newAuthDisconnect(g, f))
	return cmd
}

func newAuthStatus(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show a client's integration status, the POS businesses and locations it covers, its departments checked against them, and registers no department maps or seen for the first time",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.auth().GetConnection, &posimportv1.GetConnectionRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			return printConnection(g.stdout, resp.GetConnection())
		}),
	}
}

func statusWord(s posimportv1.ConnectionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONNECTION_STATUS_"))
}

func printConnection(w io.Writer, c *posimportv1.Connection) error {
	when := func(t interface{ AsTime() time.Time }, set bool) string {
		if !set {
			return ""
		}
		return t.AsTime().Local().Format(time.DateTime)
	}
	t := &view.Table{Header: []string{"Connection", "Value"}, Rows: [][]string{
		{"client", c.GetClientId()},
		{"status", statusWord(c.GetStatus())},
		{"provider", providerWord(c.GetProvider())},
		{"POS account", c.GetAccountId()},
		{"consent", when(c.GetConsentTime(), c.GetConsentTime() != nil)},
		{"enabled", when(c.GetEnableTime(), c.GetEnableTime() != nil)},
		{"last refresh", when(c.GetLastRefreshTime(), c.GetLastRefreshTime() != nil)},
	}}
	if c.GetLastError() != "" {
		t.Rows = append(t.Rows, []string{"last error", c.GetLastError() + " (" + when(c.GetLastErrorTime(), c.GetLastErrorTime() != nil) + ")"})
	}
	if c.GetReconnectUrl() != "" {
		t.Rows = append(t.Rows, []string{"give consent", c.GetReconnectUrl()})
	}
	for _, b := range c.GetBusinesses() {
		t.Rows = append(t.Rows, []string{"business " + b.GetBusinessId(), b.GetName()})
		for _, l := range b.GetLocations() {
			where := l.GetName() + ", " + l.GetTimeZone()
			if l.GetArchived() {
				where += ", archived"
			}
			t.Rows = append(t.Rows, []string{"  location " + l.GetLocationId(), where})
		}
	}
	if c.GetDepartmentCheckError() != "" {
		t.Rows = append(t.Rows, []string{"department check", c.GetDepartmentCheckError()})
	}
	for _, m := range c.GetDepartmentMismatches() {
		t.Rows = append(t.Rows, []string{"department " + m.GetDepartmentId(), fmt.Sprintf("POS client number %s: %s", m.GetPosClientNumber(), m.GetReason())})
	}
	for _, r := range c.GetRegisters() {
		t.Rows = append(t.Rows, []string{"register " + r.GetRegisterId(), registerWords(r, when)})
	}
	return t.Render(w)
}

// registerWords says what is to know of a register that needs a person's eye: unmapped (with
// its sales that are not imported), new, or both.
func registerWords(r *posimportv1.PosRegister, when func(t interface{ AsTime() time.Time }, set bool) string) string {
	words := "location " + r.GetLocationId() + ", "
	if r.GetMapped() {
		words += "mapped"
	} else {
		words += fmt.Sprintf("NO DEPARTMENT, not imported: %d sales, gross %s", r.GetSalesCount(), r.GetGrossSales())
		if r.GetFirstSaleDate() != "" {
			words += fmt.Sprintf(", %s to %s", r.GetFirstSaleDate(), r.GetLastSaleDate())
		}
	}
	if r.GetFirstSeenRecently() {
		words += ", new: first seen " + when(r.GetFirstSeenTime(), r.GetFirstSeenTime() != nil)
	}
	return words
}

func newAuthConnect(g *globals, f *apiFlags) *cobra.Command {
	var (
		follow bool
		wait   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Start the client's OAuth consent and wait until it is given",
		Long: `Start the client's OAuth consent at Lightspeed: print the authorize URL for the client's
Lightspeed administrator to open, then wait until the consent arrives (the browser comes back
to posimport's callback) and show the connection. --follow opens the URL itself, as a browser
would: that is for the simulator, whose consent page approves by itself.`,
		Example: `  posimport auth connect --client acme
  posimport auth connect --client demo --follow    # against posimport up --simulate`,
		Args: cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, _ []string) error {
			before, err := call(ctx, a, a.auth().GetConnection, &posimportv1.GetConnectionRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			begin, err := call(ctx, a, a.auth().BeginConnect, &posimportv1.BeginConnectRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if follow {
				if err := followConsent(ctx, g, begin.GetAuthorizeUrl()); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(g.stdout, "Open this URL in a browser, as the client's Lightspeed administrator, and approve:\n  %s\nWaiting for the consent (until %s)...\n",
					begin.GetAuthorizeUrl(), begin.GetExpireTime().AsTime().Local().Format(time.TimeOnly))
			}
			c, err := waitConsent(ctx, a, before.GetConnection(), wait)
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, c)
			}
			return printConnection(g.stdout, c)
		}),
	}
	cmd.Flags().BoolVar(&follow, "follow", false, "open the authorize URL as a browser would (the simulator consents by itself)")
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Minute, "how long to wait for the consent")
	return cmd
}

// followConsent opens the authorize URL and follows its redirects to posimport's page, as a
// browser would.
func followConsent(ctx context.Context, g *globals, authorizeURL string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("follow the authorize URL: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("consent ended with HTTP %d at %s: %s", resp.StatusCode, resp.Request.URL.Redacted(), strings.TrimSpace(string(body)))
	}
	if resp.Request.URL.Query().Get("result") == "" {
		return fmt.Errorf("consent did not come back to posimport (ended at %s); does the POS consent by itself? Run without --follow", resp.Request.URL.Host)
	}
	_, err = fmt.Fprint(g.stdout, string(body))
	return err
}

// waitConsent polls the connection until a consent newer than before's arrives.
func waitConsent(ctx context.Context, a *api, before *posimportv1.Connection, wait time.Duration) (*posimportv1.Connection, error) {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := call(ctx, a, a.auth().GetConnection, &posimportv1.GetConnectionRequest{ClientId: a.f.client})
		if err != nil {
			return nil, err
		}
		c := resp.GetConnection()
		if c.GetConsentTime() != nil && (before.GetConsentTime() == nil || c.GetConsentTime().AsTime().After(before.GetConsentTime().AsTime())) {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no consent within %v (status %s)", wait, statusWord(c.GetStatus()))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func newAuthEnable(g *globals, f *apiFlags, enable bool) *cobra.Command {
	use, short := "enable", "Enable a connected integration (the integration contact's step)"
	if !enable {
		use, short = "disable", "Disable an enabled integration: back to connected, imports stop"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  short + ". A minted token carries the role integration_contact.",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleIntegrationContact, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.auth().SetEnabled, &posimportv1.SetEnabledRequest{ClientId: f.client, Enabled: enable})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			_, err = fmt.Fprintf(g.stdout, "client %s: %s\n", f.client, statusWord(resp.GetConnection().GetStatus()))
			return err
		}),
	}
}

func newAuthDisconnect(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "disconnect",
		Short: "Revoke the consent at the POS and delete the tokens",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.auth().Disconnect, &posimportv1.DisconnectRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			_, err = fmt.Fprintf(g.stdout, "client %s: %s\n", f.client, statusWord(resp.GetConnection().GetStatus()))
			return err
		}),
	}
}
