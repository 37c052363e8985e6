// Package callback serves the OAuth redirect URI: the browser arrives from the POS's consent
// page with a code and the state, and leaves to the main app's return URL with the outcome.
// The return URL comes from configuration only, so the callback cannot be used to redirect
// anywhere else.
package callback

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/posimport/posimport/services/auth/internal/connection"
)

// Completer completes a consent from the callback's query.
type Completer interface {
	Complete(ctx context.Context, q url.Values) connection.Result
}

// Handler is the callback route.
type Handler struct {
	c         Completer
	returnURL *url.URL
}

// New returns the handler; returnURL receives client_id, result (connected, enabled or error)
// and, on error, reason.
func New(c Completer, returnURL *url.URL) *Handler { return &Handler{c: c, returnURL: returnURL} }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	res := h.c.Complete(r.Context(), r.URL.Query())
	u := *h.returnURL
	q := u.Query()
	if res.ClientID != "" {
		q.Set("client_id", res.ClientID)
	}
	if res.Reason != "" {
		q.Set("result", "error")
		q.Set("reason", res.Reason)
	} else {
		q.Set("result", strings.ToLower(strings.TrimPrefix(res.Status.String(), "CONNECTION_STATUS_")))
	}
	u.RawQuery = q.Encode()
	// The callback URL holds the code and the state: no cache keeps it, no Referer carries it.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
