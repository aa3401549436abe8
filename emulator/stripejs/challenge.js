// The 3-D Secure challenge page, inside Stripe.js's modal: when there is
// nothing more for the customer to do, tell the embedding page, and only
// that page (its origin came from Stripe.js and was checked by the server).
(function () {
  'use strict';
  var data = document.body.dataset;
  if (!data.origin || data.pending) {
    return;
  }
  window.parent.postMessage({
    source: 'stripe-emulator',
    type: 'challenge-done',
    intent: data.intent,
    outcome: data.outcome || ''
  }, data.origin);
})();
