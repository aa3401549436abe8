package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	_, err := e.client("sk_test_wrong_key_123456", 0).V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 401 || se.Type != stripe.ErrorTypeInvalidRequest || !strings.Contains(se.Msg, "Invalid API Key") {
		t.Fatalf("wrong key: %+v", se)
	}

	status, hdr, body := e.raw("GET", "/v1/customers", "", map[string]string{"Authorization": ""})
	if status != 401 || hdr.Get("Request-Id") == "" || !strings.Contains(string(body), "did not provide an API key") {
		t.Fatalf("no key: %d %s", status, body)
	}

	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(emulator.DefaultSecretKey+":"))
	status, _, body = e.raw("GET", "/v1/customers", "", map[string]string{"Authorization": basic})
	if status != 200 {
		t.Fatalf("basic auth: %d %s", status, body)
	}

	status, _, _ = e.raw("GET", "/v1/customers", "", map[string]string{"Authorization": "Bearer pk_test_emulator_platform"})
	if status != 401 {
		t.Fatalf("publishable key accepted for a secret operation: %d", status)
	}
}

func TestRequestIDAndUnknownRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, hdr, body := e.raw("GET", "/v1/nothing_here", "", nil)
	if status != 404 || hdr.Get("Request-Id") == "" || !strings.Contains(string(body), "Unrecognized request URL") {
		t.Fatalf("%d %v %s", status, hdr, body)
	}
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "create")
	if cu.LastResponse.RequestID == "" {
		t.Fatal("no Request-Id")
	}
}

func TestAccountScoping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.connected()
	other := e.connected()

	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{
		Email: stripe.String("shop@example.com"), Params: stripe.Params{StripeAccount: stripe.String(acct)}})
	mustf(t, err, "create on connected")

	_, err = e.sc.V1Customers.Retrieve(ctx(), cu.ID, nil)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing {
		t.Fatalf("platform saw connected customer: %+v", se)
	}
	_, err = e.sc.V1Customers.Retrieve(ctx(), cu.ID, &stripe.CustomerRetrieveParams{Params: stripe.Params{StripeAccount: stripe.String(other)}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("other connected account saw it: %+v", se)
	}
	got, err := e.sc.V1Customers.Retrieve(ctx(), cu.ID, &stripe.CustomerRetrieveParams{Params: stripe.Params{StripeAccount: stripe.String(acct)}})
	mustf(t, err, "owner retrieve")
	if got.Email != "shop@example.com" {
		t.Fatalf("got %+v", got)
	}

	// Another platform cannot address this platform's connected account.
	e.srv.AddPlatform(emulator.Platform{AccountID: "acct_1OtherPlatform0000", SecretKey: "sk_test_other_platform"})
	_, err = e.client("sk_test_other_platform", 0).V1Customers.Retrieve(ctx(), cu.ID,
		&stripe.CustomerRetrieveParams{Params: stripe.Params{StripeAccount: stripe.String(acct)}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 403 {
		t.Fatalf("foreign platform: %+v", se)
	}
	acctObj, err := e.sc.V1Accounts.GetByID(ctx(), acct, nil)
	mustf(t, err, "retrieve account")
	if !acctObj.ChargesEnabled || acctObj.Type != stripe.AccountTypeExpress {
		t.Fatalf("account %+v", acctObj)
	}
	self, err := e.sc.V1Accounts.Retrieve(ctx(), nil)
	mustf(t, err, "retrieve own account")
	if self.ID != emulator.DefaultPlatformAccount {
		t.Fatalf("own account %s", self.ID)
	}
}

func TestUnknownAndMissingParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	params := &stripe.CustomerCreateParams{}
	params.AddExtra("favourite_colour", "blue")
	_, err := e.sc.V1Customers.Create(ctx(), params)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Param != "favourite_colour" || !strings.Contains(se.Msg, "Received unknown parameter: favourite_colour") {
		t.Fatalf("unknown: %+v", se)
	}
	pp := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("usd")}
	pp.AddExtra("transfer_data[bogus]", "x")
	_, err = e.sc.V1PaymentIntents.Create(ctx(), pp)
	if se := stripeErr(t, err); se.Param != "transfer_data[bogus]" {
		t.Fatalf("nested unknown: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Currency: stripe.String("usd")})
	se = stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Param != "amount" || se.Code != stripe.ErrorCodeParameterMissing {
		t.Fatalf("missing: %+v", se)
	}
	_, err = e.sc.V1Customers.Retrieve(ctx(), "cus_doesnotexist", nil)
	se = stripeErr(t, err)
	if se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing || !strings.Contains(se.Msg, "cus_doesnotexist") {
		t.Fatalf("missing id: %+v", se)
	}
}

func TestFormEncodingArraysAndClearing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// x[] and x[0] both make arrays.
	status, _, body := e.raw("POST", "/v1/webhook_endpoints", "url=http://127.0.0.1:1/h&enabled_events[]=charge.succeeded&enabled_events[]=charge.failed", nil)
	if status != 200 || !strings.Contains(string(body), `"enabled_events":["charge.succeeded","charge.failed"]`) {
		t.Fatalf("x[]: %d %s", status, body)
	}
	status, _, body = e.raw("POST", "/v1/webhook_endpoints", "url=http://127.0.0.1:1/h&enabled_events[1]=customer.updated&enabled_events[0]=customer.created", nil)
	if status != 200 || !strings.Contains(string(body), `"enabled_events":["customer.created","customer.updated"]`) {
		t.Fatalf("x[0]: %d %s", status, body)
	}
	// metadata[k]= removes one key; metadata= clears all.
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Metadata: map[string]string{"a": "1", "b": "2"}})
	mustf(t, err, "create")
	status, _, body = e.raw("POST", "/v1/customers/"+cu.ID, "metadata[a]=", nil)
	if status != 200 || !strings.Contains(string(body), `"metadata":{"b":"2"}`) {
		t.Fatalf("unset key: %s", body)
	}
	status, _, body = e.raw("POST", "/v1/customers/"+cu.ID, "metadata=&email=", nil)
	if status != 200 || !strings.Contains(string(body), `"metadata":{}`) || !strings.Contains(string(body), `"email":null`) {
		t.Fatalf("clear: %s", body)
	}
	// GET parameters travel in the query.
	status, _, body = e.raw("GET", "/v1/customers?limit=1&expand[]=data.invoice_settings.default_payment_method", "", nil)
	if status != 200 || !strings.Contains(string(body), `"object":"list"`) {
		t.Fatalf("query: %d %s", status, body)
	}
}

func TestListsPaginate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := 0; i < 5; i++ {
		cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("p@example.com")})
		mustf(t, err, "create")
		ids = append(ids, cu.ID)
	}
	// Newest first, two per page, through stripe-go's auto-pagination.
	var seen []string
	for cu, err := range e.sc.V1Customers.List(ctx(), &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}).All(ctx()) {
		mustf(t, err, "list")
		seen = append(seen, cu.ID)
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("order %v, created %v", seen, ids)
	}
	status, _, body := e.raw("GET", "/v1/customers?limit=2&ending_before="+ids[1], "", nil)
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		HasMore bool   `json:"has_more"`
		URL     string `json:"url"`
	}
	_ = json.Unmarshal(body, &page)
	if status != 200 || len(page.Data) != 2 || page.Data[0].ID != ids[3] || page.Data[1].ID != ids[2] || !page.HasMore || page.URL != "/v1/customers" {
		t.Fatalf("ending_before: %s", body)
	}
	status, _, _ = e.raw("GET", "/v1/customers?limit=101", "", nil)
	if status != 400 {
		t.Fatalf("limit 101 accepted: %d", status)
	}
	// The email filter.
	_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("other@example.com")})
	mustf(t, err, "create")
	n := 0
	for _, err := range e.sc.V1Customers.List(ctx(), &stripe.CustomerListParams{Email: stripe.String("other@example.com")}).All(ctx()) {
		mustf(t, err, "list by email")
		n++
	}
	if n != 1 {
		t.Fatalf("email filter found %d", n)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("x@example.com")})
	mustf(t, err, "customer")
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(2000), Currency: stripe.String("usd"), Customer: stripe.String(cu.ID),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true),
		Expand: []*string{stripe.String("customer"), stripe.String("latest_charge.balance_transaction")},
	})
	mustf(t, err, "pi")
	if pi.Customer == nil || pi.Customer.Email != "x@example.com" {
		t.Fatalf("customer not expanded: %+v", pi.Customer)
	}
	if pi.LatestCharge == nil || pi.LatestCharge.BalanceTransaction == nil || pi.LatestCharge.BalanceTransaction.Amount != 2000 {
		t.Fatalf("nested expansion failed: %+v", pi.LatestCharge)
	}
	var n int
	for p, err := range e.sc.V1PaymentIntents.List(ctx(), &stripe.PaymentIntentListParams{Expand: []*string{stripe.String("data.customer")}}).All(ctx()) {
		mustf(t, err, "list")
		if p.Customer == nil || p.Customer.Email != "x@example.com" {
			t.Fatal("data.customer not expanded")
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d intents", n)
	}
	_, err = e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, &stripe.PaymentIntentRetrieveParams{Expand: []*string{stripe.String("latest_charge.balance_transaction.source.customer.x")}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "4 levels") {
		t.Fatalf("five levels: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, &stripe.PaymentIntentRetrieveParams{Expand: []*string{stripe.String("amount")}})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || !strings.Contains(se.Msg, "cannot be expanded") {
		t.Fatalf("not expandable: %+v", se)
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, em := range []string{"a@example.com", "b@example.com"} {
		_, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String(em),
			Metadata: map[string]string{"tier": "gold"}})
		mustf(t, err, "customer")
	}
	var got []string
	for cu, err := range e.sc.V1Customers.Search(ctx(), &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: "email:'b@example.com'"}}).All(ctx()) {
		mustf(t, err, "search")
		got = append(got, cu.Email)
	}
	if len(got) != 1 || got[0] != "b@example.com" {
		t.Fatalf("email search: %v", got)
	}
	n := 0
	for _, err := range e.sc.V1Customers.Search(ctx(), &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{
		Query: "metadata['tier']:'gold'", Limit: stripe.Int64(1)}}).All(ctx()) {
		mustf(t, err, "search metadata")
		n++
	}
	if n != 2 {
		t.Fatalf("metadata search paged through %d", n)
	}
	pi, err := e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(500), Currency: stripe.String("usd"),
		Metadata: map[string]string{"order": "o-42"}})
	mustf(t, err, "pi")
	for p, err := range e.sc.V1PaymentIntents.Search(ctx(), &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{
		Query: `metadata["order"]:"o-42" AND status:"requires_payment_method"`}}).All(ctx()) {
		mustf(t, err, "pi search")
		if p.ID != pi.ID {
			t.Fatalf("found %s", p.ID)
		}
	}
	status, _, body := e.raw("GET", "/v1/customers/search?query=email%3D%27x%27", "", nil)
	if status != 400 || !strings.Contains(string(body), "query") {
		t.Fatalf("bad query: %d %s", status, body)
	}
}

func TestHTTPMethodHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status, hdr, _ := e.raw("GET", "/v1/balance", "", nil)
	if status != http.StatusOK || hdr.Get("Stripe-Version") != emulator.APIVersion {
		t.Fatalf("%d %v", status, hdr)
	}
}
