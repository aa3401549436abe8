// An authentication link's page: the customer's bank wants them to
// confirm a payment. This script asks Tender for the PaymentIntent and
// has Stripe.js run the bank's challenge: handleNextAction for an intent
// that waits in requires_action, or confirmCardPayment with the intent's
// own card (on-session now) for one an off-session attempt left in
// requires_payment_method. Then it tells Tender, which reads the outcome
// back from Stripe, and shows it.
(function () {
  'use strict';

  var root = document.getElementById('authenticate');
  var button = document.getElementById('confirm-button');
  if (!root || !button) {
    return;
  }
  var base = root.dataset.base;
  var csrf = root.dataset.csrf;
  var errorBox = document.getElementById('error');
  var statusBox = document.getElementById('auth-status');

  function fail(message) {
    statusBox.textContent = '';
    errorBox.textContent = message;
    button.disabled = false;
  }

  if (typeof window.Stripe !== 'function') {
    fail('The page could not be loaded. Check your connection and reload it.');
    button.disabled = true;
    return;
  }
  root.dataset.ready = 'true';

  async function post(action) {
    try {
      var res = await fetch(base + '/' + action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
        body: '{}'
      });
      var data = await res.json();
      if (!res.ok) {
        return {error: data.error || {message: 'Something went wrong. Please try again.'}};
      }
      return data;
    } catch (e) {
      return {error: {message: 'The page could not be reached. Check your connection and try again.'}};
    }
  }

  button.addEventListener('click', async function () {
    button.disabled = true;
    errorBox.textContent = '';
    statusBox.textContent = 'Waiting for your bank…';
    var intent = await post('intent');
    if (intent.error) {
      if (intent.error.code === 'payment_settled') {
        window.location.reload();
        return;
      }
      return fail(intent.error.message);
    }
    var stripe = intent.stripe_account ? window.Stripe(intent.publishable_key, {stripeAccount: intent.stripe_account})
      : window.Stripe(intent.publishable_key);
    var result = intent.action === 'handle'
      ? await stripe.handleNextAction({clientSecret: intent.client_secret})
      : await stripe.confirmCardPayment(intent.client_secret, {payment_method: intent.payment_method});
    var done = await post('complete');
    if (done.error) {
      return fail(done.error.message);
    }
    if (done.status !== 'requires_action') {
      window.location.reload();
      return;
    }
    fail((result.error && result.error.message) || 'The payment was not confirmed. Please try again.');
  });
})();
