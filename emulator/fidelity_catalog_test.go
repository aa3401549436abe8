package emulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-mock/embedded"
)

// TestCatalogMatchesSpec: the event types and API versions the emulator
// accepts are exactly those of Stripe's OpenAPI spec, every event type the
// emulator emits is one of them, and APIVersion is a version Stripe knows.
func TestCatalogMatchesSpec(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]struct {
							Enum  []string `json:"enum"`
							Items struct {
								Enum []string `json:"enum"`
							} `json:"items"`
						} `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(embedded.OpenAPISpec, &spec); err != nil {
		t.Fatalf("spec: %v", err)
	}
	form := func(path string) map[string]struct {
		Enum  []string `json:"enum"`
		Items struct {
			Enum []string `json:"enum"`
		} `json:"items"`
	} {
		return spec.Paths[path]["post"].RequestBody.Content["application/x-www-form-urlencoded"].Schema.Properties
	}
	for _, path := range []string{"/v1/webhook_endpoints", "/v1/webhook_endpoints/{webhook_endpoint}"} {
		want := slices.DeleteFunc(slices.Clone(form(path)["enabled_events"].Items.Enum), func(s string) bool { return s == "*" })
		if len(want) == 0 || !slices.Equal(eventTypes.order, want) {
			t.Errorf("eventTypes differ from the enabled_events of POST %s (%d types in the spec, %d here)", path, len(want), len(eventTypes.order))
		}
	}
	if want := form("/v1/webhook_endpoints")["api_version"].Enum; len(want) == 0 || !slices.Equal(apiVersions.order, want) {
		t.Errorf("apiVersions differ from the spec's api_version (%d in the spec, %d here)", len(want), len(apiVersions.order))
	}
	if !apiVersions.has(APIVersion) {
		t.Errorf("APIVersion %s is not a version Stripe knows", APIVersion)
	}

	files, err := filepath.Glob("*.go")
	mustNot(t, err)
	emitted := regexp.MustCompile(`\.emit\("([^"]+)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		mustNot(t, err)
		for _, m := range emitted.FindAllSubmatch(src, -1) {
			n++
			if !eventTypes.has(string(m[1])) {
				t.Errorf("%s emits %s, which is no Stripe event type", f, m[1])
			}
		}
	}
	if n < 40 {
		t.Fatalf("found only %d emitted event types; has emit changed?", n)
	}
}

func mustNot(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
