package emulator

// Customer is a customer of one account.
type Customer struct {
	Meta
	Email       string
	Name        string
	Phone       string
	Description string
	Metadata    Metadata
	DefaultPM   string
	Deleted     bool
}

func (cu *Customer) render(st *state) obj {
	if cu.Deleted {
		return obj{{"id", cu.ID}, {"object", "customer"}, {"deleted", true}}
	}
	return obj{
		{"id", cu.ID}, {"object", "customer"},
		{"address", nil}, {"balance", 0}, {"created", cu.Created}, {"currency", nil},
		{"default_source", nil}, {"delinquent", false}, {"description", strOrNil(cu.Description)},
		{"discount", nil}, {"email", strOrNil(cu.Email)},
		{"invoice_prefix", invoicePrefix(cu.ID)},
		{"invoice_settings", obj{{"custom_fields", nil}, {"default_payment_method", ref(cu.DefaultPM)},
			{"footer", nil}, {"rendering_options", nil}}},
		{"livemode", false}, {"metadata", cu.Metadata.orEmpty()}, {"name", strOrNil(cu.Name)},
		{"next_invoice_sequence", 1}, {"phone", strOrNil(cu.Phone)}, {"preferred_locales", []string{}},
		{"shipping", nil}, {"tax_exempt", "none"}, {"test_clock", nil},
	}
}

// invoicePrefix derives a stable eight-character prefix from the id.
func invoicePrefix(id string) string {
	b := []byte(id[len(id)-8:])
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// customerFor finds a live customer of the calling account.
func (c *call) customerFor(id, param string) (*Customer, *Error) {
	cu, err := get[*Customer](c.st, c.acct, id, "customer", param)
	if err != nil {
		return nil, err
	}
	if cu.Deleted {
		return nil, noSuch("customer", param, id)
	}
	return cu, nil
}

// customerParams are the fields create and update share.
func (c *call) customerParams(cu *Customer) (pm string) {
	if v, ok := c.p.str("email"); ok {
		cu.Email = v
	}
	if v, ok := c.p.str("name"); ok {
		cu.Name = v
	}
	if v, ok := c.p.str("phone"); ok {
		cu.Phone = v
	}
	if v, ok := c.p.str("description"); ok {
		cu.Description = v
	}
	if v, ok := c.p.str("invoice_settings", "default_payment_method"); ok {
		cu.DefaultPM = v
	}
	cu.Metadata = c.p.metadata(cu.Metadata)
	c.p.ignore("address", "shipping", "preferred_locales", "tax_exempt", "invoice_settings", "expand")
	pm, _ = c.p.str("payment_method")
	return pm
}

func handleCustomerCreate(c *call) (any, *Error) {
	cu := &Customer{}
	pmID := c.customerParams(cu)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	var pm *PaymentMethod
	if pmID != "" {
		var err *Error
		if pm, err = c.paymentMethodFor(pmID, "payment_method"); err != nil {
			return nil, err
		}
		if pm.Customer != "" {
			return nil, invalidRequest("payment_method", "The payment method you provided has already been attached to a customer.")
		}
		if tc := pm.card(); tc.Behavior == cardDeclines {
			e := tc.decline()
			e.Param = "payment_method"
			return nil, e
		}
	}
	if cu.DefaultPM != "" {
		if p, err := c.paymentMethodFor(cu.DefaultPM, "invoice_settings[default_payment_method]"); err != nil {
			return nil, err
		} else if p.Customer != "" && p != pm {
			return nil, invalidRequest("invoice_settings[default_payment_method]", "The payment method must be attached to this customer.")
		}
	}
	cu.Meta = Meta{ID: c.st.newID("cus")[:18], Acct: c.acct, Created: c.now}
	c.st.put(cu)
	c.emit("customer.created", cu)
	if pm != nil {
		pm.Customer = cu.ID
		c.emit("payment_method.attached", pm)
	}
	return cu, nil
}

func handleCustomerRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return get[*Customer](c.st, c.acct, c.r.PathValue("id"), "customer", "id")
}

func handleCustomerUpdate(c *call) (any, *Error) {
	cu, err := c.customerFor(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	next := *cu
	if pm := c.customerParams(&next); pm != "" {
		c.p.fail(invalidRequest("payment_method", "Received unknown parameter: payment_method"))
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if next.DefaultPM != "" && next.DefaultPM != cu.DefaultPM {
		pm, err := c.paymentMethodFor(next.DefaultPM, "invoice_settings[default_payment_method]")
		if err != nil {
			return nil, err
		}
		if pm.Customer != cu.ID {
			return nil, invalidRequest("invoice_settings[default_payment_method]", "The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", pm.ID)
		}
	}
	*cu = next
	c.emit("customer.updated", cu)
	return cu, nil
}

func handleCustomerDelete(c *call) (any, *Error) {
	cu, err := c.customerFor(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	c.emit("customer.deleted", cu)
	cu.Deleted = true
	for _, o := range c.st.Lists[listKey{c.acct, "payment_method"}] {
		if pm := o.(*PaymentMethod); pm.Customer == cu.ID {
			pm.Customer = ""
		}
	}
	return cu, nil
}

func handleCustomerList(c *call) (any, *Error) {
	email, hasEmail := c.p.str("email")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("customer", "/v1/customers", c.st.Lists[listKey{c.acct, "customer"}], func(o object) bool {
		cu := o.(*Customer)
		return !cu.Deleted && created(cu.Created) && (!hasEmail || cu.Email == email)
	})
}

func handleCustomerSearch(c *call) (any, *Error) {
	return c.searchPage("/v1/customers/search", c.st.Lists[listKey{c.acct, "customer"}],
		[]string{"email", "name", "phone", "metadata"},
		func(o object, f, k string) (string, bool) {
			cu := o.(*Customer)
			if cu.Deleted {
				return "", false
			}
			switch f {
			case "email":
				return cu.Email, true
			case "name":
				return cu.Name, true
			case "phone":
				return cu.Phone, true
			}
			return metaGet(cu.Metadata, f, k)
		})
}
