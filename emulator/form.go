package emulator

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// pnode is one node of a decoded form: a leaf value, a nested hash
// (a[b]=…) or an array (x[0]=…, x[]=…), whose children are keyed by index.
type pnode struct {
	val    string
	hasVal bool
	kids   map[string]*pnode
	order  []string
	used   bool
}

// params is a decoded request: the parameter tree plus what the handler has
// read from it, so that anything left unread is an unknown parameter.
type params struct {
	root *pnode
	err  *Error
	// injected is fault injection's 500 for this request. finish returns
	// it once every parameter passed, where Stripe's own failure would
	// happen: after validation, before any effect.
	injected *Error
}

// parseForm decodes Stripe's form encoding as stripe-go sends it: nested
// keys a[b][c], arrays as x[0] or x[], and "key=" to clear a value.
func parseForm(raw string) (*params, *Error) {
	p := &params{root: &pnode{}}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, invalidRequest("", "Invalid request body: could not decode %q.", pair)
		}
		// QueryUnescape returns its argument when there is nothing to
		// unescape: a substring of the body. A value kept in an object
		// (a currency, a metadata key) would then keep the whole body
		// alive, so names and values get bytes of their own.
		if key == k {
			key = strings.Clone(k)
		}
		if val == v {
			val = strings.Clone(v)
		}
		path, ok := splitKey(key)
		if !ok {
			return nil, invalidRequest(key, "Invalid parameter name: %s", key)
		}
		p.root.set(path, val)
	}
	return p, nil
}

// splitKey turns "a[b][0]" into [a b 0]; "x[]" yields an empty segment that
// set turns into the next array index.
func splitKey(key string) ([]string, bool) {
	i := strings.IndexByte(key, '[')
	if i < 0 {
		return []string{key}, key != ""
	}
	path := []string{key[:i]}
	rest := key[i:]
	for rest != "" {
		if rest[0] != '[' {
			return nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return nil, false
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return path, path[0] != ""
}

func (n *pnode) set(path []string, val string) {
	for _, seg := range path {
		if n.kids == nil {
			n.kids = map[string]*pnode{}
		}
		if seg == "" {
			seg = strconv.Itoa(len(n.order))
		}
		k, ok := n.kids[seg]
		if !ok {
			k = &pnode{}
			n.kids[seg] = k
			n.order = append(n.order, seg)
		}
		n = k
	}
	n.val, n.hasVal = val, true
}

// markUsed marks n and everything below it as read.
func (n *pnode) markUsed() {
	n.used = true
	for _, k := range n.kids {
		k.markUsed()
	}
}

func (p *params) node(path ...string) *pnode {
	n := p.root
	for _, seg := range path {
		k, ok := n.kids[seg]
		if !ok {
			return nil
		}
		n = k
	}
	return n
}

func paramName(path []string) string {
	var b strings.Builder
	b.WriteString(path[0])
	for _, s := range path[1:] {
		b.WriteString("[" + s + "]")
	}
	return b.String()
}

func (p *params) fail(e *Error) {
	if p.err == nil {
		p.err = e
	}
}

// has reports whether the parameter was sent (even empty).
func (p *params) has(path ...string) bool { return p.node(path...) != nil }

// str reads a string parameter; ok is false when absent.
func (p *params) str(path ...string) (string, bool) {
	n := p.node(path...)
	if n == nil {
		return "", false
	}
	n.markUsed()
	if n.kids != nil {
		p.fail(invalidRequest(paramName(path), "Invalid string: %s must be a string, not a hash.", paramName(path)))
		return "", false
	}
	return n.val, true
}

// required reads a non-empty string, failing with Stripe's missing-param error.
func (p *params) required(path ...string) string {
	v, ok := p.str(path...)
	if !ok || v == "" {
		p.fail(missingParam(paramName(path)))
	}
	return v
}

// integer reads an integer parameter.
func (p *params) integer(path ...string) (int64, bool) {
	v, ok := p.str(path...)
	if !ok || v == "" {
		return 0, false
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(invalidRequest(paramName(path), "Invalid integer: %s", v))
		return 0, false
	}
	return i, true
}

// boolean reads a boolean parameter ("true"/"false").
func (p *params) boolean(path ...string) (bool, bool) {
	v, ok := p.str(path...)
	if !ok || v == "" {
		return false, false
	}
	switch v {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.fail(invalidRequest(paramName(path), "Invalid boolean: %s", v))
	return false, false
}

// strs reads an array of strings (x[0]=a&x[1]=b or x[]=a&x[]=b). A single
// non-indexed value is accepted as a one-element array.
func (p *params) strs(path ...string) []string {
	n := p.node(path...)
	if n == nil {
		return nil
	}
	n.markUsed()
	if n.kids == nil {
		if n.val == "" {
			return []string{}
		}
		return []string{n.val}
	}
	keys := append([]string(nil), n.order...)
	sort.SliceStable(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b
	})
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, n.kids[k].val)
	}
	return out
}

// enum reads a string that must be one of allowed.
func (p *params) enum(allowed []string, path ...string) (string, bool) {
	v, ok := p.str(path...)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if v == a {
			return v, true
		}
	}
	p.fail(invalidRequest(paramName(path), "Invalid %s: must be one of %s", paramName(path), strings.Join(allowed, ", ")))
	return "", false
}

// metadata applies metadata[k]=v updates to old and returns the result,
// never modifying old (event snapshots share it). "metadata=" clears all;
// "metadata[k]=" removes k.
func (p *params) metadata(old Metadata) Metadata {
	n := p.node("metadata")
	if n == nil {
		return old
	}
	n.markUsed()
	if n.kids == nil {
		if n.val != "" {
			p.fail(invalidRequest("metadata", "Invalid metadata: must be a hash."))
		}
		return nil
	}
	out := append(Metadata(nil), old...)
	for _, k := range n.order {
		kid := n.kids[k]
		if kid.kids != nil {
			p.fail(invalidRequest("metadata["+k+"]", "Invalid metadata[%s]: metadata values must be strings.", k))
			return old
		}
		if len(k) > 40 {
			p.fail(invalidRequest("metadata["+k+"]", "Metadata keys can have up to 40 characters."))
			return old
		}
		if len(kid.val) > 500 {
			p.fail(invalidRequest("metadata["+k+"]", "Metadata values can have up to 500 characters."))
			return old
		}
		out = out.without(k)
		if kid.val != "" {
			out = append(out, KV{k, kid.val})
		}
	}
	if len(out) > 50 {
		p.fail(invalidRequest("metadata", "Metadata can have up to 50 keys."))
		return old
	}
	return out
}

// ignore marks parameters the emulator accepts but does not model.
func (p *params) ignore(names ...string) {
	for _, name := range names {
		if n := p.node(name); n != nil {
			n.markUsed()
		}
	}
}

// finish returns the first error seen while reading, or an error naming the
// first parameter nobody read.
func (p *params) finish() *Error {
	if p.err != nil {
		return p.err
	}
	if path := p.root.firstUnused(nil); path != nil {
		name := paramName(path)
		return invalidRequest(name, "Received unknown parameter: %s", name)
	}
	return p.injected
}

func (n *pnode) firstUnused(prefix []string) []string {
	for _, k := range n.order {
		kid := n.kids[k]
		if kid.used {
			continue
		}
		path := append(append([]string(nil), prefix...), k)
		if kid.kids == nil {
			return path
		}
		if p := kid.firstUnused(path); p != nil {
			return p
		}
	}
	return nil
}

// KV is one metadata entry.
type KV struct{ K, V string }

// Metadata is an object's metadata in insertion order. A slice of pairs is
// far smaller than a map for the handful of keys objects carry.
type Metadata []KV

func (m Metadata) without(k string) Metadata {
	for i, kv := range m {
		if kv.K == k {
			out := append(Metadata(nil), m[:i]...)
			return append(out, m[i+1:]...)
		}
	}
	return m
}

func (m Metadata) get(k string) (string, bool) {
	for _, kv := range m {
		if kv.K == k {
			return kv.V, true
		}
	}
	return "", false
}
