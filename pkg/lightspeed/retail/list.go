package retail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posimport/posimport/pkg/pos"
)

// Account returns the account the token gives access to (GET /API/V3/Account.json).
func (c *Client) Account(ctx context.Context) (Account, error) {
	u := *c.base
	u.Path += "/API/V3/Account.json"
	var accounts []Account
	err := c.get(ctx, "Account", &u, 1, func(body []byte) error {
		p, err := decodePage(body)
		if err != nil {
			return err
		}
		accounts, err = decodeAccounts(p.Account)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	for _, a := range accounts {
		if a.ID == c.cfg.AccountID {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("account %d is not among the token's accounts", c.cfg.AccountID)
}

// pages follows a list from u to its last page, decoding each with fn.
func (c *Client) pages(ctx context.Context, resource string, u *url.URL, fn func(p *pageBody) error) error {
	for u != nil {
		var p *pageBody
		if err := c.get(ctx, resource, u, 1, func(body []byte) error {
			var err error
			p, err = decodePage(body)
			return err
		}); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		next := p.Attributes.Next
		if !next.set || next.s == "" {
			return nil
		}
		var err error
		if u, err = c.parseNext(next.s); err != nil {
			return err
		}
	}
	return nil
}

// Shops lists the account's shops.
func (c *Client) Shops(ctx context.Context) ([]Shop, error) {
	var out []Shop
	err := c.pages(ctx, "Shop", c.accountURL("Shop.json", url.Values{"limit": {"100"}}), func(p *pageBody) error {
		shops, err := decodeShops(p.Shop)
		out = append(out, shops...)
		return err
	})
	return out, err
}

// RegisterList lists the registers of a shop, or of every shop when shopID is 0.
func (c *Client) RegisterList(ctx context.Context, shopID int64) ([]Register, error) {
	q := url.Values{"limit": {"100"}}
	if shopID != 0 {
		q.Set("shopID", strconv.FormatInt(shopID, 10))
	}
	var out []Register
	err := c.pages(ctx, "Register", c.accountURL("Register.json", q), func(p *pageBody) error {
		regs, err := decodeRegisters(p.Register)
		out = append(out, regs...)
		return err
	})
	return out, err
}

// SaleQuery selects sales for [Client.ListSales].
type SaleQuery struct {
	// ShopID and RegisterIDs narrow the sales; zero values take all.
	ShopID      int64
	RegisterIDs []int64
	// From and Until bound completeTime: From <= completeTime < Until.
	From, Until time.Time
	// IncludeUncounted also returns voided and open sales.
	IncludeUncounted bool
}

const apiTime = "2006-01-02T15:04:05-07:00"

// ListSales calls fn for each sale matching q, with its lines, one page at a time.
func (c *Client) ListSales(ctx context.Context, q SaleQuery, fn func(Sale) error) error {
	if !q.From.Before(q.Until) {
		return fmt.Errorf("list sales: range [%v, %v) is empty", q.From, q.Until)
	}
	// completeTime has whole seconds and >< includes both ends.
	from := q.From.UTC().Add(time.Second - 1).Truncate(time.Second)
	until := q.Until.UTC().Add(-1).Truncate(time.Second)
	v := url.Values{
		"completeTime":   {"><," + from.Format(apiTime) + "," + until.Format(apiTime)},
		"load_relations": {`["SaleLines"]`},
		"sort":           {"saleID"},
		"limit":          {strconv.Itoa(c.cfg.PageSize)},
	}
	if !q.IncludeUncounted {
		v.Set("completed", "true")
		v.Set("voided", "false")
	}
	if q.ShopID != 0 {
		v.Set("shopID", strconv.FormatInt(q.ShopID, 10))
	}
	switch len(q.RegisterIDs) {
	case 0:
	case 1:
		v.Set("registerID", strconv.FormatInt(q.RegisterIDs[0], 10))
	default:
		ids := make([]string, len(q.RegisterIDs))
		for i, id := range q.RegisterIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		v.Set("registerID", "IN,["+strings.Join(ids, ",")+"]")
	}
	return c.pages(ctx, "Sale", c.accountURL("Sale.json", v), func(p *pageBody) error {
		sales, err := decodeSales(p.Sale)
		if err != nil {
			return err
		}
		for _, s := range sales {
			// The server filtered already; these checks keep a lenient server or an edit
			// between pages from leaking a sale outside the query.
			if s.CompleteTime.Before(q.From) || !s.CompleteTime.Before(q.Until) {
				continue
			}
			if !q.IncludeUncounted && (!s.Completed || s.Voided) {
				continue
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	})
}

// Locations implements [pos.Source]: the account's shops.
func (c *Client) Locations(ctx context.Context) ([]pos.Location, error) {
	shops, err := c.Shops(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]pos.Location, len(shops))
	for i, s := range shops {
		out[i] = pos.Location{ID: strconv.FormatInt(s.ID, 10), Name: s.Name, TimeZone: s.TimeZone, Archived: s.Archived}
	}
	return out, nil
}

// Registers implements [pos.Source]: the registers of a shop ("" for all shops).
func (c *Client) Registers(ctx context.Context, locationID string) ([]pos.Register, error) {
	shopID, err := parseID("location", locationID, true)
	if err != nil {
		return nil, err
	}
	regs, err := c.RegisterList(ctx, shopID)
	if err != nil {
		return nil, err
	}
	out := make([]pos.Register, len(regs))
	for i, r := range regs {
		out[i] = pos.Register{ID: strconv.FormatInt(r.ID, 10), LocationID: strconv.FormatInt(r.ShopID, 10), Name: r.Name, Archived: r.Archived}
	}
	return out, nil
}

// Sales implements [pos.Source]: it streams the counted sales of q as [pos.SaleFigures].
func (c *Client) Sales(ctx context.Context, q pos.SalesQuery, fn func(pos.SaleFigures) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	sq := SaleQuery{From: q.From, Until: q.Until}
	var err error
	if sq.ShopID, err = parseID("location", q.LocationID, true); err != nil {
		return err
	}
	for _, r := range q.RegisterIDs {
		id, err := parseID("register", r, false)
		if err != nil {
			return err
		}
		sq.RegisterIDs = append(sq.RegisterIDs, id)
	}
	return c.ListSales(ctx, sq, func(s Sale) error { return fn(Figures(s)) })
}

func parseID(what, s string, optional bool) (int64, error) {
	if s == "" && optional {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s id %q: %w", what, s, errNotAnID)
	}
	return id, nil
}

var errNotAnID = errors.New("not a Lightspeed id")

var _ pos.ChangeSource = (*Client)(nil)

// Changes implements [pos.ChangeSource]: one listing of the account's sales, every shop, whose
// timeStamp is at or after since, sorted by timeStamp, 100 to a page with their lines, paged
// by the next cursor. So n changed sales take max(1, ceil(n/PageSize)) requests, whatever the
// days and shops they belong to.
//
// timeStamp rather than updatetime: the V3 migration guide finds changed records with
// timeStamp=>=,…&sort=timeStamp, the pagination guide's cursors are on timeStamp, every
// resource has it (Sale, SaleLine, Shop, Register), and it moves on every edit of a sale
// (completeTime moved, voided) as updatetime does. Since is rounded up to the whole second
// (timeStamps have whole seconds), and sales before it are dropped should a lenient server
// send them.
func (c *Client) Changes(ctx context.Context, since time.Time, fn func(pos.Change) error) error {
	if since.IsZero() {
		return errors.New("list changed sales: since is required")
	}
	from := since.UTC().Add(time.Second - 1).Truncate(time.Second)
	v := url.Values{
		"timeStamp":      {">=," + from.Format(apiTime)},
		"sort":           {"timeStamp"},
		"load_relations": {`["SaleLines"]`},
		"limit":          {strconv.Itoa(c.cfg.PageSize)},
	}
	return c.pages(ctx, "Sale", c.accountURL("Sale.json", v), func(p *pageBody) error {
		wires, err := saleWires(p.Sale)
		if err != nil {
			return err
		}
		for i := range wires {
			ch, err := change(&wires[i], i)
			if err != nil {
				return fmt.Errorf("list changed sales: %w", err)
			}
			if ch.ChangedAt.Before(since) {
				continue
			}
			if err := fn(ch); err != nil {
				return err
			}
		}
		return nil
	})
}

// change reads one sale of a changes listing. Its own fields must be readable; its lines may
// not be, which the change carries in Err.
func change(w *saleWire, i int) (pos.Change, error) {
	s, err := convertSaleHead(w, i)
	if err != nil {
		return pos.Change{}, err
	}
	ch := pos.Change{
		SaleID: strconv.FormatInt(s.ID, 10), LocationID: strconv.FormatInt(s.ShopID, 10),
		RegisterID: strconv.FormatInt(s.RegisterID, 10), Completed: s.Completed, Voided: s.Voided,
		CompletedAt: s.CompleteTime, ChangedAt: s.TimeStamp, Counts: s.Completed && !s.Voided,
	}
	if s.Lines, err = convertLines(&w.SaleLines, label(w.SaleID, i)); err != nil {
		ch.Err = err
		return ch, nil //nolint:nilerr // a sale that does not convert travels in ch.Err
	}
	if ch.Counts {
		ch.Metrics = Figures(s).Metrics
	}
	return ch, nil
}
