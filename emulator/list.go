package emulator

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// listPage reads limit/starting_after/ending_before and returns one page of
// items (given oldest first) newest first, as Stripe's list endpoints do.
func (c *call) listPage(kind, url string, items []object, keep func(object) bool) (any, *Error) {
	limit := int64(10)
	if v, ok := c.p.integer("limit"); ok {
		if v < 1 || v > 100 {
			return nil, invalidRequest("limit", "Invalid limit: must be between 1 and 100")
		}
		limit = v
	}
	after, hasAfter := c.p.str("starting_after")
	before, hasBefore := c.p.str("ending_before")
	c.p.ignore("expand")
	if hasAfter && hasBefore && after != "" && before != "" {
		return nil, invalidRequest("ending_before", "You may only specify one of these parameters: starting_after, ending_before.")
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if keep == nil {
		keep = func(object) bool { return true }
	}
	var page []any
	more := false
	switch {
	case hasBefore && before != "":
		// Walk from the cursor towards newer objects, then present newest first.
		i := indexOf(items, before)
		if i < 0 {
			return nil, noSuch(kind, "ending_before", before)
		}
		var rev []object
		for j := i + 1; j < len(items); j++ {
			if !keep(items[j]) {
				continue
			}
			if int64(len(rev)) == limit {
				more = true
				break
			}
			rev = append(rev, items[j])
		}
		for j := len(rev) - 1; j >= 0; j-- {
			page = append(page, rev[j].render(c.st))
		}
	default:
		start := len(items) - 1
		if hasAfter && after != "" {
			i := indexOf(items, after)
			if i < 0 {
				return nil, noSuch(kind, "starting_after", after)
			}
			start = i - 1
		}
		for j := start; j >= 0; j-- {
			if !keep(items[j]) {
				continue
			}
			if int64(len(page)) == limit {
				more = true
				break
			}
			page = append(page, items[j].render(c.st))
		}
	}
	if page == nil {
		page = []any{}
	}
	return obj{{"object", "list"}, {"data", page}, {"has_more", more}, {"url", url}}, nil
}

func indexOf(items []object, id string) int {
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].meta().ID == id {
			return i
		}
	}
	return -1
}

// searchTerm is one clause of a search query: field:'value' (exact),
// field~'value' (substring), with '-' for negation.
type searchTerm struct {
	field, key string // key is the metadata key for metadata['k']
	op         byte
	value      string
	negate     bool
}

// parseSearch parses Stripe's search query language, the subset Tender
// needs: clauses joined by AND or OR (not mixed), on the fields allowed.
func parseSearch(q string, allowed []string) ([]searchTerm, bool, *Error) {
	bad := func(msg string) ([]searchTerm, bool, *Error) {
		return nil, false, invalidRequestCode("parameter_invalid_string", "query", "Invalid query: %s", msg)
	}
	var terms []searchTerm
	or, and := false, false
	rest := strings.TrimSpace(q)
	if rest == "" {
		return bad("the query is empty")
	}
	for rest != "" {
		var t searchTerm
		if rest[0] == '-' {
			t.negate = true
			rest = rest[1:]
		}
		i := strings.IndexAny(rest, ":~")
		if i <= 0 {
			return bad("expected field:'value' at " + rest)
		}
		t.field, t.op = rest[:i], rest[i]
		rest = rest[i+1:]
		if strings.HasPrefix(t.field, "metadata[") {
			inner := strings.TrimSuffix(strings.TrimPrefix(t.field, "metadata["), "]")
			k, ok := unquote(inner)
			if !ok || !strings.HasSuffix(t.field, "]") {
				return bad("malformed metadata key in " + t.field)
			}
			t.field, t.key = "metadata", k
		}
		if !contains(allowed, t.field) {
			return bad("field " + strconv.Quote(t.field) + " is not supported for this resource")
		}
		v, n, ok := readValue(rest)
		if !ok {
			return bad("expected a quoted value for " + t.field)
		}
		t.value = v
		rest = strings.TrimSpace(rest[n:])
		terms = append(terms, t)
		if rest == "" {
			break
		}
		switch {
		case strings.HasPrefix(rest, "AND "):
			and, rest = true, strings.TrimSpace(rest[4:])
		case strings.HasPrefix(rest, "OR "):
			or, rest = true, strings.TrimSpace(rest[3:])
		default:
			and = true // juxtaposition means AND
		}
		if and && or {
			return bad("AND and OR cannot be combined")
		}
	}
	return terms, or, nil
}

// readValue reads 'v', "v" or a bare number; n is how much it consumed.
func readValue(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	if q := s[0]; q == '\'' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case q:
				return b.String(), i + 1, true
			default:
				b.WriteByte(s[i])
			}
		}
		return "", 0, false
	}
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return s[:n], n, n > 0
}

func unquote(s string) (string, bool) {
	v, n, ok := readValue(s)
	return v, ok && n == len(s) && n > 0 && (s[0] == '\'' || s[0] == '"')
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// match evaluates parsed terms against an object through get, which returns
// a field's value (and metadata values by key).
func matchSearch(terms []searchTerm, or bool, get func(field, key string) (string, bool)) bool {
	for _, t := range terms {
		v, ok := get(t.field, t.key)
		hit := ok && (t.op == ':' && v == t.value || t.op == '~' && strings.Contains(v, t.value))
		if t.op == ':' && t.field != "metadata" && ok {
			hit = strings.EqualFold(v, t.value)
		}
		if t.negate {
			hit = !hit
		}
		if or && hit {
			return true
		}
		if !or && !hit {
			return false
		}
	}
	return !or
}

// searchPage answers /v1/<resource>/search.
func (c *call) searchPage(url string, items []object, allowed []string, get func(o object, field, key string) (string, bool)) (any, *Error) {
	q := c.p.required("query")
	limit := int64(10)
	if v, ok := c.p.integer("limit"); ok {
		if v < 1 || v > 100 {
			return nil, invalidRequest("limit", "Invalid limit: must be between 1 and 100")
		}
		limit = v
	}
	pageTok, _ := c.p.str("page")
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	terms, or, err := parseSearch(q, allowed)
	if err != nil {
		return nil, err
	}
	start := len(items) - 1
	if pageTok != "" {
		id, derr := base64.RawURLEncoding.DecodeString(pageTok)
		i := indexOf(items, string(id))
		if derr != nil || i < 0 {
			return nil, invalidRequest("page", "Invalid page: %s", pageTok)
		}
		start = i - 1
	}
	var data []any
	var last string
	more := false
	for j := start; j >= 0; j-- {
		o := items[j]
		if !matchSearch(terms, or, func(f, k string) (string, bool) { return get(o, f, k) }) {
			continue
		}
		if int64(len(data)) == limit {
			more = true
			break
		}
		data = append(data, o.render(c.st))
		last = o.meta().ID
	}
	if data == nil {
		data = []any{}
	}
	var next any
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(last))
	}
	return obj{{"object", "search_result"}, {"data", data}, {"has_more", more}, {"next_page", next}, {"url", url}}, nil
}

// metaGet is the common field getter for metadata clauses.
func metaGet(m Metadata, field, key string) (string, bool) {
	if field == "metadata" {
		return m.get(key)
	}
	return "", false
}
