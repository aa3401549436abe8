// The hosted wallet's one script: "Add a card", with Stripe.js. The card
// is typed into Stripe's iframe and goes from there to Stripe; this script
// sees only the SetupIntent. It asks Tender for a SetupIntent, has
// Stripe.js confirm it (3-D Secure included), and tells Tender the
// SetupIntent's id, which Tender reads back from Stripe before recording
// the card. Everything else on the page is a plain form.
(function () {
  'use strict';

  var root = document.getElementById('wallet');
  var form = document.getElementById('add-card');
  if (!root || !form) {
    return;
  }
  var base = root.dataset.base;
  var csrf = root.dataset.csrf;
  var errorBox = document.getElementById('card-errors');
  var statusBox = document.getElementById('card-status');
  var button = document.getElementById('save-card');

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

  var stripe = window.Stripe(root.dataset.publishableKey);
  var card = stripe.elements().create('card');
  card.mount('#card-element');
  card.on('ready', function () {
    form.dataset.ready = 'true';
  });
  card.on('change', function (event) {
    errorBox.textContent = event.error ? event.error.message : '';
  });

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
      return {error: {message: 'The wallet could not be reached. Check your connection and try again.'}};
    }
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    button.disabled = true;
    errorBox.textContent = '';
    statusBox.textContent = 'Saving your card…';
    var intent = await post('setup_intents', {});
    if (intent.error) {
      return fail(intent.error.message);
    }
    var result = await stripe.confirmCardSetup(intent.client_secret, {payment_method: {card: card}});
    if (result.error) {
      return fail(result.error.message);
    }
    var saved = await post('cards', {setup_intent: result.setupIntent.id});
    if (saved.error) {
      return fail(saved.error.message);
    }
    window.location.assign(base + '?notice=card_added');
  });
})();
