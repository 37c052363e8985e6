package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// This file serves the admin API under /admin/: plain JSON with typed values (not the
// Lightspeed quirks), for tests, the demo and operators.

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/accounts", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Accounts())
	})
	mux.HandleFunc("GET /admin/accounts/{accountID}/sales", s.adminListSales)
	mux.HandleFunc("POST /admin/accounts/{accountID}/sales", s.adminAddSale)
	mux.HandleFunc("PATCH /admin/accounts/{accountID}/sales/{saleID}", s.adminChangeSale)
	mux.HandleFunc("POST /admin/accounts/{accountID}/shops/{shopID}/registers", s.adminAddRegister)
	mux.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /admin/faults", s.adminAddFault)
	mux.HandleFunc("DELETE /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.RequestCounts())
	})
	mux.HandleFunc("DELETE /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /admin/oracle", s.adminOracle)
}

func adminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNotFound) {
		status = http.StatusNotFound
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func pathInt(r *http.Request, name string) (int64, error) {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return v, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New(name + " must be an RFC 3339 time")
	}
	return t, nil
}

func (s *Server) adminListSales(w http.ResponseWriter, r *http.Request) {
	acct, err := pathInt(r, "accountID")
	if err != nil {
		adminError(w, err)
		return
	}
	var f SaleFilter
	if v := r.URL.Query().Get("registerID"); v != "" {
		if f.RegisterID, err = strconv.ParseInt(v, 10, 64); err != nil {
			adminError(w, errors.New("registerID must be a number"))
			return
		}
	}
	if f.From, err = queryTime(r, "from"); err != nil {
		adminError(w, err)
		return
	}
	if f.Until, err = queryTime(r, "until"); err != nil {
		adminError(w, err)
		return
	}
	sales, err := s.Sales(acct, f)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sales)
}

func (s *Server) adminAddSale(w http.ResponseWriter, r *http.Request) {
	acct, err := pathInt(r, "accountID")
	if err != nil {
		adminError(w, err)
		return
	}
	var in SaleInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		adminError(w, errors.New("decode sale: "+err.Error()))
		return
	}
	sale, err := s.AddSale(acct, in)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sale)
}

func (s *Server) adminChangeSale(w http.ResponseWriter, r *http.Request) {
	acct, err := pathInt(r, "accountID")
	if err != nil {
		adminError(w, err)
		return
	}
	id, err := pathInt(r, "saleID")
	if err != nil {
		adminError(w, err)
		return
	}
	var ch SaleChange
	if err := json.NewDecoder(r.Body).Decode(&ch); err != nil {
		adminError(w, errors.New("decode change: "+err.Error()))
		return
	}
	sale, err := s.ChangeSale(acct, id, ch)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sale)
}

// RegisterInput names a register to add through POST /admin/accounts/{id}/shops/{shopID}/registers.
type RegisterInput struct {
	Name string `json:"name"`
}

func (s *Server) adminAddRegister(w http.ResponseWriter, r *http.Request) {
	acct, err := pathInt(r, "accountID")
	if err != nil {
		adminError(w, err)
		return
	}
	shop, err := pathInt(r, "shopID")
	if err != nil {
		adminError(w, err)
		return
	}
	var in RegisterInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		adminError(w, errors.New("decode register: "+err.Error()))
		return
	}
	reg, err := s.AddRegister(acct, shop, in.Name)
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, reg)
}

func (s *Server) adminAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		adminError(w, errors.New("decode fault: "+err.Error()))
		return
	}
	if err := s.InjectFault(f); err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

// adminOracle answers GET /admin/oracle?account=&register=&from=&until=&zone=.
func (s *Server) adminOracle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	acct, err := strconv.ParseInt(q.Get("account"), 10, 64)
	if err != nil {
		adminError(w, errors.New("account must be a number"))
		return
	}
	reg := int64(0)
	if v := q.Get("register"); v != "" {
		if reg, err = strconv.ParseInt(v, 10, 64); err != nil {
			adminError(w, errors.New("register must be a number"))
			return
		}
	}
	until := q.Get("until")
	if until == "" {
		until = q.Get("from")
	}
	days, err := s.Expected(OracleQuery{AccountID: acct, RegisterID: reg, From: q.Get("from"), Until: until, Zone: q.Get("zone")})
	if err != nil {
		adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, days)
}
