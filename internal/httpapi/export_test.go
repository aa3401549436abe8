package httpapi

// Fingerprint lets tests hold a key exactly as a request would.
var Fingerprint = fingerprint

// PaymentMethodRecord is the body of POST /v1/customers/{id}/payment_methods.
type PaymentMethodRecord = paymentMethodRecord

// NamesField lets the external fuzz test check params the same way.
var NamesField = namesField
