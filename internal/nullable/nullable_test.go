package nullable_test

import (
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

func TestNullable(t *testing.T) {
	if nullable.String("") != nil || *nullable.String("x") != "x" {
		t.Error("String")
	}
	now := time.Now()
	if nullable.Time(time.Time{}) != nil || !nullable.Time(now).Equal(now) {
		t.Error("Time")
	}
}
