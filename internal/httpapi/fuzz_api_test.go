package httpapi_test

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/httpapi"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/wallet"
)

// validatedRoutes are POSTs whose handler decodes and validates the body
// before it looks anything up, each on objects that do not exist, so a
// body that passes validation is refused at the lookup and no iteration
// writes anything.
var validatedRoutes = []struct {
	path   string
	params any // the type the body is decoded into
}{
	{"/v1/payments", payment.CreateParams{}},
	{"/v1/payments/pay_missing/refunds", payment.RefundParams{}},
	{"/v1/checkout_links", checkout.LinkParams{}},
	{"/v1/merchants/mer_missing/connect_links", connect.LinkParams{}},
	{"/v1/wallet_sessions", wallet.SessionParams{}},
}

// FuzzAPIValidation posts bodies to the real API, with its key, on the
// routes above. Whatever the body: no 5xx; every answer is one the
// OpenAPI document describes (apitest.Send checks); a 400 is an
// invalid_request_error, and one about a parameter names it, starting at
// a field of the route's params type.
func FuzzAPIValidation(f *testing.F) {
	seeds := []string{
		`{"merchant":"mer_1","customer":"cus_1","amount":1000,"currency":"usd"}`,
		`{"merchant":"mer_1","customer":"cus_1","amount":1000,"currency":"usd","charge_type":"separate",` +
			`"splits":[{"merchant":"mer_1","amount":600},{"merchant":"mer_1","amount":400}]}`,
		`{"merchant":"mer_1","customer":"cus_1","amount":100000000,"currency":"usd"}`,
		`{"merchant":"mer_1","customer":"cus_1","amount":1,"currency":"xxx","statement_descriptor_suffix":"***"}`,
		`{"merchant":"mer_1","customer":"cus_1","amount":1,"currency":"usd","metadata":{"tender_payment":"x"}}`,
		`{"merchant":"mer_1","amount":1,"currency":"usd","metadata":{"[k]":"v"}}`,
		`{"merchant":"mer_1","amount":1,"currency":"usd","expires_at":"2000-01-01T00:00:00Z"}`,
		`{"amount":-5,"reason":"because"}`,
		`{"type":"express","return_url":"javascript:alert(1)","refresh_url":"https://p.example/","expires_in":59}`,
		`{"type":"standard","return_url":"https://p.example/","refresh_url":"https://p.example/","expires_in":9223372036854775807}`,
		`{"customer":"cus_1","return_url":"https://p.example/","expires_in":-1}`,
		`{"customer":"","return_url":"http://[::1"}`,
		`{"amount":1e400}`,
		`{"amount":"1"}`,
		`{"splits":[{"surprise":1}]}`,
		"{\"merchant\":\"\xff\x00\"}",
		`{"amount":1}]`,
		`[]`,
		`null`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	env := apitest.New(f, storetest.SQLite(f), app.Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range validatedRoutes {
			req, err := http.NewRequest("POST", env.Server.URL+r.path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+env.Key)
			resp := apitest.Send(t, req)
			if resp.Status >= 500 {
				t.Fatalf("POST %s %q: %d %s", r.path, body, resp.Status, resp.Body)
			}
			if resp.Status != http.StatusBadRequest {
				continue
			}
			e := resp.Err()
			if e.Type != "invalid_request_error" {
				t.Fatalf("POST %s %q: a 400 of type %q: %s", r.path, body, e.Type, resp.Body)
			}
			switch e.Code {
			case "parameter_invalid", "parameter_missing":
				if !httpapi.NamesField(reflect.TypeOf(r.params), e.Param) {
					t.Fatalf("POST %s %q: param %q is not a field of %T: %s", r.path, body, e.Param, r.params, resp.Body)
				}
			case "parameter_unknown":
				if e.Param == "" && !bytes.Contains(body, []byte(`""`)) {
					t.Fatalf("POST %s %q: unknown parameter without its name: %s", r.path, body, resp.Body)
				}
			}
		}
	})
}
