package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/wallet"
)

// bodySeeds are request bodies for the decoding and fingerprint targets:
// valid bodies of the API's params types, and the nasty ones a client or
// an attacker sends.
var bodySeeds = []string{
	``,
	`   `,
	`{}`,
	`null`,
	`[]`,
	`[{"merchant":"mer_1"}]`,
	`"merchant"`,
	`12`,
	`{"merchant":"mer_1","customer":"cus_1","amount":1000,"currency":"usd","capture":"manual","metadata":{"order":"42"}}`,
	`{"merchant":"mer_1","customer":"cus_1","amount":1000,"currency":"eur","charge_type":"separate",` +
		`"splits":[{"merchant":"mer_1","amount":600},{"merchant":"mer_2","amount":400}],"application_fee":50}`,
	`{"amount":500,"reason":"requested_by_customer","metadata":{"k":"v"}}`,
	`{"amount_to_capture":1}`,
	`{"merchant":"mer_1","amount":2500,"currency":"gbp","expires_at":"2030-01-02T03:04:05Z"}`,
	`{"merchant":"mer_1","amount":2500,"currency":"gbp","expires_at":"2030-01-02T03:04:05.123456789+05:30"}`,
	`{"external_id":"ext","email":"ann@example.com","name":"Ann","metadata":{"gone":null,"kept":"x"}}`,
	`{"type":"express","return_url":"https://p.example/done","refresh_url":"https://p.example/again","expires_in":600}`,
	`{"customer":"cus_1","return_url":"https://p.example/","expires_in":60}`,
	`{"merchant":"mer_1","payment_method":"default","scope":"off_session","evidence":{"text":"I agree","ip_address":"::1"}}`,
	`{"rules":{"usd":{"basis_points":250,"fixed":30,"min":0,"max":0}},"stripe_fee_payer":"platform","customer_covers_fees":true}`,
	`{"secret_key":"sk_test_0123456789","webhook_secrets":["whsec_1",null]}`,
	`{"name":"Shop","default_currency":"usd","default_charge_type":"direct"}`,
	// Wrong types, at the top and nested.
	`{"amount":"1000"}`,
	`{"amount":1.5}`,
	`{"amount":-0}`,
	`{"amount":1e3}`,
	`{"amount":99999999999999999999999999999}`,
	`{"amount":1e400}`,
	`{"splits":[{"amount":"x"}]}`,
	`{"splits":{"merchant":"mer_1"}}`,
	`{"metadata":{"k":1}}`,
	`{"metadata":[]}`,
	`{"rules":{"usd":{"basis_points":true}}}`,
	`{"expires_at":"tomorrow"}`,
	`{"expires_at":"10000-01-01T00:00:00Z"}`,
	`{"webhook_secrets":"whsec_1"}`,
	// Unknown fields, duplicate keys, odd keys.
	`{"amount":1,"amount":2}`,
	`{"Amount":1}`,
	`{"unknown":1}`,
	`{"":1}`,
	`{"splits":[{"merchant":"mer_1","surprise":true}]}`,
	`{"metadata":{"a":"1","a":"2"}}`,
	// Bytes that are not text.
	"{\"merchant\":\"mer\x00_1\"}",
	"{\"merchant\":\"\xff\xfe\"}",
	"{\"merchant\":\"\\ud800\"}",
	"{\"mer\xffchant\":\"x\"}",
	"\x00",
	"\xef\xbb\xbf{}",
	// Malformed JSON and trailing data.
	`{`,
	`{"amount":`,
	`{"amount":1,}`,
	`{'amount':1}`,
	`{"amount":1}{"amount":2}`,
	`{"amount":1} {"amount":2}`,
	`{"amount":1}]`,
	`{"amount":1}}`,
	`{"amount":1} x`,
	"{\"amount\":1}\n\n",
	"{\n\"amount\":\n\"x\"\n}",
	// Deep nesting.
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	`{"metadata":` + strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 51),
}

// decodeTargets are the types the API decodes request bodies into.
var decodeTargets = []func() any{
	func() any { return new(payment.CreateParams) },
	func() any { return new(payment.CaptureParams) },
	func() any { return new(payment.RefundParams) },
	func() any { return new(checkout.LinkParams) },
	func() any { return new(payment.FeePolicyParams) },
	func() any { return new(wallet.CustomerParams) },
	func() any { return new(wallet.ConsentParams) },
	func() any { return new(wallet.SessionParams) },
	func() any { return new(wallet.SetupIntentParams) },
	func() any { return new(connect.MerchantParams) },
	func() any { return new(connect.LinkParams) },
	func() any { return new(platform.Update) },
	func() any { return new(platform.StripeUpdate) },
	func() any { return new(struct{}) }, // the actions that take no body
}

// FuzzDecodeJSON checks decodeJSON on every params type: it never panics;
// it refuses with an *errs.Error of code Invalid, naming the field when
// the problem is in one; it accepts only well-formed JSON; and what it
// accepts survives being encoded and decoded again unchanged.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range decodeTargets {
			v := newV()
			err := decode(body, v)
			if err != nil {
				checkRefusal(t, body, v, err)
				continue
			}
			if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
				t.Fatalf("%T: accepted a body that is not one JSON value: %q", v, body)
			}
			first, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T: accepted %q but cannot encode it: %v", v, body, err)
			}
			again := newV()
			if err := decode(first, again); err != nil {
				t.Fatalf("%T: accepted %q but refuses its own encoding %s: %v", v, body, first, err)
			}
			second, err := json.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatalf("%T: %q decodes to %s, which decodes to %s", v, body, first, second)
			}
		}
	})
}

// decode runs decodeJSON as a handler does, on a request with body.
func decode(body []byte, v any) error {
	return decodeJSON(httptest.NewRequest("POST", "/v1/x", bytes.NewReader(body)), v)
}

// checkRefusal fails unless err is the API's 400 for a bad body: code
// Invalid, a known reason, and a Param that names the field at fault.
func checkRefusal(tb testing.TB, body []byte, v any, err error) {
	tb.Helper()
	e, ok := err.(*errs.Error)
	if !ok {
		tb.Fatalf("%T: %q: refused with %T %v, not an *errs.Error", v, body, err, err)
	}
	if e.Code != errs.Invalid {
		tb.Fatalf("%T: %q: refused with code %s, not invalid: %v", v, body, e.Code, e)
	}
	switch e.Reason {
	case "json_invalid":
		if e.Param != "" {
			tb.Fatalf("%T: %q: malformed JSON blamed on param %q", v, body, e.Param)
		}
	case "parameter_invalid":
		// A value of the wrong type: Param is its path, and the path
		// starts at one of the type's own fields.
		if !namesField(reflect.TypeOf(v).Elem(), e.Param) {
			tb.Fatalf("%T: %q: param %q is not a field of the type: %v", v, body, e.Param, e)
		}
	case "parameter_unknown":
		// The name is the client's own, whatever it is; it must be
		// there for the client to see which one.
		if e.Param == "" && !bytes.Contains(body, []byte(`""`)) {
			tb.Fatalf("%T: %q: unknown parameter without a name: %v", v, body, e)
		}
	default:
		tb.Fatalf("%T: %q: refused with reason %q: %v", v, body, e.Reason, e)
	}
	if e.Message == "" {
		tb.Fatalf("%T: %q: refused without a message", v, body)
	}
}

// namesField reports whether param, a path such as splits[0][amount] or
// splits.amount, starts at one of the struct type's JSON fields.
// encoding/json matches names regardless of case, and the param keeps the
// client's spelling.
func namesField(t reflect.Type, param string) bool {
	root := param
	if i := strings.IndexAny(root, ".["); i >= 0 {
		root = root[:i]
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, root) {
			return true
		}
	}
	return false
}

// FuzzFingerprint checks the idempotency fingerprint: it never panics and
// is deterministic; the same JSON with other whitespace or key order gets
// the same fingerprint; a body whose value differs in any leaf, or that
// is not the same JSON at all, gets another; and the query counts.
func FuzzFingerprint(f *testing.F) {
	for i, s := range bodySeeds {
		q := ""
		if i%3 == 0 {
			q = "expand=charge&limit=10"
		}
		f.Add(q, []byte(s))
	}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		// A query with control characters never reaches the middleware:
		// net/url refuses the request line, so there is nothing to check.
		if _, err := url.ParseRequestURI("/v1/x?" + query); err != nil {
			return
		}
		fp := fingerprint(query, body)
		if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
			t.Fatalf("fingerprint %q is not 64 hex digits", fp)
		}
		if again := fingerprint(query, body); again != fp {
			t.Fatalf("fingerprint of %q changed: %s then %s", body, fp, again)
		}
		if fingerprint(query+"&x=1", body) == fp {
			t.Fatalf("the query %q does not count", query)
		}

		v, ok := decodeOne(body)
		if !ok {
			return
		}
		canon, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(body) {
			// Trailing data after a value: another request than the
			// value alone, which the API refuses while the other succeeds.
			if fingerprint(query, canon) == fp {
				t.Fatalf("%q has the fingerprint of %s", body, canon)
			}
			return
		}
		for _, other := range [][]byte{respell(v, false), respell(v, true)} {
			if got := fingerprint(query, other); got != fp {
				t.Fatalf("%q and %q are the same JSON but fingerprint %s and %s", body, other, fp, got)
			}
		}
		if m, ok := mutate(v); ok {
			changed, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if fingerprint(query, changed) == fp {
				t.Fatalf("%q and %s differ in value but share a fingerprint", body, changed)
			}
		}
	})
}

// decodeOne decodes the first JSON value of body as fingerprint reads it.
func decodeOne(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// respell writes v as JSON again with other whitespace and, when reverse
// is set, its object keys in reverse order.
func respell(v any, reverse bool) []byte {
	var b bytes.Buffer
	var write func(v any)
	write = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := mapKeys(v)
			slices.Sort(keys)
			if reverse {
				slices.Reverse(keys)
			}
			b.WriteString("{\n")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(" ,\t")
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteString(" : ")
				write(v[k])
			}
			b.WriteString("\r\n}")
		case []any:
			b.WriteString("[ ")
			for i, e := range v {
				if i > 0 {
					b.WriteString(" , ")
				}
				write(e)
			}
			b.WriteString(" ]")
		default:
			vb, _ := json.Marshal(v)
			b.Write(vb)
		}
	}
	b.WriteString("  ")
	write(v)
	b.WriteString("\n")
	return b.Bytes()
}

// mutate returns a copy of v with one leaf changed: the first in key
// order, or an element added to an empty object or array.
func mutate(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return map[string]any{"x": true}, true
		}
		k := slices.Min(mapKeys(v))
		m, ok := mutate(v[k])
		out := make(map[string]any, len(v))
		for kk, vv := range v {
			out[kk] = vv
		}
		out[k] = m
		return out, ok
	case []any:
		if len(v) == 0 {
			return []any{nil}, true
		}
		m, ok := mutate(v[0])
		return append([]any{m}, v[1:]...), ok
	case string:
		return v + "x", true
	case json.Number:
		if v == "1" {
			return json.Number("2"), true
		}
		return json.Number("1"), true
	case bool:
		return !v, true
	case nil:
		return false, true
	}
	panic(fmt.Sprintf("mutate: unexpected %T", v))
}

func mapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
