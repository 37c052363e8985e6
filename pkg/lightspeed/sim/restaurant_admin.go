package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// This file is the K-Series part of the admin API and its Go methods, and the K-Series oracle.

func (s *Server) restaurantAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/businesses", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Businesses())
	})
	mux.HandleFunc("GET /admin/businesses/{businessID}/receipts", s.adminListReceipts)
	mux.HandleFunc("POST /admin/businesses/{businessID}/receipts", s.adminAddReceipt)
	mux.HandleFunc("PATCH /admin/businesses/{businessID}/receipts/{seq}", s.adminChangeReceipt)
	mux.HandleFunc("POST /admin/businesses/{businessID}/locations/{locationID}/devices", s.adminAddDevice)
	mux.HandleFunc("GET /admin/restaurant-oracle", s.adminRestaurantOracle)
}

// Businesses lists the K-Series businesses with their locations and devices.
func (s *Server) Businesses() []Business { return s.rest.store.businessList() }

// AddReceipt stores a new K-Series receipt of a business and returns it with its ids and
// amounts.
func (s *Server) AddReceipt(businessID int64, in ReceiptInput) (Receipt, error) {
	return s.rest.store.addReceipt(businessID, in)
}

// ChangeReceipt applies a back-office change (cancel, a new timeClosed) to a stored receipt,
// found by its Seq.
func (s *Server) ChangeReceipt(businessID, seq int64, ch ReceiptChange) (Receipt, error) {
	return s.rest.store.changeReceipt(businessID, seq, ch)
}

// AddDevice adds a device (a POS iPad) to a location of a business and returns it (an empty
// name becomes "iPad n"). Give it receipts with [Server.AddReceipt].
func (s *Server) AddDevice(businessID, locationID int64, name string) (Device, error) {
	return s.rest.store.addDevice(businessID, locationID, name)
}

// Receipts lists a business's stored receipts matching f, per location in paging order,
// whatever their type.
func (s *Server) Receipts(businessID int64, f ReceiptFilter) ([]Receipt, error) {
	return s.rest.store.listReceipts(businessID, f)
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return n, nil
}

func (s *Server) adminListReceipts(w http.ResponseWriter, r *http.Request) {
	var f ReceiptFilter
	biz, err := pathInt(r, "businessID")
	if err == nil {
		f.LocationID, err = queryInt(r, "locationID")
	}
	if err == nil {
		f.DeviceID, err = queryInt(r, "deviceID")
	}
	if err == nil {
		f.From, err = queryTime(r, "from")
	}
	if err == nil {
		f.Until, err = queryTime(r, "until")
	}
	if err != nil {
		adminError(w, err)
		return
	}
	rs, err := s.Receipts(biz, f)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

// DeviceInput names a device to add through POST /admin/businesses/{id}/locations/{locationID}/devices.
type DeviceInput struct {
	Name string `json:"deviceName"`
}

func (s *Server) adminAddDevice(w http.ResponseWriter, r *http.Request) {
	biz, err := pathInt(r, "businessID")
	if err != nil {
		adminError(w, err)
		return
	}
	loc, err := pathInt(r, "locationID")
	if err != nil {
		adminError(w, err)
		return
	}
	var in DeviceInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		adminError(w, errors.New("decode device: "+err.Error()))
		return
	}
	dev, err := s.AddDevice(biz, loc, in.Name)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, dev)
}

func (s *Server) adminAddReceipt(w http.ResponseWriter, r *http.Request) {
	biz, err := pathInt(r, "businessID")
	if err != nil {
		adminError(w, err)
		return
	}
	var in ReceiptInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		adminError(w, errors.New("decode receipt: "+err.Error()))
		return
	}
	rc, err := s.AddReceipt(biz, in)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rc)
}

func (s *Server) adminChangeReceipt(w http.ResponseWriter, r *http.Request) {
	biz, err := pathInt(r, "businessID")
	if err != nil {
		adminError(w, err)
		return
	}
	seq, err := pathInt(r, "seq")
	if err != nil {
		adminError(w, err)
		return
	}
	var ch ReceiptChange
	if err := json.NewDecoder(r.Body).Decode(&ch); err != nil {
		adminError(w, errors.New("decode change: "+err.Error()))
		return
	}
	rc, err := s.ChangeReceipt(biz, seq, ch)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

// adminRestaurantOracle answers GET /admin/restaurant-oracle?business=&location=&device=&from=&until=.
func (s *Server) adminRestaurantOracle(w http.ResponseWriter, r *http.Request) {
	var q RestaurantOracleQuery
	var err error
	q.BusinessID, err = queryInt(r, "business")
	if err == nil {
		q.LocationID, err = queryInt(r, "location")
	}
	if err == nil {
		q.DeviceID, err = queryInt(r, "device")
	}
	if err != nil {
		adminError(w, err)
		return
	}
	q.From, q.Until = r.URL.Query().Get("from"), r.URL.Query().Get("until")
	if q.Until == "" {
		q.Until = q.From
	}
	days, err := s.ExpectedRestaurant(q)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, days)
}

// RestaurantOracleQuery names what [Server.ExpectedRestaurant] computes.
type RestaurantOracleQuery struct {
	BusinessID int64
	LocationID int64
	// DeviceID selects one device; 0 takes every device of the location.
	DeviceID int64
	// From and Until are the first and last local dates in the location's zone, as 2006-01-02.
	From, Until string
}

// ExpectedRestaurant computes, from the simulator's own store, the metrics of every local clock
// hour of a location's dates (calendar days in its zone, not business days), by the K-Series
// rules: receipts count when not cancelled and of type SALE or REFUND, by timeClosed; a REFUND
// line or a line with a negative quantity is a return (its amounts and quantity taken as
// absolute values), any other line a sale; Transactions and Visitors (Σ nbCovers) come from
// SALE receipts only. Gross sales and Returns include the tax everywhere: at a tax-exclusive
// location the line's amount without tax plus its tax.
func (s *Server) ExpectedRestaurant(q RestaurantOracleQuery) ([]ExpectedDay, error) {
	k := s.rest.store
	k.mu.RLock()
	defer k.mu.RUnlock()
	ld, err := k.location(q.BusinessID, q.LocationID)
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	days, index, err := oracleHours(q.From, q.Until, ld.zone)
	if err != nil {
		return nil, err
	}
	for _, rc := range ld.receipts {
		if rc.Cancelled || (rc.Type != ReceiptSale && rc.Type != ReceiptRefund) || (q.DeviceID != 0 && rc.DeviceID != q.DeviceID) {
			continue
		}
		local := rc.TimeClosed.In(ld.zone)
		h, ok := index[local.Format(time.DateOnly)+" "+clockLabel(local)]
		if !ok {
			continue // another date
		}
		for _, l := range rc.Lines {
			withTax := l.TotalNetAmountWithTax
			if l.TaxExclusive { // the tax comes on top of the menu amount
				withTax = l.TotalNetAmountWithoutTax.Add(l.TaxAmount)
			}
			if rc.Type == ReceiptRefund || l.Quantity.IsNegative() {
				h.Returns = h.Returns.Add(withTax.Abs())
				h.GoodsReturned = h.GoodsReturned.Add(l.Quantity.Abs())
				h.NetSales = h.NetSales.Sub(l.TotalNetAmountWithoutTax.Abs())
				continue
			}
			h.GrossSales = h.GrossSales.Add(withTax)
			h.NetSales = h.NetSales.Add(l.TotalNetAmountWithoutTax)
			h.Discounts = h.Discounts.Add(l.TotalDiscountAmount)
			h.GoodsSold = h.GoodsSold.Add(l.Quantity)
		}
		if rc.Type == ReceiptSale {
			h.Transactions = h.Transactions.Add(decimal.NewFromInt(1))
			h.Visitors = h.Visitors.Add(rc.NbCovers)
		}
	}
	return days, nil
}
