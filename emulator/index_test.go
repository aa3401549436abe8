package emulator

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestIndex checks the id index against a map through random stores,
// replacements and deletions, across growth.
func TestIndex(t *testing.T) {
	x := newIndex()
	want := map[string]object{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		id := "cus_" + strconv.Itoa(rng.IntN(3000))
		switch rng.IntN(4) {
		case 0, 1:
			o := &Customer{Meta: Meta{ID: id, Created: int64(step)}}
			x.set(o)
			want[id] = o
		case 2:
			x.del(id)
			delete(want, id)
		}
		if got, ok := x.lookup(id); got != want[id] || ok != (want[id] != nil) {
			t.Fatalf("step %d: lookup(%s) = %v, %v; want %v", step, id, got, ok, want[id])
		}
	}
	if x.len() != len(want) {
		t.Fatalf("len %d, want %d", x.len(), len(want))
	}
	seen := 0
	for o := range x.all {
		if want[o.meta().ID] != o {
			t.Fatalf("all yields %s, not stored", o.meta().ID)
		}
		seen++
	}
	if seen != len(want) {
		t.Fatalf("all yields %d objects, want %d", seen, len(want))
	}
	for id, o := range want {
		if x.get(id) != o {
			t.Fatalf("get(%s) lost", id)
		}
	}
	if x.get("cus_none") != nil || x.get("") != nil {
		t.Fatal("get found an id never stored")
	}
}
