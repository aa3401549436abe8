package emulator_test

import "testing"

// TestValidatorRejectsMismatch guards the guard: a response that breaks the
// spec must be reported.
func TestValidatorRejectsMismatch(t *testing.T) {
	loadSpec(t)
	bad := []byte(`{"id":"cus_1","object":"customer","created":"yesterday","livemode":false}`)
	if msg := validateResponse("GET", "/v1/customers/cus_1", 200, bad); msg == "" {
		t.Fatal("a string created was accepted")
	}
	good := []byte(`{"id":"cus_1","object":"customer","created":1,"livemode":false}`)
	if msg := validateResponse("GET", "/v1/customers/cus_1", 200, good); msg != "" {
		t.Fatalf("a minimal customer was rejected: %s", msg)
	}
}
