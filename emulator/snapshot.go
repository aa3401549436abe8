package emulator

import (
	"encoding/gob"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"
)

func init() {
	for _, o := range []object{&Account{}, &Customer{}, &PaymentMethod{}, &SetupIntent{}, &PaymentIntent{},
		&Charge{}, &Refund{}, &Transfer{}, &TransferReversal{}, &ApplicationFee{}, &FeeRefund{},
		&BalanceTransaction{}, &WebhookEndpoint{}, &Event{}, &Balance{}} {
		gob.Register(o)
	}
}

// snapshotFile is what a snapshot holds: every list, in creation order
// (objects are rebuilt from the lists, so pointers stay shared), how far the
// clock was advanced, and the stored idempotent responses, so a client
// retrying across a restart still gets its first response.
type snapshotFile struct {
	Lists  map[listKey][]object
	Offset time.Duration
	Idem   map[string]idemRecord
}

// saveSnapshot writes the state atomically (temp file, then rename).
func (s *Server) saveSnapshot(path string) error {
	s.mu.Lock()
	snap := snapshotFile{Lists: s.st.Lists, Offset: s.clock.advanced(), Idem: s.idem.records()}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".emulator-snapshot-*")
	if err != nil {
		s.mu.Unlock()
		return err
	}
	err = gob.NewEncoder(tmp).Encode(&snap)
	s.mu.Unlock()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadSnapshot replaces the state with the snapshot's. A missing file is
// not an error.
func (s *Server) loadSnapshot(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var snap snapshotFile
	if err := gob.NewDecoder(f).Decode(&snap); err != nil {
		return err
	}
	st := newState(s.opts.Seed+uint64(len(snap.Lists)), s.clock)
	for k, l := range snap.Lists {
		st.Lists[k] = l
		for _, o := range l {
			st.Objects[o.meta().ID] = o
			if e, ok := o.(*Event); ok {
				st.Events = append(st.Events, e)
			}
		}
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Created < st.Events[j].Created })
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	s.clock.advance(snap.Offset - s.clock.advanced())
	s.idem.restore(snap.Idem)
	return nil
}
