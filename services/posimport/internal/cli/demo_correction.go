package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// correction shows trust over time: a day is approved, a register then syncs a sale onto it
// late, and the re-import (without overwrite) leaves the approved day as it was and records a
// pending correction, which a supervisor can list, apply or dismiss.
func (d *demo) correction(ctx context.Context, a *api) error {
	dep := d.deps[0]
	day := d.until.AddDays(-2)
	if _, err := call(ctx, a, a.balance().ApproveDays, &posimportv1.ApproveDaysRequest{ClientId: demoClient, DepartmentId: dep.id,
		FromDate: day.String(), UntilDate: day.String()}); err != nil {
		return err
	}
	zone, err := time.LoadLocation(dep.shop.TimeZone)
	if err != nil {
		return err
	}
	if _, err := d.stack.Sim.AddSale(d.stack.Sim.Accounts()[0].ID, sim.SaleInput{ShopID: dep.shop.ID, RegisterID: dep.shop.Registers[0].ID,
		CompleteTime: day.Start(zone).Add(12*time.Hour + 30*time.Minute), Completed: true,
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(2), UnitPrice: decimal.RequireFromString("49.95")}}}); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n%s %s approved; then register %d syncs a sale of 2 × 49.95 onto it, late\n", dep.id, day, dep.shop.Registers[0].ID)
	resp, err := call(ctx, a, a.imports().StartImport, &posimportv1.StartImportRequest{
		ClientId: demoClient, DepartmentIds: []string{dep.id}, FromDate: day.String(), UntilDate: day.String(),
	})
	if err != nil {
		return err
	}
	if err := watchImport(ctx, a, resp.GetImport().GetImportId()); err != nil {
		return err
	}
	list, err := call(ctx, a, a.balance().ListCorrections, &posimportv1.ListCorrectionsRequest{ClientId: demoClient, DepartmentId: dep.id,
		State: posimportv1.CorrectionState_CORRECTION_STATE_PENDING})
	if err != nil {
		return err
	}
	if len(list.GetCorrections()) != 1 {
		return fmt.Errorf("the late sale on an approved day left %d pending corrections, want 1", len(list.GetCorrections()))
	}
	c := list.GetCorrections()[0]
	d.say("the approved day kept its values; the re-import recorded a pending correction for %s register %s on %s", c.GetDepartmentId(), c.GetRegisterId(), c.GetDate())
	fmt.Fprintf(d.out, "      cause: %s\n", c.GetCause().GetReason())
	names := map[int64]string{}
	for _, f := range demoFields {
		names[f.id] = f.name
	}
	for _, ch := range c.GetChanges() {
		at := "day total"
		if ch.GetInterval() != nil {
			at = ch.GetInterval().GetLocalStart()
		}
		fmt.Fprintf(d.out, "      %-14s %-9s %12s → %s\n", names[ch.GetFieldId()], at, ch.GetBefore(), ch.GetAfter())
	}
	fmt.Fprintf(d.out, "      a supervisor applies or dismisses it: POST /v1/clients/%s/corrections/%s:apply (or :dismiss)\n",
		demoClient, c.GetCorrectionId())
	return nil
}
