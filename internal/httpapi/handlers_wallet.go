package httpapi

import (
	"net/http"

	"github.com/tenderpay/tender/internal/wallet"
)

func handleWalletSessionCreate(svc *wallet.Service) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		var p wallet.SessionParams
		if err := decodeJSON(r, &p); err != nil {
			return err
		}
		ws, err := svc.CreateSession(r.Context(), principalFrom(r.Context()).PlatformID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ws.View())
		return nil
	})
}
