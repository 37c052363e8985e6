package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/view"
)

func newImportCommand(g *globals) *cobra.Command {
	f := &apiFlags{}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Start, watch, list and cancel imports of POS sales",
		Long: `Start, watch, list and cancel imports of POS sales into the weekly balance (Tools → Import POS
in the main app). An import is planned into jobs of one department, one register and at most
31 days; its progress counts jobs, register-days written and sales.`,
	}
	addAPIFlags(cmd, f)
	cmd.AddCommand(newImportStart(g, f), newImportWatch(g, f), newImportList(g, f), newImportCancel(g, f))
	return cmd
}

func newImportStart(g *globals, f *apiFlags) *cobra.Command {
	var (
		deps        []string
		from, until string
		overwrite   bool
		watch       bool
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start an import of a date range",
		Long: `Start an import of the client's departments (all mapped ones unless --departments) from --from
to --until (local dates, default yesterday in the client's time zone). Approved days are left
alone unless --overwrite-approved. With --watch, follow it as "import watch" does.`,
		Example: `  posimport import start --client acme --from 2026-01-01 --until 2026-01-31 --watch
  posimport import start --client acme --departments d1,d2 --from 2026-03-01 --overwrite-approved`,
		Args: cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, _ []string) error {
			if from == "" {
				return errors.New("--from is required (YYYY-MM-DD)")
			}
			var err error
			if len(deps) == 0 {
				if deps, err = mappedDepartments(ctx, a); err != nil {
					return err
				}
			}
			if until == "" {
				if until, err = clientYesterday(ctx, a); err != nil {
					return err
				}
			}
			resp, err := call(ctx, a, a.imports().StartImport, &posimportv1.StartImportRequest{
				ClientId: f.client, DepartmentIds: deps, FromDate: from, UntilDate: until, OverwriteApproved: overwrite,
			})
			if err != nil {
				return err
			}
			imp := resp.GetImport()
			if a.json() && !watch {
				return printJSON(g.stdout, resp)
			}
			if !a.json() {
				fmt.Fprintf(g.stdout, "import %s queued: %d jobs for %s, %s to %s\n", imp.GetImportId(),
					imp.GetProgress().GetJobsPlanned(), strings.Join(imp.GetDepartmentIds(), ", "), imp.GetFromDate(), imp.GetUntilDate())
			}
			if !watch {
				return nil
			}
			return watchImport(ctx, a, imp.GetImportId())
		}),
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&deps, "departments", nil, "department ids (default: every department with a POS client number)")
	fl.StringVar(&from, "from", "", "first local date, YYYY-MM-DD (required)")
	fl.StringVar(&until, "until", "", "last local date, inclusive (default: yesterday in the client's time zone)")
	fl.BoolVar(&overwrite, "overwrite-approved", false, "replace the values of approved days too")
	fl.BoolVar(&watch, "watch", false, "follow the import with progress bars until it ends")
	return cmd
}

// mappedDepartments lists the client's departments that have a POS client number.
func mappedDepartments(ctx context.Context, a *api) ([]string, error) {
	resp, err := call(ctx, a, a.config().ListDepartments, &posimportv1.ListDepartmentsRequest{ClientId: a.f.client})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range resp.GetDepartments() {
		if d.GetPosClientNumber() != "" {
			ids = append(ids, d.GetDepartmentId())
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("client %s has no department with a POS client number (posimport config departments set)", a.f.client)
	}
	return ids, nil
}

// clientYesterday is yesterday in the client's time zone.
func clientYesterday(ctx context.Context, a *api) (string, error) {
	resp, err := call(ctx, a, a.config().GetClientSettings, &posimportv1.GetClientSettingsRequest{ClientId: a.f.client})
	if err != nil {
		return "", err
	}
	loc, err := time.LoadLocation(resp.GetSettings().GetTimeZone())
	if err != nil {
		loc = time.Local
	}
	return civil.Today(time.Now(), loc).AddDays(-1).String(), nil
}

func newImportWatch(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "watch IMPORT_ID",
		Short: "Follow an import with a progress bar per department until it ends",
		Long: `Follow an import with a live progress bar per department (jobs ended of planned) and one of
register-days written, until it ends. Exits non-zero when the import failed or was cancelled,
after printing its errors. With --output json, prints the ended import.`,
		Args: cobra.ExactArgs(1),
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
			return watchImport(ctx, a, args[0])
		}),
	}
}

// watchImport follows an import until it ends, drawing its progress.
func watchImport(ctx context.Context, a *api, id string) error {
	stream, err := a.imports().WatchImport(ctx, &posimportv1.WatchImportRequest{ClientId: a.f.client, ImportId: id})
	if err != nil {
		return a.describe(err)
	}
	first, err := stream.Recv()
	if err != nil {
		return a.describe(err)
	}
	imp := first.GetImport()
	var bars *view.ImportProgress
	if !a.json() {
		days, err := registerDays(ctx, a, imp)
		if err != nil {
			return err
		}
		bars = view.NewImportProgress(ctx, a.g.stdout, imp, days)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if bars != nil {
				bars.Abort()
			}
			return a.describe(err)
		}
		imp = msg.GetImport()
		if bars != nil {
			bars.Update(imp)
		}
	}
	if bars != nil {
		bars.Finish(imp)
	}
	return reportEnd(a, imp)
}

// registerDays counts the register-days an import writes: per department, its registers (or
// one for a department imported as a whole) times its days.
func registerDays(ctx context.Context, a *api, imp *posimportv1.Import) (int64, error) {
	resp, err := call(ctx, a, a.config().ListDepartments, &posimportv1.ListDepartmentsRequest{ClientId: a.f.client})
	if err != nil {
		return 0, err
	}
	registers := map[string]int64{}
	for _, d := range resp.GetDepartments() {
		registers[d.GetDepartmentId()] = max(int64(len(d.GetPosTerminalNumbers())), 1)
	}
	var total int64
	for _, d := range imp.GetProgress().GetDepartments() {
		from, err1 := civil.ParseDate(d.GetFromDate())
		until, err2 := civil.ParseDate(d.GetUntilDate())
		if err1 != nil || err2 != nil {
			return 0, nil //nolint:nilerr // not known: draw the departments' bars only
		}
		total += registers[d.GetDepartmentId()] * int64(until.DaysSince(from)+1)
	}
	return total, nil
}

// reportEnd prints how an import ended, and fails unless it succeeded.
func reportEnd(a *api, imp *posimportv1.Import) error {
	w := a.g.stdout
	if a.json() {
		// {"import": …}, the shape import start, import cancel and the API answer in.
		if err := printJSON(w, &posimportv1.WatchImportResponse{Import: imp}); err != nil {
			return err
		}
	} else {
		p := imp.GetProgress()
		fmt.Fprintf(w, "import %s %s: %d register-days written (%d unchanged), %d skipped as approved, %d sales, %d requests to the POS\n",
			imp.GetImportId(), stateWord(imp.GetState()), p.GetDaysWritten(), p.GetDaysUnchanged(), p.GetDaysSkippedApproved(),
			p.GetSalesCounted(), p.GetRequestsMade())
		if n := p.GetDaysCorrectionPending(); n > 0 {
			fmt.Fprintf(w, "  note: %d approved register-days differ from the POS now: kept as pending corrections (GET /v1/clients/%s/corrections)\n",
				n, imp.GetClientId())
		}
		for _, t := range p.GetUnmappedTypes() {
			fmt.Fprintf(w, "  note: %s comes from the POS but no weekly-balance field receives it\n", view.TypeName(t))
		}
		for _, e := range imp.GetErrors() {
			fmt.Fprintf(w, "  error: %s/%s %s..%s: %s\n", e.GetDepartmentId(), e.GetRegisterId(), e.GetFromDate(), e.GetUntilDate(), e.GetMessage())
		}
	}
	switch imp.GetState() {
	case posimportv1.ImportState_IMPORT_STATE_SUCCEEDED:
		return nil
	case posimportv1.ImportState_IMPORT_STATE_FAILED:
		return fmt.Errorf("import %s failed: %d of %d jobs failed", imp.GetImportId(), imp.GetProgress().GetJobsFailed(), imp.GetProgress().GetJobsPlanned())
	default:
		return fmt.Errorf("import %s ended %s", imp.GetImportId(), stateWord(imp.GetState()))
	}
}

// stateWord is "succeeded" for IMPORT_STATE_SUCCEEDED.
func stateWord(s posimportv1.ImportState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "IMPORT_STATE_"))
}

func newImportList(g *globals, f *apiFlags) *cobra.Command {
	var limit int32
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the client's imports, newest first",
		Args:  cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, _ []string) error {
			resp, err := call(ctx, a, a.imports().ListImports, &posimportv1.ListImportsRequest{ClientId: f.client, PageSize: limit})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			t := &view.Table{
				Header: []string{"Import", "State", "Trigger", "Departments", "From", "Until", "Jobs", "Register-days", "Errors", "Created"},
				Right:  map[int]bool{6: true, 7: true, 8: true},
			}
			for _, imp := range resp.GetImports() {
				p := imp.GetProgress()
				ended := p.GetJobsDone() + p.GetJobsSkipped() + p.GetJobsFailed() + p.GetJobsCancelled()
				t.Rows = append(t.Rows, []string{
					imp.GetImportId(), stateWord(imp.GetState()),
					strings.ToLower(strings.TrimPrefix(imp.GetTrigger().String(), "IMPORT_TRIGGER_")),
					strings.Join(imp.GetDepartmentIds(), ","), imp.GetFromDate(), imp.GetUntilDate(),
					fmt.Sprintf("%d/%d", ended, p.GetJobsPlanned()), strconv.FormatInt(p.GetDaysWritten(), 10),
					strconv.Itoa(len(imp.GetErrors())), imp.GetCreateTime().AsTime().Local().Format("2006-01-02 15:04"),
				})
			}
			if len(t.Rows) == 0 {
				_, err := fmt.Fprintf(g.stdout, "client %s has no imports\n", f.client)
				return err
			}
			return t.Render(g.stdout)
		}),
	}
	cmd.Flags().Int32Var(&limit, "limit", 20, "how many imports to list (at most 500)")
	return cmd
}

func newImportCancel(g *globals, f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel IMPORT_ID",
		Short: "Cancel an import's jobs that have not started",
		Long:  `Cancel an import: its jobs that have not started are cancelled and running ones stop between days. Cancelling an ended import changes nothing.`,
		Args:  cobra.ExactArgs(1),
		RunE: g.withAPI(f, authn.RoleSupervisor, func(ctx context.Context, a *api, args []string) error {
			resp, err := call(ctx, a, a.imports().CancelImport, &posimportv1.CancelImportRequest{ClientId: f.client, ImportId: args[0]})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			p := resp.GetImport().GetProgress()
			_, err = fmt.Fprintf(g.stdout, "import %s %s: %d jobs cancelled, %d done\n", args[0], stateWord(resp.GetImport().GetState()),
				p.GetJobsCancelled(), p.GetJobsDone())
			return err
		}),
	}
}
