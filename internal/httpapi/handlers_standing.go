package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/standing"
	"github.com/tenderpay/tender/internal/text"
	"github.com/tenderpay/tender/internal/wallet"
)

func handleStandingCreate(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p standing.CreateParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		o, err := svc.Create(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, o.View())
		return nil
	})
}

func handleStandingList(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, standing.Prefix)
		if err != nil {
			return err
		}
		var f standing.Filter
		if f.CustomerID, err = queryID(r, "customer", wallet.CustomerPrefix); err != nil {
			return err
		}
		if f.MerchantID, err = queryID(r, "merchant", connect.MerchantPrefix); err != nil {
			return err
		}
		status, err := queryText(r, "status", text.Rule{Max: 32})
		if err != nil {
			return err
		}
		if f.Status = standing.Status(status); !standing.ValidStatus(f.Status) {
			return errs.Invalidf("status", "status must be active, paused, canceled or completed, not %q.", status)
		}
		os, more, err := svc.List(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]standing.View, len(os))
		for i, o := range os {
			out[i] = o.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleStandingGet(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		o, err := svc.Get(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, o.View())
		return nil
	})
}

func handleStandingUpdate(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p standing.UpdateParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		o, err := svc.Update(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, o.View())
		return nil
	})
}

// handleStandingMove serves pause, resume and cancel, which take no body.
func handleStandingMove(move func(ctx context.Context, platformID, orderID string) (*standing.Order, error)) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		o, err := move(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, o.View())
		return nil
	})
}

func handleStandingCycles(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		limit, after := 10, 0
		q := r.URL.Query()
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				return errs.Invalidf("limit", "limit must be an integer from 1 to 100, not %q.", s)
			}
			limit = n
		}
		if s := q.Get("starting_after"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return errs.Invalidf("starting_after", "starting_after must be a cycle's seq, a positive integer, not %q.", s)
			}
			after = n
		}
		cs, more, err := svc.Cycles(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), after, limit)
		if err != nil {
			return err
		}
		out := make([]standing.CycleView, len(cs))
		for i, c := range cs {
			out[i] = c.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleStandingPolicyGet(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := svc.Policy(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}

func handleStandingPolicySet(svc *standing.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var pp standing.PolicyParams
		if err := decodeJSON(r, &pp); err != nil {
			return err
		}
		p, err := svc.SetPolicy(r.Context(), principalFrom(r.Context()).PlatformID, pp)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}
