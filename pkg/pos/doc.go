// Package pos is the seam between posimport and the point-of-sale systems it imports from.
//
// It names the eight weekly-balance metrics ([DataType]), carries one sale's contribution to them
// ([SaleFigures]) and describes what a provider must offer ([Source]): its locations and
// registers, and a stream of the counted sales of a location in a UTC time range. The package is
// product-neutral on purpose: Lightspeed Retail (R-Series) implements it in
// pkg/lightspeed/retail, and Lightspeed Restaurant (K-Series, business locations and devices)
// in pkg/lightspeed/restaurant. How a product's sale becomes [SaleFigures] (which lines count
// as returns, where discounts come from) is the provider's business and lives in the provider's
// package, next to the wire format it interprets.
//
// Every provider returns the same error types (errors.go), so that callers classify failures
// once, and paces its requests through a [Limiter] that the caller may share between processes
// (one budget per POS account or token). A query without RegisterIDs streams a whole location,
// each sale with its register; a malformed sale that can still be attributed to its register
// and time is a [*SaleError], which [SalesQuery.OnSaleError] lets a caller confine to that
// register's day while the rest of the location streams on.
//
// A provider whose POS lists sales by the time they last changed also implements
// [ChangeSource]: one listing, over every location of the account, of the sales created or
// changed since a watermark ([Change]), which is how late syncs, moved completion times and
// voids after the fact are found whatever the age of the day they belong to.
package pos
