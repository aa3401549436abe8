package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

func handleCustomerCreate(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p wallet.CustomerParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		c, err := svc.CreateCustomer(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handleCustomerGet(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		c, err := svc.Customer(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handleCustomerUpdate(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p wallet.CustomerParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		c, err := svc.UpdateCustomer(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handleCustomerList(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, wallet.CustomerPrefix)
		if err != nil {
			return err
		}
		f := wallet.CustomerFilter{Archived: r.URL.Query().Get("archived") == "true"}
		if f.ExternalID, err = queryText(r, "external_id", text.FieldRuleOf[wallet.CustomerParams]("ExternalID")); err != nil {
			return err
		}
		if f.Email, err = queryText(r, "email", text.FieldRuleOf[wallet.CustomerParams]("Email")); err != nil {
			return err
		}
		cs, more, err := svc.Customers(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]wallet.CustomerView, len(cs))
		for i, c := range cs {
			out[i] = c.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleCustomerArchive(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		c, err := svc.ArchiveCustomer(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handleSetupIntentCreate(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p wallet.SetupIntentParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		customerID := r.PathValue("id")
		si, err := svc.CreateSetupIntent(r.Context(), principalFrom(r.Context()).PlatformID, customerID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, wallet.SetupIntentView{Object: "setup_intent", ID: si.ID, ClientSecret: si.ClientSecret,
			PublishableKey: si.PublishableKey, Status: si.Status, Usage: si.Usage, Customer: customerID})
		return nil
	})
}

// paymentMethodRecord asks to record the card of a succeeded SetupIntent.
type paymentMethodRecord struct {
	SetupIntent string `json:"setup_intent" text:"255"` // seti_…, Stripe's
}

func handlePaymentMethodRecord(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p paymentMethodRecord
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		if p.SetupIntent == "" {
			return errs.Missing("setup_intent")
		}
		pm, err := svc.RecordSetup(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p.SetupIntent)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pm.View())
		return nil
	})
}

func handlePaymentMethodList(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		pms, err := svc.PaymentMethods(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		out := make([]wallet.PaymentMethodView, len(pms))
		for i, pm := range pms {
			out[i] = pm.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, false))
		return nil
	})
}

func handlePaymentMethodGet(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		pm, err := svc.PaymentMethod(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), r.PathValue("pm"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pm.View())
		return nil
	})
}

func handlePaymentMethodDefault(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		c, err := svc.SetDefault(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), r.PathValue("pm"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handlePaymentMethodDetach(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		pm, err := svc.Detach(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), r.PathValue("pm"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pm.View())
		return nil
	})
}

func handleConsentCreate(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p wallet.ConsentParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		c, err := svc.GrantConsent(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}

func handleConsentList(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		cs, err := svc.Consents(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		out := make([]wallet.ConsentView, len(cs))
		for i, c := range cs {
			out[i] = c.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, false))
		return nil
	})
}

func handleConsentRevoke(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		c, err := svc.RevokeConsent(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), r.PathValue("consent"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c.View())
		return nil
	})
}
