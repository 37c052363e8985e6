package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
	"github.com/posimport/posimport/services/posimport/internal/oraclecheck"
	"github.com/posimport/posimport/services/posimport/internal/view"
)

// demoClient is the demo's client id and time zone.
const (
	demoClient = "demo"
	demoZone   = "Europe/Copenhagen"
)

// demoFields are the demo client's weekly-balance fields: every POS data type, the sales
// curves per hour and the rest per day.
var demoFields = []struct {
	id     int64
	name   string
	typ    posimportv1.PosDataType
	hourly bool
}{
	{5266, "Gross sales", posimportv1.PosDataType_POS_DATA_TYPE_GROSS_SALES, true},
	{5267, "Net sales", posimportv1.PosDataType_POS_DATA_TYPE_NET_SALES, true},
	{5268, "Discounts", posimportv1.PosDataType_POS_DATA_TYPE_DISCOUNTS, false},
	{5269, "Returns", posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, false},
	{5270, "Transactions", posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS, true},
	{5271, "Goods sold", posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD, false},
	{5272, "Goods returned", posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED, false},
	{5273, "Visitors", posimportv1.PosDataType_POS_DATA_TYPE_VISITORS, true},
}

// demoFlags are the flags of "posimport demo".
type demoFlags struct {
	weeks       int
	keep        bool
	databaseURL string
	sim         simData
}

func newDemoCommand(g *globals) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show posimport at work, start to finish, against the Lightspeed simulator",
		Long: `Run posimport up --simulate in this process (fresh ports, a private PostgreSQL and JetStream in a
temporary directory), then do what a supervisor and an integration contact do in the main
app: set up client "demo" (Europe/Copenhagen) with three departments, two in Copenhagen and
one in New York, and the eight weekly-balance fields, connect
it through the simulator's OAuth consent, enable it, import the last --weeks weeks with a
progress bar, and print last week's balance of each department (days × fields) and the hourly
curve of one day.

Every value printed, and every hour of every imported day, is then compared with the
simulator's oracle (the figures computed from its own sales by the published metric
definitions); the demo says so, or fails. It needs nothing running, only the PostgreSQL
server packages (initdb, pg_ctl) unless --database-url is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), g, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.weeks, "weeks", 8, "weeks to import, until yesterday")
	fl.BoolVar(&f.keep, "keep", false, "keep the temporary data directory (logs, database, keys)")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL to use instead of a private cluster")
	// Two shops in the client's zone and one in another, whose DST changes fall on other days
	// and whose US sales taxes give amounts of up to 10 decimal places, kept exactly.
	addSimDataFlags(cmd, &f.sim, simData{addr: "127.0.0.1:0", shops: 3, registers: 3, salesPerDay: 60,
		zones: []string{demoZone, demoZone, "America/New_York"}, timeScale: 20})
	return cmd
}

// demo is one run of the demo.
type demo struct {
	g     *globals
	f     *demoFlags
	dir   string
	out   io.Writer
	stack *allinone.Stack
	from  civil.Date
	until civil.Date
	deps  []demoDepartment
	step  int
	start time.Time
}

// demoDepartment is a department of the demo client and the shop it maps.
type demoDepartment struct {
	id   string
	shop sim.Shop
	// registers are the terminal numbers; empty imports the shop as one unit.
	registers []string
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n[%d/8] %s  (%s)\n", d.step, fmt.Sprintf(format, args...), time.Since(d.start).Round(100*time.Millisecond))
}

func runDemo(ctx context.Context, g *globals, f *demoFlags) (err error) {
	if f.weeks < 1 || f.weeks > 52 {
		return fmt.Errorf("--weeks: %d is outside 1..52", f.weeks)
	}
	dir, err := os.MkdirTemp("", "posimport-demo-*")
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "posimport.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		_ = logFile.Close()
		if err != nil || f.keep {
			fmt.Fprintf(g.stderr, "posimport demo: kept %s (logs in %s)\n", dir, logPath)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	zone, _ := time.LoadLocation(demoZone)
	d := &demo{g: g, f: f, dir: dir, out: g.stdout, start: time.Now()}
	d.until = civil.Today(time.Now(), zone).AddDays(-1)
	d.from = d.until.AddDays(-(7*f.weeks - 1))
	fmt.Fprintf(d.out, "posimport demo: posimport up --simulate in this process; data in %s\n", dir)

	simOpts := f.sim.options(time.Now())
	// The simulator's days are the demo client's; noon UTC is the same date in every shop's zone.
	noon := func(c civil.Date) time.Time { return time.Date(c.Year, c.Month, c.Day, 12, 0, 0, 0, time.UTC) }
	simOpts.Data.From, simOpts.Data.Until = noon(d.from.AddDays(-1)), noon(d.until)
	simOpts.Restaurant.Data.From, simOpts.Restaurant.Data.Until = simOpts.Data.From, simOpts.Data.Until
	environ := allinone.Environ()
	environ["JOB_MAX_RUNNING_PER_CLIENT"] = "4"
	d.stack, err = allinone.Start(ctx, allinone.Options{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DatabaseURL: f.databaseURL, FastPostgres: true,
		Simulate: simOpts, SimAddr: f.sim.addr, ShutdownTimeout: 5 * time.Second, Environ: environ,
		Logger: g.loggerTo(logFile),
	})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- d.stack.Run(runCtx) }()
	defer func() {
		stop()
		if rerr := <-done; rerr != nil && err == nil {
			err = rerr
		}
	}()
	d.say("posimport is up: gRPC %s, REST http://%s, simulator %s, PostgreSQL %s",
		d.stack.GRPCAddr, d.stack.HTTPAddr, d.stack.SimURL, d.stack.PostgresURL)
	return d.run(ctx)
}

// api connects to the demo's posimport as the demo client with role.
func (d *demo) api(role authn.Role) (*api, error) {
	g := *d.g
	g.dataDir = d.dir
	return g.connect(&apiFlags{addr: d.stack.GRPCAddr, client: demoClient, output: "table", timeout: 30 * time.Second}, role)
}

func (d *demo) run(ctx context.Context) error {
	sup, err := d.api(authn.RoleSupervisor)
	if err != nil {
		return err
	}
	defer sup.close()
	if err := d.configure(ctx, sup); err != nil {
		return err
	}
	if err := d.connect(ctx, sup); err != nil {
		return err
	}
	d.say("importing %s to %s (%d weeks) for %d departments", d.from, d.until, d.f.weeks, len(d.deps))
	var ids []string
	for _, dep := range d.deps {
		ids = append(ids, dep.id)
	}
	resp, err := call(ctx, sup, sup.imports().StartImport, &posimportv1.StartImportRequest{
		ClientId: demoClient, DepartmentIds: ids, FromDate: d.from.String(), UntilDate: d.until.String(),
	})
	if err != nil {
		return err
	}
	if err := watchImport(ctx, sup, resp.GetImport().GetImportId()); err != nil {
		return err
	}
	if err := d.show(ctx, sup); err != nil {
		return err
	}
	if err := d.correction(ctx, sup); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nposimport demo: done in %s\n", time.Since(d.start).Round(time.Second))
	return nil
}

// configure saves the demo client's settings, departments (one per simulated shop) and fields.
func (d *demo) configure(ctx context.Context, a *api) error {
	_, err := call(ctx, a, a.config().UpdateClientSettings, &posimportv1.UpdateClientSettingsRequest{ClientId: demoClient,
		Settings: &posimportv1.ClientSettings{MultiCashRegisters: true, PosImportEnabled: true,
			PosProvider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL, AutoConfirmWeeklyBalance: true,
			ConfirmTime: "05:00", TimeZone: demoZone}})
	if err != nil {
		return err
	}
	shops := d.stack.Sim.Accounts()[0].Shops
	var lines []string
	for i, shop := range shops {
		dep := demoDepartment{id: "d" + strconv.Itoa(i+1), shop: shop}
		// The last shop is imported as one unit; the others register by register.
		if i < len(shops)-1 || len(shops) == 1 {
			for _, r := range shop.Registers {
				dep.registers = append(dep.registers, strconv.FormatInt(r.ID, 10))
			}
		}
		if _, err := call(ctx, a, a.config().PutDepartment, &posimportv1.PutDepartmentRequest{ClientId: demoClient, DepartmentId: dep.id,
			Department: &posimportv1.Department{Name: shop.Name, PosClientNumber: strconv.FormatInt(shop.ID, 10),
				PosTerminalNumbers: dep.registers, TimeZone: shop.TimeZone}}); err != nil {
			return err
		}
		d.deps = append(d.deps, dep)
		how := "as one unit (no terminal numbers)"
		if len(dep.registers) > 0 {
			how = "registers " + strings.Join(dep.registers, ", ")
		}
		lines = append(lines, fmt.Sprintf("      %s  %-24s shop %d, %s, %s", dep.id, shop.Name, shop.ID, shop.TimeZone, how))
	}
	for _, fd := range demoFields {
		if _, err := call(ctx, a, a.config().PutField, &posimportv1.PutFieldRequest{ClientId: demoClient, FieldId: fd.id,
			Field: &posimportv1.BalanceField{Name: fd.name, PosDataType: fd.typ, SplitIntoIntervals: fd.hourly}}); err != nil {
			return err
		}
	}
	d.say("client %q (%s): POS import with Lightspeed Retail, %d departments, %d fields mapped", demoClient, demoZone, len(d.deps), len(demoFields))
	fmt.Fprintln(d.out, strings.Join(lines, "\n"))
	return nil
}

// connect gives consent through the simulator's OAuth flow, as a browser would, and enables
// the integration as the integration contact.
func (d *demo) connect(ctx context.Context, sup *api) error {
	begin, err := call(ctx, sup, sup.auth().BeginConnect, &posimportv1.BeginConnectRequest{ClientId: demoClient})
	if err != nil {
		return err
	}
	quiet := *d.g
	quiet.stdout = io.Discard
	if err := followConsent(ctx, &quiet, begin.GetAuthorizeUrl()); err != nil {
		return err
	}
	c, err := waitConsent(ctx, sup, &posimportv1.Connection{}, 30*time.Second)
	if err != nil {
		return err
	}
	d.say("connected through the simulator's OAuth consent (PKCE): Lightspeed account %s, status %s", c.GetAccountId(), statusWord(c.GetStatus()))
	ic, err := d.api(authn.RoleIntegrationContact)
	if err != nil {
		return err
	}
	defer ic.close()
	resp, err := call(ctx, ic, ic.auth().SetEnabled, &posimportv1.SetEnabledRequest{ClientId: demoClient, Enabled: true})
	if err != nil {
		return err
	}
	d.say("integration enabled by the integration contact: status %s", statusWord(resp.GetConnection().GetStatus()))
	return nil
}

// show prints last week's balance of each department and one day's hourly curve, then
// compares everything imported with the simulator's oracle.
func (d *demo) show(ctx context.Context, a *api) error {
	zone, _ := time.LoadLocation(demoZone)
	lastWeek := civil.WeekOf(civil.Today(time.Now(), zone).AddDays(-7))
	d.say("last week's balance (%s), summed over registers; amounts rounded to cents for display", lastWeek)
	weeks := map[string]map[civil.Week]*posimportv1.WeeklyBalance{}
	for _, dep := range d.deps {
		weeks[dep.id] = map[civil.Week]*posimportv1.WeeklyBalance{}
		for day := d.from; !day.After(d.until); day = day.AddDays(1) {
			w := civil.WeekOf(day)
			if weeks[dep.id][w] != nil {
				continue
			}
			resp, err := call(ctx, a, a.balance().GetWeeklyBalance, &posimportv1.GetWeeklyBalanceRequest{ClientId: demoClient, DepartmentId: dep.id, Week: w.String()})
			if err != nil {
				return err
			}
			weeks[dep.id][w] = resp.GetBalance()
		}
		wb := weeks[dep.id][lastWeek]
		fmt.Fprintf(d.out, "\n%s  %s (%s, %s)\n", dep.id, dep.shop.Name, wb.GetTimeZone(), registersWord(dep))
		if err := view.WeekTable(wb).Render(d.out); err != nil {
			return err
		}
	}
	curveDay := lastWeek.Monday().AddDays(5) // Saturday, the busiest day
	fmt.Fprintf(d.out, "\n%s  %s, %s:\n", d.deps[0].id, d.deps[0].shop.Name, curveDay)
	for _, day := range weeks[d.deps[0].id][lastWeek].GetDays() {
		if day.GetDate() == curveDay.String() {
			if err := view.HourCurve(d.out, day, demoFields[0].id); err != nil {
				return err
			}
		}
	}
	return d.check(ctx, weeks)
}

func registersWord(dep demoDepartment) string {
	if len(dep.registers) == 0 {
		return fmt.Sprintf("the whole shop as one unit, %d registers", len(dep.shop.Registers))
	}
	return fmt.Sprintf("%d registers", len(dep.registers))
}

// check compares every imported day, hour and total with the simulator's oracle.
func (d *demo) check(ctx context.Context, weeks map[string]map[civil.Week]*posimportv1.WeeklyBalance) error {
	o := &oraclecheck.Oracle{SimURL: d.stack.SimURL, Account: d.stack.Sim.Accounts()[0].ID}
	var r oraclecheck.Result
	for _, dep := range d.deps {
		expected, err := o.Days(ctx, oraclecheck.ShopDepartment(dep.id, dep.shop), d.from, d.until)
		if err != nil {
			return err
		}
		for _, wb := range weeks[dep.id] {
			r.Week(wb, expected)
		}
	}
	if !r.OK() {
		fmt.Fprintf(d.out, "\nThe balance differs from the simulator's oracle:\n  %s\n", strings.Join(r.Diffs, "\n  "))
		return errors.New("the imported balance does not match the simulator's oracle")
	}
	d.say("every figure above, and every day and hour of the %d weeks, matches the simulator's oracle", d.f.weeks)
	fmt.Fprintf(d.out, "      %d day and week totals and %d hourly values compared exactly (no rounding); %d Visitors values rightly \"not imported\" (Lightspeed Retail has no visitor counts)\n",
		r.Totals, r.Hours, r.NotImported)
	return nil
}
