package pos

import (
	"context"
	"fmt"
	"time"
)

// SaleFigures is one counted sale's contribution to the metrics. A provider emits it only for
// sales that count (completed and not voided, or the product's equivalent).
type SaleFigures struct {
	// SaleID identifies the sale within its account or business, for logs and errors.
	SaleID string
	// LocationID is the shop (R-Series) or business location (K-Series) of the sale.
	LocationID string
	// RegisterID is the register (R-Series) or device (K-Series) the sale was rung up on.
	RegisterID string
	// CompletedAt is when the sale was completed, in UTC. It decides the local day and hour.
	CompletedAt time.Time
	// Metrics is the sale's contribution to each metric.
	Metrics Metrics
}

// Location is a shop or business location, with the time zone its days are counted in.
type Location struct {
	ID   string
	Name string
	// TimeZone is the zone name as the provider reports it (IANA, or a legacy alias such as
	// "US/Eastern"); load it with time.LoadLocation.
	TimeZone string
	Archived bool
}

// Register is a register (R-Series) or device (K-Series) of a location.
type Register struct {
	ID         string
	LocationID string
	Name       string
	Archived   bool
}

// SalesQuery selects the sales to stream.
type SalesQuery struct {
	// LocationID restricts the sales to one location. Providers that scope everything to a
	// location (K-Series) require it; R-Series treats "" as every shop of the account.
	LocationID string
	// RegisterIDs restricts the sales to these registers; empty means all of the location,
	// each sale carrying its own RegisterID.
	RegisterIDs []string
	// From and Until bound the completion time: From <= CompletedAt < Until.
	From, Until time.Time
	// OnSaleError, if set, receives each malformed sale of the query that the provider could
	// attribute to its register and completion time (a [*SaleError]); returning nil goes on
	// with the next sale, so that one poison sale fails only its register-day. Unset, the first
	// such sale ends Sales with its *SaleError. A malformed sale that cannot be attributed, and
	// a malformed page, always end Sales with a [*DataError]. Sales of registers or times
	// outside the query never reach it. Providers that cannot tell one sale from another on
	// the wire treat every malformed sale as unattributable.
	OnSaleError func(*SaleError) error
}

// Stats counts a source's upstream requests, for metrics and tests.
type Stats struct {
	// Requests is every HTTP request sent upstream, retries included.
	Requests int64
	// RateLimited is the number of responses that were 429 Too Many Requests.
	RateLimited int64
	// Retries is the number of requests that repeated an earlier failed one.
	Retries int64
}

// Source is a POS provider, bound to one connected account (its credentials and base URL).
type Source interface {
	// DataTypes lists the metrics this provider fills. A metric not listed (Visitors for
	// R-Series) is unknown rather than zero, and must not be written.
	DataTypes() []DataType
	// Locations lists the account's shops or business locations.
	Locations(ctx context.Context) ([]Location, error)
	// Registers lists the registers or devices of a location.
	Registers(ctx context.Context, locationID string) ([]Register, error)
	// Sales calls fn for every counted sale matching q, in no particular order, holding only a
	// bounded number of sales in memory at a time. It stops at and returns fn's first error.
	Sales(ctx context.Context, q SalesQuery, fn func(SaleFigures) error) error
	// Stats returns the requests made so far.
	Stats() Stats
}

// Validate reports an unusable query: an empty or inverted time range.
func (q SalesQuery) Validate() error {
	if q.From.IsZero() || q.Until.IsZero() || !q.From.Before(q.Until) {
		return fmt.Errorf("sales query: range [%v, %v) is empty", q.From, q.Until)
	}
	return nil
}
