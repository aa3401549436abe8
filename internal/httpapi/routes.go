package httpapi

import "net/http"

// addRoutes lists every route of the API. Routes under /v1/ except the
// OpenAPI document need a secret API key; POSTs honour Idempotency-Key.
func addRoutes(mux *http.ServeMux, d Deps) {
	authed := func(h http.Handler) http.Handler {
		return limitBody(requireAPIKey(d.Platforms, d.Logger)(h))
	}
	idempotent := func(h http.Handler) http.Handler {
		return authed(withIdempotency(d.Idempotency, d.Logger)(h))
	}

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d.Ready, d.Logger))
	mux.Handle("GET /v1/openapi.json", handleOpenAPI())

	mux.Handle("GET /v1/platform", authed(handlePlatformGet(d.Platforms)))
	mux.Handle("POST /v1/platform", idempotent(handlePlatformUpdate(d.Platforms)))
	mux.Handle("GET /v1/platform/stripe", authed(handlePlatformStripeGet(d.Platforms)))
	mux.Handle("POST /v1/platform/stripe", idempotent(handlePlatformStripeUpdate(d.Platforms, d.forgetStripeClient)))

	mux.Handle("GET /v1/api_keys", authed(handleAPIKeyList(d.Platforms)))
	mux.Handle("GET /v1/api_keys/{id}", authed(handleAPIKeyGet(d.Platforms)))
	mux.Handle("POST /v1/api_keys/{id}/revoke", idempotent(handleAPIKeyRevoke(d.Platforms)))

	if d.Connect != nil {
		mux.Handle("POST /v1/merchants", idempotent(handleMerchantCreate(d.Connect)))
		mux.Handle("GET /v1/merchants", authed(handleMerchantList(d.Connect)))
		mux.Handle("GET /v1/merchants/{id}", authed(handleMerchantGet(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}", idempotent(handleMerchantUpdate(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/archive", idempotent(handleMerchantArchive(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/connect_links", idempotent(handleConnectLinkCreate(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/refresh", idempotent(handleMerchantRefresh(d.Connect)))
		mux.Handle("POST /v1/merchants/{id}/disconnect", idempotent(handleMerchantDisconnect(d.Connect)))
	}

	mux.Handle("/v1/", authed(handleNoRoute()))
	mux.Handle("/", handleNoRoute())
}
