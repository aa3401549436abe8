package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/connect"
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
		page, err := parsePage(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f := connect.MerchantFilter{ExternalID: q.Get("external_id"), Status: connect.Status(q.Get("status")),
			AccountID: q.Get("account_id"), Archived: q.Get("archived") == "true"}
		if err := f.Status.Validate(); err != nil {
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
