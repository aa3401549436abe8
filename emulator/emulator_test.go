package emulator_test

import (
	"testing"

	"github.com/stripe/stripe-go/v85"
)

func TestCustomerCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{
		Email: stripe.String("ada@example.com"), Name: stripe.String("Ada"),
		Metadata: map[string]string{"order": "123"},
	})
	mustf(t, err, "create")
	if cu.Email != "ada@example.com" || cu.Metadata["order"] != "123" {
		t.Fatalf("unexpected customer %+v", cu)
	}
	got, err := e.sc.V1Customers.Retrieve(ctx(), cu.ID, nil)
	mustf(t, err, "retrieve")
	if got.ID != cu.ID {
		t.Fatalf("retrieved %s", got.ID)
	}
	up, err := e.sc.V1Customers.Update(ctx(), cu.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Ada L")})
	mustf(t, err, "update")
	if up.Name != "Ada L" {
		t.Fatalf("name %q", up.Name)
	}
	del, err := e.sc.V1Customers.Delete(ctx(), cu.ID, nil)
	mustf(t, err, "delete")
	if !del.Deleted {
		t.Fatal("not deleted")
	}
}
