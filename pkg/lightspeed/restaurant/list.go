package restaurant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/pos"
)

// Businesses lists the businesses the token gives access to (GET /f/data/businesses), every
// page of them.
func (c *Client) Businesses(ctx context.Context) ([]Business, error) {
	var out []Business
	for page := 0; ; page++ {
		var more bool
		u := c.url("/f/data/businesses", url.Values{"page": {strconv.Itoa(page)}, "size": {"1000"}})
		err := c.get(ctx, "Business", u, func(body []byte) error {
			bs, m, err := decodeBusinesses(body)
			out, more = append(out, bs...), m
			return err
		})
		if err != nil {
			return nil, err
		}
		if !more {
			return out, nil
		}
	}
}

// Consented returns the configured businesses as the token sees them, in id order (every
// business it sees when none is configured). A configured business the token no longer sees
// is left out: its locations are gone for this consent.
func (c *Client) Consented(ctx context.Context) ([]Business, error) {
	bs, err := c.Businesses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Business, 0, len(bs))
	for _, b := range bs {
		if len(c.cfg.BusinessIDs) == 0 || slices.Contains(c.cfg.BusinessIDs, b.ID) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Business) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Locations implements [pos.Source]: the locations of the consent's businesses.
func (c *Client) Locations(ctx context.Context) ([]pos.Location, error) {
	bs, err := c.Consented(ctx)
	if err != nil {
		return nil, err
	}
	var out []pos.Location
	for _, b := range bs {
		for _, l := range b.Locations {
			out = append(out, pos.Location{ID: strconv.FormatInt(l.ID, 10), Name: l.Name, TimeZone: l.TimeZone})
		}
	}
	return out, nil
}

// AccountID is the account id of a consent covering businesses: their ids, ascending and
// comma-separated ("300001,300002"), one business's id alone. posimport keys a connection, its
// shared rate budget and its status by it; see the package documentation.
func AccountID(businesses []int64) string {
	ids := slices.Sorted(slices.Values(businesses))
	parts := make([]string, 0, len(ids))
	for i, id := range ids {
		if i > 0 && id == ids[i-1] {
			continue
		}
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	return strings.Join(parts, ",")
}

// ParseAccountID is the inverse of [AccountID]: the business ids of an account id, which must
// be in its canonical form (positive, ascending, no repeats).
func ParseAccountID(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id <= 0 || (len(out) > 0 && id <= out[len(out)-1]) {
			return nil, fmt.Errorf("account id %q is not a list of business ids in ascending order", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// DeviceWindow is how far back [Client.Registers] looks for devices.
const DeviceWindow = 30 * 24 * time.Hour

// Registers implements [pos.Source]: the Financial API lists no devices, so these are the
// devices seen on the location's sales of the last DeviceWindow, in id order. A malformed sale
// still names its device, where that field is readable.
func (c *Client) Registers(ctx context.Context, locationID string) ([]pos.Register, error) {
	now := c.cfg.NowFunc()
	seen := map[int64]string{}
	q := SaleQuery{LocationID: locationID, From: now.Add(-DeviceWindow), Until: now, IncludeUncounted: true,
		OnSaleError: func(e *pos.SaleError) error {
			id, _ := strconv.ParseInt(e.RegisterID, 10, 64)
			if _, ok := seen[id]; !ok {
				seen[id] = ""
			}
			return nil
		}}
	err := c.ListSales(ctx, q, func(s Sale) error {
		seen[s.DeviceID] = s.DeviceName
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]pos.Register, len(ids))
	for i, id := range ids {
		out[i] = pos.Register{ID: strconv.FormatInt(id, 10), LocationID: locationID, Name: seen[id]}
	}
	return out, nil
}

// SaleQuery selects sales for [Client.ListSales].
type SaleQuery struct {
	// LocationID is the business location; required.
	LocationID string
	// DeviceIDs narrow the sales to these devices; empty takes all, each sale carrying its
	// DeviceID.
	DeviceIDs []string
	// From and Until bound timeClosed: From <= timeClosed < Until.
	From, Until time.Time
	// IncludeUncounted also returns sales that do not count (cancelled, VOID, SPLIT, …).
	IncludeUncounted bool
	// OnSaleError receives the malformed sales of the query's devices and range whose device
	// and timeClosed are readable (whatever their type: a malformed sale's type cannot be
	// trusted); returning nil goes on. Unset, the first one ends ListSales. See
	// [pos.SalesQuery.OnSaleError].
	OnSaleError func(*pos.SaleError) error
}

// maxWindow is the longest from..to the API takes (365 days), less the two milliseconds by
// which each window is widened.
const maxWindow = 365*24*time.Hour - 2*time.Millisecond

const apiTime = "2006-01-02T15:04:05.000Z07:00"

// ListSales calls fn for each sale of q, one page at a time, in timeClosed order. Ranges
// over 365 days are fetched in windows. Each window's from is sent a millisecond early and its
// to a millisecond late, and the exact bounds applied here, so that neither reading of the
// bounds' inclusiveness loses or doubles a sale.
//
// A malformed sale of another device or outside the range is skipped: it concerns another
// query. One of the query's devices and range is a [*pos.SaleError] (to q.OnSaleError when
// set); one whose device or time is unreadable ends the call with its [*pos.DataError].
func (c *Client) ListSales(ctx context.Context, q SaleQuery, fn func(Sale) error) error {
	if !q.From.Before(q.Until) {
		return fmt.Errorf("list sales: range [%v, %v) is empty", q.From, q.Until)
	}
	if _, err := parseID("location", q.LocationID); err != nil {
		return err
	}
	devices := map[int64]bool{}
	for _, d := range q.DeviceIDs {
		id, err := parseID("device", d)
		if err != nil {
			return err
		}
		devices[id] = true
	}
	ours := func(device int64, closed, from, until time.Time) bool {
		// A sale belongs to the window it closed in: each is seen once across windows.
		return !closed.Before(from) && closed.Before(until) && (len(devices) == 0 || devices[device])
	}
	path := "/f/v2/business-location/" + q.LocationID + "/sales"
	// No sale closes in the future, and the API refuses a from after now.
	now := c.cfg.NowFunc()
	for from := q.From; from.Before(q.Until) && from.Before(now); from = from.Add(maxWindow) {
		until := from.Add(maxWindow)
		if until.After(q.Until) {
			until = q.Until
		}
		err := c.pages(ctx, path, from.Add(-time.Millisecond), until.Add(time.Millisecond), func(p salesPage) error {
			for _, b := range p.bad {
				switch {
				case !b.attributable():
					return fmt.Errorf("list sales of location %s: %w", q.LocationID, b.err)
				case !ours(b.deviceID, b.closed, from, until):
					continue
				}
				se := &pos.SaleError{LocationID: q.LocationID, RegisterID: strconv.FormatInt(b.deviceID, 10), CompletedAt: b.closed, Err: b.err}
				if q.OnSaleError == nil {
					return se
				}
				if err := q.OnSaleError(se); err != nil {
					return err
				}
			}
			for _, s := range p.sales {
				if !ours(s.DeviceID, s.TimeClosed, from, until) || (!q.IncludeUncounted && !Counts(s)) {
					continue
				}
				if err := fn(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// pages follows one window's pages by nextPageToken, handing each decoded page to fn.
func (c *Client) pages(ctx context.Context, path string, from, to time.Time, fn func(salesPage) error) error {
	v := url.Values{
		"from":     {from.UTC().Format(apiTime)},
		"to":       {to.UTC().Format(apiTime)},
		"pageSize": {strconv.Itoa(c.cfg.PageSize)},
	}
	prev := ""
	for {
		var p salesPage
		err := c.get(ctx, "Sale", c.url(path, v), func(body []byte) error {
			var err error
			p, err = decodeSalesPage(body)
			return err
		})
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		switch {
		case p.token == "":
			return nil
		case p.token == prev:
			return errors.New("list sales: the API repeated a nextPageToken")
		}
		prev = p.token
		v.Set("nextPageToken", p.token)
	}
}

// Sales implements [pos.Source]: it streams the counted sales of q as [pos.SaleFigures]. q
// must name a location; its RegisterIDs are device ids. Without RegisterIDs it streams the
// whole location, each sale with its device as RegisterID, and its malformed sales as
// [*pos.SaleError]s of their devices (see [pos.SalesQuery.OnSaleError]).
func (c *Client) Sales(ctx context.Context, q pos.SalesQuery, fn func(pos.SaleFigures) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	sq := SaleQuery{LocationID: q.LocationID, DeviceIDs: q.RegisterIDs, From: q.From, Until: q.Until, OnSaleError: q.OnSaleError}
	return c.ListSales(ctx, sq, func(s Sale) error { return fn(Figures(s, q.LocationID)) })
}

func parseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s id %q: %w", what, s, errNotAnID)
	}
	return id, nil
}

var errNotAnID = errors.New("not a Lightspeed id")
