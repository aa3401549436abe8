package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// obj is a JSON object under construction, fields in order. Resources render
// into obj on demand; nothing is kept rendered.
type obj []field

type field struct {
	k string
	v any // nil, string, int64, int, bool, obj, []any, []string, ref, *string, *int64
}

// ref is an expandable reference: rendered as the id, or as the object when
// the request's expand[] names it. An empty id renders as null.
type ref string

// nullable helpers keep render functions short.
func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case ref:
		if v == "" {
			return append(b, "null"...)
		}
		return appendString(b, string(v))
	case *string:
		if v == nil {
			return append(b, "null"...)
		}
		return appendString(b, *v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case *int64:
		if v == nil {
			return append(b, "null"...)
		}
		return strconv.AppendInt(b, *v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case bool:
		return strconv.AppendBool(b, v)
	case obj:
		b = append(b, '{')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendJSON(b, f.v)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case Metadata:
		b = append(b, '{')
		for i, kv := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, kv.K)
			b = append(b, ':')
			b = appendString(b, kv.V)
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("emulator: cannot render %T", v))
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping what JSON requires and
// HTML-sensitive characters as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// expandPaths parses expand[] values into dotted paths, enforcing Stripe's
// limit of four levels.
func expandPaths(raw []string) ([][]string, *Error) {
	out := make([][]string, 0, len(raw))
	for _, e := range raw {
		path := strings.Split(e, ".")
		if len(path) > 4 {
			return nil, invalidRequest("expand", "You cannot expand more than 4 levels of a property. Property: %s", e)
		}
		out = append(out, path)
	}
	return out, nil
}

// expand replaces the references named by paths with the objects they point
// to, recursively. Arrays are transparent, so "data.customer" expands the
// customer of every element of a list's data.
func (st *state) expand(v any, paths [][]string, full []string) (any, *Error) {
	if len(paths) == 0 {
		return v, nil
	}
	switch v := v.(type) {
	case obj:
		for _, p := range paths {
			if !v.hasKey(p[0]) {
				return nil, invalidRequest("expand", "This property cannot be expanded (%s).", strings.Join(append(full, p[0]), "."))
			}
		}
		for i, f := range v {
			var sub [][]string
			here := false
			for _, p := range paths {
				if p[0] != f.k {
					continue
				}
				if len(p) == 1 {
					here = true
				} else {
					sub = append(sub, p[1:])
				}
			}
			if !here && sub == nil {
				continue
			}
			val := f.v
			if r, ok := val.(ref); ok {
				if r == "" {
					continue
				}
				o, ok := st.Objects.lookup(string(r))
				if !ok {
					continue
				}
				val = o.render(st)
			} else if here {
				if _, isObj := val.(obj); !isObj || sub == nil {
					return nil, invalidRequest("expand", "This property cannot be expanded (%s).", strings.Join(append(full, f.k), "."))
				}
			}
			out, err := st.expand(val, sub, append(full, f.k))
			if err != nil {
				return nil, err
			}
			v[i].v = out
		}
		return v, nil
	case []any:
		for i, e := range v {
			out, err := st.expand(e, paths, full)
			if err != nil {
				return nil, err
			}
			v[i] = out
		}
		return v, nil
	}
	return nil, invalidRequest("expand", "This property cannot be expanded (%s).", strings.Join(append(full, paths[0]...), "."))
}

func (o obj) hasKey(k string) bool {
	for _, f := range o {
		if f.k == k {
			return true
		}
	}
	return false
}
