package emulator

import (
	"net/http"
	"testing"
	"time"
)

// SetExecuteHook lets tests hold a request between its idempotency claim
// and its execution.
func SetExecuteHook(s *Server, f func(*http.Request)) { s.executeHook = f }

// WaitWebhooks waits until no webhook delivery is due or being sent, so a
// test can assert that nothing more arrives.
func WaitWebhooks(tb testing.TB, s *Server) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.hooks.idle(s.clock.now()) {
		if time.Now().After(deadline) {
			tb.Fatal("webhook deliveries still due after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
