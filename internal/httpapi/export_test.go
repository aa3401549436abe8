package httpapi

// Fingerprint lets tests hold a key exactly as a request would.
var Fingerprint = fingerprint
