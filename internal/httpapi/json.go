package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tenderpay/tender/internal/errs"
)

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Our own types always marshal; this is a programming error.
		http.Error(w, `{"error":{"type":"api_error","code":"internal","message":"An internal error occurred."}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decodeJSON reads the request body into v. It refuses unknown fields,
// trailing data and malformed JSON with an error that names the field or the
// position, and an oversized body with errs.TooLarge. An empty body decodes
// as {}.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	// Not dec.More: it reports no more at a stray ] or }, so a body such
	// as {"amount":1}] would pass. Only JSON's whitespace may follow.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		line, col := position(body, dec.InputOffset())
		return errs.E(errs.Invalid, "Invalid JSON: unexpected data after the object at line %d, column %d.", line, col).WithReason("json_invalid")
	}
	return nil
}

func jsonError(body []byte, err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		line, col := position(body, se.Offset)
		return errs.E(errs.Invalid, "Invalid JSON at line %d, column %d: %s.", line, col, se.Error()).WithReason("json_invalid")
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			return errs.E(errs.Invalid, "The request body must be a JSON object.").WithReason("json_invalid")
		}
		return &errs.Error{Code: errs.Invalid, Reason: "parameter_invalid", Param: field,
			Message: fmt.Sprintf("Invalid value for %s: expected %s, got %s.", field, kindName(te.Type.Kind().String()), te.Value)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := position(body, int64(len(body)))
		return errs.E(errs.Invalid, "Invalid JSON: the body ends unexpectedly at line %d, column %d.", line, col).WithReason("json_invalid")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &errs.Error{Code: errs.Invalid, Reason: "parameter_unknown", Param: name, Message: "Received unknown parameter: " + name + "."}
	}
	return errs.E(errs.Invalid, "Invalid JSON: %v.", err).WithReason("json_invalid")
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "int32":
		return "an integer"
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
