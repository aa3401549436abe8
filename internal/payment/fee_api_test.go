package payment_test

import (
	"testing"

	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestFeePolicyAPI: the platform's policy starts as no fee, each change is
// a new version, a merchant's override takes precedence until removed, and
// bad input names its field and changes nothing.
func TestFeePolicyAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var p payment.FeePolicyView
		f.Do("GET", "/v1/fee_policy", nil).Decode(t, &p)
		if p.ID != nil || p.Version != 0 || len(p.Rules) != 0 || p.StripeFeePayer != payment.StripeFeeMerchant {
			t.Fatalf("default policy %+v", p)
		}
		var v1, v2 payment.FeePolicyView
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":290,"fixed":30}}}`, 200, &v1)
		f.Post("/v1/fee_policy", `{"rules":{"USD":{"basis_points":500,"fixed":0,"min":50},"jpy":{"basis_points":300}},"customer_covers_fees":true}`, 200, &v2)
		if v1.Version != 1 || v2.Version != 2 || *v1.ID == *v2.ID || v2.Rules["usd"].Min != 50 || !v2.CustomerCoversFees {
			t.Fatalf("versions %+v %+v", v1, v2)
		}
		f.Do("GET", "/v1/fee_policy", nil).Decode(t, &p)
		if *p.ID != *v2.ID {
			t.Errorf("current policy %+v, want version 2", p)
		}

		for _, tt := range []struct{ body, param string }{
			{`{"rules":{"usd":{"basis_points":10001}}}`, "rules[usd][basis_points]"},
			{`{"rules":{"usd":{"fixed":-1}}}`, "rules[usd][fixed]"},
			{`{"rules":{"usd":{"min":9,"max":5}}}`, "rules[usd][min]"},
			{`{"rules":{"zzz":{}}}`, "rules[zzz]"},
			{`{"stripe_fee_payer":"customer"}`, "stripe_fee_payer"},
			{`{"rules":{"usd":{"percent":3}}}`, "rules[usd][percent]"}, // named by its full path
		} {
			if r := f.Do("POST", "/v1/fee_policy", tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("%s: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		f.Do("GET", "/v1/fee_policy", nil).Decode(t, &p)
		if p.Version != 2 {
			t.Errorf("bad input changed the policy: %+v", p)
		}

		m := f.unconnectedMerchant("Bakery")
		var eff payment.FeePolicyView
		f.Do("GET", "/v1/merchants/"+m.ID+"/fee_policy", nil).Decode(t, &eff)
		if eff.Merchant != nil || *eff.ID != *v2.ID {
			t.Fatalf("merchant without override: %+v", eff)
		}
		var o1, o2 payment.FeePolicyView
		f.Post("/v1/merchants/"+m.ID+"/fee_policy", `{"rules":{"usd":{"basis_points":100}},"stripe_fee_payer":"platform"}`, 200, &o1)
		f.Post("/v1/merchants/"+m.ID+"/fee_policy", `{"rules":{"usd":{"basis_points":150}},"stripe_fee_payer":"platform"}`, 200, &o2)
		if o1.Version != 1 || o2.Version != 2 || *o2.Merchant != m.ID || o2.StripeFeePayer != payment.StripeFeePlatform {
			t.Fatalf("overrides %+v %+v", o1, o2)
		}
		f.Do("GET", "/v1/merchants/"+m.ID+"/fee_policy", nil).Decode(t, &eff)
		if *eff.ID != *o2.ID {
			t.Errorf("effective %+v, want the latest override", eff)
		}
		if r := f.Do("POST", "/v1/merchants/"+m.ID+"/fee_policy", `{"rules":{"usd":{"max":-5}}}`); r.Status != 400 || r.Err().Param != "rules[usd][max]" {
			t.Errorf("bad override: %d %s", r.Status, r.Body)
		}
		r := f.Do("DELETE", "/v1/merchants/"+m.ID+"/fee_policy", nil)
		r.Decode(t, &eff)
		if r.Status != 200 || eff.Merchant != nil || *eff.ID != *v2.ID {
			t.Fatalf("after removing the override: %d %s", r.Status, r.Body)
		}
		f.Do("GET", "/v1/merchants/"+m.ID+"/fee_policy", nil).Decode(t, &eff)
		if *eff.ID != *v2.ID {
			t.Errorf("effective after removal %+v, want the platform's", eff)
		}
		f.Do("DELETE", "/v1/merchants/"+m.ID+"/fee_policy", nil) // twice: harmless
		var o3 payment.FeePolicyView
		f.Post("/v1/merchants/"+m.ID+"/fee_policy", `{}`, 200, &o3)
		if o3.Version != 4 { // 1, 2, the removal, and this
			t.Errorf("override after removal has version %d, want 4", o3.Version)
		}

		for _, path := range []string{"/v1/merchants/mer_nope/fee_policy"} {
			if r := f.Do("GET", path, nil); r.Status != 404 {
				t.Errorf("GET %s: %d", path, r.Status)
			}
			if r := f.Do("POST", path, `{}`); r.Status != 404 {
				t.Errorf("POST %s: %d", path, r.Status)
			}
			if r := f.Do("DELETE", path, nil); r.Status != 404 {
				t.Errorf("DELETE %s: %d", path, r.Status)
			}
		}
	})
}
