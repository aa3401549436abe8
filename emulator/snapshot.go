package emulator

import (
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"
)

func init() {
	for _, o := range []object{&Account{}, &Customer{}, &PaymentMethod{}, &SetupIntent{},
		&Refund{}, &Transfer{}, &TransferReversal{}, &ApplicationFee{}, &FeeRefund{},
		&BalanceTransaction{}, &WebhookEndpoint{}, &Balance{}} {
		gob.Register(o)
	}
	gob.RegisterName("*emulator.Charge", &chargeWire{}) // see wire.go
	gob.RegisterName("*emulator.PaymentIntent", &piWire{})
	gob.RegisterName("*emulator.Event", &eventWire{})
}

// snapshotFile is what a snapshot holds: every list, in creation order
// (objects are rebuilt from the lists, so pointers stay shared), how far the
// clock was advanced, the stored idempotent responses, so a client
// retrying across a restart still gets its first response, and where the
// id generator and the Request-Id counter stood, so that no id is handed
// out twice however often the emulator restarts.
type snapshotFile struct {
	Lists  map[listKey][]object
	Offset time.Duration
	Idem   map[string]idemRecord
	// RNG is the id generator's state (rand.PCG's binary form). Snapshots
	// written before it existed lack it; see restoreRNG.
	RNG []byte
	// RequestSeq is the last Request-Id number handed out.
	RequestSeq uint64
	// Through is the emulator time up to which due work was done; the
	// queue of due work is rebuilt from the objects.
	Through int64
}

// SnapshotError reports a snapshot file that exists but cannot be loaded.
// The file is left as it was: a server that refuses to start must not
// overwrite the data it could not read.
type SnapshotError struct {
	Path string
	Err  error
}

func (e *SnapshotError) Error() string {
	return fmt.Sprintf("emulator snapshot %s cannot be loaded (%v); it was left untouched: repair it, move it aside or name another file", e.Path, e.Err)
}

func (e *SnapshotError) Unwrap() error { return e.Err }

// saveSnapshot writes the state atomically (temp file, synced, then
// renamed over the old one), so a crash leaves the old snapshot or the new
// one, never half of one.
func (s *Server) saveSnapshot(path string) error {
	s.mu.Lock()
	rng, err := s.st.src.MarshalBinary()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.st.materializeEvents()
	snap := snapshotFile{Lists: wireLists(s.st.Lists), Offset: s.clock.advanced(), Idem: s.idem.records(s.replayBody),
		RNG: rng, RequestSeq: requestSeq.Load(), Through: s.st.sched.Through}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".emulator-snapshot-*")
	if err != nil {
		s.mu.Unlock()
		return err
	}
	err = gob.NewEncoder(tmp).Encode(&snap)
	s.mu.Unlock()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadSnapshot replaces the state with the snapshot's. A missing file is a
// fresh start; any other failure is a *SnapshotError and changes nothing.
func (s *Server) loadSnapshot(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &SnapshotError{Path: path, Err: err}
	}
	defer f.Close()
	var snap snapshotFile
	if err := gob.NewDecoder(f).Decode(&snap); err != nil {
		return &SnapshotError{Path: path, Err: err}
	}
	st := newState(s.opts.Seed, s.clock)
	fromWireLists(snap.Lists)
	for k, l := range snap.Lists {
		for _, o := range l {
			if e, ok := o.(*Event); ok {
				st.Events = append(st.Events, e)
			} else {
				st.Objects.set(o)
			}
		}
		st.Lists[k] = l
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Created < st.Events[j].Created })
	if err := st.restoreRNG(snap.RNG); err != nil {
		return &SnapshotError{Path: path, Err: err}
	}
	s.clock.advance(snap.Offset - s.clock.advanced())
	through := snap.Through
	if through == 0 { // a snapshot from before the scheduler: start from now
		through = s.clock.now().Unix()
	}
	st.sched = newSchedule(through)
	st.sched.rebuild(st)
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	s.idem.restore(snap.Idem)
	raiseRequestSeq(snap.RequestSeq)
	return nil
}

// restoreRNG puts the id generator where the snapshot left it. A snapshot
// from before the generator was saved gets a stream seeded from every id it
// holds, which differs from any stream that produced them.
func (st *state) restoreRNG(saved []byte) error {
	if len(saved) > 0 {
		return st.src.UnmarshalBinary(saved)
	}
	h := fnv.New64a()
	ids := make([]string, 0, st.Objects.len()+len(st.Events))
	for o := range st.Objects.all {
		ids = append(ids, o.meta().ID)
	}
	for _, e := range st.Events { // not in Objects since 2026-11, but they were
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		h.Write([]byte(id))
	}
	sum := h.Sum64()
	st.src = rand.NewPCG(sum, ^sum)
	st.rng = rand.New(st.src)
	return nil
}

// raiseRequestSeq makes the Request-Id counter continue after n, so events
// recorded after a restart do not name the requests of events before it.
func raiseRequestSeq(n uint64) {
	for {
		cur := requestSeq.Load()
		if cur >= n || requestSeq.CompareAndSwap(cur, n) {
			return
		}
	}
}
