package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// kstore holds the K-Series businesses and receipts. Receipts are kept per location in
// (timeClosed, seq) order, the order the sales endpoint pages in.
type kstore struct {
	mu         sync.RWMutex
	businesses []*Business
	byID       map[int64]*Business
	locations  map[int64]*locationData
	seq        int64
}

type locationData struct {
	business *Business
	loc      *BusinessLocation
	zone     *time.Location
	devices  map[int64]*Device
	receipts []*Receipt
	byFisc   map[string]*Receipt
	bySeq    map[int64]*Receipt
	nextAcct int64
	nextLine int64
}

func newKStore() *kstore {
	return &kstore{byID: map[int64]*Business{}, locations: map[int64]*locationData{}}
}

func (k *kstore) addBusiness(b *Business) error {
	k.businesses = append(k.businesses, b)
	k.byID[b.ID] = b
	for i := range b.Locations {
		l := &b.Locations[i]
		zone, err := time.LoadLocation(l.TimeZone)
		if err != nil {
			return fmt.Errorf("location %d zone: %w", l.ID, err)
		}
		ld := &locationData{business: b, loc: l, zone: zone, devices: map[int64]*Device{},
			byFisc: map[string]*Receipt{}, bySeq: map[int64]*Receipt{}, nextAcct: 1, nextLine: 1}
		for j := range l.Devices {
			ld.devices[l.Devices[j].ID] = &l.Devices[j]
		}
		k.locations[l.ID] = ld
	}
	return nil
}

// location returns a location of business (0: any business).
func (k *kstore) location(business, id int64) (*locationData, error) {
	ld, ok := k.locations[id]
	if !ok || (business != 0 && ld.business.ID != business) {
		return nil, fmt.Errorf("business location %d: %w", id, ErrNotFound)
	}
	return ld, nil
}

// build validates in against the location and computes the receipt; ids are given on insert.
func (ld *locationData) build(in ReceiptInput) (*Receipt, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if _, ok := ld.devices[in.DeviceID]; !ok {
		return nil, fmt.Errorf("device %d of location %d: %w", in.DeviceID, ld.loc.ID, ErrNotFound)
	}
	rate := ld.loc.TaxRate
	if in.TaxRate != nil {
		rate = *in.TaxRate
	}
	closed := in.TimeClosed.UTC().Truncate(time.Millisecond)
	r := &Receipt{
		BusinessID: ld.business.ID, LocationID: ld.loc.ID, DeviceID: in.DeviceID, Type: in.Type,
		Cancelled: in.Cancelled, NbCovers: in.NbCovers, DineIn: in.DineIn, StaffID: in.StaffID,
		TimeOfOpening: closed.Add(-20 * time.Minute), TimeClosed: closed, InitialAccountID: in.InitialAccountID,
	}
	for _, l := range in.Lines {
		r.Lines = append(r.Lines, computeReceiptLine(l, in.AccountDiscountPercent, rate, ld.loc.TaxExclusive))
	}
	return r, nil
}

// insert gives r its ids and files it in (timeClosed, seq) order; the caller holds the write
// lock. Receipts arriving in time order append at the end.
func (k *kstore) insert(ld *locationData, r *Receipt) {
	k.seq++
	r.Seq = k.seq
	n := ld.nextAcct
	ld.nextAcct++
	r.AccountFiscID = "A" + strconv.FormatInt(ld.loc.ID, 10) + "." + strconv.FormatInt(n, 10)
	r.ReceiptID = "R" + strconv.FormatInt(ld.loc.ID, 10) + "." + strconv.FormatInt(n, 10)
	sum := sha256.Sum256([]byte(r.AccountFiscID))
	r.AccountReference = base64.StdEncoding.EncodeToString(sum[:16])
	for i := range r.Lines {
		r.Lines[i].ID = "S" + strconv.FormatInt(ld.loc.ID, 10) + "." + strconv.FormatInt(ld.nextLine, 10)
		ld.nextLine++
	}
	i := sort.Search(len(ld.receipts), func(i int) bool { return receiptAfter(ld.receipts[i], r) })
	ld.receipts = append(ld.receipts, nil)
	copy(ld.receipts[i+1:], ld.receipts[i:])
	ld.receipts[i] = r
	ld.byFisc[r.AccountFiscID] = r
	ld.bySeq[r.Seq] = r
}

// receiptAfter reports whether a sorts after b in the paging order.
func receiptAfter(a, b *Receipt) bool {
	if c := a.TimeClosed.Compare(b.TimeClosed); c != 0 {
		return c > 0
	}
	return a.Seq > b.Seq
}

func (k *kstore) addReceipt(businessID int64, in ReceiptInput) (Receipt, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.byID[businessID]; !ok {
		return Receipt{}, fmt.Errorf("business %d: %w", businessID, ErrNotFound)
	}
	ld, err := k.location(businessID, in.LocationID)
	if err != nil {
		return Receipt{}, err
	}
	r, err := ld.build(in)
	if err != nil {
		return Receipt{}, err
	}
	k.insert(ld, r)
	return cloneReceipt(r), nil
}

// changeReceipt applies a back-office change; a new timeClosed moves the receipt in the order.
func (k *kstore) changeReceipt(businessID, seq int64, ch ReceiptChange) (Receipt, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ld := range k.locations {
		r, ok := ld.bySeq[seq]
		if !ok || ld.business.ID != businessID {
			continue
		}
		if ch.Cancelled != nil {
			r.Cancelled = *ch.Cancelled
		}
		if ch.TimeClosed != nil {
			i := sort.Search(len(ld.receipts), func(i int) bool { return !receiptAfter(r, ld.receipts[i]) })
			ld.receipts = append(ld.receipts[:i], ld.receipts[i+1:]...)
			r.TimeClosed = ch.TimeClosed.UTC().Truncate(time.Millisecond)
			j := sort.Search(len(ld.receipts), func(i int) bool { return receiptAfter(ld.receipts[i], r) })
			ld.receipts = append(ld.receipts, nil)
			copy(ld.receipts[j+1:], ld.receipts[j:])
			ld.receipts[j] = r
		}
		return cloneReceipt(r), nil
	}
	return Receipt{}, fmt.Errorf("receipt %d of business %d: %w", seq, businessID, ErrNotFound)
}

// addDevice adds a device to a location of a business. The location's device list is copied,
// not changed in place: [Server.Businesses] hands out the old one.
func (k *kstore) addDevice(businessID, locationID int64, name string) (Device, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ld, err := k.location(businessID, locationID)
	if err != nil {
		return Device{}, err
	}
	id := ld.loc.ID*100 + 1
	for did := range ld.devices {
		id = max(id, did+1)
	}
	if name == "" {
		name = fmt.Sprintf("iPad %d", len(ld.loc.Devices)+1)
	}
	dev := Device{ID: id, Name: name}
	ld.loc.Devices = append(slices.Clone(ld.loc.Devices), dev)
	clear(ld.devices)
	for i := range ld.loc.Devices {
		ld.devices[ld.loc.Devices[i].ID] = &ld.loc.Devices[i]
	}
	return dev, nil
}

// ReceiptFilter selects receipts for [Server.Receipts]; zero fields match everything.
type ReceiptFilter struct {
	LocationID int64
	DeviceID   int64
	// From and Until bound timeClosed: From <= timeClosed < Until.
	From, Until time.Time
}

func (k *kstore) listReceipts(businessID int64, f ReceiptFilter) ([]Receipt, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	b, ok := k.byID[businessID]
	if !ok {
		return nil, fmt.Errorf("business %d: %w", businessID, ErrNotFound)
	}
	var out []Receipt
	for _, l := range b.Locations {
		if f.LocationID != 0 && l.ID != f.LocationID {
			continue
		}
		for _, r := range k.locations[l.ID].receipts {
			if (f.DeviceID != 0 && r.DeviceID != f.DeviceID) || (!f.From.IsZero() && r.TimeClosed.Before(f.From)) ||
				(!f.Until.IsZero() && !r.TimeClosed.Before(f.Until)) {
				continue
			}
			out = append(out, cloneReceipt(r))
		}
	}
	return out, nil
}

func cloneReceipt(r *Receipt) Receipt {
	c := *r
	c.Lines = append([]ReceiptLine(nil), r.Lines...)
	return c
}

func (k *kstore) businessList() []Business {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]Business, len(k.businesses))
	for i, b := range k.businesses {
		out[i] = *b
		out[i].Locations = append([]BusinessLocation(nil), b.Locations...)
	}
	return out
}

func (k *kstore) consentAccounts() []consentAccount {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]consentAccount, len(k.businesses))
	for i, b := range k.businesses {
		out[i] = consentAccount{ID: b.ID, Name: b.Name}
	}
	return out
}

// decimalCovers renders covers the way the API does: a JSON number with a decimal, "2.0".
func decimalCovers(d decimal.Decimal) string {
	if d.IsInteger() {
		return d.StringFixed(1)
	}
	return d.String()
}
