package metadata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/metadata"
)

func ptr(s string) *string { return &s }

func TestApply(t *testing.T) {
	cur := map[string]string{"a": "1", "b": "2"}
	got, err := metadata.Apply(cur, map[string]*string{"a": nil, "b": ptr(""), "c": ptr("3")})
	if err != nil || len(got) != 1 || got["c"] != "3" || cur["a"] != "1" {
		t.Fatalf("Apply = %v, %v (current now %v)", got, err, cur)
	}
	many := map[string]*string{}
	for i := range metadata.MaxKeys + 1 {
		many[fmt.Sprint("k", i)] = ptr("v")
	}
	for name, tc := range map[string]struct {
		u     map[string]*string
		param string
	}{
		"empty key":     {map[string]*string{"": ptr("x")}, "metadata"},
		"bracket":       {map[string]*string{"a[b]": ptr("x")}, "metadata"},
		"long key":      {map[string]*string{strings.Repeat("k", 41): ptr("x")}, "metadata"},
		"long value":    {map[string]*string{"k": ptr(strings.Repeat("v", 501))}, "metadata[k]"},
		"too many keys": {many, "metadata"},
	} {
		if _, err := metadata.Apply(nil, tc.u); errs.As(err).Param != tc.param {
			t.Errorf("%s: %v, want invalid %s", name, err, tc.param)
		}
	}
}

// Keys and values are text: control characters and invalid UTF-8 are
// refused (a value may break lines), and lengths count characters.
func TestApplyText(t *testing.T) {
	for name, tc := range map[string]struct {
		k, v  string
		param string // "" when accepted
	}{
		"NUL in key":          {"a\x00", "x", "metadata"},
		"tab in key":          {"a\tb", "x", "metadata"},
		"invalid UTF-8 key":   {"a\xff", "x", "metadata"},
		"NUL in value":        {"k", "a\x00b", "metadata[k]"},
		"escape in value":     {"k", "a\x1bb", "metadata[k]"},
		"invalid UTF-8 value": {"k", "\xc3", "metadata[k]"},
		"lines in value":      {"k", "line 1\r\nline 2\tend", ""},
		"40 characters key":   {strings.Repeat("é", 40), "x", ""},
		"500 characters":      {"k", strings.Repeat("ü", 500), ""},
	} {
		_, err := metadata.Apply(nil, map[string]*string{tc.k: ptr(tc.v)})
		if tc.param == "" && err != nil || tc.param != "" && (!errs.Is(err, errs.Invalid) || errs.As(err).Param != tc.param) {
			t.Errorf("%s: %v, want param %q", name, err, tc.param)
		}
	}
}
