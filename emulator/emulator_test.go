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
	gone, err := e.sc.V1Customers.Retrieve(ctx(), cu.ID, nil)
	mustf(t, err, "retrieve deleted")
	if !gone.Deleted || gone.Email != "" {
		t.Fatalf("deleted customer %+v", gone)
	}
	_, err = e.sc.V1Customers.Update(ctx(), cu.ID, &stripe.CustomerUpdateParams{Name: stripe.String("x")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Fatalf("update deleted: %+v", se)
	}
	// expand[] works on any request, here an attach.
	other, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{Email: stripe.String("x@example.com")})
	mustf(t, err, "customer")
	pm, err := e.sc.V1PaymentMethods.Attach(ctx(), "pm_card_visa", &stripe.PaymentMethodAttachParams{
		Customer: stripe.String(other.ID), Expand: []*string{stripe.String("customer")}})
	mustf(t, err, "attach with expand")
	if pm.Customer == nil || pm.Customer.Email != "x@example.com" {
		t.Fatalf("customer not expanded: %+v", pm.Customer)
	}
}
