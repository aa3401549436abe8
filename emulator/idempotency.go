package emulator

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
	"time"
)

// idempotencyTTL is how long Stripe keeps a key: at least 24 hours, after
// which reusing it is a new request.
const idempotencyTTL = 24 * time.Hour

type idemEntry struct {
	sum     [32]byte
	created time.Time
	reqID   string
	// body is the response, deflated when that made it smaller (packed):
	// an intent rendered with its charge and balance transaction expanded
	// is 5 kB, kept for a day of the clock, and a fifth of that deflated.
	body   []byte
	packed bool
	// replay, set in place of body, is the event whose record of the
	// response's object is the version the response showed: the body is
	// rendered again from it (see Server.replayable). A stored response
	// was 2 kB a request with stripe-go, which sends a key with every POST.
	replay *Event
	status int32
	// publishable: the response was an intent as a publishable key sees
	// it (clientView).
	publishable bool
	inFlight    bool
}

type idemResult int

const (
	idemNew idemResult = iota
	idemInFlight
	idemMismatch
	idemReplay
)

// idempotencyStore keeps stored responses per (platform, account, key).
// It has its own lock so a request waiting on a key never holds the state.
type idempotencyStore struct {
	mu      sync.Mutex
	entries map[idemScope]*idemEntry
}

// idemScope is what a response is stored under. Its strings are those the
// request and its objects hold anyway; joined into one, they cost every
// stored response 80 bytes more. Snapshots key records by the joined form
// (String).
type idemScope struct{ platform, acct, key string }

func (k idemScope) String() string { return k.platform + "/" + k.acct + "/" + k.key }

// parseIdemScope reads String's form; account ids hold no slash, a key may.
func parseIdemScope(s string) idemScope {
	platform, rest, _ := strings.Cut(s, "/")
	acct, key, _ := strings.Cut(rest, "/")
	return idemScope{platform, acct, key}
}

func newIdempotencyStore() *idempotencyStore {
	return &idempotencyStore{entries: map[idemScope]*idemEntry{}}
}

// begin looks a key up and, when it is new (or expired), claims it.
func (s *idempotencyStore) begin(scope idemScope, sum [32]byte, now time.Time) (*idemEntry, idemResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[scope]; ok && now.Sub(e.created) < idempotencyTTL {
		switch {
		case e.inFlight:
			return e, idemInFlight
		case e.sum != sum:
			return e, idemMismatch
		default:
			return e, idemReplay
		}
	}
	e := &idemEntry{sum: sum, created: now, inFlight: true}
	s.entries[scope] = e
	return e, idemNew
}

// finish stores the response of a claimed key: body, or replay and
// publishable to render it again from.
func (s *idempotencyStore) finish(scope idemScope, reqID string, status int, body []byte, replay *Event, publishable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[scope]; ok {
		e.inFlight, e.reqID, e.status = false, reqID, int32(status)
		e.setBody(body)
		e.replay, e.publishable = replay, publishable
	}
}

// abandon forgets a key whose request failed validation: Stripe saves no
// result then, so the key can be used again with other parameters.
func (s *idempotencyStore) abandon(scope idemScope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, scope)
}

func (s *idempotencyStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = map[idemScope]*idemEntry{}
}

// prune drops keys older than the TTL; called as the clock advances.
func (s *idempotencyStore) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.entries {
		if !e.inFlight && now.Sub(e.created) >= idempotencyTTL {
			delete(s.entries, k)
		}
	}
}

// idemRecord is a stored idempotent response as a snapshot keeps it.
type idemRecord struct {
	Sum     [32]byte
	Created time.Time
	ReqID   string
	Status  int
	Body    []byte
}

// records copies the finished entries for a snapshot; body renders a
// response kept as a replay.
func (s *idempotencyStore) records(body func(*idemEntry) []byte) map[string]idemRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]idemRecord, len(s.entries))
	for k, e := range s.entries {
		if !e.inFlight {
			b := e.rawBody()
			if e.replay != nil {
				b = body(e)
			}
			out[k.String()] = idemRecord{e.sum, e.created, e.reqID, int(e.status), b}
		}
	}
	return out
}

// restore replaces the entries with a snapshot's.
func (s *idempotencyStore) restore(recs map[string]idemRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = make(map[idemScope]*idemEntry, len(recs))
	for k, r := range recs {
		e := &idemEntry{sum: r.Sum, created: r.Created, reqID: r.ReqID, status: int32(r.Status)}
		e.setBody(r.Body)
		s.entries[parseIdemScope(k)] = e
	}
}

// packMin is the smallest body worth deflating.
const packMin = 512

// setBody keeps b, deflated when it is large enough to gain from it.
func (e *idemEntry) setBody(b []byte) {
	e.body, e.packed = b, false
	if len(b) < packMin {
		return
	}
	var buf bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&buf)
	_, err := w.Write(b)
	if err == nil {
		err = w.Close()
	}
	if err == nil && buf.Len() < len(b) {
		e.body, e.packed = bytes.Clone(buf.Bytes()), true
	}
}

// deflaters are reused: each holds some hundred kB of tables.
var deflaters = sync.Pool{New: func() any {
	w, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		panic(err) // only for a level out of range
	}
	return w
}}

// rawBody is the body as it was stored.
func (e *idemEntry) rawBody() []byte {
	if !e.packed {
		return e.body
	}
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(e.body)))
	if err != nil {
		panic("emulator: a stored response does not inflate: " + err.Error()) // it was deflated here
	}
	return b
}
