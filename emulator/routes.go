package emulator

import "net/http"

// routes lists every endpoint the emulator serves. To add a resource: write
// its struct with a render method in its own file, add it to kindOf and
// snapshot, write handlers that read every parameter through c.p and call
// c.p.finish before changing anything, and list the handlers here.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	api := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.api(h)) }

	api("GET /v1/account", handleAccountRetrieve)
	api("POST /v1/accounts", handleAccountCreate)
	api("GET /v1/accounts", handleAccountList)
	api("GET /v1/accounts/{id}", handleAccountRetrieve)
	api("POST /v1/accounts/{id}", handleAccountUpdate)
	api("DELETE /v1/accounts/{id}", handleAccountDelete)
	api("GET /v1/accounts/{id}/capabilities", handleCapabilityList)
	api("GET /v1/accounts/{id}/capabilities/{cap}", handleCapabilityRetrieve)
	api("POST /v1/accounts/{id}/capabilities/{cap}", handleCapabilityUpdate)
	api("POST /v1/accounts/{id}/login_links", handleLoginLinkCreate)
	api("POST /v1/account_links", handleAccountLinkCreate)

	api("POST /v1/customers", handleCustomerCreate)
	api("GET /v1/customers", handleCustomerList)
	api("GET /v1/customers/search", handleCustomerSearch)
	api("GET /v1/customers/{id}", handleCustomerRetrieve)
	api("POST /v1/customers/{id}", handleCustomerUpdate)
	api("DELETE /v1/customers/{id}", handleCustomerDelete)
	api("GET /v1/customers/{customer}/payment_methods", handlePaymentMethodList)
	api("GET /v1/customers/{customer}/payment_methods/{id}", handleCustomerPaymentMethodRetrieve)

	api("POST /v1/payment_methods", handlePaymentMethodCreate)
	api("GET /v1/payment_methods", handlePaymentMethodList)
	api("GET /v1/payment_methods/{id}", handlePaymentMethodRetrieve)
	api("POST /v1/payment_methods/{id}", handlePaymentMethodUpdate)
	api("POST /v1/payment_methods/{id}/attach", handlePaymentMethodAttach)
	api("POST /v1/payment_methods/{id}/detach", handlePaymentMethodDetach)

	api("POST /v1/setup_intents", handleSetupIntentCreate)
	api("GET /v1/setup_intents", handleSetupIntentList)
	api("GET /v1/setup_intents/{id}", handleSetupIntentRetrieve)
	api("POST /v1/setup_intents/{id}", handleSetupIntentUpdate)
	api("POST /v1/setup_intents/{id}/confirm", handleSetupIntentConfirm)
	api("POST /v1/setup_intents/{id}/cancel", handleSetupIntentCancel)

	api("POST /v1/payment_intents", handlePaymentIntentCreate)
	api("GET /v1/payment_intents", handlePaymentIntentList)
	api("GET /v1/payment_intents/search", handlePaymentIntentSearch)
	api("GET /v1/payment_intents/{id}", handlePaymentIntentRetrieve)
	api("POST /v1/payment_intents/{id}", handlePaymentIntentUpdate)
	api("POST /v1/payment_intents/{id}/confirm", handlePaymentIntentConfirm)
	api("POST /v1/payment_intents/{id}/capture", handlePaymentIntentCapture)
	api("POST /v1/payment_intents/{id}/cancel", handlePaymentIntentCancel)

	api("GET /v1/charges", handleChargeList)
	api("GET /v1/charges/{id}", handleChargeRetrieve)

	api("POST /v1/refunds", handleRefundCreate)
	api("GET /v1/refunds", handleRefundList)
	api("GET /v1/refunds/{id}", handleRefundRetrieve)
	api("POST /v1/refunds/{id}", handleRefundUpdate)

	api("POST /v1/transfers", handleTransferCreate)
	api("GET /v1/transfers", handleTransferList)
	api("GET /v1/transfers/{id}", handleTransferRetrieve)
	api("POST /v1/transfers/{id}", handleTransferUpdate)
	api("POST /v1/transfers/{id}/reversals", handleTransferReversalCreate)
	api("GET /v1/transfers/{id}/reversals", handleTransferReversalList)
	api("GET /v1/transfers/{id}/reversals/{rid}", handleTransferReversalRetrieve)

	api("GET /v1/application_fees", handleApplicationFeeList)
	api("GET /v1/application_fees/{id}", handleApplicationFeeRetrieve)
	api("POST /v1/application_fees/{id}/refunds", handleFeeRefundCreate)
	api("GET /v1/application_fees/{id}/refunds", handleFeeRefundList)
	api("GET /v1/application_fees/{id}/refunds/{rid}", handleFeeRefundRetrieve)

	api("GET /v1/balance", handleBalanceRetrieve)
	api("GET /v1/balance_transactions", handleBalanceTransactionList)
	api("GET /v1/balance_transactions/{id}", handleBalanceTransactionRetrieve)
	api("GET /v1/balance/history", handleBalanceTransactionList)
	api("GET /v1/balance/history/{id}", handleBalanceTransactionRetrieve)

	api("GET /v1/disputes", handleDisputeList)
	api("GET /v1/disputes/{id}", handleDisputeRetrieve)
	api("POST /v1/disputes/{id}", handleDisputeUpdate)
	api("POST /v1/disputes/{id}/close", handleDisputeClose)

	api("POST /v1/payouts", handlePayoutCreate)
	api("GET /v1/payouts", handlePayoutList)
	api("GET /v1/payouts/{id}", handlePayoutRetrieve)
	api("POST /v1/payouts/{id}", handlePayoutUpdate)
	api("POST /v1/payouts/{id}/cancel", handlePayoutCancel)
	api("GET /v1/accounts/{account}/external_accounts", handleExternalAccountList)
	api("POST /v1/accounts/{account}/external_accounts", handleExternalAccountCreate)
	api("GET /v1/accounts/{account}/external_accounts/{id}", handleExternalAccountRetrieve)

	api("GET /v1/events", handleEventList)
	api("GET /v1/events/{id}", handleEventRetrieve)

	api("POST /v1/webhook_endpoints", handleWebhookEndpointCreate)
	api("GET /v1/webhook_endpoints", handleWebhookEndpointList)
	api("GET /v1/webhook_endpoints/{id}", handleWebhookEndpointRetrieve)
	api("POST /v1/webhook_endpoints/{id}", handleWebhookEndpointUpdate)
	api("DELETE /v1/webhook_endpoints/{id}", handleWebhookEndpointDelete)

	mux.HandleFunc("DELETE /_emulator/data", s.handleReset)
	mux.HandleFunc("GET /_emulator/clock", s.handleClock)
	mux.HandleFunc("POST /_emulator/clock/advance", s.handleClockAdvance)
	mux.HandleFunc("GET /_emulator/faults", s.handleFaults)
	mux.HandleFunc("POST /_emulator/faults", s.handleFaultsSet)
	mux.HandleFunc("GET /_emulator/faults/webhooks", s.handleWebhookFaultCounts)
	mux.HandleFunc("POST /_emulator/platforms", s.handlePlatformAdd)

	// Connect OAuth, served on the emulator's origin in place of
	// connect.stripe.com, and the pages account and login links open.
	mux.HandleFunc("GET /oauth/authorize", s.handleOAuthAuthorize)
	mux.HandleFunc("POST /oauth/authorize", s.handleOAuthAuthorize)
	mux.HandleFunc("GET /express/oauth/authorize", s.handleOAuthAuthorize)
	mux.HandleFunc("POST /express/oauth/authorize", s.handleOAuthAuthorize)
	mux.HandleFunc("POST /oauth/token", s.handleOAuthToken)
	mux.HandleFunc("POST /oauth/deauthorize", s.handleOAuthDeauthorize)
	mux.HandleFunc("GET /_emulator/connect/onboarding/{token}", s.handleOnboardingPage)
	mux.HandleFunc("POST /_emulator/connect/onboarding/{token}", s.handleOnboardingSubmit)
	mux.HandleFunc("GET /_emulator/connect/express/{acct}/{token}", s.handleExpressDashboard)
	mux.HandleFunc("GET /_emulator/authenticate/{id}", s.handleChallengePage)
	mux.HandleFunc("POST /_emulator/authenticate/{id}", s.handleAuthenticate)

	mux.HandleFunc("GET /v3", handleStripeJS)
	mux.HandleFunc("GET /v3/{$}", handleStripeJS)
	mux.HandleFunc("GET /_emulator/elements/card", handleCardElement)
	mux.HandleFunc("GET /_emulator/stripejs/{file}", handleStripeJSAsset)
	mux.HandleFunc("OPTIONS /v1/", handlePreflight)

	mux.HandleFunc("/", s.notFound)
	return mux
}
