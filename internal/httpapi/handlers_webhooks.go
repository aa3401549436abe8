package httpapi

import (
	"net/http"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/webhooks"
)

func handleWebhookEndpointCreate(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p webhooks.EndpointParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		e, err := svc.CreateEndpoint(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.View())
		return nil
	})
}

func handleWebhookEndpointList(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, webhooks.EndpointPrefix)
		if err != nil {
			return err
		}
		es, more, err := svc.Endpoints(r.Context(), principalFrom(r.Context()).PlatformID, page)
		if err != nil {
			return err
		}
		out := make([]webhooks.EndpointView, len(es))
		for i, e := range es {
			out[i] = e.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleWebhookEndpointGet(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := svc.Endpoint(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.View())
		return nil
	})
}

func handleWebhookEndpointUpdate(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p webhooks.EndpointParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		e, err := svc.UpdateEndpoint(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.View())
		return nil
	})
}

type deletedView struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func handleWebhookEndpointDelete(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		e, err := svc.DeleteEndpoint(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, deletedView{ID: e.ID, Object: "webhook_endpoint", Deleted: true})
		return nil
	})
}

// rotateParams: expires_in is how many seconds the old secret keeps
// signing (default 24 h, 0 ends it now); signature_scheme switches the
// endpoint to the other scheme.
type rotateParams struct {
	ExpiresIn       *int64  `json:"expires_in"`
	SignatureScheme *string `json:"signature_scheme" text:"32"`
}

func handleWebhookEndpointRotate(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p rotateParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		overlap := webhooks.DefaultRotationOverlap
		if p.ExpiresIn != nil {
			overlap = -1 // out of range unless it fits
			if *p.ExpiresIn >= 0 && *p.ExpiresIn <= int64(webhooks.MaxRotationOverlap/time.Second) {
				overlap = time.Duration(*p.ExpiresIn) * time.Second
			}
		}
		scheme := webhooks.Scheme("")
		if p.SignatureScheme != nil {
			scheme = webhooks.Scheme(*p.SignatureScheme)
		}
		e, err := svc.RotateSecret(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), overlap, scheme)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e.View())
		return nil
	})
}

func handleWebhookAttemptList(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, webhooks.AttemptPrefix)
		if err != nil {
			return err
		}
		eventID, err := queryID(r, "event", event.Prefix)
		if err != nil {
			return err
		}
		as, more, err := svc.Attempts(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), eventID, page)
		if err != nil {
			return err
		}
		out := make([]webhooks.AttemptView, len(as))
		for i, a := range as {
			out[i] = a.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

// recoverParams bound the events to send again by creation time: since
// inclusive, until exclusive (default now).
type recoverParams struct {
	Since *time.Time `json:"since"`
	Until *time.Time `json:"until"`
}

type recoveryView struct {
	Object   string     `json:"object"`
	Endpoint string     `json:"webhook_endpoint"`
	Since    time.Time  `json:"since"`
	Until    time.Time  `json:"until"`
	Events   int        `json:"events"`
	Resume   *time.Time `json:"resume_from"`
}

func handleWebhookEndpointRecover(svc *webhooks.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p recoverParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		var since, until time.Time
		if p.Since != nil {
			since = *p.Since
		}
		if p.Until != nil {
			until = *p.Until
		}
		rec, err := svc.Recover(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), since, until)
		if err != nil {
			return err
		}
		v := recoveryView{Object: "webhook_recovery", Endpoint: rec.EndpointID, Since: rec.Since, Until: rec.Until, Events: rec.Events}
		if !rec.Last.IsZero() {
			v.Resume = &rec.Last
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	})
}
