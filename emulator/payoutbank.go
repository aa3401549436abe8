package emulator

import (
	"encoding/gob"
	"strings"
)

func init() { gob.Register(&BankAccount{}) }

// BankAccount is an external account payouts go to. It lives on the
// account it belongs to. Every account has one from the start, Stripe's
// succeeding test account in its default currency; more can be added with
// POST /v1/accounts/{id}/external_accounts, among them Stripe's failing
// test accounts.
type BankAccount struct {
	Meta
	Country    string
	Currency   string
	Routing    string
	Number     string // kept to decide the test outcome; only last4 is shown
	HolderName string
	HolderType string
	Default    bool
	Status     string
	Metadata   Metadata
}

// testBankFailures maps the account numbers of Stripe's Connect testing
// page (docs.stripe.com/connect/testing#payouts) whose payouts fail to
// their failure codes: US (routing 110000000), IBAN and UK (sort code
// 108800) numbers. Any other number's payouts succeed.
var testBankFailures = map[string]string{
	"000111111116":           "no_account",
	"000111111113":           "account_closed",
	"000222222227":           "insufficient_funds",
	"000333333335":           "debit_not_authorized",
	"000444444440":           "invalid_currency",
	"DE62370400440532013001": "no_account",
	"DE89370400440532013002": "account_closed",
	"DE89370400440532013003": "insufficient_funds",
	"DE89370400440532013004": "debit_not_authorized",
	"DE89370400440532013005": "invalid_currency",
	"11111116":               "no_account",
	"11111113":               "account_closed",
	"22222227":               "insufficient_funds",
	"33333335":               "debit_not_authorized",
	"44444440":               "invalid_currency",
}

// testBankSucceeding is the succeeding test account per currency, from the
// same page: routing and account number.
var testBankSucceeding = map[string][2]string{
	"usd": {"110000000", "000123456789"},
	"eur": {"", "DE89370400440532013000"},
	"gbp": {"108800", "00012345"},
}

func (ba *BankAccount) failureCode() string {
	if ba == nil {
		return ""
	}
	return testBankFailures[ba.Number]
}

func (ba *BankAccount) render(st *state) obj {
	return obj{
		{"id", ba.ID}, {"object", "bank_account"},
		{"account", ref(ba.Acct)}, {"account_holder_name", strOrNil(ba.HolderName)},
		{"account_holder_type", strOrNil(ba.HolderType)}, {"account_type", nil},
		{"available_payout_methods", []string{"standard"}}, {"bank_name", "STRIPE TEST BANK"},
		{"country", ba.Country}, {"currency", ba.Currency}, {"default_for_currency", ba.Default},
		{"fingerprint", "fp" + ba.Number[len(ba.Number)-4:] + "Emu00000000"}, {"future_requirements", nil},
		{"last4", ba.Number[len(ba.Number)-4:]}, {"metadata", ba.Metadata.orEmpty()},
		{"requirements", nil}, {"routing_number", strOrNil(ba.Routing)}, {"status", ba.Status},
	}
}

// bankAccounts lists an account's bank accounts, oldest first, giving it
// its test bank account on first use: that account has existed since the
// account did, so it is dated then and announced by no event.
func (c *call) bankAccounts(a *Account) []object {
	k := listKey{a.ID, "bank_account"}
	if _, ok := c.st.Lists[k]; !ok {
		nums, ok := testBankSucceeding[a.DefaultCurrency]
		if !ok {
			nums = testBankSucceeding["usd"]
		}
		c.st.put(&BankAccount{
			Meta:    Meta{ID: c.st.newID("ba"), Acct: a.ID, Created: a.Created},
			Country: a.Country, Currency: a.DefaultCurrency, Routing: nums[0], Number: nums[1],
			Default: true, Status: "new",
		})
	}
	return c.st.Lists[k]
}

// defaultBankAccount is the account's default bank account for currency,
// or nil when it has none in that currency.
func (c *call) defaultBankAccount(a *Account, currency string) *BankAccount {
	for _, o := range c.bankAccounts(a) {
		if ba := o.(*BankAccount); ba.Currency == currency && ba.Default {
			return ba
		}
	}
	return nil
}

// externalAccountOwner is the account named in the path, if the caller may
// see it.
func (c *call) externalAccountOwner() (*Account, *Error) {
	return c.accountFor(c.r.PathValue("account"), "account")
}

func handleExternalAccountList(c *call) (any, *Error) {
	a, err := c.externalAccountOwner()
	if err != nil {
		return nil, err
	}
	kind, _ := c.p.enum([]string{"bank_account", "card"}, "object")
	url := "/v1/accounts/" + a.ID + "/external_accounts"
	return c.listPage("bank_account", url, c.bankAccounts(a), func(object) bool { return kind != "card" })
}

func handleExternalAccountRetrieve(c *call) (any, *Error) {
	a, err := c.externalAccountOwner()
	if err != nil {
		return nil, err
	}
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	c.bankAccounts(a)
	return get[*BankAccount](c.st, a.ID, c.r.PathValue("id"), "external account", "id")
}

// handleExternalAccountCreate adds a bank account from
// external_account[object]=bank_account and its details. The first one in
// a currency, or one sent with default_for_currency=true (top-level or
// inside external_account, as stripe-go sends it), becomes the currency's
// default, the one payouts go to.
func handleExternalAccountCreate(c *call) (any, *Error) {
	a, err := c.externalAccountOwner()
	if err != nil {
		return nil, err
	}
	ba := c.bankAccountParams()
	makeDefault, _ := c.p.boolean("default_for_currency")
	if nested, ok := c.p.boolean("external_account", "default_for_currency"); ok { // as stripe-go sends it
		makeDefault = nested
	}
	ba.Metadata = c.p.metadata(nil)
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	existing := c.bankAccounts(a)
	ba.Default = makeDefault || c.defaultBankAccount(a, ba.Currency) == nil
	if ba.Default {
		for _, o := range existing {
			if other := o.(*BankAccount); other.Currency == ba.Currency && other.Default {
				other.Default = false
				c.emit("account.external_account.updated", other)
			}
		}
	}
	ba.Meta = Meta{ID: c.st.newID("ba"), Acct: a.ID, Created: c.now}
	c.st.put(ba)
	c.emit("account.external_account.created", ba)
	return ba, nil
}

// bankAccountParams reads external_account[…]. Tokens (btok_…) are not
// modelled.
func (c *call) bankAccountParams() *BankAccount {
	ba := &BankAccount{Status: "new"}
	switch n := c.p.node("external_account"); {
	case n == nil:
		c.p.fail(missingParam("external_account"))
		return ba
	case n.kids == nil:
		n.markUsed()
		c.p.fail(noSuch("token", "external_account", n.val))
		return ba
	}
	if kind, _ := c.p.enum([]string{"bank_account"}, "external_account", "object"); kind == "" {
		c.p.fail(missingParam("external_account[object]"))
	}
	ba.Country = strings.ToUpper(c.p.required("external_account", "country"))
	ba.Currency = strings.ToLower(c.p.required("external_account", "currency"))
	ba.Number = c.p.required("external_account", "account_number")
	ba.Routing, _ = c.p.str("external_account", "routing_number")
	ba.HolderName, _ = c.p.str("external_account", "account_holder_name")
	ba.HolderType, _ = c.p.enum([]string{"individual", "company"}, "external_account", "account_holder_type")
	if ba.Country == "US" && !nineDigits(ba.Routing) {
		c.p.fail(invalidRequest("external_account[routing_number]", "Routing number must have 9 digits"))
	}
	if len(ba.Number) < 4 {
		c.p.fail(invalidRequest("external_account[account_number]", "Invalid account number"))
	}
	return ba
}

func nineDigits(s string) bool {
	if len(s) != 9 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
