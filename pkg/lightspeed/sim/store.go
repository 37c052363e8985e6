package sim

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNotFound is wrapped by store operations on an account, shop, register or sale that does
// not exist.
var ErrNotFound = errors.New("not found")

// store holds the simulator's accounts and sales. Sales are kept per account in saleID order,
// which is also the order they were created in, so the default saleID paging is a binary search
// and a scan.
type store struct {
	mu       sync.RWMutex
	accounts []*accountData
	byID     map[int64]*accountData
}

type accountData struct {
	Account
	sales     []*Sale
	saleByID  map[int64]*Sale
	shopByID  map[int64]*Shop
	regByID   map[int64]*Register
	nextSale  int64
	nextLine  int64
	registerN int
}

func newStore() *store { return &store{byID: map[int64]*accountData{}} }

func (s *store) addAccount(a Account) *accountData {
	ad := &accountData{
		Account:  a,
		saleByID: map[int64]*Sale{},
		shopByID: map[int64]*Shop{},
		regByID:  map[int64]*Register{},
		nextSale: 1,
		nextLine: 1,
	}
	ad.index()
	s.accounts = append(s.accounts, ad)
	s.byID[a.ID] = ad
	return ad
}

// index points the lookups at the account's shops and registers and counts the registers.
func (a *accountData) index() {
	clear(a.shopByID)
	clear(a.regByID)
	for i := range a.Shops {
		sh := &a.Shops[i]
		a.shopByID[sh.ID] = sh
		for j := range sh.Registers {
			a.regByID[sh.Registers[j].ID] = &sh.Registers[j]
		}
	}
	a.registerN = a.Account.Registers()
}

func (s *store) account(id int64) (*accountData, error) {
	a, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("account %d: %w", id, ErrNotFound)
	}
	return a, nil
}

// insert gives the sale and its lines their ids and appends it. The caller holds the write lock.
func (a *accountData) insert(sale *Sale) {
	sale.ID = a.nextSale
	a.nextSale++
	sale.AccountID = a.ID
	for i := range sale.Lines {
		sale.Lines[i].ID = a.nextLine
		a.nextLine++
	}
	a.sales = append(a.sales, sale)
	a.saleByID[sale.ID] = sale
}

// buildSale validates in against the account and computes the sale's lines.
func (a *accountData) buildSale(in SaleInput, now time.Time) (*Sale, error) {
	reg, ok := a.regByID[in.RegisterID]
	if !ok {
		return nil, fmt.Errorf("register %d of account %d: %w", in.RegisterID, a.ID, ErrNotFound)
	}
	if in.ShopID != 0 && in.ShopID != reg.ShopID {
		return nil, fmt.Errorf("register %d belongs to shop %d, not %d", reg.ID, reg.ShopID, in.ShopID)
	}
	if in.Completed != !in.CompleteTime.IsZero() {
		return nil, errors.New("a completed sale needs a completeTime, an open one must not have one")
	}
	shop := a.shopByID[reg.ShopID]
	t1, t2 := shop.Tax1Rate, shop.Tax2Rate
	if in.Tax1Rate != nil {
		t1 = *in.Tax1Rate
	}
	if in.Tax2Rate != nil {
		t2 = *in.Tax2Rate
	}
	for i, l := range in.Lines {
		if !l.DiscountAmount.IsZero() && !l.DiscountPercent.IsZero() {
			return nil, fmt.Errorf("line %d: discountAmount and discountPercent are exclusive", i)
		}
		if l.UnitPrice.IsNegative() && l.UnitQuantity.IsNegative() {
			return nil, fmt.Errorf("line %d: a refund has a negative quantity, not a negative price", i)
		}
	}
	created := in.CompleteTime
	if created.IsZero() {
		created = now
	}
	sale := &Sale{
		ShopID:          reg.ShopID,
		RegisterID:      reg.ID,
		EmployeeID:      in.EmployeeID,
		Completed:       in.Completed,
		Voided:          in.Voided,
		Archived:        in.Archived,
		TaxInclusive:    shop.TaxIncl,
		CreateTime:      created.UTC().Truncate(time.Second),
		CompleteTime:    in.CompleteTime.UTC().Truncate(time.Second),
		TimeStamp:       now.UTC().Truncate(time.Second),
		Tax1Rate:        t1,
		Tax2Rate:        t2,
		DiscountPercent: in.DiscountPercent,
	}
	for _, l := range in.Lines {
		sale.Lines = append(sale.Lines, computeLine(l, in.DiscountPercent, t1, t2))
	}
	return sale, nil
}

func (s *store) addSale(accountID int64, in SaleInput, now time.Time) (Sale, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(accountID)
	if err != nil {
		return Sale{}, err
	}
	sale, err := a.buildSale(in, now)
	if err != nil {
		return Sale{}, err
	}
	a.insert(sale)
	return cloneSale(sale), nil
}

func (s *store) changeSale(accountID, saleID int64, ch SaleChange, now time.Time) (Sale, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(accountID)
	if err != nil {
		return Sale{}, err
	}
	sale, ok := a.saleByID[saleID]
	if !ok {
		return Sale{}, fmt.Errorf("sale %d of account %d: %w", saleID, accountID, ErrNotFound)
	}
	if ch.CompleteTime != nil {
		sale.CompleteTime = ch.CompleteTime.UTC().Truncate(time.Second)
	}
	if ch.Completed != nil {
		sale.Completed = *ch.Completed
		if sale.Completed && sale.CompleteTime.IsZero() {
			sale.CompleteTime = now.UTC().Truncate(time.Second)
		}
	}
	if ch.Voided != nil {
		sale.Voided = *ch.Voided
	}
	if ch.Archived != nil {
		sale.Archived = *ch.Archived
	}
	sale.TimeStamp = now.UTC().Truncate(time.Second)
	return cloneSale(sale), nil
}

// addRegister adds a register to a shop. The shops and their register lists are copied, not
// changed in place: listings and [Server.Accounts] hand out the old ones without the lock.
func (s *store) addRegister(accountID, shopID int64, name string, now time.Time) (Register, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(accountID)
	if err != nil {
		return Register{}, err
	}
	shop, ok := a.shopByID[shopID]
	if !ok {
		return Register{}, fmt.Errorf("shop %d of account %d: %w", shopID, accountID, ErrNotFound)
	}
	id := int64(1)
	for rid := range a.regByID {
		id = max(id, rid+1)
	}
	if name == "" {
		name = fmt.Sprintf("Register %d", len(shop.Registers)+1)
	}
	reg := Register{ID: id, ShopID: shopID, Name: name, TimeStamp: now.UTC().Truncate(time.Second)}
	shops := slices.Clone(a.Shops)
	for i := range shops {
		if shops[i].ID == shopID {
			shops[i].Registers = append(slices.Clone(shops[i].Registers), reg)
		}
	}
	a.Shops = shops
	a.index()
	return reg, nil
}

// SaleFilter selects sales for [Server.Sales]; zero fields match everything.
type SaleFilter struct {
	RegisterID int64
	// From and Until bound completeTime: From <= completeTime < Until.
	From, Until time.Time
}

func (s *store) listSales(accountID int64, f SaleFilter) ([]Sale, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.account(accountID)
	if err != nil {
		return nil, err
	}
	var out []Sale
	for _, sale := range a.sales {
		if f.RegisterID != 0 && sale.RegisterID != f.RegisterID {
			continue
		}
		if !f.From.IsZero() && sale.CompleteTime.Before(f.From) {
			continue
		}
		if !f.Until.IsZero() && !sale.CompleteTime.Before(f.Until) {
			continue
		}
		out = append(out, cloneSale(sale))
	}
	return out, nil
}

func cloneSale(s *Sale) Sale {
	c := *s
	c.Lines = append([]SaleLine(nil), s.Lines...)
	return c
}

// consentAccounts lists the accounts for the OAuth consent.
func (s *store) consentAccounts() []consentAccount {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]consentAccount, len(s.accounts))
	for i, a := range s.accounts {
		out[i] = consentAccount{ID: a.ID, Name: a.Name}
	}
	return out
}

func (s *store) accountList() []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a.Account)
	}
	return out
}
