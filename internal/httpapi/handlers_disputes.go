package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/dispute"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/text"
)

func handleDisputeList(svc *dispute.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, dispute.Prefix)
		if err != nil {
			return err
		}
		var f dispute.Filter
		if f.MerchantID, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
			return err
		}
		if f.PaymentID, err = queryID(r, "payment", payment.PaymentPrefix); err != nil {
			return err
		}
		status, err := queryText(r, "status", text.Rule{Max: 32})
		if err != nil {
			return err
		}
		if f.Status = dispute.Status(status); !dispute.ValidStatus(f.Status) {
			return errs.Invalidf("status", "status must be a dispute status (needs_response, under_review, won, lost, warning_…), not %q.", status)
		}
		ds, more, err := svc.List(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]dispute.View, len(ds))
		for i, d := range ds {
			out[i] = d.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleDisputeGet(svc *dispute.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		d, err := svc.Get(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d.View())
		return nil
	})
}

func handleDisputeEvidence(svc *dispute.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p dispute.EvidenceParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		d, err := svc.SubmitEvidence(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d.View())
		return nil
	})
}

func handleDisputeClose(svc *dispute.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		d, err := svc.Close(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d.View())
		return nil
	})
}
