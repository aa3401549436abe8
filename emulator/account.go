package emulator

import (
	"encoding/gob"
	"net/http"
	"slices"
	"strings"
)

func init() {
	// Capabilities and applications are the data.object of capability.updated
	// and account.application.* events, which snapshots keep.
	gob.Register(&Capability{})
	gob.Register(&ConnectApplication{})
}

// AccountType is the kind of a connected account.
type AccountType string

// Account types as Stripe names them. AccountTypeNone is the type of an
// account created with controller properties that match no legacy type.
const (
	AccountTypeStandard AccountType = "standard"
	AccountTypeExpress  AccountType = "express"
	AccountTypeCustom   AccountType = "custom"
	AccountTypeNone     AccountType = "none"
)

// Account is a Stripe account: a platform (Platform empty) or a connected
// account of the platform named by Platform. A connected account's Meta.Acct
// is its platform, so it appears in the platform's list. A deauthorized
// account keeps Meta.Acct but loses Platform, so the platform can no longer
// address it.
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

	// Controller properties (fees.payer, losses.payments,
	// requirement_collection, stripe_dashboard.type).
	FeesPayer, LossesPayments, RequirementCollection, DashboardType string
	// OAuth marks an account connected through Connect OAuth: it controls
	// itself (controller.type "account").
	OAuth bool

	URL, SupportEmail, SupportPhone, MCC, ProductDescription string

	// Capabilities requested for the account; their status follows from
	// the requirements.
	Capabilities []CapabilityState
	// Due lists the requirements not yet met. While any is due, capabilities
	// are inactive, and charges and payouts disabled.
	Due []string

	// PayoutInterval is settings.payouts.schedule.interval: daily (the
	// default), weekly, monthly or manual. PayoutDelayDays is its
	// delay_days; WeeklyAnchor and MonthlyAnchor apply to weekly and
	// monthly schedules.
	PayoutInterval  string
	PayoutDelayDays int64
	WeeklyAnchor    string
	MonthlyAnchor   int64

	// ClientID and RedirectURIs are a platform's Connect settings.
	ClientID     string
	RedirectURIs []string
}

// CapabilityState is one requested (or unrequested) capability of an account.
type CapabilityState struct {
	Name        string
	Requested   bool
	RequestedAt int64
}

// knownCapabilities are the capabilities the emulator lets accounts request.
var knownCapabilities = []string{"bacs_debit_payments", "card_payments", "link_payments",
	"sepa_debit_payments", "transfers", "us_bank_account_ach_payments"}

// newAccountDue is what a restricted new account must still provide: the
// requirements Stripe lists for a fresh US Express account.
var newAccountDue = []string{"business_profile.mcc", "business_profile.url", "business_type",
	"external_account", "representative.first_name", "representative.last_name",
	"tos_acceptance.date", "tos_acceptance.ip"}

// capabilityStatus is active, inactive (requirements due) or unrequested.
func (a *Account) capabilityStatus(name string) string {
	for _, cs := range a.Capabilities {
		if cs.Name != name || !cs.Requested {
			continue
		}
		if len(a.Due) > 0 {
			return "inactive"
		}
		return "active"
	}
	return "unrequested"
}

// refresh derives charges_enabled and payouts_enabled from the
// capabilities and requirements, so the flags never disagree with them.
func (a *Account) refresh() {
	a.ChargesEnabled = a.capabilityStatus("card_payments") == "active"
	a.PayoutsEnabled = len(a.Due) == 0
}

// request sets a capability's requested flag, copying the slice so that
// event snapshots keep the old one.
func (a *Account) request(name string, requested bool, now int64) {
	caps := slices.Clone(a.Capabilities)
	i := slices.IndexFunc(caps, func(cs CapabilityState) bool { return cs.Name == name })
	if i < 0 {
		caps = append(caps, CapabilityState{Name: name})
		i = len(caps) - 1
	}
	if requested && !caps[i].Requested {
		caps[i].RequestedAt = now
	}
	caps[i].Requested = requested
	if !requested {
		caps[i].RequestedAt = 0
	}
	a.Capabilities = caps
	a.refresh()
}

// platformDefaults gives a platform's own account the capabilities and
// payout schedule it lacks, keeping what it has.
func (a *Account) platformDefaults(now, delayDays int64) {
	if a.Capabilities == nil {
		a.Capabilities = []CapabilityState{{"card_payments", true, now}, {"transfers", true, now}}
	}
	if a.PayoutInterval == "" {
		a.PayoutInterval, a.PayoutDelayDays = "daily", delayDays
	}
}

// satisfy marks every requirement met, as completing onboarding does.
func (a *Account) satisfy() {
	a.Due = nil
	a.Details = true
	a.refresh()
}

func (a *Account) render(st *state) obj {
	caps := obj{}
	for _, cs := range a.Capabilities {
		if cs.Requested {
			caps = append(caps, field{cs.Name, a.capabilityStatus(cs.Name)})
		}
	}
	return obj{
		{"id", a.ID}, {"object", "account"},
		{"business_profile", obj{{"annual_revenue", nil}, {"estimated_worker_count", nil}, {"mcc", strOrNil(a.MCC)},
			{"name", strOrNil(a.BusinessName)}, {"product_description", strOrNil(a.ProductDescription)},
			{"support_address", nil}, {"support_email", strOrNil(a.SupportEmail)},
			{"support_phone", strOrNil(a.SupportPhone)}, {"support_url", nil}, {"url", strOrNil(a.URL)}}},
		{"business_type", nil},
		{"capabilities", caps},
		{"charges_enabled", a.ChargesEnabled},
		{"controller", a.controller()},
		{"country", a.Country},
		{"created", a.Created},
		{"default_currency", a.DefaultCurrency},
		{"details_submitted", a.Details},
		{"email", strOrNil(a.Email)},
		{"future_requirements", requirementsObj(nil)},
		{"metadata", a.Metadata.orEmpty()},
		{"payouts_enabled", a.PayoutsEnabled},
		{"requirements", requirementsObj(a.Due)},
		{"settings", a.settings()},
		{"type", string(a.Type)},
	}
}

// requirementsObj renders requirements with due items: everything due is
// currently due, eventually due and, as for a new account, past due.
func requirementsObj(due []string) obj {
	list := append([]string{}, due...)
	var reason any
	if len(due) > 0 {
		reason = "requirements.past_due"
	}
	return obj{{"alternatives", []any{}}, {"current_deadline", nil}, {"currently_due", list},
		{"disabled_reason", reason}, {"errors", []any{}}, {"eventually_due", list}, {"past_due", list},
		{"pending_verification", []string{}}}
}

func (a *Account) controller() obj {
	if a.Platform == "" && !a.OAuth {
		return obj{{"type", "account"}}
	}
	typ := "application"
	if a.OAuth {
		typ = "account" // an OAuth-connected account controls itself
	}
	return obj{{"fees", obj{{"payer", a.FeesPayer}}}, {"is_controller", !a.OAuth},
		{"losses", obj{{"payments", a.LossesPayments}}}, {"requirement_collection", a.RequirementCollection},
		{"stripe_dashboard", obj{{"type", a.DashboardType}}}, {"type", typ}}
}

func (a *Account) settings() obj {
	interval := a.PayoutInterval
	if interval == "" {
		interval = "daily"
	}
	schedule := obj{{"delay_days", a.PayoutDelayDays}, {"interval", interval}}
	switch interval {
	case "weekly":
		schedule = append(schedule, field{"weekly_anchor", a.WeeklyAnchor})
	case "monthly":
		schedule = append(schedule, field{"monthly_anchor", a.MonthlyAnchor})
	}
	return obj{
		{"branding", obj{{"icon", nil}, {"logo", nil}, {"primary_color", nil}, {"secondary_color", nil}}},
		{"card_payments", obj{{"decline_on", obj{{"avs_failure", false}, {"cvc_failure", false}}},
			{"statement_descriptor_prefix", nil}, {"statement_descriptor_prefix_kana", nil},
			{"statement_descriptor_prefix_kanji", nil}}},
		{"dashboard", obj{{"display_name", strOrNil(a.BusinessName)}, {"timezone", "Etc/UTC"}}},
		{"payments", obj{{"statement_descriptor", nil}, {"statement_descriptor_kana", nil},
			{"statement_descriptor_kanji", nil}}},
		{"payouts", obj{{"debit_negative_balances", true}, {"schedule", schedule}, {"statement_descriptor", nil}}},
	}
}

// euro lists the euro area's countries.
var euro = []string{"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
	"MT", "NL", "PT", "SI", "SK"}

// currencyOf is the usual default currency of an account in country, or
// fallback for countries the emulator does not know.
func currencyOf(country, fallback string) string {
	switch country {
	case "US":
		return "usd"
	case "GB":
		return "gbp"
	case "CA":
		return "cad"
	case "AU":
		return "aud"
	case "JP":
		return "jpy"
	case "CH":
		return "chf"
	}
	if slices.Contains(euro, country) {
		return "eur"
	}
	return fallback
}

// controllerFor gives the controller properties Stripe assigns to each
// legacy account type.
func controllerFor(typ AccountType) (payer, losses, collection, dashboard string) {
	switch typ {
	case AccountTypeExpress:
		return "application_express", "application", "stripe", "express"
	case AccountTypeCustom:
		return "application_custom", "application", "application", "none"
	}
	return "account", "stripe", "stripe", "full"
}

// typeFor names the legacy type whose controller properties match, or none.
func typeFor(payer, losses, collection, dashboard string) AccountType {
	switch {
	case payer == "account" && losses == "stripe" && collection == "stripe" && dashboard == "full":
		return AccountTypeStandard
	case payer == "application" && losses == "application" && collection == "stripe" && dashboard == "express":
		return AccountTypeExpress
	case payer == "application" && losses == "application" && collection == "application" && dashboard == "none":
		return AccountTypeCustom
	}
	return AccountTypeNone
}

// accountFor finds an account the caller may see: its own, or one of the
// platform's connected accounts.
func (c *call) accountFor(id, param string) (*Account, *Error) {
	a, ok := c.st.Objects.get(id).(*Account)
	if !ok || (a.ID != c.acct && a.Platform != c.platform) || (c.acct != c.platform && a.ID != c.acct) {
		return nil, noSuch("account", param, id)
	}
	return a, nil
}

// connectedAccount finds one of the calling platform's connected accounts.
func (c *call) connectedAccount(id, param string) (*Account, *Error) {
	a, ok := c.st.Objects.get(id).(*Account)
	if !ok || a.Platform != c.platform {
		return nil, noSuch("account", param, id)
	}
	return a, nil
}

// checkCharging refuses a payment that an account without the needed
// capability would take: a direct charge or on_behalf_of needs
// card_payments, a destination needs transfers. The messages and the
// destination's code are Stripe's.
func (c *call) checkCharging(pi *PaymentIntent) *Error {
	if a, ok := c.st.Objects.get(c.acct).(*Account); ok && a.Platform != "" && !a.ChargesEnabled {
		return invalidRequest("", "You cannot create a charge on a connected account without the card_payments capability enabled.")
	}
	if a, ok := c.st.Objects.get(pi.extra().OnBehalfOf).(*Account); ok && a.Platform == c.platform && !a.ChargesEnabled {
		return invalidRequest("on_behalf_of", "You cannot create a charge on a connected account without the card_payments capability enabled.")
	}
	if a, ok := c.st.Objects.get(pi.extra().TransferDest).(*Account); ok && a.Platform == c.platform && a.capabilityStatus("transfers") != "active" {
		e := invalidRequestCode("insufficient_capabilities_for_transfer", "transfer_data[destination]",
			"Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments")
		e.Status = http.StatusForbidden
		return e
	}
	return nil
}

// accountParams are the fields create and update share.
func (c *call) accountParams(a *Account) {
	if v, ok := c.p.str("email"); ok {
		a.Email = v
	}
	if v, ok := c.p.str("default_currency"); ok && v != "" {
		a.DefaultCurrency = strings.ToLower(v)
	}
	for name, dst := range map[string]*string{"name": &a.BusinessName, "url": &a.URL, "support_email": &a.SupportEmail,
		"support_phone": &a.SupportPhone, "mcc": &a.MCC, "product_description": &a.ProductDescription} {
		if v, ok := c.p.str("business_profile", name); ok {
			*dst = v
		}
	}
	a.Metadata = c.p.metadata(a.Metadata)
	c.payoutSchedule(a)
	if n := c.p.node("capabilities"); n != nil {
		for _, name := range n.order {
			req, ok := c.p.boolean("capabilities", name, "requested")
			if !slices.Contains(knownCapabilities, name) {
				c.p.fail(invalidRequest("capabilities["+name+"]", "Invalid capability: %s", name))
			} else if ok {
				a.request(name, req, c.now)
			}
		}
	}
	c.p.ignore("business_type", "business_profile", "tos_acceptance", "settings", "individual", "company",
		"external_account", "account_token", "documents", "groups", "bank_account", "expand")
}

// payoutSchedule reads settings[payouts][schedule].
func (c *call) payoutSchedule(a *Account) {
	const prefix = "settings[payouts][schedule]"
	path := []string{"settings", "payouts", "schedule"}
	if v, ok := c.p.enum([]string{"daily", "manual", "monthly", "weekly"}, append(path, "interval")...); ok {
		a.PayoutInterval = v
	}
	if v, ok := c.p.str(append(path, "delay_days")...); ok && v != "minimum" {
		d, _ := c.p.integer(append(path, "delay_days")...)
		if d < 0 || d > 365 {
			c.p.fail(invalidRequest(prefix+"[delay_days]", "delay_days must be between 0 and 365."))
		}
		a.PayoutDelayDays = d
	}
	if v, ok := c.p.enum([]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"},
		append(path, "weekly_anchor")...); ok {
		a.WeeklyAnchor = v
	}
	if v, ok := c.p.integer(append(path, "monthly_anchor")...); ok {
		if v < 1 || v > 31 {
			c.p.fail(invalidRequest(prefix+"[monthly_anchor]", "monthly_anchor must be between 1 and 31."))
		}
		a.MonthlyAnchor = v
	}
	switch {
	case a.PayoutInterval == "weekly" && a.WeeklyAnchor == "":
		c.p.fail(missingParam(prefix + "[weekly_anchor]"))
	case a.PayoutInterval == "monthly" && a.MonthlyAnchor == 0:
		c.p.fail(missingParam(prefix + "[monthly_anchor]"))
	}
}

// controllerParams reads controller[…] over the type's defaults.
func (c *call) controllerParams(a *Account) {
	if v, ok := c.p.enum([]string{"account", "application"}, "controller", "fees", "payer"); ok {
		a.FeesPayer = v
	}
	if v, ok := c.p.enum([]string{"application", "stripe"}, "controller", "losses", "payments"); ok {
		a.LossesPayments = v
	}
	if v, ok := c.p.enum([]string{"application", "stripe"}, "controller", "requirement_collection"); ok {
		a.RequirementCollection = v
	}
	if v, ok := c.p.enum([]string{"express", "full", "none"}, "controller", "stripe_dashboard", "type"); ok {
		a.DashboardType = v
	}
}

func handleAccountCreate(c *call) (any, *Error) {
	if c.acct != c.platform {
		return nil, &Error{Status: 403, Type: ErrorTypeInvalidRequest, Message: "Only platforms can create connected accounts.", validation: true}
	}
	platform := c.st.Objects.get(c.platform).(*Account)
	typ, hasType := c.p.enum([]string{"standard", "express", "custom"}, "type")
	hasController := c.p.has("controller")
	a := c.s.newConnected(c.platform, AccountType(typ), c.now)
	a.Country, a.DefaultCurrency = platform.Country, platform.DefaultCurrency
	if !hasType {
		// Unset controller properties take the defaults of the simplest
		// configuration, which is Standard's.
		a.FeesPayer, a.LossesPayments, a.RequirementCollection, a.DashboardType = controllerFor(AccountTypeStandard)
	}
	c.controllerParams(a)
	if v, ok := c.p.str("country"); ok && v != "" {
		a.Country = strings.ToUpper(v)
		a.DefaultCurrency = currencyOf(a.Country, a.DefaultCurrency)
	}
	c.accountParams(a)
	if !hasType && !hasController {
		c.p.fail(missingParam("type"))
	}
	if hasType && hasController {
		c.p.fail(invalidRequest("controller", "You cannot specify both `type` and `controller`."))
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if !hasType {
		a.Type = typeFor(a.FeesPayer, a.LossesPayments, a.RequirementCollection, a.DashboardType)
	}
	a.ID = c.st.newID("acct")[:21]
	c.st.put(a)
	c.emit("account.updated", a)
	return a, nil
}

// newConnected makes a connected account of platform with its type's
// controller properties and the default capabilities: enabled at once, or
// with requirements due when Options.AccountsStartRestricted is set.
func (s *Server) newConnected(platform string, typ AccountType, now int64) *Account {
	if typ == "" {
		typ = AccountTypeStandard
	}
	a := &Account{Meta: Meta{Acct: platform, Created: now}, Type: typ, Platform: platform,
		PayoutInterval: "daily", PayoutDelayDays: s.payoutDelayDays()}
	a.FeesPayer, a.LossesPayments, a.RequirementCollection, a.DashboardType = controllerFor(typ)
	a.request("card_payments", true, now)
	a.request("transfers", true, now)
	if s.opts.AccountsStartRestricted {
		a.Due = newAccountDue
	} else {
		a.Details = true
	}
	a.refresh()
	return a
}

// payoutDelayDays is the default delay_days: how long funds stay pending.
func (s *Server) payoutDelayDays() int64 {
	return int64(s.opts.AvailableAfter.Hours() / 24)
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

// handleAccountUpdate changes an account and announces it with
// account.updated, whose previous_attributes hold what changed.
func handleAccountUpdate(c *call) (any, *Error) {
	a, err := c.accountFor(c.r.PathValue("id"), "account")
	if err != nil {
		return nil, err
	}
	next := *a
	c.accountParams(&next)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	before := *a
	*a = next
	c.emitUpdated(a, &before)
	return a, nil
}

// emitUpdated records account.updated with the account as it was before.
func (c *call) emitUpdated(a, before *Account) {
	c.emit("account.updated", a)
	c.events[len(c.events)-1].setBefore(before)
}

func handleAccountDelete(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	a, err := c.connectedAccount(c.r.PathValue("id"), "account")
	if err != nil {
		return nil, err
	}
	c.st.oauth().revokeAccount(a.ID)
	c.st.remove(a)
	return obj{{"id", a.ID}, {"object", "account"}, {"deleted", true}}, nil
}

func handleAccountList(c *call) (any, *Error) {
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("account", "/v1/accounts", c.st.Lists[listKey{c.platform, "account"}], func(o object) bool {
		a := o.(*Account)
		return a.Platform == c.platform && created(a.Created)
	})
}

// previousAttributes is what Stripe puts in an update event's
// previous_attributes: the old value of every field that changed, nested
// objects reduced to their changed fields.
func previousAttributes(before, after obj) obj {
	out := obj{}
	for _, f := range before {
		var now any
		for _, g := range after {
			if g.k == f.k {
				now = g.v
			}
		}
		bo, isObj := f.v.(obj)
		ao, bothObj := now.(obj)
		switch {
		case isObj && bothObj:
			if sub := previousAttributes(bo, ao); len(sub) > 0 {
				out = append(out, field{f.k, sub})
			}
		case string(appendJSON(nil, f.v)) != string(appendJSON(nil, now)):
			out = append(out, field{f.k, f.v})
		}
	}
	return out
}
