package emulator_test

import (
	"testing"

	"github.com/stripe/stripe-go/v85"
)

func TestSetupIntentLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
	mustf(t, err, "customer")
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID),
		Metadata: map[string]string{"order": "1"}})
	mustf(t, err, "create")
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.Usage != "off_session" || si.ClientSecret == "" {
		t.Fatalf("created %+v", si)
	}
	si, err = e.sc.V1SetupIntents.Update(ctx(), si.ID, &stripe.SetupIntentUpdateParams{PaymentMethod: stripe.String("pm_card_visa")})
	mustf(t, err, "update")
	if si.Status != stripe.SetupIntentStatusRequiresConfirmation {
		t.Fatalf("after update %s", si.Status)
	}
	si, err = e.sc.V1SetupIntents.Confirm(ctx(), si.ID, nil)
	mustf(t, err, "confirm")
	if si.Status != stripe.SetupIntentStatusSucceeded {
		t.Fatalf("confirmed %s", si.Status)
	}
	_, err = e.sc.V1SetupIntents.Cancel(ctx(), si.ID, nil)
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeSetupIntentUnexpectedState || se.SetupIntent == nil {
		t.Fatalf("cancel succeeded: %+v", se)
	}
	other, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{})
	mustf(t, err, "second")
	other, err = e.sc.V1SetupIntents.Cancel(ctx(), other.ID, &stripe.SetupIntentCancelParams{CancellationReason: stripe.String("abandoned")})
	mustf(t, err, "cancel")
	if other.Status != stripe.SetupIntentStatusCanceled || other.CancellationReason != "abandoned" {
		t.Fatalf("canceled %+v", other)
	}
	got, err := e.sc.V1SetupIntents.Retrieve(ctx(), si.ID, nil)
	mustf(t, err, "retrieve")
	if got.Metadata["order"] != "1" || got.PaymentMethod == nil {
		t.Fatalf("retrieved %+v", got)
	}
	if n := len(all(t, e.sc.V1SetupIntents.List(ctx(), nil).All(ctx()))); n != 2 {
		t.Fatalf("listed %d", n)
	}
	mine := all(t, e.sc.V1SetupIntents.List(ctx(), &stripe.SetupIntentListParams{Customer: stripe.String(cu.ID)}).All(ctx()))
	if len(mine) != 1 || mine[0].ID != si.ID {
		t.Fatalf("customer filter: %d", len(mine))
	}
}

// TestSetupUsage: a card that needs authentication unless set up for
// off-session use (4000002500003155) is set up only by usage=off_session;
// an on_session setup leaves off-session payments needing authentication.
func TestSetupUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, usage := range []string{"on_session", "off_session"} {
		cu, err := e.sc.V1Customers.Create(ctx(), &stripe.CustomerCreateParams{})
		mustf(t, err, "customer")
		si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{Customer: stripe.String(cu.ID),
			PaymentMethod: stripe.String("pm_card_authenticationRequiredOnSetup"), Usage: stripe.String(usage), Confirm: stripe.Bool(true),
			ReturnURL: stripe.String("https://shop.example/setup")})
		mustf(t, err, "setup")
		if si.Status != stripe.SetupIntentStatusRequiresAction || si.NextAction == nil || si.NextAction.RedirectToURL == nil {
			t.Fatalf("%s setup: %+v", usage, si)
		}
		e.authenticate(si.ID, "complete")
		_, err = e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(700), Currency: stripe.String("eur"),
			Customer: stripe.String(cu.ID), PaymentMethod: stripe.String(si.PaymentMethod.ID), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
		if usage == "off_session" {
			mustf(t, err, "off-session after an off_session setup")
			continue
		}
		se := checkDecline(t, err, "authentication_required", "authentication_required")
		if se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Fatalf("declined intent %s", se.PaymentIntent.Status)
		}
	}
}

func TestSetupAuthenticationFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	si, err := e.sc.V1SetupIntents.Create(ctx(), &stripe.SetupIntentCreateParams{
		PaymentMethod: stripe.String("pm_card_authenticationRequired"), Confirm: stripe.Bool(true)})
	mustf(t, err, "setup")
	e.authenticate(si.ID, "fail")
	si, err = e.sc.V1SetupIntents.Retrieve(ctx(), si.ID, nil)
	mustf(t, err, "retrieve")
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.LastSetupError == nil ||
		si.LastSetupError.Code != stripe.ErrorCodeSetupIntentAuthenticationFailure {
		t.Fatalf("after failed authentication %+v", si)
	}
}
