// Package retail is the production client for Lightspeed Retail (R-Series) API V3, and its
// [pos.Source] implementation.
//
// A [Client] lists the account, shops, registers and sales of one account. It is built on an
// oauth2.TokenSource and configurable base URLs, streams sales page by page (one page of at most
// 100 sales in memory at a time), follows each page's @attributes.next URL exactly as given
// (after checking it points at the configured API), and decodes the API's quirks (every scalar a
// string, one record an object instead of an array, an empty result without its key) into exact
// decimals. Malformed data gets a [*pos.DataError] naming the sale, line and field. Errors are the
// shared ones of package pos, which the Lightspeed Restaurant client returns too.
//
// # Changed sales
//
// [Client.Changes] implements [pos.ChangeSource]: the sales of every shop of the account
// created or changed since a watermark (timeStamp=>=,… sort=timeStamp, with their lines, paged
// by the next cursor), so a late sync, a moved completeTime or a void after the fact is found
// by one listing whatever the age of its day. It filters on timeStamp, not updatetime: see
// its documentation.
//
// # Requests
//
// Every request goes through one retry layer, [retry.Do]:
//
//   - Before sending, it waits on a [pos.Limiter], which paces from the X-LS-API-Bucket-Level,
//     drip-rate and burst headers so that one client alone never meets a 429. The default
//     [BucketLimiter] works in-process; a Limiter shared by several processes (one budget per
//     account) can be plugged in.
//   - A 429 pauses the Limiter until Retry-After (seconds or an HTTP date, read by
//     [retry.ParseRetryAfter]) and retries; a wait longer than Config.MaxRetryAfter returns a
//     [*pos.RateLimitError] instead, for the caller to reschedule.
//   - 5xx responses, network errors, timeouts and truncated bodies are retried with full-jitter
//     exponential backoff ([retry.FullJitter]), up to Config.MaxAttempts sends in all; no
//     backoff is slept after the last.
//   - A 401 asks the token source once for a fresh token: if it implements [pos.TokenInvalidator]
//     it is told which token was refused first. A second 401 is an error wrapping
//     [pos.ErrUnauthorized].
//   - Other 4xx answers are a [*pos.StatusError] with the API's message.
//   - Each attempt has its own timeout (Config.RequestTimeout) through its context.
//
// Tokens never appear in logs or errors.
//
// # Metrics
//
// [Figures] turns a sale into [pos.SaleFigures] by the R-Series definitions of DESIGN.md §4:
//
//	Gross sales     Σ calcTotal of lines with unitQuantity > 0 (incl. tax, after discounts)
//	Net sales       Σ over all lines of calcSubtotal − calcLineDiscount − calcTransactionDiscount
//	Discounts       Σ calcLineDiscount + calcTransactionDiscount of lines with unitQuantity > 0
//	Returns         Σ |calcTotal| of lines with unitQuantity < 0
//	Transactions    1 if the sale has a line with unitQuantity > 0, else 0
//	Goods sold      Σ unitQuantity of lines with unitQuantity > 0
//	Goods returned  Σ |unitQuantity| of lines with unitQuantity < 0
//	Visitors        not provided by R-Series (absent from DataTypes)
//
// Only completed, non-voided sales count; a sale's time is its completeTime.
package retail
