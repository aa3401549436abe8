package emulator

import (
	"testing"
	"unsafe"
)

// TestActionURL: an intent keeps the base URL of the request that created
// it; snapshots written before that held the whole URL, which is used as
// it is.
func TestActionURL(t *testing.T) {
	const want = "http://127.0.0.1:12111/_emulator/authenticate/pi_123"
	for _, stored := range []string{"http://127.0.0.1:12111", want} {
		if got := actionURL(stored, "pi_123"); got != want {
			t.Errorf("actionURL(%q) = %q, want %q", stored, got, want)
		}
	}
}

func TestInternIsBounded(t *testing.T) {
	st := newState(1, newClock(nil))
	a := st.intern(string([]byte("http://a")))
	if b := st.intern(string([]byte("http://a"))); unsafe.StringData(b) != unsafe.StringData(a) {
		t.Fatal("intern did not return the first string")
	}
	for i := range 100 {
		st.intern(string(rune('A' + i)))
	}
	if len(st.interned) > 64 {
		t.Errorf("intern keeps %d strings, want at most 64", len(st.interned))
	}
}
