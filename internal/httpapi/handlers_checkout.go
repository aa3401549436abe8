package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/checkout"
)

func handleCheckoutLinkCreate(svc *checkout.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p checkout.LinkParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		l, err := svc.CreateLink(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}

func handleCheckoutLinkGet(svc *checkout.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		l, err := svc.Link(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}

func handleCheckoutLinkCancel(svc *checkout.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		l, err := svc.CancelLink(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}
