package connect_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestMerchantsAPI: create, read, update, list with filters and pages,
// archive; bad input names its field and changes nothing.
func TestMerchantsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, emulator.Options{})
		m := f.createMerchant(`{"external_id":"shop-1","name":"Shop one","email":"one@example.com","default_currency":"EUR","metadata":{"hub":"north","tier":"gold"}}`)
		if *m.DefaultCurrency != "eur" || m.Metadata["hub"] != "north" || m.Connection.Requirements.CurrentlyDue == nil {
			t.Fatalf("created: %+v", m)
		}
		for _, tt := range []struct{ body, param string }{
			{`{"email":"not-an-address"}`, "email"},
			{`{"country":"France"}`, "country"},
			{`{"default_currency":"euro"}`, "default_currency"},
			{`{"metadata":{"":"x"}}`, "metadata"},
			{`{"name":5}`, "name"},
			{`{"nickname":"x"}`, "nickname"},
		} {
			if r := f.Do("POST", "/v1/merchants/"+m.ID, tt.body); r.Status != 400 || r.Err().Param != tt.param {
				t.Errorf("update %s: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
			}
		}
		if r := f.Do("POST", "/v1/merchants", `{"external_id":"shop-1"}`); r.Status != 409 || r.Err().Param != "external_id" {
			t.Errorf("duplicate external_id: %d %s", r.Status, r.Body)
		}
		r := f.Do("POST", "/v1/merchants/"+m.ID, `{"name":"Shop One","metadata":{"tier":null,"since":"2026"}}`)
		var up connect.MerchantView
		r.Decode(t, &up)
		if r.Status != 200 || up.Name != "Shop One" || up.Metadata["tier"] != "" || up.Metadata["since"] != "2026" || up.Metadata["hub"] != "north" || *up.Email != "one@example.com" {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}

		for i := range 4 {
			f.createMerchant(fmt.Sprintf(`{"external_id":"shop-%d"}`, i+2))
		}
		var page struct {
			Data    []connect.MerchantView `json:"data"`
			HasMore bool                   `json:"has_more"`
		}
		f.Do("GET", "/v1/merchants?limit=3", nil).Decode(t, &page)
		if len(page.Data) != 3 || !page.HasMore || page.Data[0].ExternalID == nil || *page.Data[0].ExternalID != "shop-5" {
			t.Fatalf("first page: %+v", page)
		}
		f.Do("GET", "/v1/merchants?limit=3&starting_after="+page.Data[2].ID, nil).Decode(t, &page)
		if len(page.Data) != 2 || page.HasMore {
			t.Fatalf("second page: %+v", page)
		}
		f.Do("GET", "/v1/merchants?external_id=shop-1", nil).Decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != m.ID {
			t.Fatalf("by external_id: %+v", page)
		}
		if r := f.Do("GET", "/v1/merchants?status=sleeping", nil); r.Status != 400 {
			t.Errorf("bad status filter: %d %s", r.Status, r.Body)
		}

		if r := f.Do("POST", "/v1/merchants/"+m.ID+"/archive", nil); r.Status != 200 {
			t.Fatalf("archive: %d %s", r.Status, r.Body)
		}
		f.Do("GET", "/v1/merchants?external_id=shop-1", nil).Decode(t, &page)
		if len(page.Data) != 0 {
			t.Errorf("archived merchant listed: %+v", page)
		}
		f.Do("GET", "/v1/merchants?external_id=shop-1&archived=true", nil).Decode(t, &page)
		if len(page.Data) != 1 {
			t.Errorf("archived merchant not listed with archived=true: %+v", page)
		}
		if r := f.Do("POST", "/v1/merchants/"+m.ID, `{"name":"x"}`); r.Status != 409 {
			t.Errorf("update archived: %d %s", r.Status, r.Body)
		}
		if r := f.Do("POST", "/v1/merchants/"+m.ID+"/connect_links", `{"type":"standard","return_url":"https://a.example/r","refresh_url":"https://a.example/f"}`); r.Status != 409 {
			t.Errorf("link for archived: %d %s", r.Status, r.Body)
		}
		if r := f.Do("GET", "/v1/merchants/mer_nope", nil); r.Status != 404 || r.Err().Param != "merchant" {
			t.Errorf("unknown merchant: %d %s", r.Status, r.Body)
		}
	})
}

// TestConnectLinkValidation: a link request names the field at fault.
func TestConnectLinkValidation(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), emulator.Options{})
	m := f.createMerchant(`{}`)
	for _, tt := range []struct{ body, param string }{
		{`{"return_url":"https://a.example/r","refresh_url":"https://a.example/f"}`, "type"},
		{`{"type":"custom","return_url":"https://a.example/r","refresh_url":"https://a.example/f"}`, "type"},
		{`{"type":"standard","refresh_url":"https://a.example/f"}`, "return_url"},
		{`{"type":"standard","return_url":"/relative","refresh_url":"https://a.example/f"}`, "return_url"},
		{`{"type":"standard","return_url":"https://a.example/r","refresh_url":"javascript:alert(1)"}`, "refresh_url"},
		{`{"type":"standard","return_url":"https://a.example/r","refresh_url":"https://a.example/f","expires_in":5}`, "expires_in"},
	} {
		if r := f.Do("POST", "/v1/merchants/"+m.ID+"/connect_links", tt.body); r.Status != 400 || r.Err().Param != tt.param {
			t.Errorf("%s: %d %s; want 400 naming %s", tt.body, r.Status, r.Body, tt.param)
		}
	}
	if n := countRows(t, f, "connect_links"); n != 0 {
		t.Errorf("%d links stored from bad requests", n)
	}
}

func countRows(t *testing.T, f *fixture, table string) int {
	t.Helper()
	var n int
	if err := f.App.DB.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAccountUpdatedEvent: an Express account that finishes onboarding at
// Stripe without coming back through Tender is brought up to date by the
// account.updated handler, which reads the account rather than trusting
// the event.
func TestAccountUpdatedEvent(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), emulator.Options{AccountsStartRestricted: true})
	m := f.createMerchant(`{"name":"Quiet shop","country":"US"}`)
	onboarding := f.toStripe(f.link(m.ID, "express"))
	// The owner submits the form, and closes the tab before coming back.
	p := f.submit(onboarding, nil)
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("onboarding: %d %s", p.status, p.body)
	}
	if got := f.merchant(m.ID).Connection; got.Status != connect.StatusPending {
		t.Fatalf("before the event: %+v", got)
	}
	acct := *f.merchant(m.ID).Connection.AccountID
	before := countOf(events(t, f, m.ID), "merchant.status_changed")
	for range 2 { // delivered twice: harmless
		if err := f.App.Connect.HandleAccountUpdated(context.Background(), f.PlatformID, acct); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.merchant(m.ID).Connection; got.Status != connect.StatusEnabled {
		t.Fatalf("after account.updated: %+v", got)
	}
	if evs := events(t, f, m.ID); countOf(evs, "merchant.status_changed") != before+1 {
		t.Errorf("events %v; want one status change for one change", evs)
	}
	// An account no merchant uses is ignored.
	if err := f.App.Connect.HandleAccountUpdated(context.Background(), f.PlatformID, "acct_unknown"); err != nil {
		t.Errorf("unknown account: %v", err)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
