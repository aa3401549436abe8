package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/text"
)

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	// The same encoding as an answer committed with its work, which the
	// idempotency layer compares with this one.
	body, err := idempotency.Encode(v)
	if err != nil {
		// Our own types always marshal; this is a programming error.
		http.Error(w, `{"error":{"type":"api_error","code":"internal","message":"An internal error occurred."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// decodeJSON reads the request body into v, a pointer to the request's
// params struct, and applies the text rules its fields declare
// (text.Validate), so every handler refuses the same bad input the same way
// before anything is stored or sent to Stripe. It refuses a body that is not
// a JSON object (null, an array, a number, a string), invalid UTF-8,
// unknown fields, values of the wrong type, trailing data and malformed
// JSON with an errs.Invalid that names the field by its full path
// (evidence[text], splits[0][amount]) or the position, and an oversized body
// with errs.TooLarge. An empty body decodes as {}.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errs.E(errs.TooLarge, "The request body is larger than %d bytes.", MaxBodyBytes).WithReason("body_too_large")
		}
		return errs.E(errs.Invalid, "Could not read the request body.").WithReason("body_unreadable")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkBody(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, v, err)
	}
	// Not dec.More: it reports no more at a stray ] or }, so a body such
	// as {"amount":1}] would pass. Only JSON's whitespace may follow.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		line, col := position(body, dec.InputOffset())
		return errs.E(errs.Invalid, "Invalid JSON: unexpected data after the object at line %d, column %d.", line, col).WithReason("json_invalid")
	}
	return text.Validate(v)
}

// checkBody refuses what encoding/json would let through: a body that is
// not an object (null decodes into a struct as nothing at all) and invalid
// UTF-8 (which it silently replaces with U+FFFD).
func checkBody(body []byte, v any) error {
	if bytes.TrimLeft(body, " \t\r\n")[0] != '{' {
		return errs.E(errs.Invalid, "The request body must be a JSON object.").WithReason("json_invalid")
	}
	if !utf8.Valid(body) {
		param := faultPath(body, reflect.TypeOf(v), "", func(raw []byte, _ reflect.Type) bool { return !utf8.Valid(raw) })
		if param == "" {
			return errs.E(errs.Invalid, "The request body must be valid UTF-8.").WithReason("json_invalid")
		}
		return errs.Invalidf(param, "%s must be valid UTF-8.", param)
	}
	return nil
}

func jsonError(body []byte, v any, err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		line, col := position(body, se.Offset)
		return errs.E(errs.Invalid, "Invalid JSON at line %d, column %d: %s.", line, col, se.Error()).WithReason("json_invalid")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := position(body, int64(len(body)))
		return errs.E(errs.Invalid, "Invalid JSON: the body ends unexpectedly at line %d, column %d.", line, col).WithReason("json_invalid")
	}
	// encoding/json names a nested field without its indices or keys
	// (splits.amount), and a value with its own decoding (a time) not at
	// all, so the field is found again by decoding the body part by part.
	param := faultPath(body, reflect.TypeOf(v), "", decodeFails(err))
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = join(param, strings.Trim(name, `"`))
		return &errs.Error{Code: errs.Invalid, Reason: "parameter_unknown", Param: name, Message: "Received unknown parameter: " + name + "."}
	}
	if param == "" {
		return errs.E(errs.Invalid, "Invalid JSON: %v.", err).WithReason("json_invalid")
	}
	got := "another value"
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		got = te.Value
	}
	return errs.Invalidf(param, "Invalid value for %s: expected %s, got %s.", param, expected(fieldType(reflect.TypeOf(v), param)), got)
}

// decodeFails returns a test of whether raw fails to decode, strictly, as
// a t with the fault of err: for an unknown field, that very field, so the
// field is looked for where it is and not where another fault is.
func decodeFails(err error) func(raw []byte, t reflect.Type) bool {
	unknown := strings.HasPrefix(err.Error(), "json: unknown field ")
	return func(raw []byte, t reflect.Type) bool {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		e := dec.Decode(reflect.New(t).Interface())
		return e != nil && (!unknown || e.Error() == err.Error())
	}
}

// faultPath returns the path, as the API names fields, of the innermost part
// of raw (a JSON value for a t) in which bad finds a fault: it descends
// into the first field, element or entry that bad reports, and stops where
// none does. Object keys are tried in sorted order, so the same body always
// names the same field.
func faultPath(raw []byte, t reflect.Type, path string, bad func([]byte, reflect.Type) bool) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return path
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return path
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			elem, ok := memberType(t, k)
			if ok && bad(obj[k], elem) {
				return faultPath(obj[k], elem, join(path, k), bad)
			}
		}
	case reflect.Slice:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return path
		}
		for i, el := range arr {
			if bad(el, t.Elem()) {
				return faultPath(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i), bad)
			}
		}
	}
	return path
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// memberType is the type of member name of a struct (matched as
// encoding/json does, ignoring case) or of any entry of a map.
func memberType(t reflect.Type, name string) (reflect.Type, bool) {
	if t.Kind() == reflect.Map {
		return t.Elem(), true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if n := text.JSONName(f); n != "" && strings.EqualFold(n, name) {
			return f.Type, true
		}
	}
	return nil, false
}

// fieldType follows a path made by faultPath back to its type.
func fieldType(t reflect.Type, path string) reflect.Type {
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '[' || r == ']' }) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			if m, ok := memberType(t, part); ok {
				t = m
			}
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// join names a field inside its parent as the API does: parent[child].
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "[" + child + "]"
}

// expected says in words what a value of type t is.
func expected(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "a date and time in RFC 3339 form (2024-01-02T15:04:05Z)"
	}
	return kindName(t.Kind().String())
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "int32":
		return "an integer"
	case "uint", "uint64", "uint32":
		return "a non-negative integer"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return k
}

// position turns a byte offset into a 1-based line and column.
func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	line, col = 1, 1
	for _, b := range body[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
