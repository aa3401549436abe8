package emulator

import "net/http"

// SetExecuteHook lets tests hold a request between its idempotency claim
// and its execution.
func SetExecuteHook(s *Server, f func(*http.Request)) { s.executeHook = f }
