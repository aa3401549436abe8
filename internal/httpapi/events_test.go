package httpapi_test

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
	"github.com/tenderpay/tender/internal/webhooks"
)

// TestEventCatalogueDocumented checks the OpenAPI document's webhooks
// against the catalogue: one per event type, saying when it fires, with
// its data.object the kind's schema, and the Event schema's type enum the
// same list.
func TestEventCatalogueDocumented(t *testing.T) {
	doc, _, err := apitest.Document()
	if err != nil {
		t.Fatal(err)
	}
	var types []any
	for _, k := range event.Catalogue() {
		types = append(types, string(k.Type))
		item := doc.Webhooks[string(k.Type)]
		if item == nil || item.Post == nil {
			t.Errorf("%s: no webhook in the document", k.Type)
			continue
		}
		if item.Post.Summary != k.When {
			t.Errorf("%s: the document says %q, the catalogue %q", k.Type, item.Post.Summary, k.When)
		}
		schema := item.Post.RequestBody.Value.Content["application/json"].Schema.Value
		data := schema.Properties["data"].Value.AllOf[1].Value.Properties["data"].Value.Properties["object"]
		if want := "#/components/schemas/" + k.Object; data.Ref != want {
			t.Errorf("%s: data.object is %s, want %s", k.Type, data.Ref, want)
		}
		if doc.Components.Schemas[k.Object] == nil {
			t.Errorf("%s: no schema %s", k.Type, k.Object)
		}
	}
	if len(doc.Webhooks) != len(types) {
		t.Errorf("the document has %d webhooks, the catalogue %d types", len(doc.Webhooks), len(types))
	}
	if enum := doc.Components.Schemas["Event"].Value.Properties["type"].Value.Enum; !slices.Equal(enum, types) {
		t.Errorf("Event.type enum %v, want the catalogue's %v", enum, types)
	}
}

func recordEvents(t *testing.T, env *apitest.Env, platformID string, at time.Time, typ event.Type, objects ...string) []string {
	t.Helper()
	var ids []string
	ctx := context.Background()
	for _, obj := range objects {
		err := env.App.DB.InTx(ctx, func(tx *sql.Tx) error {
			e, err := event.Record(ctx, tx, at, platformID, typ, obj, map[string]string{"id": obj})
			if e != nil {
				ids = append(ids, e.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

type eventPage struct {
	Data           []event.View
	HasMore        bool      `json:"has_more"`
	OldestSequence *int64    `json:"oldest_sequence"`
	RetainedSince  time.Time `json:"retained_since"`
}

func eventIDs(p eventPage) []string {
	var out []string
	for _, e := range p.Data {
		out = append(out, e.ID)
	}
	return out
}

func TestEventFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{})
		at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		created := recordEvents(t, env, env.PlatformID, at, "payment.created", "pay_1", "pay_2")
		paid := recordEvents(t, env, env.PlatformID, at.Add(time.Hour), "payment.succeeded", "pay_1")
		linked := recordEvents(t, env, env.PlatformID, at.Add(2*time.Hour), "checkout_link.paid", "chk_1")
		all := slices.Concat(created, paid, linked)

		get := func(query string) eventPage {
			t.Helper()
			var p eventPage
			r := env.Do("GET", "/v1/events?"+query, nil)
			if r.Status != 200 {
				t.Fatalf("GET /v1/events?%s: %d %s", query, r.Status, r.Body)
			}
			r.Decode(t, &p)
			return p
		}
		newest := get("")
		if want := slices.Clone(all); !slices.Equal(eventIDs(newest), reverse(want)) {
			t.Fatalf("newest first: %v, want %v", eventIDs(newest), reverse(want))
		}
		if newest.OldestSequence == nil || *newest.OldestSequence != 1 || newest.RetainedSince.IsZero() {
			t.Fatalf("retention: oldest %v, since %v", newest.OldestSequence, newest.RetainedSince)
		}
		tail := get("after_sequence=1&limit=2")
		if !slices.Equal(eventIDs(tail), all[1:3]) || !tail.HasMore {
			t.Fatalf("after_sequence=1: %v, more %v; want %v", eventIDs(tail), tail.HasMore, all[1:3])
		}
		if p := get("type=payment.*"); len(p.Data) != 3 {
			t.Fatalf("family: %d events", len(p.Data))
		}
		if p := get("type=payment.succeeded&object=pay_1"); !slices.Equal(eventIDs(p), paid) {
			t.Fatalf("type and object: %v", eventIDs(p))
		}
		from := url.QueryEscape(at.Add(time.Hour).Format(time.RFC3339))
		if p := get("created_at[gte]=" + from); !slices.Equal(eventIDs(p), []string{linked[0], paid[0]}) {
			t.Fatalf("created_at[gte]: %v", eventIDs(p))
		}
		if p := get("created_at[gt]=" + from); !slices.Equal(eventIDs(p), linked) {
			t.Fatalf("created_at[gt]: %v", eventIDs(p))
		}
		if p := get("created_at[lte]=" + from); !slices.Equal(eventIDs(p), reverse(all[:3])) {
			t.Fatalf("created_at[lte]: %v", eventIDs(p))
		}

		var one event.View
		env.Do("GET", "/v1/events/"+paid[0], nil).Decode(t, &one)
		if one.Type != "payment.succeeded" || one.ObjectID != "pay_1" || one.ObjectSequence != 2 || one.Sequence != 3 ||
			string(one.Data.Object) != `{"id":"pay_1"}` {
			t.Fatalf("event %+v", one)
		}

		for query, param := range map[string]string{
			"type=payment.teleported":                   "type",
			"after_sequence=-1":                         "after_sequence",
			"after_sequence=x":                          "after_sequence",
			"after_sequence=1&starting_after=" + all[0]: "after_sequence",
			"created_at[gte]=yesterday":                 "created_at[gte]",
			"starting_after=pay_1":                      "starting_after",
			"limit=0":                                   "limit",
			"object=" + url.QueryEscape("a\x00b"):       "object",
		} {
			r := env.Do("GET", "/v1/events?"+query, nil)
			if r.Status != 400 || r.Err().Param != param {
				t.Errorf("GET /v1/events?%s = %d %s; want 400 naming %s", query, r.Status, r.Body, param)
			}
		}

		// Another platform sees none of it, and cannot page by it.
		ctx := context.Background()
		other, _ := env.App.Platforms.Create(ctx, "Other")
		_, key, _ := env.App.Platforms.CreateKey(ctx, other.ID, platform.ModeTest, "")
		if r := env.Do("GET", "/v1/events/"+paid[0], nil, apitest.WithKey(key)); r.Status != 404 {
			t.Fatalf("other platform got %d", r.Status)
		}
		var theirs eventPage
		env.Do("GET", "/v1/events", nil, apitest.WithKey(key)).Decode(t, &theirs)
		if len(theirs.Data) != 0 || theirs.OldestSequence != nil {
			t.Fatalf("other platform lists %d events", len(theirs.Data))
		}
		if r := env.Do("GET", "/v1/events?starting_after="+paid[0], nil, apitest.WithKey(key)); r.Status != 400 {
			t.Fatalf("other platform paged by our event: %d", r.Status)
		}
	})
}

func reverse(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

func withKeys(t *testing.T, allowPrivate bool) app.Config {
	keys, err := secret.ParseKeyring(secret.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return app.Config{MasterKeys: keys, WebhookAllowPrivate: allowPrivate}
}

func TestWebhookEndpointInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, withKeys(t, false))
		good := map[string]any{"url": "https://platform.example/hooks", "enabled_events": []string{"payment.*"}}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for a, b := range good {
				m[a] = b
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, c := range []struct {
			body  map[string]any
			param string
		}{
			{with("url", nil), "url"},
			{with("url", "http://platform.example/hooks"), "url"},
			{with("url", "https://127.0.0.1/hooks"), "url"},
			{with("url", "https://10.0.0.1/hooks"), "url"},
			{with("url", "https://169.254.169.254/latest"), "url"},
			{with("url", "https://[::1]/hooks"), "url"},
			{with("url", "https://user:pass@platform.example/"), "url"},
			{with("url", "https://platform.example/"+strings.Repeat("a", 2048)), "url"},
			{with("enabled_events", nil), "enabled_events"},
			{with("enabled_events", []string{}), "enabled_events"},
			{with("enabled_events", []string{"payment.created", "paymnt.*"}), "enabled_events[1]"},
			{with("status", "disabled"), "status"},
			{with("description", "a\x00b"), "description"},
		} {
			r := env.Do("POST", "/v1/webhook_endpoints", c.body)
			if r.Status != 400 || r.Err().Param != c.param {
				t.Errorf("create %v = %d %s; want 400 naming %s", c.body, r.Status, r.Body, c.param)
			}
		}
		var list struct{ Data []webhooks.EndpointView }
		env.Do("GET", "/v1/webhook_endpoints", nil).Decode(t, &list)
		if len(list.Data) != 0 {
			t.Fatalf("refused creates left %d endpoints", len(list.Data))
		}

		// A retried create answers the same endpoint with the same secret.
		var first, again webhooks.EndpointView
		env.Do("POST", "/v1/webhook_endpoints", good, apitest.WithIdempotencyKey("create-1")).Decode(t, &first)
		env.Do("POST", "/v1/webhook_endpoints", good, apitest.WithIdempotencyKey("create-1")).Decode(t, &again)
		if first.ID == "" || first.ID != again.ID || first.Secret != again.Secret || !strings.HasPrefix(first.Secret, "whsec_") {
			t.Fatalf("retried create: %+v then %+v", first, again)
		}
		path := "/v1/webhook_endpoints/" + first.ID
		for _, c := range []struct {
			path  string
			body  map[string]any
			param string
		}{
			{path, map[string]any{"status": "paused"}, "status"},
			{path, map[string]any{"url": "ftp://platform.example/"}, "url"},
			{path, map[string]any{"enabled_events": []string{"*", "nope"}}, "enabled_events[1]"},
			{path + "/rotate", map[string]any{"expires_in": -1}, "expires_in"},
			{path + "/rotate", map[string]any{"expires_in": 604801}, "expires_in"},
			{path + "/recover", map[string]any{}, "since"},
			{path + "/recover", map[string]any{"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until"},
			{path + "/recover", map[string]any{"since": "yesterday"}, "since"},
		} {
			r := env.Do("POST", c.path, c.body)
			if r.Status != 400 || r.Err().Param != c.param {
				t.Errorf("POST %s %v = %d %s; want 400 naming %s", c.path, c.body, r.Status, r.Body, c.param)
			}
		}
		var still webhooks.EndpointView
		env.Do("GET", path, nil).Decode(t, &still)
		if still.Status != webhooks.StatusEnabled || still.URL != "https://platform.example/hooks" || still.PreviousSecretExpiresAt != nil {
			t.Fatalf("refused updates changed the endpoint: %+v", still)
		}

		ids := recordEvents(t, env, env.PlatformID, time.Now(), "refund.created", "rfd_1")
		if r := env.Do("POST", "/v1/events/"+ids[0]+"/redeliver", map[string]any{"endpoint": first.ID}); r.Status != 400 || r.Err().Param != "endpoint" {
			t.Errorf("redeliver to an endpoint not subscribed: %d %s", r.Status, r.Body)
		}
		if r := env.Do("POST", "/v1/events/"+ids[0]+"/redeliver", map[string]any{"endpoint": "we_nope"}); r.Status != 400 || r.Err().Param != "endpoint" {
			t.Errorf("redeliver to an unknown endpoint: %d %s", r.Status, r.Body)
		}
		if r := env.Do("POST", "/v1/events/evt_000000000000000000000000/redeliver", map[string]any{}); r.Status != 404 {
			t.Errorf("redeliver an unknown event: %d", r.Status)
		}

		// Another platform cannot see, change or delete it.
		ctx := context.Background()
		other, _ := env.App.Platforms.Create(ctx, "Other")
		_, key, _ := env.App.Platforms.CreateKey(ctx, other.ID, platform.ModeTest, "")
		for _, c := range []struct {
			method, path string
			body         map[string]any
		}{
			{"GET", path, nil}, {"POST", path, map[string]any{}}, {"DELETE", path, nil}, {"POST", path + "/rotate", map[string]any{}},
			{"GET", path + "/attempts", nil}, {"POST", path + "/recover", map[string]any{"since": "2026-12-01T00:00:00Z"}},
		} {
			if r := env.Do(c.method, c.path, c.body, apitest.WithKey(key)); r.Status != 404 {
				t.Errorf("other platform %s %s = %d", c.method, c.path, r.Status)
			}
		}

		// At most MaxEndpoints.
		for i := 1; i < webhooks.MaxEndpoints; i++ {
			env.Post("/v1/webhook_endpoints", good, 200, nil)
		}
		if r := env.Do("POST", "/v1/webhook_endpoints", good); r.Status != 409 {
			t.Fatalf("endpoint %d: %d %s", webhooks.MaxEndpoints+1, r.Status, r.Body)
		}
		var gone struct{ Deleted bool }
		env.Do("DELETE", path, nil).Decode(t, &gone)
		if r := env.Do("GET", path, nil); !gone.Deleted || r.Status != 404 {
			t.Fatalf("deleted endpoint: %d", r.Status)
		}
		if r := env.Do("GET", "/v1/webhook_endpoints/we_nope", nil); r.Status != 404 {
			t.Fatalf("bad id: %d", r.Status)
		}
	})
}
