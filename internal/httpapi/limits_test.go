package httpapi_test

import (
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/httpapi"
	"github.com/tenderpay/tender/internal/metadata"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

// requestTypes pairs each request body the OpenAPI document describes with
// the Go type the handler decodes it into.
var requestTypes = map[string]any{
	"PlatformUpdate":       platform.Update{},
	"PlatformStripeUpdate": platform.StripeUpdate{},
	"MerchantCreate":       connect.MerchantParams{},
	"ConnectLinkCreate":    connect.LinkParams{},
	"CustomerCreate":       wallet.CustomerParams{},
	"SetupIntentCreate":    wallet.SetupIntentParams{},
	"PaymentMethodRecord":  httpapi.PaymentMethodRecord{},
	"ConsentCreate":        wallet.ConsentParams{},
	"WalletSessionCreate":  wallet.SessionParams{},
	"FeePolicyUpdate":      payment.FeePolicyParams{},
	"PaymentCreate":        payment.CreateParams{},
	"RefundCreate":         payment.RefundParams{},
	"CheckoutLinkCreate":   checkout.LinkParams{},
}

// TestTextLimitsDocumented: every text field of every request declares its
// rule next to its type, and the document's maxLength is that rule's, so
// neither can change without the other.
func TestTextLimitsDocumented(t *testing.T) {
	doc, _, err := apitest.Document()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range requestTypes {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("%s: not in the document", name)
			continue
		}
		checkFields(t, name, reflect.TypeOf(v), ref.Value)
	}
}

func checkFields(t *testing.T, path string, typ reflect.Type, s *openapi3.Schema) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := text.JSONName(f)
		if name == "" {
			continue
		}
		prop := s.Properties[name]
		if prop == nil {
			t.Errorf("%s[%s]: not in the document", path, name)
			continue
		}
		r, declared := text.FieldRule(f)
		checkValue(t, path+"["+name+"]", deref(f.Type), prop.Value, r, declared)
	}
}

func checkValue(t *testing.T, path string, typ reflect.Type, s *openapi3.Schema, r text.Rule, declared bool) {
	t.Helper()
	switch typ.Kind() {
	case reflect.String:
		switch {
		case !declared:
			t.Errorf("%s: no text tag", path)
		case len(s.Enum) > 0: // its values say how long it is
		case s.MaxLength == nil:
			t.Errorf("%s: no maxLength in the document; the code's is %d", path, r.Max)
		case int(*s.MaxLength) != r.Max:
			t.Errorf("%s: document's maxLength %d, the code's %d", path, *s.MaxLength, r.Max)
		}
	case reflect.Slice:
		checkValue(t, path+"[]", deref(typ.Elem()), s.Items.Value, r, declared)
	case reflect.Map:
		if !declared || r.KeyMax == 0 {
			t.Errorf("%s: no text tag with keys=", path)
		}
		if path[len(path)-len("[metadata]"):] == "[metadata]" && r != metadata.Rule {
			t.Errorf("%s: rule %+v, not metadata's %+v", path, r, metadata.Rule)
		}
		checkValue(t, path+"[]", deref(typ.Elem()), s.AdditionalProperties.Schema.Value, r, declared)
	case reflect.Struct:
		if typ != reflect.TypeFor[struct{}]() && typ.PkgPath() != "time" {
			checkFields(t, path, typ, s)
		}
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
