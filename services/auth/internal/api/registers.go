package api

import (
	"context"
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/connection"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// maxReportedDays bounds the register-days of one report, so that one transaction stays short.
const maxReportedDays = 20000

// grossPattern is a decimal of 0 or more without exponent: at most 20 digits either side.
var grossPattern = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)

// ReportRegisters implements posimportv1.AuthServiceServer.
func (s *Server) ReportRegisters(ctx context.Context, req *posimportv1.ReportRegistersRequest) (*posimportv1.ReportRegistersResponse, error) {
	if err := requireService(ctx, authn.ServiceImportWorker, false); err != nil {
		return nil, err
	}
	r, err := registerReport(req)
	if err != nil {
		return nil, err
	}
	first, unmapped, err := s.m.ReportRegisters(ctx, r)
	if err != nil {
		return nil, err
	}
	return &posimportv1.ReportRegistersResponse{FirstSeen: s.registers(first), Unmapped: s.registers(unmapped)}, nil
}

// registerReport validates a report, naming the field at fault.
func registerReport(req *posimportv1.ReportRegistersRequest) (store.RegisterReport, error) {
	r := store.RegisterReport{ClientID: req.GetClientId(), AccountID: req.GetAccountId(), ImportID: req.GetImportId()}
	if err := validate.ID("client_id", r.ClientID); err != nil {
		return r, err
	}
	switch {
	case r.AccountID == "":
		return r, apierr.Invalid("account_id", "required")
	case len(r.AccountID) > 512:
		return r, apierr.Invalid("account_id", "at most 512 bytes")
	}
	if err := validate.ID("import_id", r.ImportID); err != nil {
		return r, err
	}
	if n := len(req.GetRegisters()); n > connection.MaxRegisters {
		return r, apierr.Invalid("registers", "at most %d registers a report, got %d", connection.MaxRegisters, n)
	}
	seen := map[store.RegisterKey]bool{}
	days := 0
	for i, g := range req.GetRegisters() {
		path := fmt.Sprintf("registers[%d]", i)
		key := store.RegisterKey{LocationID: g.GetLocationId(), RegisterID: g.GetRegisterId()}
		if err := validate.ID(path+".location_id", key.LocationID); err != nil {
			return r, err
		}
		if err := validate.ID(path+".register_id", key.RegisterID); err != nil {
			return r, err
		}
		if seen[key] {
			return r, apierr.Invalid(path+".register_id", "register %s of location %s is reported twice", key.RegisterID, key.LocationID)
		}
		seen[key] = true
		if g.GetMapped() && len(g.GetDays()) > 0 {
			return r, apierr.Invalid(path+".days", "only an unmapped register's sales are recorded: a mapped one's are imported")
		}
		if days += len(g.GetDays()); days > maxReportedDays {
			return r, apierr.Invalid(path+".days", "at most %d register-days a report: report in parts", maxReportedDays)
		}
		sighting := store.RegisterSighting{RegisterKey: key, Mapped: g.GetMapped()}
		dates := map[civil.Date]bool{}
		for j, d := range g.GetDays() {
			dpath := fmt.Sprintf("%s.days[%d]", path, j)
			date, err := validate.Date(dpath+".date", d.GetDate())
			if err != nil {
				return r, err
			}
			if dates[date] {
				return r, apierr.Invalid(dpath+".date", "%s is reported twice", date)
			}
			dates[date] = true
			if d.GetSalesCount() < 0 {
				return r, apierr.Invalid(dpath+".sales_count", "%d: a count is 0 or more", d.GetSalesCount())
			}
			if !grossPattern.MatchString(d.GetGrossSales()) {
				return r, apierr.Invalid(dpath+".gross_sales", "%q is not a decimal amount of 0 or more (e.g. \"1234.50\")", d.GetGrossSales())
			}
			gross, err := decimal.NewFromString(d.GetGrossSales())
			if err != nil {
				return r, apierr.Invalid(dpath+".gross_sales", "%q is not a decimal amount", d.GetGrossSales())
			}
			sighting.Days = append(sighting.Days, store.RegisterDay{Date: date, SalesCount: d.GetSalesCount(), GrossSales: gross})
		}
		r.Registers = append(r.Registers, sighting)
	}
	return r, nil
}

// registers turns recorded registers into the contract's messages.
func (s *Server) registers(regs []store.Register) []*posimportv1.PosRegister {
	out := make([]*posimportv1.PosRegister, len(regs))
	for i, r := range regs {
		p := &posimportv1.PosRegister{
			LocationId: r.LocationID, RegisterId: r.RegisterID, Mapped: r.Mapped,
			SalesCount: r.SalesCount, GrossSales: r.GrossSales.String(),
			FirstSeenTime: ts(r.FirstSeenTime), LastSeenTime: ts(r.LastSeenTime), FirstSeenRecently: s.m.SeenRecently(r),
		}
		if !r.FirstSaleDate.IsZero() {
			p.FirstSaleDate, p.LastSaleDate = r.FirstSaleDate.String(), r.LastSaleDate.String()
		}
		out[i] = p
	}
	return out
}
