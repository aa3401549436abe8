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
