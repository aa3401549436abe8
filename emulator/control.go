package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// The control API under /_emulator/ is for tests and operators of a local
// emulator; it needs no key. It answers JSON.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"type": "invalid_request_error", "message": msg}})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true})
}

func (s *Server) handleClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().Unix()})
}

// handleClockAdvance moves the clock by seconds=N or duration=1h30m.
func (s *Server) handleClockAdvance(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var d time.Duration
	switch {
	case r.Form.Get("seconds") != "":
		n, err := strconv.ParseInt(r.Form.Get("seconds"), 10, 64)
		if err != nil || n < 0 {
			controlError(w, http.StatusBadRequest, "seconds must be a non-negative integer")
			return
		}
		d = time.Duration(n) * time.Second
	case r.Form.Get("duration") != "":
		var err error
		if d, err = time.ParseDuration(r.Form.Get("duration")); err != nil || d < 0 {
			controlError(w, http.StatusBadRequest, "duration must be a non-negative Go duration such as 48h")
			return
		}
	default:
		controlError(w, http.StatusBadRequest, "give seconds=N or duration=1h")
		return
	}
	s.Advance(d)
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().Unix()})
}

func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

// handleFaultsSet replaces the fault configuration from a JSON body
// ({"error_rate":0.1,"latency":"50ms","webhooks":{"drop_rate":0.2}...};
// durations in nanoseconds or as strings).
func (s *Server) handleFaultsSet(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Latency          jsonDuration `json:"latency"`
		LatencyJitter    jsonDuration `json:"latency_jitter"`
		ErrorRate        float64      `json:"error_rate"`
		RateLimit        int          `json:"rate_limit"`
		EndpointRate     int          `json:"endpoint_rate_limit"`
		LostResponseRate float64      `json:"lost_response_rate"`
		RateLimitedRate  float64      `json:"rate_limited_rate"`
		Webhooks         struct {
			DropRate      float64      `json:"drop_rate"`
			DuplicateRate float64      `json:"duplicate_rate"`
			ReorderRate   float64      `json:"reorder_rate"`
			MaxDelay      jsonDuration `json:"max_delay"`
		} `json:"webhooks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		controlError(w, http.StatusBadRequest, "body must be JSON: "+err.Error())
		return
	}
	hooks := in.Webhooks
	f := Faults{Latency: time.Duration(in.Latency), LatencyJitter: time.Duration(in.LatencyJitter),
		ErrorRate: in.ErrorRate, RateLimit: in.RateLimit, EndpointRateLimit: in.EndpointRate,
		LostResponseRate: in.LostResponseRate, RateLimitedRate: in.RateLimitedRate,
		Webhooks: WebhookFaults{DropRate: hooks.DropRate, DuplicateRate: hooks.DuplicateRate,
			ReorderRate: hooks.ReorderRate, MaxDelay: time.Duration(hooks.MaxDelay)}}
	if err := f.Validate(); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

// handleWebhookFaultCounts answers what the webhook faults did so far, as
// WebhookFaultCounts.
func (s *Server) handleWebhookFaultCounts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.WebhookFaultCounts())
}

type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		*d = jsonDuration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = jsonDuration(n)
	return err
}

// handlePlatformAdd registers a platform: account, secret_key,
// publishable_key, name, and for Connect OAuth client_id and
// redirect_uris[].
func (s *Server) handlePlatformAdd(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p := Platform{AccountID: r.Form.Get("account"), SecretKey: r.Form.Get("secret_key"),
		PublishableKey: r.Form.Get("publishable_key"), Name: r.Form.Get("name"),
		ClientID: r.Form.Get("client_id"), RedirectURIs: append(r.Form["redirect_uris[]"], r.Form["redirect_uris"]...)}
	if p.AccountID == "" || len(p.SecretKey) < 9 || p.SecretKey[:8] != "sk_test_" {
		controlError(w, http.StatusBadRequest, "account and secret_key (sk_test_…) are required")
		return
	}
	s.AddPlatform(p)
	writeJSON(w, http.StatusOK, map[string]any{"account": p.AccountID})
}

// systemCall is a call made by the emulator itself on behalf of acct.
func (s *Server) systemCall(r *http.Request, acct string) *call {
	platform := acct
	if a, ok := s.st.Objects.get(acct).(*Account); ok && a.Platform != "" {
		platform = a.Platform
	}
	return &call{s: s, st: s.st, r: r, platform: platform, acct: acct, p: &params{root: &pnode{}},
		now: s.clock.now().Unix()}
}
