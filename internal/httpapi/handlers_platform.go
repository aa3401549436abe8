package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/platform"
)

func handlePlatformGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := platforms.Get(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}

func handlePlatformUpdate(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var u platform.Update
		if err := decodeJSON(r, &u); err != nil {
			return err
		}
		p, err := platforms.Update(r.Context(), principalFrom(r.Context()).PlatformID, u)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}

func handleAPIKeyList(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		page, err := parsePage(r, id.APIKey)
		if err != nil {
			return err
		}
		keys, more, err := platforms.ListKeys(r.Context(), principalFrom(r.Context()).PlatformID, page)
		if err != nil {
			return err
		}
		out := make([]platform.APIKeyView, len(keys))
		for i, k := range keys {
			out[i] = k.View()
		}
		writeJSON(w, http.StatusOK, newList(r, out, more))
		return nil
	})
}

func handleAPIKeyGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		k, err := platforms.GetKey(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, k.View())
		return nil
	})
}

func handleAPIKeyRevoke(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		if err := decodeJSON(r, &struct{}{}); err != nil {
			return err
		}
		k, err := platforms.RevokeKey(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, k.View())
		return nil
	})
}

func handlePlatformStripeGet(platforms *platform.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		s, err := platforms.Stripe(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.View())
		return nil
	})
}

func handlePlatformStripeUpdate(platforms *platform.Service, forget func(platformID string)) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var u platform.StripeUpdate
		if err := decodeJSON(r, &u); err != nil {
			return err
		}
		platformID := principalFrom(r.Context()).PlatformID
		s, err := platforms.SetStripe(r.Context(), platformID, u)
		if err != nil {
			return err
		}
		if forget != nil {
			forget(platformID) // the next Stripe call uses the new key
		}
		writeJSON(w, http.StatusOK, s.View())
		return nil
	})
}
