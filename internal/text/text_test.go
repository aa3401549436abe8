package text_test

import (
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/text"
)

func TestCheck(t *testing.T) {
	line, para := text.Rule{Max: 5}, text.Rule{Max: 5, Multiline: true}
	for _, tc := range []struct {
		name string
		s    string
		r    text.Rule
		ok   bool
	}{
		{"plain", "hello", line, true},
		{"five characters of two bytes", "ééééé", line, true},
		{"six characters", "hello!", line, false},
		{"NUL", "a\x00b", line, false},
		{"NUL in multi-line", "a\x00b", para, false},
		{"escape", "a\x1b[m", para, false},
		{"DEL", "a\x7f", line, false},
		{"tab in one line", "a\tb", line, false},
		{"newline in one line", "a\nb", line, false},
		{"lines", "a\r\nb\t", para, true},
		{"invalid UTF-8", "a\xffb", line, false},
		{"truncated UTF-8", "\xc3", para, false},
		{"non-ASCII", "Zoë", line, true},
	} {
		err := text.Check("f", tc.s, tc.r)
		if tc.ok != (err == nil) || err != nil && (errs.As(err).Param != "f" || !errs.Is(err, errs.Invalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestParse(t *testing.T) {
	for tag, want := range map[string]text.Rule{
		"255":                   {Max: 255},
		"1000,multiline":        {Max: 1000, Multiline: true},
		"500,multiline,keys=40": {Max: 500, Multiline: true, KeyMax: 40},
		"keys=32":               {Max: text.DefaultRule.Max, KeyMax: 32},
	} {
		if got, err := text.Parse(tag); err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tag, got, err, want)
		}
	}
	for _, tag := range []string{"", "0", "x", "10,wide", "10,keys=x"} {
		if _, err := text.Parse(tag); err == nil {
			t.Errorf("Parse(%q) accepted", tag)
		}
	}
}

type inner struct {
	Text string `json:"text" text:"10,multiline"`
}

type params struct {
	Name     *string            `json:"name" text:"5"`
	Plain    string             // no tags: DefaultRule, named as in Go
	Skipped  string             `json:"-"`
	Inner    inner              `json:"inner"`
	List     []inner            `json:"list"`
	Tags     []string           `json:"tags" text:"3"`
	Metadata map[string]*string `json:"metadata" text:"4,keys=2"`
}

func ptr(s string) *string { return &s }

// Validate names the field at fault by its path as the API names fields.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     params
		param string // "" when valid
	}{
		{"valid", params{Name: ptr("abc"), Inner: inner{"a\nb"}, Metadata: map[string]*string{"k": ptr("v"), "n": nil}}, ""},
		{"pointer", params{Name: ptr("a\x00")}, "name"},
		{"untagged", params{Plain: strings.Repeat("x", 256)}, "Plain"},
		{"skipped", params{Skipped: "\x00"}, ""},
		{"nested", params{Inner: inner{"\x00"}}, "inner[text]"},
		{"slice of structs", params{List: []inner{{"ok"}, {strings.Repeat("x", 11)}}}, "list[1][text]"},
		{"slice of strings", params{Tags: []string{"abc", "abcd"}}, "tags[1]"},
		{"map value", params{Metadata: map[string]*string{"b": ptr("ok"), "a": ptr("12345")}}, "metadata[a]"},
		{"map key", params{Metadata: map[string]*string{"abc": ptr("v")}}, "metadata"},
		{"map key NUL", params{Metadata: map[string]*string{"\x00": ptr("v")}}, "metadata"},
	} {
		err := text.Validate(&tc.p)
		if tc.param == "" && err != nil || tc.param != "" && errs.As(err).Param != tc.param {
			t.Errorf("%s: %v; want param %q", tc.name, err, tc.param)
		}
	}
}

func TestClean(t *testing.T) {
	r := text.Rule{Max: 5}
	for in, want := range map[string]string{
		"Mozilla/5.0": "Mozil",
		"a\tb\x00":    "a\uFFFDb\uFFFD",
		"é\xffé":      "é\uFFFDé",
		"ééééééé":     "ééééé",
	} {
		got := text.Clean(in, r)
		if got != want || text.Check("ua", got, r) != nil {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
