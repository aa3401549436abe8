package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/text"
)

func handleMerchantCreate(svc *connect.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p connect.MerchantParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		m, err := svc.CreateMerchant(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m.View())
		return nil
	})
}

func handleMerchantGet(svc *connect.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		m, err := svc.Merchant(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m.View())
		return nil
	})
}

func handleMerchantUpdate(svc *connect.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p connect.MerchantParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		m, err := svc.UpdateMerchant(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m.View())
		return nil
	})
}

func handleMerchantList(svc *connect.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, connect.MerchantPrefix)
		if err != nil {
			return err
		}
		f, err := merchantFilter(r)
		if err != nil {
			return err
		}
		ms, more, err := svc.Merchants(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]connect.MerchantView, len(ms))
		for i, m := range ms {
			out[i] = m.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

// merchantFilter reads a merchant list's filters. account_id is Stripe's
// (acct_…), so only its text is checked.
func merchantFilter(r *http.Request) (connect.MerchantFilter, error) {
	f := connect.MerchantFilter{Archived: r.URL.Query().Get("archived") == "true"}
	var err error
	if f.ExternalID, err = queryText(r, "external_id", text.FieldRuleOf[connect.MerchantParams]("ExternalID")); err != nil {
		return f, err
	}
	if f.AccountID, err = queryText(r, "account_id", text.DefaultRule); err != nil {
		return f, err
	}
	status, err := queryText(r, "status", text.Rule{Max: 32})
	if err != nil {
		return f, err
	}
	f.Status = connect.Status(status)
	return f, f.Status.Validate()
}

// merchantAction handles the POSTs on one merchant that take no body.
func merchantAction(do func(r *http.Request, platformID, merchantID string) (*connect.Merchant, error)) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		m, err := do(r, principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m.View())
		return nil
	})
}

func handleMerchantArchive(svc *connect.Service) http.Handler {
	return merchantAction(func(r *http.Request, platformID, merchantID string) (*connect.Merchant, error) {
		return svc.ArchiveMerchant(r.Context(), platformID, merchantID)
	})
}

func handleMerchantRefresh(svc *connect.Service) http.Handler {
	return merchantAction(func(r *http.Request, platformID, merchantID string) (*connect.Merchant, error) {
		return svc.Refresh(r.Context(), platformID, merchantID)
	})
}

func handleMerchantDisconnect(svc *connect.Service) http.Handler {
	return merchantAction(func(r *http.Request, platformID, merchantID string) (*connect.Merchant, error) {
		m, _, err := svc.Disconnect(r.Context(), platformID, merchantID)
		return m, err
	})
}

func handleConnectLinkCreate(svc *connect.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p connect.LinkParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		l, err := svc.CreateLink(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.View())
		return nil
	})
}
