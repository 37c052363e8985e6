package configservice_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/config/configservice"
)

// FuzzREST sends arbitrary requests to every REST route of the config service, through the
// gateway and the interceptors, as a supervisor of c1 or a viewer: any method, any ids in the
// path (escaped), any body. The service never answers 5xx, a refused request (any status but
// 200) changes nothing in the database, and a GET never changes anything.
func FuzzREST(f *testing.F) {
	b := setup(f)
	tokens := []string{b.keys.Token(f, authn.RoleSupervisor, "c1"), b.keys.Token(f, authn.RoleViewer, "c1"), ""}
	routes := []string{"/v1/clients/%c/settings", "/v1/clients", "/v1/clients/%c/departments", "/v1/clients/%c/departments/%d",
		"/v1/clients/%c/fields", "/v1/clients/%c/fields/%d", "/v1/clients/%c/config"}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch}
	f.Add(uint8(1), uint8(0), "c1", "", `{"multi_cash_registers":true,"pos_import_enabled":true,"pos_provider":"POS_PROVIDER_LIGHTSPEED_RETAIL","time_zone":"Europe/Copenhagen"}`, uint8(0))
	f.Add(uint8(1), uint8(3), "c1", "d1", `{"name":"Shop","pos_client_number":"1","pos_terminal_numbers":["1","2"],"time_zone":"America/New_York"}`, uint8(0))
	f.Add(uint8(1), uint8(5), "c1", "5266", `{"name":"Gross","pos_data_type":"POS_DATA_TYPE_GROSS_SALES","split_into_intervals":true}`, uint8(0))
	f.Add(uint8(1), uint8(5), "c1", "-1", `{"name":"","pos_data_type":99}`, uint8(0))
	f.Add(uint8(1), uint8(3), "c1", "d 1", `{"pos_terminal_numbers":[""],"time_zone":"Mars/Olympus"}`, uint8(0))
	f.Add(uint8(1), uint8(0), "c2", "", `{"settings":`, uint8(0))
	f.Add(uint8(2), uint8(3), "c1", "d1", "", uint8(1))
	f.Add(uint8(0), uint8(1), "", "", "", uint8(2))
	f.Add(uint8(1), uint8(5), "c1", "99999999999999999999", `{"split_into_intervals":"yes"}`, uint8(0))
	f.Fuzz(func(t *testing.T, method, route uint8, client, id, body string, token uint8) {
		m := methods[int(method)%len(methods)]
		path := ""
		for _, r := range routes[int(route)%len(routes)] {
			path += string(r)
		}
		path = expand(path, map[string]string{"%c": url.PathEscape(client), "%d": url.PathEscape(id)})
		before := pgtest.Snapshot(t, b.pool, configservice.Schema)
		var payload any
		if body != "" {
			payload = body
		}
		r := b.svc.Do(t, m, path, tokens[int(token)%len(tokens)], payload)
		if r.Status >= 500 {
			t.Fatalf("%s %s %q: %d %s", m, path, body, r.Status, r.Body)
		}
		if r.Status == http.StatusBadRequest && (r.Field() == "" || r.Message() == "") {
			t.Fatalf("%s %s %q: a 400 without the field at fault: %s", m, path, body, r.Body)
		}
		if r.Status != http.StatusOK || m == http.MethodGet {
			if after := pgtest.Snapshot(t, b.pool, configservice.Schema); after != before {
				t.Fatalf("%s %s %q answered %d and changed the database", m, path, body, r.Status)
			}
		}
	})
}

// expand replaces each key of vars in s by its value.
func expand(s string, vars map[string]string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && s[i] == '%' {
			if v, ok := vars[s[i:i+2]]; ok {
				out += v
				i++
				continue
			}
		}
		out += string(s[i])
	}
	return out
}
