// Package text holds the rules every piece of text Tender accepts must
// follow, whatever field it arrives in: valid UTF-8, no control characters
// (a single-line field refuses all of C0 and DEL; a multi-line one allows
// tab, line feed and carriage return) and a maximum length counted in
// Unicode characters, as Stripe and JSON Schema's maxLength count. PostgreSQL
// refuses a NUL byte or invalid UTF-8 in a text column, and neither belongs in
// a name or a reference anywhere, so they are refused before anything is
// stored or sent to Stripe.
//
// A request's fields declare their rule in a `text` struct tag next to the
// type (see Parse), and Validate applies those rules to a decoded value; a
// string field without a tag gets DefaultRule.
package text

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tenderpay/tender/internal/errs"
)

// Rule is what one text field accepts.
type Rule struct {
	// Max is the most characters (Unicode code points) the field takes.
	Max int
	// Multiline allows tab, line feed and carriage return, for text a
	// person writes in paragraphs (a description, a consent's wording).
	Multiline bool
	// KeyMax bounds the keys of a map field (metadata), whose keys are
	// single-line.
	KeyMax int
}

// DefaultRule is the rule of a string field that declares none: one line
// of at most 255 characters, the size of the API's names and references.
var DefaultRule = Rule{Max: 255}

// Check returns an errs.Invalid naming param if s breaks r.
func Check(param, s string, r Rule) error {
	if !utf8.ValidString(s) {
		return errs.Invalidf(param, "%s must be valid UTF-8.", param)
	}
	if i := strings.IndexFunc(s, r.forbidden); i >= 0 {
		return errs.Invalidf(param, "%s must not contain control characters (found U+%04X at byte %d).", param, s[i], i)
	}
	if n := utf8.RuneCountInString(s); n > r.Max {
		return errs.Invalidf(param, "%s must be at most %d characters, not %d.", param, r.Max, n)
	}
	return nil
}

// forbidden reports the control characters r refuses.
func (r Rule) forbidden(c rune) bool {
	if r.Multiline && (c == '\t' || c == '\n' || c == '\r') {
		return false
	}
	return c < 0x20 || c == 0x7f
}

// Parse reads a `text` struct tag: the maximum length, then the options
// "multiline" and "keys=N" (the maximum length of a map's keys), e.g.
// `text:"1000,multiline"` or `text:"500,keys=40"`. A map whose values are
// not text may give keys alone (`text:"keys=32"`).
func Parse(tag string) (Rule, error) {
	r := DefaultRule
	for i, opt := range strings.Split(tag, ",") {
		k, v, _ := strings.Cut(opt, "=")
		var err error
		switch {
		case k == "multiline":
			r.Multiline = true
		case k == "keys":
			if r.KeyMax, err = strconv.Atoi(v); err != nil || r.KeyMax < 1 {
				return Rule{}, fmt.Errorf("text tag %q: keys must be a positive length", tag)
			}
		case i == 0:
			if r.Max, err = strconv.Atoi(opt); err != nil || r.Max < 1 {
				return Rule{}, fmt.Errorf("text tag %q: the first part must be a positive maximum length", tag)
			}
		default:
			return Rule{}, fmt.Errorf("text tag %q: unknown option %q", tag, opt)
		}
	}
	return r, nil
}

// FieldRule is the rule of a struct field: its tag's, or DefaultRule.
// declared is false when the field has no tag. A malformed tag panics: it
// is a programming error, which the tests of every request type catch.
func FieldRule(f reflect.StructField) (r Rule, declared bool) {
	tag, ok := f.Tag.Lookup("text")
	if !ok {
		return DefaultRule, false
	}
	r, err := Parse(tag)
	if err != nil {
		panic(err)
	}
	return r, true
}

// JSONName is the field's name in JSON, or "" if encoding/json skips it.
func JSONName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// Validate checks every string reachable from v (struct fields, pointers,
// slices, map keys and values) against its field's rule, and returns an
// errs.Invalid naming the first at fault by its path as the API names
// fields: name, evidence[text], splits[0][merchant], metadata[key]. Map
// entries are visited in key order, so the same request always names the
// same field.
func Validate(v any) error {
	return walk(reflect.ValueOf(v), "", DefaultRule)
}

var unmarshaler = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()

func walk(v reflect.Value, path string, r Rule) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walk(v.Elem(), path, r)
	case reflect.String:
		return Check(path, v.String(), r)
	case reflect.Struct:
		return walkStruct(v, path)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), r); err != nil {
				return err
			}
		}
	case reflect.Map:
		return walkMap(v, path, r)
	}
	return nil
}

func walkStruct(v reflect.Value, path string) error {
	t := v.Type()
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil // a value with its own JSON form (time.Time) has its own rules
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name := JSONName(f)
		if name == "" {
			continue
		}
		r, _ := FieldRule(f)
		if err := walk(v.Field(i), join(path, name), r); err != nil {
			return err
		}
	}
	return nil
}

func walkMap(v reflect.Value, path string, r Rule) error {
	keys := v.MapKeys()
	if len(keys) == 0 || keys[0].Kind() != reflect.String {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	keyRule := Rule{Max: r.KeyMax}
	if keyRule.Max == 0 {
		keyRule.Max = DefaultRule.Max
	}
	for _, k := range keys {
		// A bad key is named by its map: echoing it as a path would carry
		// the very bytes refused.
		if err := Check(path+" keys", k.String(), keyRule); err != nil {
			e := errs.As(err)
			e.Param = path
			return e
		}
		if err := walk(v.MapIndex(k), path+"["+k.String()+"]", r); err != nil {
			return err
		}
	}
	return nil
}

// join names a field inside its parent as the API does: parent[child].
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "[" + child + "]"
}

// FieldRuleOf is the rule of the named Go field of T, for a query parameter
// that filters on what that field set: the list's filter then takes what
// the field takes. It panics if T has no such field.
func FieldRuleOf[T any](field string) Rule {
	f, ok := reflect.TypeFor[T]().FieldByName(field)
	if !ok {
		panic("text: no field " + field)
	}
	r, _ := FieldRule(f)
	return r
}

// Clean returns s made to follow r: invalid UTF-8 and the control
// characters r forbids become U+FFFD, and it is cut to r.Max characters.
// It is for text Tender records as it came from a browser, such as a user
// agent kept as evidence, where there is no caller to tell to fix it.
func Clean(s string, r Rule) string {
	var b strings.Builder
	n := 0
	for _, c := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		if n == r.Max {
			break
		}
		if r.forbidden(c) {
			c = utf8.RuneError
		}
		b.WriteRune(c)
		n++
	}
	return b.String()
}
