package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

func handlePaymentCreate(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.CreateParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		pay, err := svc.Create(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pay.View())
		return nil
	})
}

func handlePaymentGet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		pay, err := svc.Payment(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		v, err := svc.ViewOf(r.Context(), pay)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	})
}

func handlePaymentList(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, payment.PaymentPrefix)
		if err != nil {
			return err
		}
		f, err := paymentFilter(r)
		if err != nil {
			return err
		}
		ps, more, err := svc.Payments(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]payment.View, len(ps))
		for i, p := range ps {
			if out[i], err = svc.ViewOf(r.Context(), p); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

// paymentFilter reads a list's filters; status is checked by the service.
func paymentFilter(r *http.Request) (payment.Filter, error) {
	var f payment.Filter
	var err error
	if f.Merchant, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
		return f, err
	}
	if f.Customer, err = queryID(r, "customer", wallet.CustomerPrefix); err != nil {
		return f, err
	}
	status, err := queryText(r, "status", text.Rule{Max: 32})
	if err != nil {
		return f, err
	}
	f.Status = payment.Status(status)
	f.Reference, err = queryText(r, "reference", text.FieldRuleOf[payment.CreateParams]("Reference"))
	return f, err
}

func handlePaymentCapture(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.CaptureParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		pay, err := svc.Capture(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pay.View())
		return nil
	})
}

func handlePaymentCancel(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		pay, err := svc.Cancel(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pay.View())
		return nil
	})
}

func handleRefundCreate(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.RefundParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		ref, err := svc.CreateRefund(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ref.View())
		return nil
	})
}

func handleRefundList(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, payment.RefundPrefix)
		if err != nil {
			return err
		}
		rs, more, err := svc.Refunds(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), page)
		if err != nil {
			return err
		}
		out := make([]payment.RefundView, len(rs))
		for i, ref := range rs {
			out[i] = ref.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleRefundGet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		ref, err := svc.Refund(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ref.View())
		return nil
	})
}
