package emulator

import (
	"net/http"
	"slices"
)

// Account links open the emulator's onboarding form; login links its
// stand-in for the Express Dashboard. Capabilities are requested per
// account and are active once the account's requirements are met.

// accountLinkLifetime is how long an account link can be opened; Stripe's
// links expire 300 seconds after they are created.
const accountLinkLifetime = 300

// accountLink is a single-use onboarding link. visited is set when the
// form is shown (opening the link again goes to refresh_url), done when it
// was submitted.
type accountLink struct {
	account, platform, typ, refreshURL, returnURL string
	expires                                       int64
	visited, done                                 bool
}

func handleAccountLinkCreate(c *call) (any, *Error) {
	id := c.p.required("account")
	typ, _ := c.p.enum([]string{"account_onboarding", "account_update"}, "type")
	if !c.p.has("type") {
		c.p.fail(missingParam("type"))
	}
	refresh := c.p.required("refresh_url")
	ret := c.p.required("return_url")
	c.p.enum([]string{"currently_due", "eventually_due"}, "collect")
	c.p.enum([]string{"currently_due", "eventually_due"}, "collection_options", "fields")
	c.p.enum([]string{"include", "omit"}, "collection_options", "future_requirements")
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if c.acct != c.platform {
		return nil, invalidRequest("account", "Only platforms can create account links.")
	}
	a, err := c.connectedAccount(id, "account")
	if err != nil {
		return nil, err
	}
	if typ == "account_update" && a.RequirementCollection != "application" {
		// Stripe: account_update only for accounts whose requirements the
		// platform collects, such as Custom accounts.
		return nil, invalidRequest("type", `Valid types for this account are ["account_onboarding"]`)
	}
	token := c.st.randString(32)
	c.st.oauth().links[token] = &accountLink{account: a.ID, platform: c.platform, typ: typ, refreshURL: refresh,
		returnURL: ret, expires: c.now + accountLinkLifetime}
	return obj{{"object", "account_link"}, {"created", c.now}, {"expires_at", c.now + accountLinkLifetime},
		{"url", c.baseURL() + "/_emulator/connect/onboarding/" + token}}, nil
}

// openLink finds a link the user may still use and its account; a link
// that is unknown has no refresh_url to go to. The caller holds s.mu.
func (s *Server) openLink(token string, submitting bool) (*accountLink, *Account, bool) {
	l, ok := s.st.oauth().links[token]
	if !ok {
		return nil, nil, false
	}
	a, ok := s.st.Objects.get(l.account).(*Account)
	usable := ok && a.Platform == l.platform && !l.done
	if submitting {
		usable = usable && l.visited
	} else {
		usable = usable && !l.visited && s.clock.now().Unix() < l.expires
	}
	if !usable {
		return l, nil, true
	}
	return l, a, true
}

// handleOnboardingPage shows the onboarding form of an account link. An
// expired or already visited link goes to its refresh_url, as Stripe's do.
func (s *Server) handleOnboardingPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l, a, known := s.openLink(r.PathValue("token"), false)
	var data map[string]any
	if a != nil {
		l.visited = true
		p, _ := s.st.Objects.get(l.platform).(*Account)
		data = map[string]any{"Platform": p.BusinessName, "Account": a.ID, "BusinessName": a.BusinessName,
			"Email": a.Email, "Country": a.Country, "Update": l.typ == "account_update"}
	}
	s.mu.Unlock()
	switch {
	case !known:
		page(w, http.StatusNotFound, "oauth_error.html", "This account link does not exist.")
	case a == nil:
		http.Redirect(w, r, l.refreshURL, http.StatusFound)
	default:
		page(w, http.StatusOK, "onboarding_form.html", data)
	}
}

// handleOnboardingSubmit completes onboarding: every requirement is met,
// the capabilities become active, account.updated and capability.updated
// are announced, and the browser goes to return_url.
func (s *Server) handleOnboardingSubmit(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	l, a, known := s.openLink(r.PathValue("token"), true)
	var deliveries []*delivery
	if a != nil {
		l.done = true
		c := s.systemCall(r, a.ID)
		before := *a
		if v := r.PostForm.Get("business_name"); v != "" {
			a.BusinessName = v
		}
		if v := r.PostForm.Get("email"); v != "" {
			a.Email = v
		}
		a.satisfy()
		c.emitUpdated(a, &before)
		c.emitCapabilityChanges(&before, a)
		deliveries = c.commitEvents()
	}
	s.mu.Unlock()
	s.hooks.enqueue(deliveries)
	switch {
	case !known:
		page(w, http.StatusNotFound, "oauth_error.html", "This account link does not exist.")
	case a == nil:
		http.Redirect(w, r, l.refreshURL, http.StatusSeeOther)
	default:
		http.Redirect(w, r, l.returnURL, http.StatusSeeOther)
	}
}

// handleLoginLinkCreate makes a link to the Express Dashboard; Stripe only
// makes them for accounts with Express Dashboard access that finished
// onboarding.
func handleLoginLinkCreate(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	a, err := c.connectedAccount(c.r.PathValue("id"), "account")
	if err != nil {
		return nil, err
	}
	if a.DashboardType != "express" {
		return nil, invalidRequest("account", "You can only create login links for accounts that use the Express Dashboard and are connected to your platform.")
	}
	if !a.Details {
		return nil, invalidRequest("account", "Cannot create a login link for an account that has not completed onboarding.")
	}
	return obj{{"object", "login_link"}, {"created", c.now},
		{"url", c.baseURL() + "/_emulator/connect/express/" + a.ID + "/" + c.st.randString(12)}}, nil
}

// handleExpressDashboard stands in for the Express Dashboard a login link
// opens.
func (s *Server) handleExpressDashboard(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.st.Objects.get(r.PathValue("acct")).(*Account)
	var data Account
	if ok {
		data = *a
	}
	s.mu.Unlock()
	if !ok {
		page(w, http.StatusNotFound, "oauth_error.html", "No such account.")
		return
	}
	page(w, http.StatusOK, "onboarding_express.html", &data)
}

// Capability is one capability of an account as the API shows it. It is
// built from the account on demand.
type Capability struct {
	Meta
	Requested   bool
	RequestedAt int64
	Status      string
	Due         []string
}

// capability builds the named capability of a; Meta.Acct is the account.
func (a *Account) capability(name string) *Capability {
	cp := &Capability{Meta: Meta{ID: name, Acct: a.ID, Created: a.Created}, Status: a.capabilityStatus(name)}
	for _, cs := range a.Capabilities {
		if cs.Name == name {
			cp.Requested, cp.RequestedAt = cs.Requested, cs.RequestedAt
		}
	}
	if cp.Status == "inactive" {
		cp.Due = slices.Clone(a.Due)
	}
	return cp
}

func (cp *Capability) render(*state) obj {
	var at, reason any
	if cp.RequestedAt != 0 {
		at = cp.RequestedAt
	}
	if cp.Status == "inactive" {
		reason = "requirements.fields_needed"
	}
	due := append([]string{}, cp.Due...)
	req := func(due []string, reason any) obj {
		return obj{{"alternatives", []any{}}, {"current_deadline", nil}, {"currently_due", due}, {"disabled_reason", reason},
			{"errors", []any{}}, {"eventually_due", due}, {"past_due", due}, {"pending_verification", []string{}}}
	}
	return obj{{"id", cp.ID}, {"object", "capability"}, {"account", ref(cp.Acct)},
		{"future_requirements", req([]string{}, nil)}, {"requested", cp.Requested}, {"requested_at", at},
		{"requirements", req(due, reason)}, {"status", cp.Status}}
}

// emitCapabilityChanges announces capability.updated for each capability
// whose status or request changed between before and a.
func (c *call) emitCapabilityChanges(before, a *Account) {
	for _, name := range knownCapabilities {
		old, now := before.capability(name), a.capability(name)
		if old.Status != now.Status || old.Requested != now.Requested {
			c.emit("capability.updated", now)
		}
	}
}

// capabilityOf reads the account and capability named in the path.
func (c *call) capabilityOf() (*Account, string, *Error) {
	a, err := c.accountFor(c.r.PathValue("id"), "account")
	if err != nil {
		return nil, "", err
	}
	name := c.r.PathValue("cap")
	if !slices.Contains(knownCapabilities, name) {
		return nil, "", noSuch("capability", "capability", name)
	}
	return a, name, nil
}

func handleCapabilityList(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	a, err := c.accountFor(c.r.PathValue("id"), "account")
	if err != nil {
		return nil, err
	}
	data := []any{}
	for _, name := range knownCapabilities {
		data = append(data, a.capability(name).render(c.st))
	}
	return obj{{"object", "list"}, {"data", data}, {"has_more", false}, {"url", "/v1/accounts/" + a.ID + "/capabilities"}}, nil
}

func handleCapabilityRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	a, name, err := c.capabilityOf()
	if err != nil {
		return nil, err
	}
	return a.capability(name), nil
}

// handleCapabilityUpdate requests (requested=true) or gives up a
// capability. Without card_payments an account cannot take charges.
func handleCapabilityUpdate(c *call) (any, *Error) {
	requested, has := c.p.boolean("requested")
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	a, name, err := c.capabilityOf()
	if err != nil {
		return nil, err
	}
	if has {
		before := *a
		a.request(name, requested, c.now)
		c.emitCapabilityChanges(&before, a)
		c.emitUpdated(a, &before)
	}
	return a.capability(name), nil
}
