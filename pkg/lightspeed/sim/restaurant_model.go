package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// This file holds the K-Series (Lightspeed Restaurant) data model: businesses with their
// locations and devices, and receipts ("sales" in the Financial API) with their lines.

// RestaurantOptions configure the K-Series side of the simulator. The zero value is one
// business with one location and one device, without receipts.
type RestaurantOptions struct {
	// Data shapes the generated businesses and receipts.
	Data RestaurantDataOptions
	// AccessTokenTTL is the access-token lifetime; default 60 minutes, as documented.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long an unused refresh token lives; default 14 days.
	RefreshTokenTTL time.Duration
	// RateLimit configures the K-Series 429s (an assumption: no limit is documented).
	RateLimit RestaurantRateLimit
}

// RestaurantRateLimit is a token bucket per consent (the OAuth client's grant, whatever
// businesses it covers). K-Series documents no rate limit; this one exists so that clients
// meet 429 + Retry-After.
type RestaurantRateLimit struct {
	// RequestsPerSecond is the sustained rate; 0 turns the limiter off.
	RequestsPerSecond float64
	// Burst is how many requests may come at once; default max(1, RequestsPerSecond).
	Burst int
}

// RestaurantDataOptions shape the generated K-Series data.
type RestaurantDataOptions struct {
	// Businesses, LocationsPerBusiness and DevicesPerLocation default to 1.
	Businesses           int
	LocationsPerBusiness int
	DevicesPerLocation   int
	// Zones are the locations' IANA time zones, used in turn; default DefaultRestaurantZones.
	Zones []string
	// From and Until are the first and last local dates with receipts (read in each
	// location's zone); the default is the year up to the clock's yesterday.
	From, Until time.Time
	// SalesPerDay is the mean number of receipts per device on an ordinary weekday. Zero
	// generates no receipts.
	SalesPerDay int
	// DayStart is when a location's business day starts, after local midnight, for the
	// sales-daily endpoint; default 5 h 30 min (the docs' example). It must be in [0, 24h).
	DayStart time.Duration
}

// DefaultRestaurantZones are the location time zones used when RestaurantDataOptions.Zones is
// empty: three northern DST rules and a southern one.
var DefaultRestaurantZones = []string{"Europe/London", "Europe/Copenhagen", "America/New_York", "Australia/Sydney"}

// The K-Series lifetimes the reference states.
const (
	defaultRestaurantAccessTTL  = 60 * time.Minute
	defaultRestaurantRefreshTTL = 14 * 24 * time.Hour
	defaultDayStart             = 5*time.Hour + 30*time.Minute
)

// The receipt types of the Financial API's sale schema.
const (
	ReceiptSale       = "SALE"
	ReceiptVoid       = "VOID"
	ReceiptRecall     = "RECALL"
	ReceiptRefund     = "REFUND"
	ReceiptSplit      = "SPLIT"
	ReceiptUpdate     = "UPDATE"
	ReceiptTransfer   = "TRANSFER"
	ReceiptFloat      = "FLOAT"
	ReceiptTransitory = "TRANSITORY"
	ReceiptCrossBL    = "CROSS_BL"
	ReceiptCancel     = "CANCEL"
)

var receiptTypes = map[string]bool{
	ReceiptSale: true, ReceiptVoid: true, ReceiptRecall: true, ReceiptRefund: true, ReceiptSplit: true,
	ReceiptUpdate: true, ReceiptTransfer: true, ReceiptFloat: true, ReceiptTransitory: true,
	ReceiptCrossBL: true, ReceiptCancel: true,
}

// Business is a Lightspeed Restaurant business. A consent covers one or more of them.
type Business struct {
	ID        int64              `json:"businessId"`
	Name      string             `json:"businessName"`
	Currency  string             `json:"currencyCode"`
	Locations []BusinessLocation `json:"businessLocations"`
}

// BusinessLocation is a restaurant of a business, with the zone its days are counted in.
type BusinessLocation struct {
	ID       int64           `json:"blID"`
	Name     string          `json:"blName"`
	Country  string          `json:"country"`
	TimeZone string          `json:"timezone"`
	TaxRate  decimal.Decimal `json:"taxRate"`
	// TaxExclusive marks a tax-exclusive location (the US): its menu prices exclude the tax,
	// which is added on top. Otherwise prices include it (VAT).
	TaxExclusive bool `json:"taxExclusive,omitempty"`
	// DayStart is when the business day starts after local midnight.
	DayStart Duration `json:"dayStart"`
	Devices  []Device `json:"devices"`
}

// Device is a POS device (an iPad) of a location: K-Series's register.
type Device struct {
	ID   int64  `json:"deviceId"`
	Name string `json:"deviceName"`
}

// Receipt is one K-Series sale (an "account") as the simulator stores it, with typed values;
// the API renders it with fixed-decimal strings.
type Receipt struct {
	// Seq is the simulator's own id, in creation order; the admin API uses it.
	Seq              int64  `json:"seq"`
	BusinessID       int64  `json:"businessId"`
	LocationID       int64  `json:"businessLocationId"`
	DeviceID         int64  `json:"deviceId"`
	AccountReference string `json:"accountReference"`
	AccountFiscID    string `json:"accountFiscId"`
	ReceiptID        string `json:"receiptId"`
	Type             string `json:"type"`
	Cancelled        bool   `json:"cancelled"`
	// NbCovers is the number of guests ("covers").
	NbCovers      decimal.Decimal `json:"nbCovers"`
	DineIn        bool            `json:"dineIn"`
	StaffID       int64           `json:"staffId"`
	TimeOfOpening time.Time       `json:"timeOfOpening"`
	// TimeClosed is when the receipt was closed, in UTC with millisecond precision.
	TimeClosed time.Time `json:"timeClosed"`
	// InitialAccountID is the accountFiscId of the sale a refund or void undoes.
	InitialAccountID string        `json:"initialAccountId,omitempty"`
	Lines            []ReceiptLine `json:"lines"`
}

// ReceiptLine is one line of a receipt; a refund line has a negative quantity and negative
// amounts. At a tax-inclusive location TotalNetAmountWithTax is the amount with tax; at a
// tax-exclusive one (TaxExclusive) the API documents that field for tax-inclusive businesses
// only, and the simulator fills it with the line's menu amount, which excludes the tax: the
// amount with tax is TotalNetAmountWithoutTax + TaxAmount there.
type ReceiptLine struct {
	ID                       string          `json:"id"`
	Name                     string          `json:"name"`
	SKU                      string          `json:"sku"`
	Quantity                 decimal.Decimal `json:"quantity"`
	MenuListPrice            decimal.Decimal `json:"menuListPrice"`
	TaxRate                  decimal.Decimal `json:"taxRate"`
	DiscountAmount           decimal.Decimal `json:"discountAmount"`
	AccountDiscountAmount    decimal.Decimal `json:"accountDiscountAmount"`
	TotalDiscountAmount      decimal.Decimal `json:"totalDiscountAmount"`
	TotalNetAmountWithTax    decimal.Decimal `json:"totalNetAmountWithTax"`
	TotalNetAmountWithoutTax decimal.Decimal `json:"totalNetAmountWithoutTax"`
	TaxAmount                decimal.Decimal `json:"taxAmount"`
	TaxExclusive             bool            `json:"taxExclusive,omitempty"`
}

// ReceiptLineInput describes a line to add; the simulator computes its amounts.
type ReceiptLineInput struct {
	// Quantity is negative on a refund; it may be fractional (sold by weight).
	Quantity decimal.Decimal `json:"quantity"`
	// UnitPrice is the menu price including tax, positive also on refund lines.
	UnitPrice decimal.Decimal `json:"unitPrice"`
	// DiscountAmount is the line discount for the whole line, as a positive amount.
	DiscountAmount decimal.Decimal `json:"discountAmount"`
	Name           string          `json:"name"`
	SKU            string          `json:"sku"`
}

// ReceiptInput describes a receipt to add through [Server.AddReceipt] or the admin API.
type ReceiptInput struct {
	LocationID int64 `json:"businessLocationId"`
	DeviceID   int64 `json:"deviceId"`
	// Type defaults to SALE.
	Type      string          `json:"type"`
	Cancelled bool            `json:"cancelled"`
	NbCovers  decimal.Decimal `json:"nbCovers"`
	DineIn    bool            `json:"dineIn"`
	StaffID   int64           `json:"staffId"`
	// TimeClosed is required; it is kept to the millisecond.
	TimeClosed time.Time `json:"timeClosed"`
	// AccountDiscountPercent is the account-level discount (0.1 for 10 %), spread over the
	// lines as accountDiscountAmount.
	AccountDiscountPercent decimal.Decimal `json:"accountDiscountPercent"`
	// TaxRate overrides the location's rate when non-nil.
	TaxRate *decimal.Decimal `json:"taxRate,omitempty"`
	// InitialAccountID links a refund or void to the sale it undoes.
	InitialAccountID string             `json:"initialAccountId,omitempty"`
	Lines            []ReceiptLineInput `json:"lines"`
}

// ReceiptChange is a back-office change of a stored receipt; nil fields stay as they are.
type ReceiptChange struct {
	Cancelled  *bool      `json:"cancelled,omitempty"`
	TimeClosed *time.Time `json:"timeClosed,omitempty"`
}

func (in *ReceiptInput) validate() error {
	if in.Type == "" {
		in.Type = ReceiptSale
	}
	if !receiptTypes[in.Type] {
		return fmt.Errorf("unknown receipt type %q", in.Type)
	}
	if in.TimeClosed.IsZero() {
		return errors.New("timeClosed is required")
	}
	if in.NbCovers.IsNegative() {
		return errors.New("nbCovers must not be negative")
	}
	for i, l := range in.Lines {
		if l.UnitPrice.IsNegative() || l.DiscountAmount.IsNegative() {
			return fmt.Errorf("line %d: unitPrice and discountAmount are positive; a refund has a negative quantity", i)
		}
	}
	return nil
}

var one = decimal.NewFromInt(1)

// computeReceiptLine fills a line's amounts from quantity × price, less the line discount,
// less the account discount share, rounded to cents (the line's menu amount). Discounts carry
// the sign of the quantity. At a tax-inclusive location the menu amount includes the tax: the
// amount without tax is it divided by 1 + rate, to the cent, and the tax the difference. At a
// tax-exclusive location the menu amount is without tax, and the tax, rate × that, kept to four
// decimals as the API's taxAmount is, comes on top.
func computeReceiptLine(in ReceiptLineInput, accountPercent, rate decimal.Decimal, exclusive bool) ReceiptLine {
	qty := in.Quantity.Round(3)
	gross := qty.Mul(in.UnitPrice)
	lineDisc := in.DiscountAmount.Abs()
	if qty.IsNegative() {
		lineDisc = lineDisc.Neg()
	}
	accDisc := gross.Sub(lineDisc).Mul(accountPercent).Round(2)
	menu := gross.Sub(lineDisc).Sub(accDisc).Round(2)
	l := ReceiptLine{
		Name:                  in.Name,
		SKU:                   in.SKU,
		Quantity:              qty,
		MenuListPrice:         in.UnitPrice,
		TaxRate:               rate,
		DiscountAmount:        lineDisc,
		AccountDiscountAmount: accDisc,
		TotalDiscountAmount:   lineDisc.Add(accDisc),
		TotalNetAmountWithTax: menu,
		TaxExclusive:          exclusive,
	}
	if exclusive {
		l.TotalNetAmountWithoutTax = menu
		l.TaxAmount = menu.Mul(rate).Round(4)
		return l
	}
	l.TotalNetAmountWithoutTax = menu.DivRound(one.Add(rate), 2)
	l.TaxAmount = menu.Sub(l.TotalNetAmountWithoutTax)
	return l
}
