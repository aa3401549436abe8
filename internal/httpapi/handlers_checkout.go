package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/payment"
)

func handleCheckoutLinkCreate(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.CheckoutLinkParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		l, err := svc.CreateCheckoutLink(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}

func handleCheckoutLinkGet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		l, err := svc.CheckoutLink(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}

func handleCheckoutLinkCancel(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		l, err := svc.CancelCheckoutLink(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, l.ViewAt(svc.Now()))
		return nil
	})
}
