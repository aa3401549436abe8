// Package emulator serves a stateful, Connect-aware imitation of Stripe's API
// in test mode, faithful enough that the official stripe-go client (v85, API
// version 2026-03-25.dahlia) cannot tell it from Stripe. Its responses are
// checked against Stripe's published OpenAPI spec in this package's tests.
//
// # Using it from another project's tests
//
// A Server is an http.Handler. Create one with New, serve it, point a
// stripe-go backend at it and use the platform's secret key:
//
//	srv := emulator.New(emulator.Options{})
//	ts := httptest.NewServer(srv)
//	t.Cleanup(func() { ts.Close(); srv.Close() })
//	sc := stripe.NewClient(emulator.DefaultSecretKey, stripe.WithBackends(
//		stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(ts.URL)})))
//	pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{
//		Amount: stripe.Int64(1000), Currency: stripe.String("usd"),
//		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
//
// Give Options.NowFunc a fixed time and move it with Server.Advance instead
// of sleeping; give it time.Now when webhooks must pass stripe-go's
// webhook.ConstructEvent, which checks signatures against the real time.
//
// # Wire format
//
// Requests are form-encoded as stripe-go sends them: nested a[b][c], arrays
// as x[0] or x[], "key=" to clear a value (metadata= clears all metadata,
// metadata[k]= one key); GET and DELETE take their parameters in the query.
// Every response carries a Request-Id. Secret keys (sk_test_…, as Bearer
// token or Basic user name) map to their platform account; any other key is
// a 401. Stripe-Account: acct_… addresses one of the platform's connected
// accounts. Publishable keys (pk_test_…: Platform.PublishableKey, or a
// connected account's stripe_publishable_key from Connect OAuth, which acts
// as that account) work only where Stripe accepts them: POST
// /v1/payment_methods, and retrieving (GET …?client_secret=…) and
// confirming a SetupIntent or PaymentIntent with its client_secret; anywhere
// else they get Stripe's 401 "This API call cannot be made with a
// publishable API key". They see intents reduced to the fields Stripe marks
// "retrievable with publishable key" (no customer, metadata, fees or
// transfers). A client_secret that does not match is a 400 on
// client_secret. Every /v1 route answers CORS as api.stripe.com does
// (Access-Control-Allow-Origin: *, OPTIONS preflights), so a page's
// Stripe.js can call it from any origin. Objects belong to one
// account and are invisible (404) from any
// other. Errors have Stripe's shape (type, code, decline_code, param,
// message, payment_intent, …): an unknown parameter or a missing required
// one is a 400 naming it, an unknown id a 404 resource_missing, a decline a
// 402 card_error.
//
// The emulator speaks one API version, APIVersion, and every response's
// Stripe-Version header names it. A request may send Stripe-Version: a
// version Stripe knows (any in Stripe's OpenAPI spec, older or newer, with
// or without beta flags, which are ignored) is accepted but answered in
// APIVersion's shapes all the same, so code pinned to another version gets
// dahlia objects; a version Stripe does not know ("2019-2-19",
// "2022-08-02") is a 400 invalid_request_error "Invalid Stripe API
// version: …".
//
// # Resources
//
//   - Accounts: create (type standard, express or custom, or controller
//     properties: fees.payer, losses.payments, requirement_collection,
//     stripe_dashboard.type), retrieve, update (email, business_profile,
//     metadata, capabilities, settings.payouts.schedule), delete, list;
//     GET /v1/account. A new account can take charges at once, unless
//     Options.AccountsStartRestricted is set: then it starts with
//     requirements due (charges_enabled, payouts_enabled and
//     details_submitted false, capabilities inactive) until its account
//     link's onboarding form is submitted. Capabilities (card_payments,
//     transfers, …): list, retrieve, request or give up
//     (POST /v1/accounts/{id}/capabilities/{cap} requested=true|false). A
//     direct or on_behalf_of charge needs card_payments active, a
//     destination charge transfers, or the PaymentIntent is refused with
//     Stripe's error.
//   - Account links (account_onboarding, account_update for accounts whose
//     requirements the platform collects) open an emulator-hosted form at
//     /_emulator/connect/onboarding/{token}; submitting it meets every
//     requirement (account.updated with previous_attributes,
//     capability.updated) and redirects to return_url. A link expires 300
//     seconds after it is made and works once; otherwise it redirects to
//     refresh_url. Login links for Express accounts that finished
//     onboarding.
//   - Connect OAuth on the emulator's own origin (point stripe-go's Connect
//     backend or golang.org/x/oauth2 at it): GET /oauth/authorize and
//     /express/oauth/authorize show a page naming the platform and scope,
//     prefilled from stripe_user[email|business_name|country]; "Connect my
//     account" creates an enabled Standard (or Express) account and
//     redirects to redirect_uri with code, scope and the untouched state;
//     "Deny" redirects with error=access_denied. client_id is the
//     platform's Platform.ClientID (DefaultClientID for the default
//     platform); redirect_uri must be one of Platform.RedirectURIs (the
//     first when absent; any while none is registered); a bad client_id or
//     redirect_uri is shown as an error page, never redirected to.
//     POST /oauth/token (authorization_code, refresh_token) authenticates
//     with the platform's secret key as client_secret, Bearer or Basic
//     password; codes work once and for five minutes of emulator time.
//     The access token acts for the platform on the connected account, as
//     the platform's key with Stripe-Account does (read_only tokens only
//     read). POST /oauth/deauthorize revokes the tokens and disconnects the
//     account: Stripe-Account requests for it get a 403 account_invalid.
//     account.application.authorized and .deauthorized reach the
//     platform's Connect endpoints. Errors have OAuth's shape
//     ({"error":"invalid_grant","error_description":…}; invalid_client is
//     a 401, others 400). Codes, tokens and links are not kept in
//     snapshots.
//   - Customers: create, retrieve, update, delete, list (email, created),
//     search (email, name, phone, metadata['k']).
//   - PaymentMethods: create from card numbers or tok_… tokens, the
//     pm_card_… test ids wherever a PaymentMethod is taken, retrieve,
//     update, attach, detach, list for a customer. Retrieving a pm_card_…
//     id answers a new unattached PaymentMethod with its own pm_ id each
//     time, as Stripe does. POST /v1/payment_methods
//     with customer and payment_method under Stripe-Account clones a
//     platform customer's card onto the connected account.
//   - SetupIntents: create (with confirm), update, confirm, retrieve,
//     cancel, list; usage on_session or off_session.
//   - PaymentIntents: create (with confirm), update, confirm, capture
//     (amount_to_capture), cancel, retrieve, list, search; automatic and
//     manual capture, off_session, application_fee_amount,
//     transfer_data[destination|amount], on_behalf_of, transfer_group,
//     latest_charge, amount_received, last_payment_error.
//   - Charges (made by PaymentIntents): retrieve, list, with their
//     balance_transaction, application_fee and transfer.
//   - Refunds: create for a PaymentIntent or charge, partial,
//     refund_application_fee, reverse_transfer; retrieve, update, list.
//   - Transfers (with source_transaction or from the available balance;
//     to an account whose transfers capability is not active, Stripe's 400
//     insufficient_capabilities_for_transfer), their reversals, application fees and their refunds, the balance and
//     balance transactions (GET /v1/balance_transactions and
//     /v1/balance/history, filtered by type, source, currency, created or
//     an automatic payout). Stripe's fee is Options.Fees; funds become
//     available Options.AvailableAfter later, at the start of a UTC day.
//     An account's balance is always the sum of its balance transactions'
//     net amounts, available or pending by their available_on.
//   - Disputes: retrieve, list (charge, payment_intent, created), update
//     (evidence[…], metadata, submit, which defaults to true when evidence
//     is sent), close (accept). They open after the charge of a dispute
//     test card (see below), on the charge's account: the connected account
//     for direct charges, the platform otherwise. A chargeback
//     (needs_response) withdraws the amount and the dispute fee
//     (Fee.Dispute: $15.00, €20.00, £20.00), as an adjustment balance
//     transaction settling like a charge; charge.disputed becomes true and
//     refunds are refused (charge_disputed). Submitted evidence whose
//     uncategorized_text is winning_evidence or losing_evidence decides it
//     five minutes later: won gives the amount back (not the fee), lost
//     keeps it. Closing it, or leaving it unanswered until
//     evidence_details.due_by (the end of the UTC day a week after it
//     opened), loses it. An inquiry (warning_needs_response) moves no
//     money; winning closes it (warning_closed), losing withdraws the funds.
//     Events charge.dispute.created, .updated, .funds_withdrawn,
//     .funds_reinstated and .closed. Stripe's dispute countered fee (since
//     June 2025) is not modelled.
//   - Payouts: create (amount, currency, destination, description,
//     statement_descriptor, metadata; standard only; more than the
//     available balance is balance_insufficient), retrieve, update, list
//     (status, destination, arrival_date, created), cancel while pending
//     (manual payouts only). Each account's available balance is paid out
//     automatically at the start of a UTC day per its
//     settings.payouts.schedule: daily by default, weekly on the anchor day,
//     monthly on the anchor date, never when manual. A payout is pending
//     until the next day starts, in_transit until the day after, then paid;
//     payout.created, .updated, .paid (and .reconciliation_completed for
//     automatic ones), .canceled, .failed. Note that stripe-go v85's
//     V1Payouts.Cancel posts to /v1/topups/{id}/cancel, which Stripe and the
//     emulator answer with a 404: post to /v1/payouts/{id}/cancel instead.
//   - External accounts: every account has Stripe's succeeding test bank
//     account (routing 110000000, account 000123456789, or the EUR and GBP
//     equivalents) as default for its currency;
//     POST /v1/accounts/{id}/external_accounts adds one
//     (external_account[object]=bank_account, country, currency,
//     account_number, routing_number; default_for_currency), list and
//     retrieve. Payouts to Stripe's failing test numbers (000111111116
//     no_account, 000111111113 account_closed, 000222222227
//     insufficient_funds, 000333333335 debit_not_authorized, 000444444440
//     invalid_currency, and the IBAN and UK ones) fail when due to arrive:
//     the funds return (payout_failure) and the bank account becomes
//     errored, which stops scheduled payouts to it.
//   - Events: retrieve, list (type with a "prefix.*" wildcard, types,
//     created), one for every state change Stripe has an event type for,
//     and balance.available each time some of an account's pending funds
//     become available.
//   - Webhook endpoints: create, retrieve, update, delete, list.
//     enabled_events takes "*" or event types in Stripe's spec; another is
//     a 400 naming it ("Invalid enabled_events[1]: must be one of …"), and
//     api_version must be a version Stripe knows. An endpoint receives the
//     events it enabled, while it is enabled: a disabled one gets nothing,
//     not even later. An account's endpoints receive that account's own
//     events; endpoints created with connect=true receive the platform's
//     connected accounts' events, with "account" set. Deliveries are signed
//     as Stripe signs (Stripe-Signature: t=…,v1=…, HMAC-SHA256 over
//     "t.body", see Sign) and carry api_version APIVersion. A delivery the
//     endpoint does not answer with a 2xx is retried as Stripe's test mode
//     retries, three times over a few hours: 5 minutes, 30 minutes and 2
//     hours after the attempt before, on the emulator clock (Server.Advance
//     sends every retry that fell due, in order; a running clock sends them
//     on time), to the endpoint's URL as it is then; none once the endpoint
//     was deleted or disabled. An event's pending_webhooks counts the
//     endpoints it has not reached yet. Retries still to come are not kept
//     in snapshots. Faults.Webhooks makes delivery as unreliable as Stripe
//     warns it can be (see Control API and faults).
//
// expand[] works on every request, nested with dots and with "data." inside
// lists, at most four levels. Lists take limit (1–100, default 10),
// starting_after and ending_before, and answer newest first with has_more
// and url.
//
// # Test cards
//
// One table, testCards in cards.go, holds every test card with the page of
// https://docs.stripe.com/testing it comes from: 4242424242424242 succeeds;
// the declines (…0002 generic_decline, …9995 insufficient_funds, …9987
// lost_card, …9979 stolen_card, …0069 expired_card, …0127 incorrect_cvc,
// …0119 processing_error) cannot be attached and decline every payment;
// 4000000000000341 attaches but its charges decline; 4000002500003155
// needs authentication unless set up off-session; 4000002760003184 and
// 4000000000003220 always need it (off-session: authentication_required);
// 4000003800000446 needs it on-session only; 4000008260003178 declines
// insufficient_funds even after authentication; 4000000000000077 puts
// funds straight into the available balance; 4000000000000259
// (pm_card_createDispute) succeeds and is then disputed as fraudulent,
// 4000000000001976 (pm_card_createDisputeInquiry) gets an inquiry. A
// PaymentIntent or SetupIntent in requires_action is completed or failed by
// POST /_emulator/authenticate/{id} with outcome=complete or outcome=fail,
// which answers with the intent as JSON, or in a browser by its challenge
// page (see Stripe.js and 3-D Secure).
//
// # Stripe.js and 3-D Secure
//
// The emulator serves the part of Stripe.js v3 that card payments use, at
// /v3/ (and /v3) on its own origin. A page written for real Stripe.js
// changes only its script tag:
//
//	<script src="http://127.0.0.1:12111/v3/"></script>
//	<script>
//	  const stripe = Stripe('pk_test_emulator_platform', {stripeAccount: 'acct_…'});
//	  const card = stripe.elements().create('card');
//	  card.mount('#card-element');
//	  form.onsubmit = async (e) => {
//	    e.preventDefault();
//	    const {setupIntent, error} = await stripe.confirmCardSetup(clientSecret,
//	      {payment_method: {card: card, billing_details: {name: 'Ada'}}});
//	  };
//	</script>
//
// Stripe(key, {stripeAccount}), stripe.elements(), elements.create('card',
// {style, classes, hidePostalCode, hideIcon, value, disabled}) and
// getElement; the Element's mount, unmount, destroy, update, focus, blur,
// clear and on/once/off for change ({elementType, empty, complete, brand,
// value, error}), ready, focus and blur; confirmCardSetup,
// confirmCardPayment (with {handleActions: false}), handleCardAction,
// handleNextAction, createPaymentMethod (object or positional form),
// retrieveSetupIntent and retrievePaymentIntent. They resolve to
// {setupIntent}, {paymentIntent}, {paymentMethod} or {error} and never
// reject for a card error; bad arguments throw an IntegrationError.
//
// The card fields (number, MM / YY, CVC, postal code) live in an iframe
// from the emulator, /_emulator/elements/card. It validates them as
// Stripe.js does (Luhn, brand, expiry, CVC length; validation_error
// incomplete_number, invalid_number, incomplete_expiry,
// invalid_expiry_year_past, incomplete_cvc, incomplete_zip, …) and creates
// the PaymentMethod itself with the publishable key, so card numbers go
// from the browser to the emulator only, never through the embedding page
// or its server. The page and the iframe talk by postMessage, each
// checking the other's origin; the page's Stripe object calls the API
// across origins with the publishable key.
//
// A card that asks for authentication shows the challenge page,
// /_emulator/authenticate/{id}, with Complete and Fail buttons. When
// Stripe.js handles the next action, the page opens in a modal over the
// shop's page. When the shop confirms with a return_url and
// {handleActions: false} (or its server confirms with one), the shop sends
// the browser to next_action.redirect_to_url.url; after a button the
// browser goes to the return_url with payment_intent,
// payment_intent_client_secret and redirect_status=succeeded|failed
// (setup_intent and setup_intent_client_secret for a SetupIntent), as
// Stripe's redirect does.
// Complete moves the intent on: a SetupIntent succeeds and attaches its
// card to its customer; a PaymentIntent is charged and succeeds or waits in
// requires_capture (requires_confirmation with confirmation_method
// manual). Fail returns it to requires_payment_method with
// last_setup_error setup_intent_authentication_failure or
// last_payment_error payment_intent_authentication_failure. Both emit
// Stripe's events (setup_intent.succeeded, setup_intent.setup_failed,
// charge.succeeded, payment_intent.succeeded,
// payment_intent.payment_failed, …).
//
// # Time
//
// What Stripe does as time passes (funds becoming available, disputes
// opening after their charge and being decided, payouts being made, going
// in transit and arriving) is queued as due work and done in time order,
// each step dated when it fell due: when Server.Advance or
// POST /_emulator/clock/advance moves the clock, at the start of every
// request, and once a second on its own, so a real-time clock needs no
// help. A dispute therefore opens at the request after its charge's, as
// Stripe's arrives after the charge. With a fixed clock a run is replayable.
//
// # Idempotency
//
// A POST with an Idempotency-Key stores its first response (a 500 too, with
// Stripe-Should-Retry: false) and replays it with Idempotent-Replayed: true;
// the same key with other parameters is a 400 idempotency_error; while the
// first request runs, the key is a 409 idempotency_key_in_use; a request
// that failed validation stores nothing; keys expire after 24 hours of
// emulator time. Keys are per platform and account.
//
// # Control API and faults
//
// Under /_emulator/, without a key: DELETE /_emulator/data resets all data
// but the platforms; GET /_emulator/clock and POST /_emulator/clock/advance
// (seconds=N or duration=48h) read and move the clock; GET and POST
// /_emulator/faults read and replace the fault configuration (JSON, as
// Faults); POST /_emulator/platforms adds a platform (account, secret_key,
// publishable_key, name, client_id, redirect_uris[]). Faults (Options.Faults
// or Server.SetFaults) add latency, answer a share of requests with a 500
// api_error (once the request passed validation, as Stripe's own 500s
// come: a request with a bad key or parameter gets that error, and stores
// nothing under its Idempotency-Key), rate-limit with a token bucket on the emulator clock
// (RateLimitTestMode and RateLimitLiveMode are Stripe's 25 and 100
// requests per second; excess requests get a 429 with
// Stripe-Rate-Limited-Reason: global-rate, or endpoint-rate from the
// per-endpoint bucket, Faults.EndpointRateLimit), and drop the connection of a
// share of POSTs after their effect is committed, so a client retrying with
// the same key gets the stored response and makes one object, not two.
//
// Faults.Webhooks ("webhooks": drop_rate, duplicate_rate, reorder_rate,
// max_delay) tests a webhook receiver against Stripe at its worst: events
// lost, sent twice, out of order. Each delivery (one event to one
// endpoint) is decided once, as its event is committed. A dropped delivery
// never reaches its endpoint, neither the attempt nor any retry, and the
// event's pending_webhooks keeps counting it. A duplicated one is sent as
// usual and, once its first attempt is over, again: the same body, signed
// when sent, up to max_delay after the first attempt was due; the copy is
// tried once and leaves pending_webhooks alone. A reordered one is held
// back before its first attempt by more than zero and up to max_delay
// (which must then be positive), so later events to the endpoint overtake
// it; its retries, if any, count from then. The waits are on the emulator
// clock, as retries are: a fixed clock holds them until Server.Advance
// moves it past them, and deliveries that fell due together go in due
// order. Server.WebhookFaultCounts and GET /_emulator/faults/webhooks
// count what was dropped, duplicated and reordered since the server
// started. Every random choice comes from Options.Seed, the webhook faults
// from a source of their own, so a run with the same seed and the same
// requests is replayable.
//
// Options.SnapshotFile keeps the data, the clock, stored idempotent
// responses and the id generator's position across restarts: Open loads it
// and Close writes it. A snapshot that exists but cannot be read makes Open
// fail with a *SnapshotError (New panics) and is never overwritten.
//
// State lives in memory, in compact structs per resource; JSON is rendered
// on demand. One mutex guards all state: requests are short, and a single
// lock keeps every multi-object change (a charge, its balance
// transactions, its transfer and its events) atomic.
package emulator

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// APIVersion is the Stripe API version the emulator speaks, and the
// api_version it stamps on events and webhook endpoints.
const APIVersion = "2026-03-25.dahlia"

// Default keys and account of the platform the emulator creates when Options
// names none.
const (
	DefaultPlatformAccount = "acct_1EmuPlatform000000"
	DefaultSecretKey       = "sk_test_emulator_platform"
	DefaultPublishableKey  = "pk_test_emulator_platform"
)

// Platform is a Stripe account that owns API keys: a platform in Connect's
// terms. Each secret key authenticates as its platform's account.
type Platform struct {
	// AccountID is the platform's account id (acct_…).
	AccountID string
	// SecretKey is accepted as Bearer token or Basic user name (sk_test_…).
	SecretKey string
	// PublishableKey is the platform's pk_test_… key, for Stripe.js.
	PublishableKey string
	// Name is the business name shown on the account object.
	Name string
	// Country is the account's country; defaults to "US".
	Country string
	// DefaultCurrency is the account's default currency; defaults to "usd".
	DefaultCurrency string
	// ClientID is the platform's Connect client id (ca_…), which its OAuth
	// authorize links name; defaults to "ca_" and the account id's suffix.
	ClientID string
	// RedirectURIs are the URIs Connect OAuth may redirect to; the first is
	// used when a request names none. While none is registered, any http(s)
	// URI is accepted.
	RedirectURIs []string
}

// Fee is Stripe's processing fee for one currency: Percent in basis points
// (290 = 2.9 %) of the amount plus Fixed minor units. The percentage part is
// rounded half up to a whole minor unit. Dispute is the fee Stripe withdraws
// with a disputed amount, and keeps whatever the outcome.
type Fee struct {
	BasisPoints int64
	Fixed       int64
	Dispute     int64
}

// Options configure a Server. The zero value is a usable emulator with one
// platform (DefaultPlatformAccount / DefaultSecretKey), the real time clock,
// no faults and the default fee schedule.
type Options struct {
	// Platforms are the accounts that own secret keys. Empty means one default
	// platform. More can be added later with Server.AddPlatform.
	Platforms []Platform

	// Seed makes generated ids and fault decisions replayable. Zero picks 1.
	Seed uint64

	// NowFunc is the base of the emulator clock; nil means time.Now. The
	// clock is NowFunc() plus everything passed to Server.Advance.
	NowFunc func() time.Time

	// Fees is the processing fee schedule per lower-case currency; currencies
	// not listed use DefaultFees' "usd" row unless FallbackFee is set.
	Fees map[string]Fee
	// FallbackFee applies to currencies absent from Fees.
	FallbackFee *Fee

	// AvailableAfter is how long charge funds stay pending before they become
	// available (Stripe's payout schedule delay). Zero means two days.
	AvailableAfter time.Duration

	// Faults configures fault injection; it can also be changed at run time
	// through Server.SetFaults or POST /_emulator/faults.
	Faults Faults

	// SnapshotFile, when set, is loaded by New if it exists and written by
	// Close, so state survives restarts.
	SnapshotFile string

	// WebhookClient sends webhook deliveries; nil means a client with a 10 s
	// timeout.
	WebhookClient *http.Client
	// WebhookWorkers bounds concurrent webhook deliveries; zero means 4.
	WebhookWorkers int

	// AccountsStartRestricted makes accounts created with POST /v1/accounts
	// start with requirements due: charges and payouts disabled, details
	// not submitted, capabilities inactive, until an account link's
	// onboarding form is submitted. By default they are enabled at once.
	AccountsStartRestricted bool

	// EventRetention caps the number of stored events (oldest dropped first);
	// zero means 1,000,000. Stripe keeps 30 days; a cap keeps memory bounded
	// in long load runs.
	EventRetention int
}

// DefaultFees is the fee schedule used when Options.Fees is nil: Stripe's
// standard card pricing for US, EEA and UK accounts (2.9 % + 30¢;
// 1.5 % + €0.25; 1.5 % + 20p) and its dispute fees ($15.00, €20.00,
// £20.00; support.stripe.com "Dispute fees FAQ" and the pricing pages).
var DefaultFees = map[string]Fee{
	"usd": {BasisPoints: 290, Fixed: 30, Dispute: 1500},
	"eur": {BasisPoints: 150, Fixed: 25, Dispute: 2000},
	"gbp": {BasisPoints: 150, Fixed: 20, Dispute: 2000},
}

// Server is the emulator: an http.Handler serving Stripe's API under /v1 and
// the emulator's control API under /_emulator/.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	clock *clock

	mu sync.Mutex // guards st, keys
	st *state
	// keys maps secret keys to platform account ids.
	keys map[string]string

	idem    *idempotencyStore
	faults  *faultInjector
	hooks   *dispatcher
	closeMu sync.Once
	// tickStop and tickDone stop the scheduler's ticker; see scheduler.go.
	tickStop, tickDone chan struct{}

	// executeHook, set only by tests, runs before an operation executes.
	executeHook func(*http.Request)
}

// New returns a running emulator, as Open does, and panics when Open fails:
// that only happens when Options.SnapshotFile names a file that cannot be
// loaded. Programs that read a snapshot should call Open.
func New(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open returns a running emulator. Call Close to stop webhook delivery and
// write the snapshot file, if any. When Options.SnapshotFile exists but
// cannot be read or decoded, Open returns a *SnapshotError and leaves the
// file untouched; a missing file is a fresh start.
func Open(opts Options) (*Server, error) {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Fees == nil {
		opts.Fees = DefaultFees
	}
	if opts.AvailableAfter == 0 {
		opts.AvailableAfter = 48 * time.Hour
	}
	if opts.EventRetention == 0 {
		opts.EventRetention = 1_000_000
	}
	if len(opts.Platforms) == 0 {
		opts.Platforms = []Platform{{
			AccountID:      DefaultPlatformAccount,
			SecretKey:      DefaultSecretKey,
			PublishableKey: DefaultPublishableKey,
			Name:           "Emulator Platform",
			ClientID:       DefaultClientID,
		}}
	}
	s := &Server{
		opts:   opts,
		clock:  newClock(opts.NowFunc),
		keys:   map[string]string{},
		idem:   newIdempotencyStore(),
		faults: newFaultInjector(opts.Seed, opts.Faults),
	}
	s.st = newState(opts.Seed, s.clock)
	if opts.SnapshotFile != "" {
		if err := s.loadSnapshot(opts.SnapshotFile); err != nil {
			return nil, err
		}
	}
	for _, p := range opts.Platforms {
		s.AddPlatform(p)
	}
	s.hooks = newDispatcher(s, opts.WebhookClient, opts.WebhookWorkers)
	s.mux = s.routes()
	s.startTicker()
	return s, nil
}

// ServeHTTP implements http.Handler. Every response, the control API's
// included, carries a Request-Id. Work that fell due since the last request
// (funds, disputes, payouts) is done before the request is served.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Request-Id", newRequestID())
	s.runDue()
	s.mux.ServeHTTP(w, r)
}

// Close stops webhook delivery and writes the snapshot file when one is
// configured. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		s.stopTicker()
		s.hooks.close()
		s.mu.Lock()
		s.st.verifyVersions()
		s.mu.Unlock()
		if s.opts.SnapshotFile != "" {
			err = s.saveSnapshot(s.opts.SnapshotFile)
		}
	})
	return err
}

// AddPlatform registers a platform account and its keys. Registering an
// existing account id again replaces its keys. Defaults are filled in for
// Country ("US") and DefaultCurrency ("usd").
func (s *Server) AddPlatform(p Platform) {
	if p.Country == "" {
		p.Country = "US"
	}
	if p.DefaultCurrency == "" {
		p.DefaultCurrency = "usd"
	}
	if p.ClientID == "" {
		p.ClientID = "ca_" + strings.TrimPrefix(p.AccountID, "acct_")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[p.SecretKey] = p.AccountID
	if _, ok := s.st.Objects.lookup(p.AccountID); !ok {
		a := &Account{
			Meta:            Meta{ID: p.AccountID, Created: s.clock.now().Unix()},
			Type:            AccountTypeStandard,
			Country:         p.Country,
			DefaultCurrency: p.DefaultCurrency,
			BusinessName:    p.Name,
			ChargesEnabled:  true,
			PayoutsEnabled:  true,
			Details:         true,
			PublishableKey:  p.PublishableKey,
		}
		a.Acct = p.AccountID
		s.st.put(a)
	}
	pa := s.st.Objects.get(p.AccountID).(*Account)
	pa.ClientID, pa.RedirectURIs = p.ClientID, append([]string(nil), p.RedirectURIs...)
	pa.platformDefaults(s.clock.now().Unix(), s.payoutDelayDays())
}

// Platforms returns the registered platforms' secret keys mapped to their
// account ids.
func (s *Server) Platforms() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}

// Now returns the emulator clock's current time.
func (s *Server) Now() time.Time { return s.clock.now() }

// Advance moves the emulator clock forward by d and does, in time order,
// all the work that fell due meanwhile: pending funds become available
// (balance.available for each account at each time some did), disputes
// open and are decided, payouts are made, go in transit and arrive.
// Idempotency keys older than 24 h expire and due webhook retries are
// sent. A clock that runs on by itself gets the same work done within a
// second, or at the next request.
func (s *Server) Advance(d time.Duration) {
	s.clock.advance(d)
	s.idem.prune(s.clock.now())
	s.runAllDue()
	s.hooks.wake()
}

// Reset deletes all objects, events and idempotency keys but keeps the
// registered platforms and their keys.
func (s *Server) Reset() {
	s.mu.Lock()
	platforms := []*Account{}
	for _, acct := range s.keys {
		if a, ok := s.st.Objects.get(acct).(*Account); ok {
			platforms = append(platforms, a)
		}
	}
	s.st.verifyVersions()
	s.st = newState(s.opts.Seed, s.clock)
	for _, a := range platforms {
		s.st.put(a)
	}
	s.mu.Unlock()
	s.idem.reset()
	s.hooks.reset()
}
