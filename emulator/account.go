package emulator

// AccountType is the kind of a connected account.
type AccountType string

// Account types as Stripe names them.
const (
	AccountTypeStandard AccountType = "standard"
	AccountTypeExpress  AccountType = "express"
	AccountTypeCustom   AccountType = "custom"
)

// Account is a Stripe account: a platform (Platform empty) or a connected
// account of the platform named by Platform. A connected account's Meta.Acct
// is its platform, so it appears in the platform's list.
type Account struct {
	Meta
	Type            AccountType
	Country         string
	DefaultCurrency string
	Email           string
	BusinessName    string
	ChargesEnabled  bool
	PayoutsEnabled  bool
	Details         bool
	Platform        string
	Metadata        Metadata
	PublishableKey  string
}

func (a *Account) render(st *state) obj {
	capStatus := "active"
	if !a.ChargesEnabled {
		capStatus = "inactive"
	}
	controller := obj{{"type", "account"}}
	if a.Platform != "" {
		controller = obj{{"is_controller", true}, {"type", "application"}}
	}
	empty := []string{}
	return obj{
		{"id", a.ID}, {"object", "account"},
		{"business_profile", obj{{"mcc", nil}, {"name", strOrNil(a.BusinessName)}, {"support_email", nil},
			{"support_phone", nil}, {"support_url", nil}, {"url", nil}}},
		{"business_type", nil},
		{"capabilities", obj{{"card_payments", capStatus}, {"transfers", capStatus}}},
		{"charges_enabled", a.ChargesEnabled},
		{"controller", controller},
		{"country", a.Country},
		{"created", a.Created},
		{"default_currency", a.DefaultCurrency},
		{"details_submitted", a.Details},
		{"email", strOrNil(a.Email)},
		{"metadata", a.Metadata.orEmpty()},
		{"payouts_enabled", a.PayoutsEnabled},
		{"requirements", obj{{"alternatives", []any{}}, {"current_deadline", nil}, {"currently_due", empty},
			{"disabled_reason", nil}, {"errors", []any{}}, {"eventually_due", empty}, {"past_due", empty},
			{"pending_verification", empty}}},
		{"type", string(a.Type)},
	}
}

// accountFor finds an account the caller may see: its own, or one of the
// platform's connected accounts.
func (c *call) accountFor(id, param string) (*Account, *Error) {
	a, ok := c.st.Objects[id].(*Account)
	if !ok || (a.ID != c.acct && a.Platform != c.platform) || (c.acct != c.platform && a.ID != c.acct) {
		return nil, noSuch("account", param, id)
	}
	return a, nil
}

// connectedAccount finds one of the calling platform's connected accounts.
func (c *call) connectedAccount(id, param string) (*Account, *Error) {
	a, ok := c.st.Objects[id].(*Account)
	if !ok || a.Platform != c.platform {
		return nil, noSuch("account", param, id)
	}
	return a, nil
}

func handleAccountCreate(c *call) (any, *Error) {
	if c.acct != c.platform {
		return nil, &Error{Status: 403, Type: ErrorTypeInvalidRequest, Message: "Only platforms can create connected accounts.", validation: true}
	}
	platform := c.st.Objects[c.platform].(*Account)
	typ, hasType := c.p.enum([]string{"standard", "express", "custom"}, "type")
	hasController := c.p.has("controller")
	if n := c.p.node("controller"); n != nil {
		n.markUsed() // controller properties are modelled in part 2
	}
	country, _ := c.p.str("country")
	email, _ := c.p.str("email")
	name, _ := c.p.str("business_profile", "name")
	currency, _ := c.p.str("default_currency")
	md := c.p.metadata(nil)
	c.p.ignore("capabilities", "business_type", "business_profile", "tos_acceptance", "settings", "individual", "company", "external_account")
	if !hasType && !hasController {
		c.p.fail(missingParam("type"))
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if typ == "" {
		typ = "standard"
	}
	if country == "" {
		country = platform.Country
	}
	if currency == "" {
		currency = platform.DefaultCurrency
	}
	a := &Account{
		Meta: Meta{ID: c.st.newID("acct")[:21], Acct: c.platform, Created: c.now},
		Type: AccountType(typ), Country: country, DefaultCurrency: currency, Email: email,
		BusinessName: name, ChargesEnabled: true, PayoutsEnabled: true, Details: true,
		Platform: c.platform, Metadata: md,
	}
	c.st.put(a)
	c.emit("account.updated", a)
	return a, nil
}

func handleAccountRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	if id == "" {
		id = c.acct
	}
	return c.accountFor(id, "account")
}

func handleAccountList(c *call) (any, *Error) {
	c.p.ignore("created")
	return c.listPage("account", "/v1/accounts", c.st.Lists[listKey{c.platform, "account"}], func(o object) bool {
		return o.(*Account).Platform == c.platform
	})
}
