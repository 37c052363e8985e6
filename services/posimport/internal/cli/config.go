package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/view"
)

func newConfigCommand(g *globals) *cobra.Command {
	f := &apiFlags{}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Read and change a client's POS settings, departments and weekly-balance fields",
		Long: `Read and change what the main app's screens change: a client's POS settings (General
Settings), its departments' POS mapping (Departments) and its weekly-balance fields' POS data
types (Weekly Balance). "set" commands change only the flags given and keep the rest.`,
	}
	addAPIFlags(cmd, f)
	settings := &cobra.Command{Use: "settings", Short: "A client's POS settings"}
	settings.AddCommand(newSettingsGet(g, f), newSettingsSet(g, f))
	deps := &cobra.Command{Use: "departments", Aliases: []string{"department", "deps"}, Short: "A client's departments and their POS mapping"}
	deps.AddCommand(newDepartmentsList(g, f), newDepartmentSet(g, f), newDepartmentDelete(g, f))
	fields := &cobra.Command{Use: "fields", Aliases: []string{"field"}, Short: "A client's weekly-balance fields and the POS data they receive"}
	fields.AddCommand(newFieldsList(g, f), newFieldSet(g, f), newFieldDelete(g, f))
	cmd.AddCommand(settings, deps, fields)
	return cmd
}

func newSettingsGet(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get",
		Short: "Show a client's POS settings (defaults when never saved)",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.config().GetClientSettings, &posimportv1.GetClientSettingsRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			return settingsTable(resp.GetSettings()).Render(g.stdout)
		}),
	}
}

func settingsTable(s *posimportv1.ClientSettings) *view.Table {
	yes := func(b bool) string { return strconv.FormatBool(b) }
	return &view.Table{Header: []string{"Setting", "Value"}, Rows: [][]string{
		{"client", s.GetClientId()},
		{"multi cash registers", yes(s.GetMultiCashRegisters())},
		{"POS import enabled", yes(s.GetPosImportEnabled())},
		{"POS provider", providerWord(s.GetPosProvider())},
		{"auto-confirm weekly balance", yes(s.GetAutoConfirmWeeklyBalance())},
		{"confirm time", s.GetConfirmTime()},
		{"time zone", s.GetTimeZone()},
		{"intraday refresh", intradayWord(s.GetIntradayRefreshMinutes())},
	}}
}

// intradayWord says how often today's sales are refreshed during the day.
func intradayWord(minutes int32) string {
	if minutes == 0 {
		return "off"
	}
	return fmt.Sprintf("every %d minutes", minutes)
}

// completeWords makes shell completion offer words (each "word" or "word\tdescription") as
// the values of cmd's flag.
func completeWords(cmd *cobra.Command, flag string, words ...string) {
	// Fails only for a flag cmd does not have, which the help test would show.
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp))
}

// providers are the --provider words.
var providers = map[string]posimportv1.PosProvider{
	"none":       posimportv1.PosProvider_POS_PROVIDER_UNSPECIFIED,
	"retail":     posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL,
	"restaurant": posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT,
}

func providerWord(p posimportv1.PosProvider) string {
	for w, v := range providers {
		if v == p {
			return w
		}
	}
	return p.String()
}

func newSettingsSet(g *globals, f *apiFlags) *cobra.Command {
	var (
		multi, enabled, autoConfirm bool
		provider, confirm, zone     string
		intraday                    int32
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Change a client's POS settings (only the flags given)",
		Example: `  posimport config settings set --client acme --multi-cash-registers --pos-import-enabled --provider retail \
      --auto-confirm --confirm-time 05:00 --time-zone Europe/Copenhagen --intraday-refresh 30`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, _ []string) error {
		cur, err := call(ctx, a, a.config().GetClientSettings, &posimportv1.GetClientSettingsRequest{ClientId: f.client})
		if err != nil {
			return err
		}
		s := cur.GetSettings()
		fl := cmd.Flags()
		if fl.Changed("multi-cash-registers") {
			s.MultiCashRegisters = multi
		}
		if fl.Changed("pos-import-enabled") {
			s.PosImportEnabled = enabled
		}
		if fl.Changed("auto-confirm") {
			s.AutoConfirmWeeklyBalance = autoConfirm
		}
		if fl.Changed("provider") {
			p, ok := providers[provider]
			if !ok {
				return fmt.Errorf("--provider: %q is not retail, restaurant or none", provider)
			}
			s.PosProvider = p
		}
		if fl.Changed("confirm-time") {
			s.ConfirmTime = confirm
		}
		if fl.Changed("time-zone") {
			s.TimeZone = zone
		}
		if fl.Changed("intraday-refresh") {
			s.IntradayRefreshMinutes = intraday
		}
		resp, err := call(ctx, a, a.config().UpdateClientSettings, &posimportv1.UpdateClientSettingsRequest{ClientId: f.client, Settings: s})
		if err != nil {
			return err
		}
		if a.json() {
			return printJSON(g.stdout, resp)
		}
		return settingsTable(resp.GetSettings()).Render(g.stdout)
	})
	fl := cmd.Flags()
	fl.BoolVar(&multi, "multi-cash-registers", false, "the client has several cash registers per department (required for Lightspeed)")
	fl.BoolVar(&enabled, "pos-import-enabled", false, "import POS sales into the weekly balance")
	fl.BoolVar(&autoConfirm, "auto-confirm", false, "approve finished days automatically at the confirm time")
	fl.StringVar(&provider, "provider", "", "POS provider: retail (Lightspeed R-Series), restaurant (K-Series) or none")
	fl.StringVar(&confirm, "confirm-time", "", "local time of day (HH:MM) of auto-confirm")
	fl.StringVar(&zone, "time-zone", "", "IANA time zone of the client, e.g. Europe/Copenhagen")
	fl.Int32Var(&intraday, "intraday-refresh", 0, "import today's sales so far every this many minutes (15 to 240; 0: off)")
	completeWords(cmd, "provider", "none\tno POS import", "restaurant\tLightspeed Restaurant (K-Series)", "retail\tLightspeed Retail (R-Series)")
	return cmd
}

func newDepartmentsList(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List a client's departments and their POS mapping",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.config().ListDepartments, &posimportv1.ListDepartmentsRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			t := &view.Table{Header: []string{"Department", "Name", "POS client number", "POS terminal numbers", "Time zone"}}
			for _, d := range resp.GetDepartments() {
				t.Rows = append(t.Rows, []string{d.GetDepartmentId(), d.GetName(), d.GetPosClientNumber(),
					strings.Join(d.GetPosTerminalNumbers(), ","), d.GetEffectiveTimeZone()})
			}
			return t.Render(g.stdout)
		}),
	}
}

func newDepartmentSet(g *globals, f *apiFlags) *cobra.Command {
	var (
		name, number, zone string
		terminals          []string
	)
	cmd := &cobra.Command{
		Use:     "set DEPARTMENT_ID",
		Short:   "Create a department's POS mapping or change it (only the flags given)",
		Example: `  posimport config departments set d1 --client acme --name Nørrebro --pos-client-number 1 --terminals 11,12`,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
		d := &posimportv1.Department{}
		cur, err := call(ctx, a, a.config().GetDepartment, &posimportv1.GetDepartmentRequest{ClientId: f.client, DepartmentId: args[0]})
		switch {
		case err == nil:
			d = cur.GetDepartment()
		case status.Code(err) != codes.NotFound:
			return err
		}
		fl := cmd.Flags()
		if fl.Changed("name") {
			d.Name = name
		}
		if fl.Changed("pos-client-number") {
			d.PosClientNumber = number
		}
		if fl.Changed("terminals") {
			d.PosTerminalNumbers = terminals
		}
		if fl.Changed("time-zone") {
			d.TimeZone = zone
		}
		resp, err := call(ctx, a, a.config().PutDepartment, &posimportv1.PutDepartmentRequest{ClientId: f.client, DepartmentId: args[0], Department: d})
		if err != nil {
			return err
		}
		if a.json() {
			return printJSON(g.stdout, resp)
		}
		s := resp.GetDepartment()
		_, err = fmt.Fprintf(g.stdout, "department %s (%s): POS client number %q, terminals [%s], time zone %s\n", s.GetDepartmentId(), s.GetName(),
			s.GetPosClientNumber(), strings.Join(s.GetPosTerminalNumbers(), ","), s.GetEffectiveTimeZone())
		return err
	})
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "display name")
	fl.StringVar(&number, "pos-client-number", "", "Lightspeed shop id (Retail) or business location id (Restaurant); empty unmaps")
	fl.StringSliceVar(&terminals, "terminals", nil, "POS terminal numbers: Lightspeed register ids; none imports the shop as one unit")
	fl.StringVar(&zone, "time-zone", "", "IANA time zone of the department; empty: the client's")
	return cmd
}

func newDepartmentDelete(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete DEPARTMENT_ID",
		Short: "Remove a department's POS mapping",
		Args:  cobra.ExactArgs(1),
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
			if _, err := call(ctx, a, a.config().DeleteDepartment, &posimportv1.DeleteDepartmentRequest{ClientId: f.client, DepartmentId: args[0]}); err != nil {
				return err
			}
			_, err := fmt.Fprintf(g.stdout, "department %s removed\n", args[0])
			return err
		}),
	}
}

func newFieldsList(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List a client's weekly-balance fields and the POS data they receive",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.config().ListFields, &posimportv1.ListFieldsRequest{ClientId: f.client})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			t := &view.Table{Header: []string{"Field", "Name", "POS data", "Per hour"}, Right: map[int]bool{0: true}}
			for _, fd := range resp.GetFields() {
				t.Rows = append(t.Rows, []string{strconv.FormatInt(fd.GetFieldId(), 10), fd.GetName(),
					typeWord(fd.GetPosDataType()), strconv.FormatBool(fd.GetSplitIntoIntervals())})
			}
			return t.Render(g.stdout)
		}),
	}
}

// dataTypes are the --type words: gross_sales for POS_DATA_TYPE_GROSS_SALES.
func dataTypes() []string {
	var out []string
	for v := range posimportv1.PosDataType_name {
		out = append(out, typeWord(posimportv1.PosDataType(v)))
	}
	slices.Sort(out)
	return out
}

func typeWord(t posimportv1.PosDataType) string {
	if t == posimportv1.PosDataType_POS_DATA_TYPE_UNSPECIFIED {
		return "none"
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "POS_DATA_TYPE_"))
}

func parseType(s string) (posimportv1.PosDataType, error) {
	for v := range posimportv1.PosDataType_name {
		if typeWord(posimportv1.PosDataType(v)) == s {
			return posimportv1.PosDataType(v), nil
		}
	}
	return 0, fmt.Errorf("--type: %q is not one of %s", s, strings.Join(dataTypes(), ", "))
}

func newFieldSet(g *globals, f *apiFlags) *cobra.Command {
	var (
		name, typ string
		hourly    bool
	)
	cmd := &cobra.Command{
		Use:     "set FIELD_ID",
		Short:   "Create a weekly-balance field's definition or change it (only the flags given)",
		Example: `  posimport config fields set 5266 --client acme --name "Gross sales" --type gross_sales --hourly`,
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("FIELD_ID: %q is not a number", args[0])
		}
		fd := &posimportv1.BalanceField{}
		list, err := call(ctx, a, a.config().ListFields, &posimportv1.ListFieldsRequest{ClientId: f.client})
		if err != nil {
			return err
		}
		for _, cur := range list.GetFields() {
			if cur.GetFieldId() == id {
				fd = cur
			}
		}
		fl := cmd.Flags()
		if fl.Changed("name") {
			fd.Name = name
		}
		if fl.Changed("type") {
			if fd.PosDataType, err = parseType(typ); err != nil {
				return err
			}
		}
		if fl.Changed("hourly") {
			fd.SplitIntoIntervals = hourly
		}
		resp, err := call(ctx, a, a.config().PutField, &posimportv1.PutFieldRequest{ClientId: f.client, FieldId: id, Field: fd})
		if err != nil {
			return err
		}
		if a.json() {
			return printJSON(g.stdout, resp)
		}
		s := resp.GetField()
		_, err = fmt.Fprintf(g.stdout, "field %d (%s): POS data %s, per hour %t\n", s.GetFieldId(), s.GetName(), typeWord(s.GetPosDataType()), s.GetSplitIntoIntervals())
		return err
	})
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "display name")
	fl.StringVar(&typ, "type", "", "POS data the field receives: "+strings.Join(dataTypes(), ", "))
	completeWords(cmd, "type", dataTypes()...)
	fl.BoolVar(&hourly, "hourly", false, "split the field into 1-hour intervals")
	return cmd
}

func newFieldDelete(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete FIELD_ID",
		Short: "Remove a weekly-balance field's definition",
		Args:  cobra.ExactArgs(1),
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("FIELD_ID: %q is not a number", args[0])
			}
			if _, err := call(ctx, a, a.config().DeleteField, &posimportv1.DeleteFieldRequest{ClientId: f.client, FieldId: id}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "field %d removed\n", id)
			return err
		}),
	}
}
