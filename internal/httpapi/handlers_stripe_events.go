package httpapi

import (
	"io"
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/stripeevents"
	"github.com/tenderpay/tender/internal/text"
)

// handleStripeWebhook receives Stripe's deliveries at a platform's
// endpoint of a scope. Stripe signs them; there is no API key. The answer
// comes once the event is stored with its job: applying it is the job's.
func handleStripeWebhook(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		platformID, scope := r.PathValue("platform"), stripeevents.Scope(r.PathValue("scope"))
		if !id.Valid(platformID, id.Platform) || (scope != stripeevents.ScopeAccount && scope != stripeevents.ScopeConnect) {
			return errs.NotFoundf("", "No such endpoint.")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return errs.E(errs.Invalid, "The body could not be read.")
		}
		rc, err := svc.Receive(r.Context(), stripeevents.Delivery{PlatformID: platformID, Scope: scope, Header: r.Header,
			Body: body, RemoteAddr: r.RemoteAddr})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"received": true, "id": rc.ID, "duplicate": rc.Duplicate})
		return nil
	})
}

func handleStripeEndpointList(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		es, err := svc.Endpoints(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, es)
		return nil
	})
}

func handleStripeEndpointSetup(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p struct{}
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		es, err := svc.Setup(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, es)
		return nil
	})
}

// rollParams is the body of a roll: how long the old secrets keep
// verifying, in seconds.
type rollParams struct {
	ExpiresIn *int64 `json:"expires_in"`
}

func handleStripeEndpointRoll(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p rollParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		overlap := stripeevents.DefaultOverlap
		if p.ExpiresIn != nil {
			if *p.ExpiresIn < 0 || *p.ExpiresIn > int64(stripeevents.MaxOverlap/time.Second) {
				return errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds.", int64(stripeevents.MaxOverlap/time.Second))
			}
			overlap = time.Duration(*p.ExpiresIn) * time.Second
		}
		es, err := svc.Roll(r.Context(), principalFrom(r.Context()).PlatformID, overlap)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, es)
		return nil
	})
}

func handleStripeEventList(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, stripeevents.EventPrefix)
		if err != nil {
			return err
		}
		var f stripeevents.Filter
		if f.Type, err = queryText(r, "type", text.Rule{Max: 64}); err != nil {
			return err
		}
		if f.Account, err = queryText(r, "account", text.Rule{Max: 255}); err != nil {
			return err
		}
		state, err := queryText(r, "state", text.Rule{Max: 32})
		if err != nil {
			return err
		}
		if f.State = stripeevents.State(state); !f.State.Valid() {
			return errs.Invalidf("state", "state must be one of received, applied, failed, ignored, not %q.", state)
		}
		evs, more, err := svc.List(r.Context(), principalFrom(r.Context()).PlatformID, f, page)
		if err != nil {
			return err
		}
		out := make([]stripeevents.View, len(evs))
		for i, e := range evs {
			out[i] = e.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleStripeEventGet(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := svc.Get(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.FullView())
		return nil
	})
}

func handleStripeEventReplay(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := svc.Replay(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.FullView())
		return nil
	})
}

func handleStripeEventCoverage(svc *stripeevents.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		c, err := svc.CoverageOf(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	})
}
