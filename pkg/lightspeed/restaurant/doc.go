// Package restaurant is the production client for Lightspeed Restaurant (K-Series) Financial
// API v2, and its [pos.Source] implementation.
//
// A [Client] reads what one consent covers: its businesses' locations and their time zones
// from GET /f/data/businesses, and a location's sales from
// GET /f/v2/business-location/{id}/sales, filtered on timeClosed and paged by nextPageToken
// (one page of at most 100 sales in memory at a time). A range longer than the API's 365 days
// is fetched in windows. The API has no device filter, so the devices of a query are picked
// client-side. Money arrives as fixed-decimal strings and is kept exact; malformed data gets a
// [*pos.DataError] naming the sale, line and field.
//
// In posimport's terms the department's POS client number is the business location id and
// its terminal numbers are device ids.
//
// # Consents of several businesses
//
// GET /f/data/businesses "returns all businesses the token has access to", and a token has the
// access of the user who consented: a user of a restaurant group sees several businesses. Such
// a consent covers all of them, and its account id is their ids, ascending and comma-separated
// ([AccountID]: "300001,300002"; one business's is its id alone). One token is one budget, so
// the account id keys the consent's shared rate budget too. A location id names its business,
// so sales need only the location.
//
// # Requests
//
// Every request goes through one retry layer, as in the R-Series client: [retry.Do], with
// Retry-After parsed by [retry.ParseRetryAfter]. Both return the error types of package pos,
// so that their callers classify failures once.
//
//   - Before sending, it waits on a [pos.Limiter]. K-Series documents no rate limit; the default
//     [PauseLimiter] only holds requests while a 429's Retry-After runs, and a Limiter shared
//     by several processes (one budget per consent) can be plugged in. [PaceRate] and
//     [PaceBurst] are the pace posimport's shared budget keeps for this API.
//   - A 429 pauses the Limiter until Retry-After (seconds or an HTTP date) and retries; a wait
//     longer than Config.MaxRetryAfter returns a [*pos.RateLimitError].
//   - 5xx responses, network errors, timeouts and truncated bodies are retried with full-jitter
//     exponential backoff ([retry.FullJitter]), up to Config.MaxAttempts sends in all; no
//     backoff is slept after the last.
//   - A 401 asks the token source once for a fresh token (if it implements
//     [pos.TokenInvalidator]); a second 401 wraps [pos.ErrUnauthorized].
//   - Other 4xx answers are a [*pos.StatusError] with the API's {"error"} message.
//
// Tokens never appear in logs or errors.
//
// # Metrics
//
// [Figures] turns a sale into [pos.SaleFigures] by the K-Series definitions of DESIGN.md §4:
//
//	Counted receipts  type SALE or REFUND, and not cancelled; VOID, RECALL, SPLIT, UPDATE,
//	                  TRANSFER, FLOAT, TRANSITORY, CROSS_BL and CANCEL receipts never count
//	                  (a voided sale is cancelled and its VOID receipt ignored)
//	Return lines      every line of a REFUND receipt, and a line with a negative quantity on
//	                  a SALE (an exchange); their amounts and quantities count as absolute
//	                  values, whatever sign the API gives them
//	Sold lines        the other lines of a SALE receipt
//	Gross sales       Σ gross of sold lines, the line's amount including tax:
//	                  totalNetAmountWithTax at a tax-inclusive business; at a tax-exclusive
//	                  one (taxLines say taxIncluded: false, e.g. in the US)
//	                  totalNetAmountWithoutTax + taxAmount
//	Net sales         Σ totalNetAmountWithoutTax of sold lines − Σ |totalNetAmountWithoutTax|
//	                  of return lines (so Net = (Gross − Returns) without tax)
//	Discounts         Σ totalDiscountAmount of sold lines (line and account discounts), as
//	                  K-Series reports them: in the prices' terms, so without the sales tax
//	                  at a tax-exclusive business
//	Returns           Σ |gross| of return lines
//	Transactions      1 per counted SALE receipt (refunds are not transactions)
//	Goods sold        Σ quantity of sold lines (fractional for goods sold by weight)
//	Goods returned    Σ |quantity| of return lines
//	Visitors          Σ nbCovers of counted SALE receipts (a refund's covers do not count)
//
// A sale's time is its timeClosed and its register is the receipt's deviceId.
//
// Why the gross depends on taxLines: the financial API's line schema says totalNetAmountWithTax
// "is for use with tax inclusive businesses. For tax exclusive businesses, see taxAmount and
// taxLines for tax calculations", and taxLines[].taxIncluded is "whether or not the business is
// tax inclusive". Lines whose taxLines are empty (as in the docs' VAT example) or absent are
// read as tax-inclusive.
//
// # Malformed sales
//
// A sale that cannot be read does not end the page: where its deviceId and timeClosed can still
// be read, it is a [*pos.SaleError] of that device and time, which concerns only that device's
// day (handed to [pos.SalesQuery.OnSaleError] when set, else it ends the query); sales of other
// devices and outside the range are not affected. One whose device or time is unreadable is a
// [*pos.DataError] that ends the query, since nothing tells whose day it is.
//
// The business day (a location's day may start at e.g. 05:30, see the sales-daily endpoint) is
// not used: like every provider, sales are bucketed by the local calendar day and clock hour
// of timeClosed in the location's zone, which is what the weekly balance counts.
package restaurant
