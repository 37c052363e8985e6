package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/oraclecheck"
)

// testFields are the fields the tests map: every data type, some per hour.
var testFields = []struct {
	id, typ string
	hourly  bool
}{
	{"5001", "gross_sales", true}, {"5002", "net_sales", true}, {"5003", "discounts", false}, {"5004", "returns", true},
	{"5005", "transactions", true}, {"5006", "goods_sold", false}, {"5007", "goods_returned", false}, {"5008", "visitors", true},
}

// simShops reads the simulated account's shops from the simulator's admin API.
func simShops(t *testing.T, simURL string) sim.Account {
	t.Helper()
	var accounts []sim.Account
	if getJSON(t, simURL+"/admin/accounts", &accounts); len(accounts) != 1 {
		t.Fatalf("accounts: %v", accounts)
	}
	return accounts[0]
}

// simBusiness reads the simulated Lightspeed Restaurant business from the simulator's admin API.
func simBusiness(t *testing.T, simURL string) sim.Business {
	t.Helper()
	var businesses []sim.Business
	if getJSON(t, simURL+"/admin/businesses", &businesses); len(businesses) != 1 || len(businesses[0].Locations) == 0 {
		t.Fatalf("businesses: %v", businesses)
	}
	return businesses[0]
}

// getJSON decodes the JSON answer of a GET into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// configureClient sets a client up through the CLI: settings, a department per shop (the
// first register by register, the second as one unit) and the fields.
func configureClient(t *testing.T, b *upBundle, client string, acct sim.Account) {
	t.Helper()
	out := b.must(t, "config", "settings", "set", "--client", client, "--multi-cash-registers", "--pos-import-enabled",
		"--provider", "retail", "--auto-confirm", "--confirm-time", "05:30", "--time-zone", "Europe/Copenhagen")
	for _, want := range []string{`POS provider\s+retail`, `confirm time\s+05:30`, `time zone\s+Europe/Copenhagen`, `multi cash registers\s+true`,
		`intraday refresh\s+off`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("settings set: no %s in\n%s", want, out)
		}
	}
	var regs []string
	for _, r := range acct.Shops[0].Registers {
		regs = append(regs, strconv.FormatInt(r.ID, 10))
	}
	b.must(t, "config", "departments", "set", "d1", "--client", client, "--name", "Vesterbro", "--pos-client-number",
		strconv.FormatInt(acct.Shops[0].ID, 10), "--terminals", strings.Join(regs, ","), "--time-zone", acct.Shops[0].TimeZone)
	b.must(t, "config", "departments", "set", "d2", "--client", client, "--name", "Brooklyn", "--pos-client-number",
		strconv.FormatInt(acct.Shops[1].ID, 10), "--time-zone", acct.Shops[1].TimeZone)
	for _, f := range testFields {
		args := []string{"config", "fields", "set", f.id, "--client", client, "--name", f.typ, "--type", f.typ}
		if f.hourly {
			args = append(args, "--hourly")
		}
		b.must(t, args...)
	}
}

// TestCLIAgainstUp drives every command against posimport up as an operator would: configure
// a client, connect it through the simulator's consent, enable it, import with a watched
// progress bar, list, cancel, and read the balance as tables and JSON, whose every figure
// must be the simulator's oracle's.
func TestCLIAgainstUp(t *testing.T) {
	t.Parallel()
	b := startUp(t)
	acct := simShops(t, b.simURL)
	configureClient(t, b, "acme", acct)

	// Changing one setting keeps the others.
	out := b.must(t, "config", "settings", "set", "--client", "acme", "--confirm-time", "06:00")
	if !strings.Contains(out, "06:00") || !strings.Contains(out, "retail") {
		t.Errorf("settings set kept the rest? \n%s", out)
	}
	out = b.must(t, "config", "settings", "set", "--client", "acme", "--intraday-refresh", "30")
	if !regexp.MustCompile(`intraday refresh\s+every 30 minutes`).MatchString(out) || !strings.Contains(out, "06:00") {
		t.Errorf("settings set --intraday-refresh 30:\n%s", out)
	}
	out = b.must(t, "config", "settings", "get", "--client", "acme", "-o", "json")
	var settings posimportv1.GetClientSettingsResponse
	if err := protojson.Unmarshal([]byte(out), &settings); err != nil {
		t.Fatalf("settings json: %v\n%s", err, out)
	}
	if got := settings.GetSettings(); !got.GetMultiCashRegisters() || got.GetConfirmTime() != "06:00" || got.GetTimeZone() != "Europe/Copenhagen" ||
		got.GetIntradayRefreshMinutes() != 30 {
		t.Errorf("settings = %v", got)
	}
	out = b.must(t, "config", "departments", "list", "--client", "acme")
	if !regexp.MustCompile(`d1\s+Vesterbro\s+1\s+1,2\s+Europe/Copenhagen`).MatchString(out) || !regexp.MustCompile(`d2\s+Brooklyn\s+2\s+America/New_York`).MatchString(out) {
		t.Errorf("departments list:\n%s", out)
	}
	out = b.must(t, "config", "fields", "list", "--client", "acme")
	if !regexp.MustCompile(`5008\s+visitors\s+visitors\s+true`).MatchString(out) || !regexp.MustCompile(`5003\s+discounts\s+discounts\s+false`).MatchString(out) {
		t.Errorf("fields list:\n%s", out)
	}
	// A renamed field keeps its type.
	b.must(t, "config", "fields", "set", "5006", "--client", "acme", "--name", "Units sold")
	out = b.must(t, "config", "fields", "list", "--client", "acme")
	if !regexp.MustCompile(`5006\s+Units sold\s+goods_sold\s+false`).MatchString(out) {
		t.Errorf("fields list after rename:\n%s", out)
	}

	// Consent and enabling.
	if out := b.must(t, "auth", "status", "--client", "acme"); !strings.Contains(out, "not_connected") {
		t.Errorf("status before consent:\n%s", out)
	}
	out = b.must(t, "auth", "connect", "--client", "acme", "--follow")
	if !strings.Contains(out, "client acme is connected") || !regexp.MustCompile(`status\s+connected`).MatchString(out) ||
		!regexp.MustCompile(`POS account\s+100001`).MatchString(out) {
		t.Errorf("connect:\n%s", out)
	}
	// The status lists the account and its shops, which the departments were checked against.
	out = b.must(t, "auth", "status", "--client", "acme")
	for _, shop := range acct.Shops {
		if !regexp.MustCompile(`location ` + strconv.FormatInt(shop.ID, 10) + `\s+` + regexp.QuoteMeta(shop.Name+", "+shop.TimeZone)).MatchString(out) {
			t.Errorf("status: no shop %d (%s, %s) in\n%s", shop.ID, shop.Name, shop.TimeZone, out)
		}
	}
	if !regexp.MustCompile(`business 100001\s`).MatchString(out) {
		t.Errorf("status: no business 100001 in\n%s", out)
	}
	if out := b.must(t, "auth", "enable", "--client", "acme"); !strings.Contains(out, "client acme: enabled") {
		t.Errorf("enable:\n%s", out)
	}

	// An import of two weeks, watched to the end.
	until := civil.Today(time.Now(), time.UTC).AddDays(-2)
	from := until.AddDays(-13)
	out = b.must(t, "import", "start", "--client", "acme", "--from", from.String(), "--until", until.String(), "--watch")
	id := match(t, out, `import (\S+) queued`)
	for _, want := range []string{"succeeded", "100%  42 / 42 register-days", "d1             [==============================] 2 / 2 jobs", "d2             [==============================] 1 / 1 jobs"} {
		if !strings.Contains(out, want) {
			t.Errorf("import start --watch: no %q in\n%s", want, out)
		}
	}
	out = b.must(t, "import", "list", "--client", "acme")
	if !regexp.MustCompile(id + `\s+succeeded\s+manual\s+d1,d2\s+` + from.String() + `\s+` + until.String() + `\s+3/3\s+42`).MatchString(out) {
		t.Errorf("import list:\n%s", out)
	}
	// import watch -o json prints what import start -o json prints: {"import": …}.
	out = b.must(t, "import", "watch", id, "--client", "acme", "-o", "json")
	var watched posimportv1.StartImportResponse
	if err := protojson.Unmarshal([]byte(out), &watched); err != nil || watched.GetImport().GetState() != posimportv1.ImportState_IMPORT_STATE_SUCCEEDED {
		t.Errorf("watch of an ended import: %v %v\n%s", watched.GetImport().GetState(), err, out)
	}
	started := b.must(t, "import", "start", "--client", "acme", "--departments", "d2", "--from", until.String(), "--until", until.String(), "-o", "json")
	var again posimportv1.StartImportResponse
	if err := protojson.Unmarshal([]byte(started), &again); err != nil {
		t.Fatalf("import start -o json: %v\n%s", err, started)
	}
	followed := b.must(t, "import", "watch", again.GetImport().GetImportId(), "--client", "acme", "-o", "json")
	if shape(t, started) != "import" || shape(t, followed) != "import" || shape(t, out) != "import" {
		t.Errorf("import start -o json has members %q, import watch -o json %q and %q; want import", shape(t, started), shape(t, followed), shape(t, out))
	}
	// Cancelling an ended import changes nothing.
	if out := b.must(t, "import", "cancel", id, "--client", "acme"); !strings.Contains(out, "succeeded: 0 jobs cancelled, 3 done") {
		t.Errorf("cancel:\n%s", out)
	}

	// The balance: a table, and JSON equal to the oracle's figures.
	week := civil.WeekOf(until.AddDays(-7))
	out = b.must(t, "balance", "show", "--client", "acme", "--department", "d1", "--week", week.String())
	for _, want := range []string{"Department d1, week " + week.String(), "gross_sales", "Units sold", "not imported", "Week " + week.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("balance show: no %q in\n%s", want, out)
		}
	}
	o := &oraclecheck.Oracle{SimURL: b.simURL, Account: acct.ID}
	var res oraclecheck.Result
	for i, dep := range []string{"d1", "d2"} {
		out := b.must(t, "balance", "show", "--client", "acme", "--department", dep, "--week", week.String(), "-o", "json")
		var wb posimportv1.GetWeeklyBalanceResponse
		if err := protojson.Unmarshal([]byte(out), &wb); err != nil {
			t.Fatalf("balance json: %v", err)
		}
		exp, err := o.Days(context.Background(), oraclecheck.ShopDepartment(dep, acct.Shops[i]), from, until)
		if err != nil {
			t.Fatal(err)
		}
		res.Week(wb.GetBalance(), exp)
	}
	if !res.OK() || res.Hours == 0 || res.Totals == 0 {
		t.Errorf("balance vs oracle: %d totals, %d hours compared, differences:\n%s", res.Totals, res.Hours, strings.Join(res.Diffs, "\n"))
	}
	day := week.Monday().AddDays(5)
	out = b.must(t, "balance", "day", "--client", "acme", "--department", "d1", "--date", day.String(), "--field", "5001")
	if !strings.Contains(out, "gross_sales per hour on Sat "+day.String()) || !strings.Contains(out, "23:00") || !strings.Contains(out, "█") {
		t.Errorf("balance day:\n%s", out)
	}

	// Tokens: a minted token works with --token; one for another client does not.
	tok := strings.TrimSpace(b.must(t, "token", "--client", "acme", "--role", "viewer"))
	if _, err := b.run(t, "config", "settings", "get", "--client", "acme", "--token", tok); err != nil {
		t.Errorf("settings get with a viewer token: %v", err)
	}
	other := strings.TrimSpace(b.must(t, "token", "--client", "other"))
	if _, err := b.run(t, "config", "settings", "get", "--client", "acme", "--token", other); err == nil ||
		!strings.Contains(err.Error(), `permission denied: caller may not act for client "acme"`) {
		t.Errorf("another client's token: %v", err)
	}

	// A second client on Lightspeed Restaurant, at the same simulator.
	restaurantStep(t, b)

	// Disabling and disconnecting.
	if out := b.must(t, "auth", "disable", "--client", "acme"); !strings.Contains(out, "client acme: connected") {
		t.Errorf("disable:\n%s", out)
	}
	if out := b.must(t, "auth", "disconnect", "--client", "acme"); !strings.Contains(out, "client acme: disconnected") {
		t.Errorf("disconnect:\n%s", out)
	}
	b.must(t, "config", "departments", "delete", "d2", "--client", "acme")
	b.must(t, "config", "fields", "delete", "5008", "--client", "acme")
	out = b.must(t, "config", "departments", "list", "--client", "acme", "-o", "json")
	var deps posimportv1.ListDepartmentsResponse
	if err := protojson.Unmarshal([]byte(out), &deps); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range deps.GetDepartments() {
		ids = append(ids, d.GetDepartmentId())
	}
	if diff := cmp.Diff([]string{"d1"}, ids); diff != "" {
		t.Errorf("departments after delete (-want +got):\n%s", diff)
	}
}

// restaurantStep connects a second client, set to Lightspeed Restaurant, to the simulator's
// K-Series business through the CLI and imports three days of a location device by device:
// the import succeeds, and every field, Visitors included (which only Restaurant provides),
// equals the simulator's K-Series oracle hour by hour.
func restaurantStep(t *testing.T, b *upBundle) {
	t.Helper()
	biz := simBusiness(t, b.simURL)
	loc := biz.Locations[0]
	var devices []string
	for _, d := range loc.Devices {
		devices = append(devices, strconv.FormatInt(d.ID, 10))
	}
	b.must(t, "config", "settings", "set", "--client", "bistro", "--multi-cash-registers", "--pos-import-enabled",
		"--provider", "restaurant", "--time-zone", "Europe/Copenhagen")
	b.must(t, "config", "departments", "set", "k1", "--client", "bistro", "--name", "Kitchen", "--pos-client-number",
		strconv.FormatInt(loc.ID, 10), "--terminals", strings.Join(devices, ","), "--time-zone", loc.TimeZone)
	for _, f := range testFields {
		b.must(t, "config", "fields", "set", f.id, "--client", "bistro", "--name", f.typ, "--type", f.typ, "--hourly="+strconv.FormatBool(f.hourly))
	}
	out := b.must(t, "auth", "connect", "--client", "bistro", "--follow")
	if !regexp.MustCompile(`provider\s+restaurant`).MatchString(out) || !regexp.MustCompile(`POS account\s+`+strconv.FormatInt(biz.ID, 10)).MatchString(out) {
		t.Errorf("connect to Lightspeed Restaurant:\n%s", out)
	}
	b.must(t, "auth", "enable", "--client", "bistro")

	week := civil.WeekOf(civil.Today(time.Now(), time.UTC).AddDays(-8))
	from, until := week.Monday(), week.Monday().AddDays(2)
	out = b.must(t, "import", "start", "--client", "bistro", "--from", from.String(), "--until", until.String(), "--watch")
	registerDays := fmt.Sprintf("100%%  %d / %d register-days", 3*len(devices), 3*len(devices))
	if !strings.Contains(out, "succeeded") || !strings.Contains(out, registerDays) {
		t.Errorf("Restaurant import: no succeeded and %q in\n%s", registerDays, out)
	}
	var expected []sim.ExpectedDay
	getJSON(t, fmt.Sprintf("%s/admin/restaurant-oracle?business=%d&location=%d&from=%s&until=%s", b.simURL, biz.ID, loc.ID, from, until), &expected)
	oracle := map[string][]sim.ExpectedHour{}
	for _, d := range expected {
		oracle[d.Date] = d.Hours
	}
	out = b.must(t, "balance", "show", "--client", "bistro", "--department", "k1", "--week", week.String(), "-o", "json")
	var wb posimportv1.GetWeeklyBalanceResponse
	if err := protojson.Unmarshal([]byte(out), &wb); err != nil {
		t.Fatalf("balance json: %v", err)
	}
	visitors, compared := decimal.Zero, 0
	for _, day := range wb.GetBalance().GetDays() {
		exp, ok := oracle[day.GetDate()]
		for _, f := range day.GetFields() {
			if !ok {
				if f.GetImported() {
					t.Errorf("%s field %d imported, but the import did not cover the day", day.GetDate(), f.GetFieldId())
				}
				continue
			}
			if !f.GetImported() {
				t.Errorf("%s field %d (%s) not imported", day.GetDate(), f.GetFieldId(), f.GetName())
				continue
			}
			total := decimal.Zero
			for i, h := range exp {
				want := restaurantValue(h, f.GetPosDataType())
				total = total.Add(want)
				if f.GetSplitIntoIntervals() && (i >= len(f.GetHours()) || !decimal.RequireFromString(f.GetHours()[i]).Equal(want)) {
					t.Errorf("%s field %d hour %s: %v, want %s", day.GetDate(), f.GetFieldId(), h.Clock, f.GetHours(), want)
				}
			}
			if got := decimal.RequireFromString(f.GetTotal()); !got.Equal(total) {
				t.Errorf("%s field %d (%s): total %s, want %s", day.GetDate(), f.GetFieldId(), f.GetName(), got, total)
			}
			if f.GetPosDataType() == posimportv1.PosDataType_POS_DATA_TYPE_VISITORS {
				visitors = visitors.Add(total)
			}
			compared++
		}
	}
	if compared != 3*len(testFields) || !visitors.IsPositive() {
		t.Errorf("%d day fields compared (want %d), %s visitors in all (want some)", compared, 3*len(testFields), visitors)
	}
}

// restaurantValue picks a data type's figure from the K-Series oracle's hour: all eight,
// Visitors included.
func restaurantValue(h sim.ExpectedHour, t posimportv1.PosDataType) decimal.Decimal {
	if t == posimportv1.PosDataType_POS_DATA_TYPE_VISITORS {
		return h.Visitors
	}
	v, _ := oraclecheck.Value(h, t)
	return v
}

// TestCLIRefusals runs commands that must fail: each exits with an error naming what is
// wrong (the server's message, with the field for invalid input), and writes nothing.
func TestCLIRefusals(t *testing.T) {
	t.Parallel()
	b := startUp(t)
	acct := simShops(t, b.simURL)
	configureClient(t, b, "acme", acct)
	b.must(t, "auth", "connect", "--client", "acme", "--follow")
	b.must(t, "auth", "enable", "--client", "acme")
	configureClient(t, b, "beta", acct) // never connected
	viewer := strings.TrimSpace(b.must(t, "token", "--client", "acme", "--role", "viewer"))
	yesterday := civil.Today(time.Now(), time.UTC).AddDays(-1)

	snapshot := b.snapshotter(t)
	before := snapshot()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"import", "start", "--client", "acme", "--bogus"}, "unknown flag: --bogus"},
		{"no client", []string{"import", "list"}, "--client is required"},
		{"bad output", []string{"import", "list", "--client", "acme", "-o", "yaml"}, `--output: "yaml" is not table or json`},
		{"no from", []string{"import", "start", "--client", "acme"}, "--from is required"},
		{"bad date", []string{"import", "start", "--client", "acme", "--departments", "d1", "--from", "2026-13-01", "--until", yesterday.String()},
			"invalid argument: from_date:"},
		{"future until", []string{"import", "start", "--client", "acme", "--departments", "d1", "--from", yesterday.String(), "--until", yesterday.AddDays(30).String()},
			"invalid argument: until_date:"},
		{"unknown department", []string{"import", "start", "--client", "acme", "--departments", "nope", "--from", yesterday.String(), "--until", yesterday.String()},
			"nope"},
		{"not connected", []string{"import", "start", "--client", "beta", "--departments", "d1", "--from", yesterday.String(), "--until", yesterday.String()},
			"failed precondition:"},
		{"unknown import", []string{"import", "watch", "00000000-0000-0000-0000-000000000000", "--client", "acme"}, "not found:"},
		{"cancel unknown import", []string{"import", "cancel", "00000000-0000-0000-0000-000000000000", "--client", "acme"}, "not found:"},
		{"balance of unknown department", []string{"balance", "show", "--client", "acme", "--department", "nope", "--week", "2026-W10"}, "not found:"},
		{"bad week", []string{"balance", "show", "--client", "acme", "--department", "d1", "--week", "2026-13"}, "invalid argument: week:"},
		{"balance without department", []string{"balance", "show", "--client", "acme"}, "--department is required"},
		{"bad time zone", []string{"config", "settings", "set", "--client", "acme", "--time-zone", "Mars/Olympus"}, "invalid argument: settings.time_zone:"},
		{"bad provider", []string{"config", "settings", "set", "--client", "acme", "--provider", "square"}, `--provider: "square"`},
		{"bad field type", []string{"config", "fields", "set", "5009", "--client", "acme", "--type", "tips"}, `--type: "tips" is not one of`},
		{"bad field id", []string{"config", "fields", "set", "x1", "--client", "acme"}, `FIELD_ID: "x1" is not a number`},
		{"viewer may not write", []string{"config", "settings", "set", "--client", "acme", "--auto-confirm=false", "--token", viewer},
			`permission denied: role "viewer" may not call`},
		{"supervisor may not enable", []string{"auth", "enable", "--client", "acme", "--token", strings.TrimSpace(b.must(t, "token", "--client", "acme"))},
			"permission denied:"},
		{"enable before consent", []string{"auth", "enable", "--client", "beta"}, "failed precondition:"},
		{"bad token", []string{"config", "settings", "get", "--client", "acme", "--token", "not-a-jwt"}, "unauthenticated: invalid bearer token"},
		{"unreachable", []string{"config", "settings", "get", "--client", "acme", "--addr", "127.0.0.1:1", "--timeout", "3s"}, "is not reachable"},
		{"token of a service role", []string{"token", "--client", "acme", "--role", "service"}, `--role: "service"`},
		{"token without client", []string{"token"}, "--client is required"},
		{"token for all clients", []string{"token", "--client", "*"}, `--client: "*"`},
		{"token for all clients among others", []string{"token", "--client", "acme,*"}, `--client: "*"`},
		{"token longer than the services accept", []string{"token", "--client", "acme", "--ttl", "25h"}, "--ttl: 25h0m0s is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := b.run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want %q\n%s", tc.args, err, tc.want, out)
			}
		})
	}
	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Errorf("refused commands changed the database (-before +after):\n%s", diff)
	}
}

// TestCLIWithoutKeys refuses to call without a token when the data directory has no key.
func TestCLIWithoutKeys(t *testing.T) {
	t.Parallel()
	err := Execute(context.Background(), []string{"--data-dir", t.TempDir(), "config", "settings", "get", "--client", "acme",
		"--addr", "127.0.0.1:1"}, &strings.Builder{}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "no token: pass --token") {
		t.Errorf("error %v", err)
	}
	err = Execute(context.Background(), []string{"--data-dir", t.TempDir(), "token", "--client", "acme"}, &strings.Builder{}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "run posimport up first") {
		t.Errorf("token without keys: %v", err)
	}
}

// shape lists the top-level members of a JSON object, comma-separated.
func shape(t *testing.T, s string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v:\n%s", err, s)
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
