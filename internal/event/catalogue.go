package event

import (
	"slices"
	"strings"
)

// Kind describes one type of event: what object its data is and when it is
// recorded. The catalogue below is the one list of them: Record refuses a
// type it does not hold, webhook endpoints subscribe only to types (or
// families) it holds, the OpenAPI document describes each one's payload,
// and a test checks that every event.Type constant declared in Tender is
// here and the other way round.
type Kind struct {
	Type Type
	// Object is the schema of the event's data.object in the OpenAPI
	// document ("Payment").
	Object string
	// When says what makes Tender record it.
	When string
}

var catalogue = []Kind{
	{"merchant.connected", "Merchant", "A merchant connected a Stripe account (OAuth for Standard, the account link for Express), or connected another one."},
	{"merchant.status_changed", "Merchant", "The connected account's status changed (onboarding, restricted, enabled), on a refresh or when the merchant returns from Stripe."},
	{"merchant.deauthorized", "Merchant", "The merchant's account was found to have revoked the platform's access; payments to it are refused from now on."},
	{"merchant.disconnected", "Merchant", "The platform disconnected the merchant's account through the API."},

	{"customer.created", "Customer", "A customer was created."},
	{"customer.updated", "Customer", "A customer's external_id, email, name or metadata changed; an update that changes none records nothing."},
	{"customer.default_card_changed", "Customer", "The customer's default card became another card or none: its first card was saved, another was made the default, or the default was removed (the newest other card, if any, becomes the default)."},
	{"customer.archived", "Customer", "A customer was archived, after its cards were removed and its consents withdrawn (each with its own events); it can no longer pay."},

	{"card.saved", "PaymentMethod", "A card new to the customer was saved: after a SetupIntent (through the API, the hosted wallet, or confirmed at Stripe for the customer's Stripe Customer), or while paying a checkout link. A card saved again (the same SetupIntent, or one whose fingerprint the customer already has) records nothing."},
	{"card.removed", "PaymentMethod", "A saved card was removed, through the API or the hosted wallet, with its customer's archiving, or by detaching it at Stripe (in the platform's Dashboard)."},
	{"card.updated", "PaymentMethod", "A saved card's details (brand, last4, expiry, fingerprint, wallet) changed at Stripe: its expiry updated in the platform's Dashboard, or the card renewed by its network. A card saved again takes the new copy's details and records nothing."},

	{"consent.granted", "Consent", "A customer consented to off-session charges by a merchant on a card."},
	{"consent.withdrawn", "Consent", "A consent ended: revoked, its card removed, its customer archived, or superseded by a new consent for the same merchant and card (recorded just before the new consent's consent.granted)."},

	{"payment.created", "Payment", "A payment was accepted (status pending); its outcome follows as another payment.* event."},
	{"payment.succeeded", "Payment", "The payment's charge succeeded (for manual capture: it was captured, see payment.captured)."},
	{"payment.requires_action", "Payment", "The card issuer asks the customer to authenticate. next_action.url is Tender's hosted authentication link to send the customer, valid until next_action.expires_at."},
	{"payment.requires_capture", "Payment", "A manual-capture payment was authorized and waits for capture (or cancel) before the authorization expires."},
	{"payment.failed", "Payment", "The payment failed: declined (failure_code, decline_code), authentication failed or expired, or it could not be charged."},
	{"payment.captured", "Payment", "An authorized payment was captured, for all or part of its amount."},
	{"payment.canceled", "Payment", "An authorized payment was canceled (or its authorization expired) and will not be charged."},

	{"transfer.paid", "Transfer", "A separate-charge payment's transfer to a merchant was made."},
	{"transfer.failed", "Transfer", "A transfer could not be made (for example the merchant's account cannot receive transfers)."},
	{"transfer.reversed", "Transfer", "A transfer was reversed, in whole or in part, to pay for a refund."},

	{"refund.created", "Refund", "A refund was accepted (status pending)."},
	{"refund.succeeded", "Refund", "A refund was made at Stripe."},
	{"refund.failed", "Refund", "A refund could not be made; failure_reason says why."},

	{"dispute.created", "Dispute", "A customer disputed a payment with their bank: a chargeback (needs_response) or an inquiry (warning_needs_response). evidence_due_by is when the response is due; bearer says whose balance the money leaves."},
	{"dispute.updated", "Dispute", "A dispute's status or evidence changed while it is open: evidence saved or submitted (under_review), or an inquiry escalated."},
	{"dispute.funds_withdrawn", "Dispute", "Stripe withdrew the disputed amount and its dispute fee from the bearer's balance (amount_withdrawn, fees)."},
	{"dispute.funds_reinstated", "Dispute", "Stripe gave the disputed amount back to the bearer's balance, the dispute having been won (the dispute fee is not returned)."},
	{"dispute.closed", "Dispute", "A dispute was decided: won, lost (also when closed through the API or left unanswered past evidence_due_by) or, for an inquiry, warning_closed."},
	{"dispute.deadline_approaching", "Dispute", "Evidence for an open dispute is due within the platform's warning period (72 hours by default) and none has been submitted."},
	{"dispute.funds_recovered", "Dispute", "Under a fee policy with dispute_payer merchant, Tender reversed a merchant's transfer by its share of a dispute the platform bore (recoveries, amount_recovered)."},
	{"dispute.funds_returned", "Dispute", "A recovered dispute was won: Tender transferred the merchant's share of the reinstated amount back to it (the dispute fee stays recovered)."},
	{"dispute.recovery_failed", "Dispute", "Stripe refused a recovery's reversal or return (the share's failure_detail says why); the platform bears that share."},

	{"standing_order.created", "StandingOrder", "A standing order was made; next_cycle is its first cycle, charged lead_days before it is due."},
	{"standing_order.updated", "StandingOrder", "A standing order's amount, card, description or metadata changed; the change applies from next_cycle."},
	{"standing_order.paused", "StandingOrder", "A standing order was paused: by the platform (status_reason requested), or by Tender when a cycle could not be charged (consent_withdrawn, payment_method_detached, merchant_not_enabled, cycle_not_charged)."},
	{"standing_order.resumed", "StandingOrder", "A paused standing order is active again, from its next cycle due after now; cycles due while it was paused are not made."},
	{"standing_order.canceled", "StandingOrder", "A standing order was canceled; no cycle is made after this. A cycle made before the cancel is in latest_cycles with its payment."},
	{"standing_order.completed", "StandingOrder", "A standing order's schedule ended (end_date or count): its last cycle has been made."},
	{"standing_order.cycle_created", "StandingOrderCycle", "A cycle was made: its payment is being charged off-session, lead_days before the cycle is due."},
	{"standing_order.cycle_succeeded", "StandingOrderCycle", "A cycle's payment succeeded."},
	{"standing_order.cycle_failed", "StandingOrderCycle", "A cycle failed for good: a hard decline, no tries left, or not authenticated by due_at (authentication_not_completed); failure_code, decline_code and failure_message (fit to show the customer) say why, and attempts lists every charge."},
	{"standing_order.cycle_requires_action", "StandingOrderCycle", "A cycle's payment needs the customer to authenticate before due_at; the payment's payment.requires_action event carries the link."},
	{"standing_order.cycle_retrying", "StandingOrderCycle", "A cycle's charge was declined softly (insufficient funds, a processing error…) and will be charged again at next_retry_at, by the platform's standing policy; or a new card on the order retries it at once."},
	{"standing_order.cycle_canceled", "StandingOrderCycle", "A cycle's payment was canceled (through the payments API) before it was charged."},
	{"standing_order.cycle_at_risk", "StandingOrderRisk", "Days before a cycle is charged (the standing policy's precheck_days), Tender found what may make it fail: the card expired or expiring, the consent withdrawn, the card removed, the merchant not enabled, or the card's last payment asked the customer to authenticate. Once per cycle; pass it on to the customer with a wallet session."},
	{"standing_order.cycle_not_charged", "StandingOrderCycle", "A cycle could not be charged at all (no consent, card removed, merchant not enabled): no payment was made and the standing order is paused."},
	{"payout.created", "Payout", "Stripe began paying out the platform's or a merchant's available balance to its bank (status pending): the money has left the balance."},
	{"payout.updated", "Payout", "A payout was sent to the bank (status in_transit)."},
	{"payout.paid", "Payout", "A payout arrived at the bank (status paid)."},
	{"payout.failed", "Payout", "A payout failed (failure_code, failure_message say why); its money came back to the balance."},
	{"payout.canceled", "Payout", "A payout was canceled before it was sent; its money came back to the balance."},

	{"checkout_link.created", "CheckoutLink", "A checkout link was created."},
	{"checkout_link.paid", "CheckoutLink", "A checkout link was paid; payment names the payment it made."},
	{"checkout_link.expired", "CheckoutLink", "A checkout link reached expires_at unpaid."},
	{"checkout_link.canceled", "CheckoutLink", "A checkout link was canceled by the platform."},

	{"webhook_endpoint.disabled", "WebhookEndpoint", "A webhook endpoint was disabled: it answered 410 Gone, or every delivery to it failed for the configured period. Its events wait for it to be enabled again."},
}

// Catalogue returns every kind of event, grouped by object.
func Catalogue() []Kind { return slices.Clone(catalogue) }

// Lookup returns the kind of t, if it is in the catalogue.
func Lookup(t Type) (Kind, bool) {
	i := slices.IndexFunc(catalogue, func(k Kind) bool { return k.Type == t })
	if i < 0 {
		return Kind{}, false
	}
	return catalogue[i], true
}

// Match reports whether t is selected by pattern: "*" (every type), a
// family ("payment.*") or one type.
func Match(pattern string, t Type) bool {
	if pattern == "*" {
		return true
	}
	if family, ok := strings.CutSuffix(pattern, ".*"); ok {
		return strings.HasPrefix(string(t), family+".")
	}
	return pattern == string(t)
}

// ValidPattern reports whether pattern selects at least one type of the
// catalogue, so a misspelt subscription is refused rather than silent.
func ValidPattern(pattern string) bool {
	return slices.ContainsFunc(catalogue, func(k Kind) bool { return Match(pattern, k.Type) })
}
