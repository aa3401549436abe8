// A checkout link's page: the payer types their card into Stripe.js's
// iframe, which sends it to Stripe; this script sees only the
// PaymentIntent. It asks Tender for the PaymentIntent (made by Tender with
// the amount the link fixed), has Stripe.js confirm it (3-D Secure in
// Stripe.js's modal), then tells Tender, which reads the outcome back from
// Stripe. A direct charge lives on the merchant's account
// (Stripe(key, {stripeAccount})); saving the card makes it a charge on the
// platform's account, so the card Element is made again on that account
// when the box is ticked or unticked.
(function () {
  'use strict';

  var root = document.getElementById('checkout');
  var form = document.getElementById('pay');
  if (!root || !form) {
    return;
  }
  var base = root.dataset.base;
  var csrf = root.dataset.csrf;
  var errorBox = document.getElementById('card-errors');
  var lastError = document.getElementById('error');
  var statusBox = document.getElementById('pay-status');
  var button = document.getElementById('pay-button');
  var saveBox = document.getElementById('save-card');

  function fail(message) {
    statusBox.textContent = '';
    errorBox.textContent = message;
    button.disabled = false;
  }

  if (typeof window.Stripe !== 'function') {
    fail('The card form could not be loaded. Check your connection and reload the page.');
    button.disabled = true;
    return;
  }

  var onMerchant = window.Stripe(root.dataset.publishableKey, {stripeAccount: root.dataset.account});
  var onPlatform = window.Stripe(root.dataset.publishableKey);
  var stripe = null;
  var card = null;

  function saving() {
    return Boolean(saveBox && saveBox.checked);
  }

  // mount puts a card Element of the right account in the form.
  function mount() {
    if (card) {
      card.destroy();
    }
    delete form.dataset.ready;
    stripe = saving() ? onPlatform : onMerchant;
    card = stripe.elements().create('card');
    card.mount('#card-element');
    card.on('ready', function () {
      form.dataset.ready = 'true';
    });
    card.on('change', function (event) {
      errorBox.textContent = event.error ? event.error.message : '';
    });
  }
  mount();
  if (saveBox) {
    saveBox.addEventListener('change', mount);
  }

  // post sends one of the page's actions to Tender and resolves to its
  // JSON answer, or to {error: {message}}.
  async function post(action, body) {
    try {
      var res = await fetch(base + '/' + action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
        body: JSON.stringify(body)
      });
      var data = await res.json();
      if (!res.ok) {
        return {error: data.error || {message: 'Something went wrong. Please try again.'}};
      }
      return data;
    } catch (e) {
      return {error: {message: 'The payment page could not be reached. Check your connection and try again.'}};
    }
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    button.disabled = true;
    errorBox.textContent = '';
    lastError.textContent = '';
    statusBox.textContent = 'Processing your payment…';
    var intent = await post('intent', {save_card: saving(), consent_text: saving() ? saveBox.dataset.text : ''});
    if (intent.error) {
      if (intent.error.code === 'link_paid' || intent.error.code === 'link_expired' || intent.error.code === 'link_canceled') {
        window.location.reload();
        return;
      }
      return fail(intent.error.message);
    }
    var result = await stripe.confirmCardPayment(intent.client_secret, {payment_method: {card: card}});
    var done = await post('complete', {});
    if (done.error) {
      return fail(done.error.message);
    }
    if (done.status !== 'open') {
      window.location.reload();
      return;
    }
    fail(done.message || (result.error && result.error.message) || 'The payment did not go through. Please try again.');
  });
})();
