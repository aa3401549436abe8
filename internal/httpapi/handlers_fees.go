package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/payment"
)

func handleFeePolicyGet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := svc.PlatformFeePolicy(r.Context(), principalFrom(r.Context()).PlatformID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}

func handleFeePolicySet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.FeePolicyParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		fp, err := svc.SetPlatformFeePolicy(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, fp.View())
		return nil
	})
}

func handleMerchantFeePolicyGet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := svc.MerchantFeePolicy(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p.View())
		return nil
	})
}

func handleMerchantFeePolicySet(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p payment.FeePolicyParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		fp, err := svc.SetMerchantFeePolicy(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, fp.View())
		return nil
	})
}

func handleMerchantFeePolicyRemove(svc *payment.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		fp, err := svc.RemoveMerchantFeePolicy(r.Context(), principalFrom(r.Context()).PlatformID, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, fp.View())
		return nil
	})
}
