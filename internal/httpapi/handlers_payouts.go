package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/payout"
	"github.com/tenderpay/tender/internal/text"
)

func handlePayoutList(svc *payout.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, payout.Prefix)
		if err != nil {
			return err
		}
		var f payout.Filter
		if f.MerchantID, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
			return err
		}
		owner, err := queryText(r, "owner", text.Rule{Max: 32})
		if err != nil {
			return err
		}
		switch owner {
		case "", "merchant":
		case "platform":
			if f.MerchantID != "" {
				return errs.Invalidf("owner", "owner=platform and merchant cannot both be given.")
			}
		default:
			return errs.Invalidf("owner", "owner must be platform or merchant, not %q.", owner)
		}
		f.Owner = owner
		status, err := queryText(r, "status", text.Rule{Max: 32})
		if err != nil {
			return err
		}
		if f.Status = payout.Status(status); !payout.ValidStatus(f.Status) {
			return errs.Invalidf("status", "status must be pending, in_transit, paid, failed or canceled, not %q.", status)
		}
		ps, more, err := svc.List(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]payout.View, len(ps))
		for i, p := range ps {
			out[i] = p.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handlePayoutGet(svc *payout.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		v, err := svc.Detail(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	})
}
