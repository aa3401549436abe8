package emulator

import "hash/maphash"

// index finds stored objects by id. It is a hash table of the objects
// alone, open addressing with linear probing, each object found by its
// own Meta.ID: 16 bytes a slot and a byte of tag, filled up to seven
// eighths (the tags keep long probes cheap), so about 25 bytes an object
// where a map[string]object, which also keeps each id's string header,
// took 50. Objects are never renamed, so an object's slot depends only on
// its id.
type index struct {
	slots []object
	// tags holds for each slot 0 when it is empty, else 0x80 and seven
	// bits of the id's hash, so that most probes compare a byte, not ids.
	tags []uint8
	n    int
	seed maphash.Seed
}

const indexMinSize = 64

func newIndex() *index {
	return &index{slots: make([]object, indexMinSize), tags: make([]uint8, indexMinSize), seed: maphash.MakeSeed()}
}

func (x *index) hash(id string) (home int, tag uint8) {
	h := maphash.String(x.seed, id)
	return int(h & uint64(len(x.slots)-1)), uint8(h>>57) | 0x80
}

// find returns the slot holding id, or -1.
func (x *index) find(id string) int {
	i, tag := x.hash(id)
	mask := len(x.slots) - 1
	for {
		switch t := x.tags[i]; {
		case t == 0:
			return -1
		case t == tag && x.slots[i].meta().ID == id:
			return i
		}
		i = (i + 1) & mask
	}
}

// get returns the object with this id, or nil.
func (x *index) get(id string) object {
	if i := x.find(id); i >= 0 {
		return x.slots[i]
	}
	return nil
}

// lookup returns the object with this id and whether there is one.
func (x *index) lookup(id string) (object, bool) {
	o := x.get(id)
	return o, o != nil
}

// set stores o under its id, replacing an object stored under it before.
func (x *index) set(o object) {
	if i := x.find(o.meta().ID); i >= 0 {
		x.slots[i] = o
		return
	}
	if (x.n+1)*8 > len(x.slots)*7 { // at most seven eighths full
		x.grow()
	}
	x.insert(o)
	x.n++
}

func (x *index) insert(o object) {
	i, tag := x.hash(o.meta().ID)
	mask := len(x.slots) - 1
	for x.tags[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i], x.tags[i] = o, tag
}

func (x *index) grow() {
	old := x.slots
	x.slots, x.tags = make([]object, 2*len(old)), make([]uint8, 2*len(old))
	for _, o := range old {
		if o != nil {
			x.insert(o)
		}
	}
}

// del removes the object with this id, if any. The objects after it in
// its run move back, so that no lookup stops short at the gap.
func (x *index) del(id string) {
	i := x.find(id)
	if i < 0 {
		return
	}
	mask := len(x.slots) - 1
	x.n--
	for j := (i + 1) & mask; x.tags[j] != 0; j = (j + 1) & mask {
		home, _ := x.hash(x.slots[j].meta().ID)
		// The object at j may fill the gap at i when its home is not
		// in the cyclic interval (i, j].
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i], x.tags[i] = x.slots[j], x.tags[j]
			i = j
		}
	}
	x.slots[i], x.tags[i] = nil, 0
}

// len is the number of objects stored.
func (x *index) len() int { return x.n }

// all yields every object stored, in no particular order.
func (x *index) all(yield func(object) bool) {
	for _, o := range x.slots {
		if o != nil && !yield(o) {
			return
		}
	}
}
