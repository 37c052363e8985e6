// Package sim is a Lightspeed Retail (R-Series) and Lightspeed Restaurant (K-Series) simulator:
// an http.Handler that a real Lightspeed client cannot tell from the real APIs on the parts
// posimport uses, plus an admin API, seeded data generators, fault injection and oracles.
//
// # What it serves
//
//   - OAuth2 under /auth/oauth/: authorize (GET shows a consent page, POST is its form; or
//     auto-consent), token (authorization_code, refresh_token; form or JSON body; client
//     credentials in the body, as R-Series documents its token requests), revoke; and
//     /.well-known/jwks.
//   - API V3 under /API/V3/: Account.json, Account/{id}/Shop.json, Register.json, Sale.json
//     and Sale/{id}.json, with filters, sort, limit, count=1, load_relations and cursor paging.
//   - K-Series OAuth2 under /oauth/ (authorize, token, revoke) and the Financial API:
//     GET /f/data/businesses, GET /f/v2/business-location/{id}/sales and .../sales-daily
//     (see "K-Series" below). The paths do not overlap, so one server serves both products.
//   - The admin API under /admin/ (see below), which is neither counted nor faulted.
//
// Build one with [New] and serve it with net/http or httptest; [Options] sets the seed, the
// generated data, token lifetimes, rate limits, time scale, auto-consent and the clock.
//
// # Admin API (JSON with typed values)
//
//	GET    /admin/accounts                          accounts with shops and registers
//	GET    /admin/accounts/{id}/sales?registerID=&from=&until=   stored sales (RFC 3339 bounds)
//	POST   /admin/accounts/{id}/sales               add a sale ([SaleInput]); 201 with the [Sale]
//	PATCH  /admin/accounts/{id}/sales/{saleID}      late edit or void ([SaleChange])
//	POST   /admin/accounts/{id}/shops/{shopID}/registers   add a register ([RegisterInput]); 201
//	GET    /admin/faults, POST /admin/faults ([Fault]), DELETE /admin/faults
//	GET    /admin/stats, DELETE /admin/stats        requests per endpoint ([EndpointCount])
//	GET    /admin/oracle?account=&register=&from=&until=&zone=   expected hourly metrics
//	GET    /admin/businesses                        K-Series businesses, locations, devices
//	GET    /admin/businesses/{id}/receipts?locationID=&deviceID=&from=&until=
//	POST   /admin/businesses/{id}/receipts          add a receipt ([ReceiptInput]); 201
//	PATCH  /admin/businesses/{id}/receipts/{seq}    back-office change ([ReceiptChange])
//	POST   /admin/businesses/{id}/locations/{locationID}/devices   add a device ([DeviceInput]); 201
//	GET    /admin/restaurant-oracle?business=&location=&device=&from=&until=
//
// Each has a Go method on [Server] too: [Server.AddSale], [Server.ChangeSale],
// [Server.AddRegister], [Server.Sales], [Server.InjectFault], [Server.RequestCounts],
// [Server.Expected], [Server.Businesses], [Server.AddReceipt], [Server.ChangeReceipt],
// [Server.AddDevice], [Server.Receipts], [Server.ExpectedRestaurant].
//
// # Choices where the reference leaves one open
//
// The facts come from shared/reference/lightspeed-api.md sections 2 and 9. Where it is silent
// the simulator does what the real API most likely does:
//
//   - Paging looks ahead: next is "" as soon as no further record matches, so a result of n
//     records takes exactly max(1, ceil(n/limit)) requests. previous is "" on the first page
//     (no cursor) and set on every page reached through a cursor.
//   - Cursors are base64 (standard, padded) JSON: [id] when sorting by the id, else
//     [sortValue, id], with times as "2006-01-02T15:04:05+00:00". The default sort is the
//     resource id ascending; unset sort values (an open sale's completeTime) sort first.
//   - Filters: "=" (or a bare value), "!=", ">", "<", ">=", "<=", "><" (between, both ends
//     included), "IN,[a,b]", "~" and "!~" (contains). Several filters are ANDed. A filter on a
//     field the resource does not have, an unknown relation, limit outside 1..100, and an
//     unknown sort field are 400s; the sort error lists the sortable fields. Timestamps in
//     filters are RFC 3339, or a date or date-time without offset, taken as UTC; a '+' that
//     arrived unencoded (read as a space) is put back.
//   - An open sale has no completeTime key at all, and never matches a completeTime filter.
//     Voided sales keep their completeTime and stay in listings unless filtered out.
//   - load_relations: every documented Sale relation is accepted; only SaleLines has data, the
//     others are omitted. A sale without lines has no SaleLines key.
//   - Error bodies of the API are {"httpCode","httpMessage","message","errorClass"} (strings);
//     OAuth errors are {"error","error_description"[,"hint"]}, the League OAuth2 server shape
//     of the documented 401.
//   - A token of one account used on another account's path gets 403; a missing, unknown or
//     expired token gets the documented 401 with hint "Access token could not be verified",
//     and a revoked one the hint "Access token has been revoked". 401s carry no bucket
//     headers (without a valid token there is no bucket); every other API response carries
//     all X-LS-* headers, written with the docs' mixed casing.
//   - OAuth: each product's token and revoke endpoints take the client's credentials only the
//     way it documents them and answer the other style with 401 invalid_client (with a Basic
//     challenge at K-Series), before looking at the grant; credentials both in the body and as
//     HTTP Basic are a 400 invalid_request (RFC 6749 §2.3). Codes are single-use (spent by any
//     exchange attempt that passed client authentication) and live 60 s; PKCE is
//     verified when a challenge was sent (S256 only), and required for a client without a
//     secret. Refresh rotates the refresh token every time; the rotated-out refresh tokens
//     stay valid until the grant's access token is next used on the API, then die (a later
//     use is 400 invalid_grant). Refreshing while the access token is valid returns the same
//     access token with its remaining expires_in. Revoke kills both tokens; an unknown token
//     is not an error (RFC 7009). Access tokens are RS256 JWTs with iss, aud, sub, acct,
//     scope, iat, nbf, exp and jti; the signing key is generated once per process.
//   - Auto-consent grants the account named by the non-standard account_id parameter, or the
//     first account. At K-Series it may name several businesses (repeated, or comma-separated:
//     account_id=300001,300002), as a user who sees several businesses consents for all of
//     them; the consent page shows them as checkboxes. An R-Series consent naming several
//     accounts is refused (access_denied). A K-Series token's acct claim lists its businesses.
//   - Rate limits: one bucket per account and OAuth client; size 90 + 10 and drip
//     1/s + 0.5/s per register beyond the first (the account's register count stands for the
//     subscription's register limit). A request is allowed while the level is below the size,
//     so the first overflowing one passes. GET costs 1 and count=1 costs 10. Refused requests
//     cost nothing. The burst limiter allows 2/9 of the bucket size (20 for 90) per fixed
//     one-second window and counts refused requests too. Retry-After is the whole seconds
//     until the level is below the size again (1 for the burst limiter).
//   - TimeScale speeds the limiters up: the drip rate and the burst limit per one-second
//     window are multiplied by it, and the headers show the scaled values, so a client pacing
//     itself from the headers stays correct.
//   - Money: calcSubtotal = unitQuantity × unitPrice; calcLineDiscount and
//     calcTransactionDiscount carry the sign of the quantity; taxes apply to the discounted
//     subtotal and are not rounded (the docs' worked example has calcTax2 4.48875). The calc*
//     fields are the same whether isTaxInclusive is true or not (section 10 leaves tax-inclusive
//     behaviour open). Numbers are written without trailing zeros ("317.1").
//
// # A moving world
//
// Lightspeed's truth keeps moving after a day is imported, and the admin API moves it the way
// the real systems do. Every change is in the store at once, so the oracle, the filters and
// the listings follow it.
//
//   - A late sync (R-Series): [Server.AddSale] with a completeTime in the past is a sale an
//     offline register rang up then and the server learns of now. Its createTime is its
//     completeTime and its timeStamp (shown as timeStamp and updatetime, which the simulator
//     keeps equal: the last change) is the clock's now.
//   - [Server.ChangeSale] edits a stored sale after the fact and stamps it now: a completeTime
//     moved (to the next day or any time) moves the sale to that day, a void keeps it
//     completed with its completeTime but out of the totals.
//   - [Server.AddRegister] adds a register to a shop (id: one above the account's highest;
//     timeStamp now). Register.json lists it, and the account's bucket grows by one register
//     (size +10, drip +0.5/s): the register count stands for the subscription's limit.
//   - Generated edits made days after a sale are stamped no later than the clock at
//     generation: what is stamped has happened.
//
// Paging while records change (R-Series). Cursors are keysets ([sortValue, id]), and each page
// is computed under the store's read lock from the data as it is then; between pages anything
// may change, as on a live API:
//
//   - sort=timeStamp (or updatetime): a sale changed after its page was read moves past the
//     cursor and is listed again on a later page of the same walk, in its new state; one
//     changed before its page is read is listed once, at its new place. So a walk never loses
//     a sale changed during it, except one stamped in the very second of the cursor with a
//     lower id, which sorts before the cursor: the next walk, asked from a watermark less an
//     overlap, finds it.
//   - sort=saleID (the default): a sale keeps its place; changed after its page was read, it
//     is not listed again in that walk.
//   - sort=completeTime: a sale whose completeTime moved is listed at its new place, so one
//     moved behind the cursor is missed by that walk and one moved ahead of it is listed twice.
//
// K-Series:
//
//   - A late receipt: [Server.AddReceipt] with a timeClosed days ago is a receipt of a device
//     that was offline and syncs now. It appears with its original timeClosed (the v2 sales
//     endpoint filters and orders on timeClosed only, and an offline device keeps its
//     receipts' times when it syncs: the LiteServer article), filed in timeClosed order, and
//     no field says when it synced. From now on every read whose from/to covers its
//     timeClosed finds it; a read already paging past its place when it arrives does not (the
//     nextPageToken is the last sale's timeClosed), the next read does. sales-daily of its
//     business day includes it too, although that day's dataComplete (the business day has
//     ended) was true before: it does not promise that every device has synced.
//   - [Server.AddDevice] adds a device to a location (id: one above the location's highest).
//   - [Server.ChangeReceipt] changes a stored receipt in place (cancelled, timeClosed): a test's
//     tool for "the day's data changed". The v2 docs say back-office modifications (a payment
//     method changed, a cancel) appear on the date they were made, not on the receipt's; they
//     do not document the shape of that record, so the simulator does not invent one.
//
// # Generated data
//
// [DataOptions] sets accounts (ids from 100001), shops (cycling through [DefaultZones], which
// mix IANA and legacy US/* names), registers and a mean number of sales per register and day.
// Sales follow a daily curve with quiet nights, vary by weekday and month, and have 1–5 lines;
// some have line discounts (percent or amount), some a transaction discount; about 5 % are
// refunds of an earlier line (negative quantity, parentSaleLineID set), 3 % exchanges mixing
// both, 4 % voided, 2 % open, 1 % archived, and 1 % are edited days later. Some days have a
// sale in the first and last second, and every DST day has sales on both sides of the change.
//
// # K-Series (Lightspeed Restaurant)
//
// The facts come from shared/reference/lightspeed-api.md sections 3 and 9. The OAuth core
// (oauthServer) is product-neutral; the K-Series instance has its own grants over the
// businesses, so a token of one product is refused by the other. Faults, request counts and
// the clock work on the K-Series endpoints as on the R-Series ones. Choices where the
// reference is silent:
//
//   - OAuth: /oauth/authorize, /oauth/token and /oauth/revoke (RFC 7009; K-Series documents
//     no revocation endpoint, so this one is an assumption). The client authenticates with
//     HTTP Basic only: the Authorization Overview says the client id and secret "must be
//     base64 encoded and passed as the authorization header". Refresh tokens are single use:
//     the presented one dies at once and every refresh returns a new access token; the
//     previous access token stays valid until its own expiry, as a stateless JWT does.
//     Access tokens live 60 minutes and refresh tokens 14 days (RestaurantOptions).
//     The Financial API requires the financial-api scope (else 403 {"error"}); a missing,
//     expired or revoked token gets 401 with WWW-Authenticate and the Spring error body
//     {"timestamp","path","status","error","requestId"}, which 5xx answers also use.
//   - /f/data/businesses lists the token's businesses (those its consent covers, in id order)
//     in the Spring HATEOAS shape, paged by page (from 0) and size (default and maximum 1000).
//     A location of any of them is the token's; one of another business is 403.
//   - Sales: from <= timeClosed < to (from required; a missing or future to is now); from
//     after to, more than 365 days, a bad date, pageSize outside 1..100 (default 50), a bad
//     token or an unknown include are 400 {"error": ...}; another business's location is
//     403 and an unknown one 404. Sales come in (timeClosed, seq) order; the nextPageToken is
//     base64 of the last sale's timeClosed ("2006-01-02T15:04:05.000Z"), then '#' and its
//     sequence number so that sales closed in the same millisecond stay apart. Paging looks
//     ahead: the token is omitted as soon as nothing further matches, so n sales take
//     max(1, ceil(n/pageSize)) requests.
//   - sales-daily?date= returns one business day, from the location's DayStart local time
//     (default 05:30) to the next day's, unpaged, with nextStartOfDayAsIso8601 (local offset)
//     and dataComplete (the simulator's now is past that start).
//   - Money is a fixed-decimal string: 2 places, taxAmount 4, taxLines[].taxAmount 6,
//     quantity 3; ids and nbCovers are JSON numbers (nbCovers with a decimal, 2.0); timestamps
//     are UTC with milliseconds and a Z. A line's menu amount is quantity × price less the line
//     discount and its share of the account discount, to the cent. At a tax-inclusive
//     location (VAT: the European and Australian ones) that is totalNetAmountWithTax, and
//     without tax is it divided by 1 + rate, to the cent. At a tax-exclusive location (the US,
//     BusinessLocation.TaxExclusive) the menu amount is totalNetAmountWithoutTax and the tax,
//     rate × it to four decimals, comes on top; the docs reserve totalNetAmountWithTax for
//     tax-inclusive businesses and say nothing of its value elsewhere, so the simulator sends
//     the menu amount there (a client reading it as the gross misses the tax). Every line has
//     one taxLines entry (taxRate a multiplier, taxIncluded false at a tax-exclusive location). Refund and void lines have negative quantities and
//     amounts (the reference's assumption), with source.initialAccountId naming the sale.
//   - Rate limit (undocumented, an assumption): a token bucket per consent, which is per OAuth
//     client and covers all its businesses (RestaurantRateLimit, off by default; partners are
//     asked for at most a pace per token, not per business); a refused request gets 429 {"error"} with
//     Retry-After in whole seconds.
//
// The K-Series generator ([RestaurantDataOptions]) makes businesses (ids from 300001), each
// with locations (id = business × 1000 + n) cycling through [DefaultRestaurantZones] and
// devices (id = location × 100 + n). Receipts follow the R-Series daily curve with
// milliseconds, and include the day's first and last millisecond now and then and both sides
// of every DST change. Of the receipts, about 5 % are refunds of an earlier sale's line, 3 %
// voids (the sale cancelled plus a VOID receipt undoing it), 1 % cancelled sales, 2 % of a
// type that does not count (SPLIT, TRANSFER, UPDATE, RECALL, CANCEL, FLOAT, CROSS_BL) with
// amounts and covers; 70 % of sales are dine-in with 1–6 covers, some have line or account
// discounts, and some lines are sold by weight (fractional quantities).
//
// # Oracle
//
// [Server.Expected] computes, for an account, a register (or all), a range of local dates and
// a time zone, the metrics of every local clock hour from the simulator's own store, by
// DESIGN.md's R-Series definitions. [Server.ExpectedRestaurant] does the same for a K-Series
// location (its zone; a device or all) by the K-Series rules, Visitors included, over calendar
// days (not business days); its Gross sales and Returns include the tax at tax-exclusive
// locations too. Neither shares code with pkg/pos, pkg/aggregate or the clients.
package sim
