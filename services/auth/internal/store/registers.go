package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/auth/internal/store/internal/dbsqlc"
)

// RegisterKey names a register of a POS account: its location (shop, business location) and
// its id (register, device).
type RegisterKey struct {
	LocationID string
	RegisterID string
}

// RegisterSighting is one register an import saw, as the import-worker reports it.
type RegisterSighting struct {
	RegisterKey
	// Mapped says a department of the client counts the register.
	Mapped bool
	// Days are an unmapped register's counted sales per local date; empty for a mapped one.
	Days []RegisterDay
}

// RegisterDay is a register's counted sales on one local date.
type RegisterDay struct {
	Date       civil.Date
	SalesCount int64
	GrossSales decimal.Decimal
}

// RegisterReport is what one report of an import says about a client's registers.
type RegisterReport struct {
	ClientID  string
	AccountID string
	ImportID  string
	Registers []RegisterSighting
}

// Register is a register as recorded: its mapping, when it was seen, and its sales on the
// days reported while it was unmapped.
type Register struct {
	RegisterKey
	Mapped                      bool
	FirstSeenTime, LastSeenTime time.Time
	SalesCount                  int64
	GrossSales                  decimal.Decimal
	// FirstSaleDate and LastSaleDate bound the days with sales; zero when there are none.
	FirstSaleDate, LastSaleDate civil.Date
}

// ReportRegisters records a report in one transaction, at now: each register is seen (first
// seen now when it is new), takes the report's mapping, and has its days set (unmapped) or
// deleted (mapped). It returns the reported registers whose first sighting was by this
// import, so a repeated report answers the same. The connection's account must be the
// report's: ErrNotFound when the client has no connection, a *AccountMismatchError when the
// connection is now of another account.
func (s *Store) ReportRegisters(ctx context.Context, r RegisterReport, now time.Time) (firstSeen []RegisterKey, _ error) {
	// One order for every report's row locks, so that concurrent reports wait, never deadlock.
	regs := slices.Clone(r.Registers)
	slices.SortFunc(regs, func(a, b RegisterSighting) int {
		return cmp.Or(cmp.Compare(a.LocationID, b.LocationID), cmp.Compare(a.RegisterID, b.RegisterID))
	})
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		firstSeen = nil
		conn, err := s.q.ConnectionGet(ctx, tx, r.ClientID)
		if err != nil {
			return rowError("connection of client "+r.ClientID, err)
		}
		if conn.AccountID != r.AccountID {
			return &AccountMismatchError{Reported: r.AccountID, Connected: conn.AccountID}
		}
		for _, reg := range regs {
			first, err := s.q.RegisterUpsert(ctx, tx, dbsqlc.RegisterUpsertParams{
				ClientID: r.ClientID, AccountID: r.AccountID, LocationID: reg.LocationID, RegisterID: reg.RegisterID,
				Mapped: reg.Mapped, Now: ts(now), ImportID: r.ImportID,
			})
			if err != nil {
				return rowError("register "+reg.RegisterID, err)
			}
			if first == r.ImportID {
				firstSeen = append(firstSeen, reg.RegisterKey)
			}
			if reg.Mapped {
				err = s.q.RegisterDaysDelete(ctx, tx, dbsqlc.RegisterDaysDeleteParams{
					ClientID: r.ClientID, AccountID: r.AccountID, LocationID: reg.LocationID, RegisterID: reg.RegisterID,
				})
				if err != nil {
					return rowError("days of register "+reg.RegisterID, err)
				}
				continue
			}
			if len(reg.Days) == 0 {
				continue
			}
			p := dbsqlc.RegisterDaysPutParams{ClientID: r.ClientID, AccountID: r.AccountID, LocationID: reg.LocationID, RegisterID: reg.RegisterID}
			for _, d := range reg.Days {
				p.SaleDates = append(p.SaleDates, pgtype.Date{Time: time.Date(d.Date.Year, d.Date.Month, d.Date.Day, 0, 0, 0, 0, time.UTC), Valid: true})
				p.SalesCounts = append(p.SalesCounts, d.SalesCount)
				p.GrossSales = append(p.GrossSales, d.GrossSales.String())
			}
			if err := s.q.RegisterDaysPut(ctx, tx, p); err != nil {
				return rowError("days of register "+reg.RegisterID, err)
			}
		}
		return nil
	})
	return firstSeen, err
}

// Registers lists a client's registers of accountID that need a person's eye: those no
// department maps, and those first seen at or after newSince; at most limit, by location and
// register id.
func (s *Store) Registers(ctx context.Context, clientID, accountID string, newSince time.Time, limit int32) ([]Register, error) {
	rows, err := s.q.RegisterList(ctx, s.pool, dbsqlc.RegisterListParams{ClientID: clientID, AccountID: accountID, NewSince: ts(newSince), MaxRows: limit})
	if err != nil {
		return nil, fmt.Errorf("list the registers of %s: %w", clientID, interpretError(err))
	}
	out := make([]Register, len(rows))
	for i, r := range rows {
		gross, err := decimal.NewFromString(r.GrossSales)
		if err != nil {
			return nil, fmt.Errorf("gross sales of register %s: %w", r.RegisterID, err)
		}
		out[i] = Register{
			RegisterKey: RegisterKey{LocationID: r.LocationID, RegisterID: r.RegisterID}, Mapped: r.Mapped,
			FirstSeenTime: r.FirstSeenTime.Time, LastSeenTime: r.LastSeenTime.Time,
			SalesCount: r.SalesCount, GrossSales: gross, FirstSaleDate: dateOf(r.FirstSaleDate), LastSaleDate: dateOf(r.LastSaleDate),
		}
	}
	return out, nil
}

// UnmappedRegisters counts each client's unmapped registers of its connection's account;
// clients without any are left out.
func (s *Store) UnmappedRegisters(ctx context.Context) (map[string]int64, error) {
	rows, err := s.q.RegisterCountUnmapped(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("count unmapped registers: %w", interpretError(err))
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ClientID] = r.Registers
	}
	return out, nil
}

// AccountMismatchError says a report is about another POS account than the client's
// connection now holds: the client gave consent to another account since the import read.
type AccountMismatchError struct {
	Reported, Connected string
}

func (e *AccountMismatchError) Error() string {
	return fmt.Sprintf("the report is about POS account %s, the connection is now of account %s", e.Reported, e.Connected)
}

// rowError is interpretError naming the row: "connection of client c1 not found".
func rowError(row string, err error) error {
	switch err = interpretError(err); {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%s %w", row, err)
	}
	return fmt.Errorf("%s: %w", row, err)
}

func dateOf(d pgtype.Date) civil.Date {
	if !d.Valid {
		return civil.Date{}
	}
	return civil.DateOf(d.Time)
}
