package checkout_test

import (
	"encoding/json"
	"testing"

	"github.com/tenderpay/tender/internal/checkout"
	"github.com/tenderpay/tender/internal/payment"
)

// TestJobKinds: the jobs a checkout link leaves in the database keep the
// kinds and arguments they had before the pages left package payment, so
// jobs inserted by an older Tender still find their worker and decode.
func TestJobKinds(t *testing.T) {
	for _, tt := range []struct {
		kind, want string
	}{
		{checkout.ExpireArgs{}.Kind(), "checkout_link.expire"},
		{payment.ProcessArgs{}.Kind(), "payment.process"},
	} {
		if tt.kind != tt.want {
			t.Errorf("kind %q, want %q", tt.kind, tt.want)
		}
	}
	b, err := json.Marshal(checkout.ExpireArgs{PlatformID: "plt_1", LinkID: "chk_1"})
	if err != nil || string(b) != `{"platform_id":"plt_1","link_id":"chk_1"}` {
		t.Errorf("expiry job's arguments %s %v", b, err)
	}
}
