package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/view"
)

func newBalanceCommand(g *globals) *cobra.Command {
	f := &apiFlags{}
	cmd := &cobra.Command{
		Use:   "balance",
		Short: "Show the weekly balance of a department",
		Long: `Show the weekly balance the imports wrote: per department and local day the value of every
weekly-balance field, summed over registers, and per local clock hour for fields split into
intervals. Values that were never imported show as "not imported", which is not 0.`,
	}
	addAPIFlags(cmd, f)
	cmd.AddCommand(newBalanceShow(g, f), newBalanceDay(g, f))
	return cmd
}

func newBalanceShow(g *globals, f *apiFlags) *cobra.Command {
	var dep, week string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show an ISO week of a department: days × fields, with the week's totals",
		Example: `  posimport balance show --client acme --department d1 --week 2026-W13
  posimport balance show --client acme --department d1 -o json`,
		Args: cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			if dep == "" {
				return errors.New("--department is required")
			}
			if week == "" {
				week = civil.WeekOf(civil.Today(time.Now(), time.Local).AddDays(-7)).String()
			}
			resp, err := call(ctx, a, a.balance().GetWeeklyBalance, &posimportv1.GetWeeklyBalanceRequest{
				ClientId: f.client, DepartmentId: dep, Week: week,
			})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			wb := resp.GetBalance()
			fmt.Fprintf(g.stdout, "Department %s, week %s (%s)\n", wb.GetDepartmentId(), wb.GetWeek(), wb.GetTimeZone())
			return view.WeekTable(wb).Render(g.stdout)
		}),
	}
	cmd.Flags().StringVar(&dep, "department", "", "department id (required)")
	cmd.Flags().StringVar(&week, "week", "", "ISO week, e.g. 2026-W13 (default: last week)")
	return cmd
}

func newBalanceDay(g *globals, f *apiFlags) *cobra.Command {
	var dep, date string
	var field int64
	cmd := &cobra.Command{
		Use:   "day",
		Short: "Show a day of a department hour by hour",
		Long: `Show one local day of a department: one field's value per local clock hour as a bar chart (23,
24 or 25 hours; both 02:00 hours of an autumn DST day apart), and every field's day total.`,
		Example: `  posimport balance day --client acme --department d1 --date 2026-03-28 --field 5266`,
		Args:    cobra.NoArgs,
		RunE: g.withAPI(f, authn.RoleViewer, func(ctx context.Context, a *api, _ []string) error {
			if dep == "" || date == "" {
				return errors.New("--department and --date are required")
			}
			resp, err := call(ctx, a, a.balance().GetDay, &posimportv1.GetDayRequest{ClientId: f.client, DepartmentId: dep, Date: date})
			if err != nil {
				return err
			}
			if a.json() {
				return printJSON(g.stdout, resp)
			}
			return printDay(g, dep, resp, field)
		}),
	}
	cmd.Flags().StringVar(&dep, "department", "", "department id (required)")
	cmd.Flags().StringVar(&date, "date", "", "local date, YYYY-MM-DD (required)")
	cmd.Flags().Int64Var(&field, "field", 0, "field drawn per hour (default: the first field split into hours)")
	return cmd
}

// printDay draws a day's hourly curve of field (0: the first split field) and its totals.
func printDay(g *globals, dep string, resp *posimportv1.GetDayResponse, field int64) error {
	day := resp.GetDay()
	if field == 0 {
		for _, fd := range day.GetFields() {
			if fd.GetSplitIntoIntervals() {
				field = fd.GetFieldId()
				break
			}
		}
	}
	if field == 0 {
		return errors.New("no field of this client is split into hours; pass --field")
	}
	fmt.Fprintf(g.stdout, "Department %s (%s)\n", dep, resp.GetTimeZone())
	if err := view.HourCurve(g.stdout, day, field); err != nil {
		return err
	}
	t := &view.Table{Header: []string{"Field", "Day total"}, Right: map[int]bool{1: true}}
	for _, fd := range day.GetFields() {
		v := view.NotImported
		if fd.GetImported() {
			v = view.Value(fd.GetPosDataType(), fd.GetTotal())
		}
		t.Rows = append(t.Rows, []string{fd.GetName(), v})
	}
	return t.Render(g.stdout)
}
