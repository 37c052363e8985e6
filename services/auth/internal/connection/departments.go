package connection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// Check is the result of comparing a client's departments with the connected POS account.
type Check struct {
	// Businesses are what the account covers, with their locations, as the POS listed them for
	// the check; empty when the check could not run.
	Businesses []provider.Business
	Mismatches []Mismatch
	// Err says, for people, why the check could not run; empty when it ran.
	Err string
}

// Mismatch is a department whose POS client number is not an active location of any business
// of the account.
type Mismatch struct {
	DepartmentID    string
	PosClientNumber string
	Reason          string
}

// checkTokenValidity is how long the department check needs its token, and checkTimeout
// bounds the whole check, so that a slow POS cannot hold up a person reading the status.
const (
	checkTokenValidity = 5 * time.Second
	checkTimeout       = 5 * time.Second
)

type cachedCheck struct {
	account string
	until   time.Time
	check   Check
}

// checkDepartments compares the POS client numbers of the client's departments with the
// locations of every business of the connected account. A result is reused for CheckTTL;
// failures are not.
func (m *Manager) checkDepartments(ctx context.Context, c store.Connection) Check {
	m.checkMu.Lock()
	cached, ok := m.checks[c.ClientID]
	m.checkMu.Unlock()
	if ok && cached.account == c.AccountID && m.now().Before(cached.until) {
		return cached.check
	}
	p, err := m.provider(c.Provider)
	if err != nil {
		return Check{Err: "the departments could not be checked: the POS provider is not configured"}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	deps, err := m.opts.Config.ListDepartments(ctx, &posimportv1.ListDepartmentsRequest{ClientId: c.ClientID})
	if err != nil {
		m.log.WarnContext(ctx, "department check: list departments", "client_id", c.ClientID, "error", err)
		return Check{Err: "the departments could not be checked: the configuration service did not answer; try again later"}
	}
	// The check needs a token for one listing, not for the margin: a person reading the status
	// is not kept waiting for the token's expiry.
	tok, err := m.accessToken(ctx, c.ClientID, false, checkTokenValidity)
	if err != nil {
		if errors.Is(err, apierr.ErrFailedPrecondition) {
			return Check{} // the consent lapsed; the status says so
		}
		m.log.WarnContext(ctx, "department check: access token", "client_id", c.ClientID, "error", err)
		return Check{Err: fmt.Sprintf("the departments could not be checked: %s did not answer; try again later", p.Name())}
	}
	bs, err := p.Businesses(ctx, tok.AccountID, tok.Access)
	if err != nil {
		m.log.WarnContext(ctx, "department check: list locations", "client_id", c.ClientID, "error", err)
		return Check{Err: fmt.Sprintf("the departments could not be checked: %s did not list the account's locations; try again later", p.Name())}
	}
	// A department may name a location of any of the account's businesses.
	active := map[string]bool{}
	var ids []string
	for _, b := range bs {
		for _, l := range b.Locations {
			active[l.ID] = !l.Archived
			if !l.Archived {
				ids = append(ids, l.ID)
			}
		}
	}
	slices.Sort(ids)
	chk := Check{Businesses: bs}
	for _, d := range deps.GetDepartments() {
		n := d.GetPosClientNumber()
		isActive, known := active[n]
		switch {
		case n == "" || isActive:
			continue
		case known:
			chk.Mismatches = append(chk.Mismatches, Mismatch{DepartmentID: d.GetDepartmentId(), PosClientNumber: n,
				Reason: fmt.Sprintf("location %s is archived in %s account %s", n, p.Name(), tok.AccountID)})
		default:
			chk.Mismatches = append(chk.Mismatches, Mismatch{DepartmentID: d.GetDepartmentId(), PosClientNumber: n,
				Reason: fmt.Sprintf("%s account %s has no location %s (its locations: %s)", p.Name(), tok.AccountID, n, strings.Join(ids, ", "))})
		}
	}
	m.checkMu.Lock()
	m.checks[c.ClientID] = cachedCheck{account: c.AccountID, until: m.now().Add(m.opts.CheckTTL), check: chk}
	m.checkMu.Unlock()
	return chk
}

// invalidateCheck forgets a client's cached check, after a new consent.
func (m *Manager) invalidateCheck(clientID string) {
	m.checkMu.Lock()
	defer m.checkMu.Unlock()
	delete(m.checks, clientID)
}
