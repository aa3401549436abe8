// Stripe.js v3, as the Tender emulator serves it: the subset card payments
// use, with Stripe.js's names, arguments and results. Load it in place of
// https://js.stripe.com/v3/:
//
//   <script src="http://127.0.0.1:12111/v3/"></script>
//
// Card fields live in an iframe from the emulator's origin, which creates
// PaymentMethods itself; this script, in the page, sees PaymentMethods and
// intents only. It calls the emulator's API with the publishable key, across
// origins (the API answers CORS). Results resolve to {setupIntent},
// {paymentIntent}, {paymentMethod} or {error}; card errors never reject.
(function () {
  'use strict';

  if (window.Stripe && window.Stripe.emulator) {
    return;
  }

  var SOURCE = 'stripe-emulator';
  var script = document.currentScript;
  var ORIGIN = new URL(script && script.src ? script.src : location.href).origin;

  function IntegrationError(message) {
    var e = new Error(message);
    e.name = 'IntegrationError';
    return e;
  }

  // frames maps each emulator iframe's window to the function that takes
  // its messages. Only the emulator's origin is heard, and only from a frame
  // this script made.
  var frames = new Map();
  window.addEventListener('message', function (ev) {
    if (ev.origin !== ORIGIN) {
      return;
    }
    var d = ev.data;
    var handle = frames.get(ev.source);
    if (d && d.source === SOURCE && handle) {
      handle(d);
    }
  });

  function randomID() {
    var a = new Uint32Array(2);
    crypto.getRandomValues(a);
    return a[0].toString(36) + a[1].toString(36);
  }

  // --- the card Element ---

  var DEFAULT_CLASSES = {
    base: 'StripeElement', complete: 'StripeElement--complete', empty: 'StripeElement--empty',
    focus: 'StripeElement--focus', invalid: 'StripeElement--invalid', webkitAutofill: 'StripeElement--webkit-autofill'
  };

  function CardElement(group, options) {
    this._group = group;
    this._options = Object.assign({}, options || {});
    this._classes = Object.assign({}, DEFAULT_CLASSES, this._options.classes || {});
    this._id = 'card-' + randomID();
    this._handlers = {};
    this._requests = new Map();
    this._requestSeq = 0;
    this._ready = false;
    this._outbox = [];
    this._state = {empty: true, complete: false, invalid: false, focus: false};
  }

  CardElement.prototype.mount = function (target) {
    if (this._destroyed) {
      throw IntegrationError('This Element has already been destroyed. Please create a new one.');
    }
    var container = typeof target === 'string' ? document.querySelector(target) : target;
    if (!container || typeof container.appendChild !== 'function') {
      throw IntegrationError('Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.');
    }
    if (this._frame) {
      this.unmount();
    }
    var frame = document.createElement('iframe');
    frame.name = '__privateStripeFrame' + this._id;
    frame.title = 'Secure card payment input frame';
    frame.setAttribute('frameborder', '0');
    frame.setAttribute('allowtransparency', 'true');
    frame.setAttribute('scrolling', 'no');
    frame.setAttribute('role', 'presentation');
    frame.style.cssText = 'border:none;margin:0;padding:0;width:1px;min-width:100%;overflow:hidden;display:block;height:19.2px;';
    var params = new URLSearchParams({
      id: this._id, origin: location.origin, key: this._group._stripe._key,
      account: this._group._stripe._account, options: JSON.stringify(this._frameOptions())
    });
    frame.src = ORIGIN + '/_emulator/elements/card?' + params.toString();
    var wrapper = document.createElement('div');
    wrapper.className = '__PrivateStripeElement';
    wrapper.style.cssText = 'margin:0;padding:0;border:none;display:block;background:transparent;position:relative;opacity:1;';
    wrapper.appendChild(frame);
    container.appendChild(wrapper);
    this._container = container;
    this._wrapper = wrapper;
    this._frame = frame;
    frames.set(frame.contentWindow, this._receive.bind(this));
    this._renderClasses();
  };

  CardElement.prototype._frameOptions = function () {
    var o = this._options;
    return {style: o.style, hidePostalCode: o.hidePostalCode, hideIcon: o.hideIcon, value: o.value, disabled: o.disabled};
  };

  CardElement.prototype.unmount = function () {
    if (!this._frame) {
      return;
    }
    frames.delete(this._frame.contentWindow);
    this._wrapper.remove();
    var classes = this._classes;
    Object.keys(classes).forEach(function (k) {
      this._container.classList.remove(classes[k]);
    }, this);
    this._requests.forEach(function (resolve) {
      resolve({error: {type: 'validation_error', code: 'element_unmounted', message: 'The Element was unmounted.'}});
    });
    this._requests.clear();
    this._frame = this._wrapper = this._container = null;
    this._ready = false;
    this._outbox = [];
  };

  CardElement.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
    delete this._group._elements.card;
  };

  CardElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push({fn: handler, once: false});
    return this;
  };

  CardElement.prototype.once = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push({fn: handler, once: true});
    return this;
  };

  CardElement.prototype.off = function (event, handler) {
    var list = this._handlers[event] || [];
    this._handlers[event] = handler ? list.filter(function (h) { return h.fn !== handler; }) : [];
    return this;
  };

  CardElement.prototype.focus = function () { this._send({type: 'focus'}); };
  CardElement.prototype.blur = function () { this._send({type: 'blur'}); };
  CardElement.prototype.clear = function () { this._send({type: 'clear'}); };

  CardElement.prototype.update = function (options) {
    Object.assign(this._options, options || {});
    if (options && options.classes) {
      Object.assign(this._classes, options.classes);
    }
    this._send({type: 'update', options: this._frameOptions()});
  };

  CardElement.prototype._emit = function (event, payload) {
    var list = this._handlers[event] || [];
    this._handlers[event] = list.filter(function (h) { return !h.once; });
    list.forEach(function (h) {
      try {
        h.fn(payload);
      } catch (e) {
        setTimeout(function () { throw e; });
      }
    });
  };

  CardElement.prototype._send = function (msg) {
    var m = Object.assign({source: SOURCE, elementId: this._id}, msg);
    if (!this._ready) {
      this._outbox.push(m);
      return;
    }
    this._frame.contentWindow.postMessage(m, ORIGIN);
  };

  CardElement.prototype._receive = function (d) {
    if (d.elementId !== this._id) {
      return;
    }
    switch (d.type) {
      case 'ready':
        this._frame.style.height = Math.max(Number(d.height) || 0, 16) + 'px';
        this._ready = true;
        this._outbox.splice(0).forEach(this._send, this);
        this._emit('ready', {elementType: 'card'});
        break;
      case 'change':
        this._state.empty = d.event.empty;
        this._state.complete = d.event.complete;
        this._state.invalid = Boolean(d.event.error);
        this._renderClasses();
        this._emit('change', d.event);
        break;
      case 'focus':
      case 'blur':
        this._state.focus = d.type === 'focus';
        this._renderClasses();
        this._emit(d.type, {elementType: 'card'});
        break;
      case 'response':
        var resolve = this._requests.get(d.requestId);
        this._requests.delete(d.requestId);
        if (resolve) {
          resolve(d.result);
        }
        break;
    }
  };

  CardElement.prototype._renderClasses = function () {
    var c = this._container;
    if (!c) {
      return;
    }
    var k = this._classes;
    c.classList.add(k.base);
    c.classList.toggle(k.empty, this._state.empty);
    c.classList.toggle(k.complete, this._state.complete);
    c.classList.toggle(k.invalid, this._state.invalid);
    c.classList.toggle(k.focus, this._state.focus);
  };

  // _createPaymentMethod asks the iframe to create a PaymentMethod from
  // the card it holds.
  CardElement.prototype._createPaymentMethod = function (billingDetails) {
    var self = this;
    var requestId = ++this._requestSeq;
    return new Promise(function (resolve) {
      self._requests.set(requestId, resolve);
      self._send({type: 'create-payment-method', requestId: requestId, billingDetails: billingDetails || {}});
    });
  };

  // --- Elements ---

  function Elements(stripe, options) {
    this._stripe = stripe;
    this._options = options || {};
    this._elements = {};
  }

  Elements.prototype.create = function (type, options) {
    if (type !== 'card') {
      throw IntegrationError('The Tender emulator\'s Stripe.js supports only the card Element; it cannot create a ' + type + ' Element.');
    }
    if (this._elements.card) {
      throw IntegrationError('Can only create one Element of type card.');
    }
    var el = new CardElement(this, options);
    this._elements.card = el;
    return el;
  };

  Elements.prototype.getElement = function (type) {
    return this._elements[typeof type === 'string' ? type : ''] || null;
  };

  Elements.prototype.update = function (options) {
    Object.assign(this._options, options || {});
  };

  // --- the API, across origins, with the publishable key ---

  function encodeForm(params, prefix, out) {
    out = out || [];
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      var name = prefix ? prefix + '[' + k + ']' : k;
      if (v === undefined || v === null) {
        return;
      }
      if (typeof v === 'object') {
        encodeForm(v, name, out);
      } else {
        out.push(encodeURIComponent(name) + '=' + encodeURIComponent(v));
      }
    });
    return out.join('&');
  }

  function connectionError() {
    return {type: 'api_connection_error', message: 'An error occurred with our connection to Stripe. Request was retried 0 times.'};
  }

  // intentOf checks a client secret and names its intent.
  function intentOf(secret, method, prefixes) {
    var m = typeof secret === 'string' && secret.match(/^((seti|pi)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/);
    if (!m || prefixes.indexOf(m[2]) < 0) {
      throw IntegrationError('Invalid value for ' + method + ' intent secret: value should be a client secret of the form ${id}_secret_${secret}. You specified: ' + secret + '.');
    }
    var kind = m[2] === 'pi' ? 'payment_intent' : 'setup_intent';
    return {id: m[1], kind: kind, path: '/v1/' + kind + 's/' + m[1], result: kind === 'payment_intent' ? 'paymentIntent' : 'setupIntent'};
  }

  function Stripe(key, options) {
    if (!(this instanceof Stripe)) {
      return new Stripe(key, options);
    }
    if (typeof key !== 'string' || key === '') {
      throw IntegrationError('Please call Stripe() with your publishable key. You used an empty string.');
    }
    if (/^sk_/.test(key)) {
      throw IntegrationError('You should not use your secret key with Stripe.js.\nPlease pass a publishable key instead.');
    }
    if (!/^pk_/.test(key)) {
      throw IntegrationError('Invalid value for Stripe(): apiKey should be a publishable key (pk_test_…). You specified: ' + key + '.');
    }
    this._key = key;
    this._account = (options && options.stripeAccount) || '';
  }

  Stripe.version = 3;
  Stripe.emulator = true;

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  // _request calls the emulator's API and resolves to {body} or {error}.
  Stripe.prototype._request = async function (method, path, params) {
    var headers = {'Authorization': 'Bearer ' + this._key};
    if (this._account) {
      headers['Stripe-Account'] = this._account;
    }
    var url = ORIGIN + path;
    var init = {method: method, headers: headers, credentials: 'omit', mode: 'cors'};
    var form = encodeForm(params);
    if (method === 'GET') {
      url += form ? '?' + form : '';
    } else {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = form;
    }
    try {
      var res = await fetch(url, init);
      var body = await res.json();
      return body.error ? {error: body.error} : {body: body};
    } catch (e) {
      return {error: connectionError()};
    }
  };

  // _retrieve reads an intent with its client secret.
  Stripe.prototype._retrieve = async function (intent, secret) {
    var r = await this._request('GET', intent.path, {client_secret: secret});
    if (r.error) {
      return {error: r.error};
    }
    var out = {};
    out[intent.result] = r.body;
    return out;
  };

  // checkPaymentMethod validates payment_method data before any request,
  // as Stripe.js throws integration errors at once.
  function checkPaymentMethod(pm, method) {
    if (pm === undefined || pm === null || typeof pm === 'string') {
      return;
    }
    if (typeof pm !== 'object') {
      throw IntegrationError('Invalid value for ' + method + ': payment_method should be an object or string.');
    }
    var card = pm.card;
    if (!(card instanceof CardElement) && !(card && typeof card === 'object' && typeof card.token === 'string')) {
      throw IntegrationError('Invalid value for ' + method + ': payment_method.card should be a card Element or an object with a token.');
    }
    if (card instanceof CardElement && !card._frame) {
      throw IntegrationError('We could not retrieve data from the specified Element. Please make sure the Element you are attempting to use is still mounted.');
    }
  }

  // _paymentMethodID turns payment_method data into a PaymentMethod id:
  // the card Element's iframe creates it, or the API does from a token.
  Stripe.prototype._paymentMethodID = async function (pm) {
    if (pm === undefined || pm === null) {
      return {};
    }
    if (typeof pm === 'string') {
      return {id: pm};
    }
    var r = await this._createPaymentMethod(pm.card, pm.billing_details, pm.metadata);
    return r.error ? {error: r.error} : {id: r.paymentMethod.id};
  };

  Stripe.prototype._createPaymentMethod = async function (card, billingDetails, metadata) {
    if (card instanceof CardElement) {
      return card._createPaymentMethod(billingDetails);
    }
    var r = await this._request('POST', '/v1/payment_methods',
      {type: 'card', card: {token: card.token}, billing_details: billingDetails, metadata: metadata});
    return r.error ? {error: r.error} : {paymentMethod: r.body};
  };

  // _confirm confirms an intent and, unless told not to, handles the
  // authentication it asks for.
  Stripe.prototype._confirm = async function (intent, secret, data, fields, options) {
    var pm = await this._paymentMethodID(data.payment_method);
    if (pm.error) {
      return {error: pm.error};
    }
    var params = {client_secret: secret, payment_method: pm.id};
    fields.forEach(function (f) {
      if (data[f] !== undefined) {
        params[f] = data[f];
      }
    });
    var r = await this._request('POST', intent.path + '/confirm', params);
    if (r.error) {
      return {error: r.error};
    }
    if (r.body.status !== 'requires_action' || (options && options.handleActions === false)) {
      var out = {};
      out[intent.result] = r.body;
      return out;
    }
    return this._authenticate(intent, secret, r.body);
  };

  // _authenticate shows the intent's 3-D Secure challenge in a modal and
  // resolves to the intent as it is afterwards, or to its error.
  Stripe.prototype._authenticate = async function (intent, secret, obj) {
    await challenge(obj);
    var r = await this._retrieve(intent, secret);
    if (r.error) {
      return r;
    }
    var now = r[intent.result];
    var err = intent.kind === 'payment_intent' ? now.last_payment_error : now.last_setup_error;
    if (now.status === 'requires_payment_method' && err) {
      var e = Object.assign({}, err);
      e[intent.kind] = now;
      return {error: e};
    }
    return r;
  };

  // challenge opens the emulator's challenge page over the page and waits
  // until it reports that the customer is done.
  function challenge(obj) {
    var na = obj.next_action || {};
    var url = na.type === 'use_stripe_sdk' ? na.use_stripe_sdk && na.use_stripe_sdk.stripe_js
      : na.redirect_to_url && na.redirect_to_url.url;
    if (!url || new URL(url).origin !== ORIGIN) {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,0.4);display:flex;align-items:center;justify-content:center;';
      var box = document.createElement('div');
      box.style.cssText = 'width:min(500px,calc(100% - 32px));height:min(600px,calc(100% - 32px));background:#f6f9fc;border-radius:8px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,0.3);';
      var frame = document.createElement('iframe');
      var u = new URL(url);
      u.searchParams.set('origin', location.origin);
      frame.src = u.href;
      frame.name = '__privateStripeChallengeFrame' + randomID();
      frame.title = '3D Secure authentication';
      frame.style.cssText = 'border:0;width:100%;height:100%;display:block;';
      box.appendChild(frame);
      overlay.appendChild(box);
      document.body.appendChild(overlay);
      frames.set(frame.contentWindow, function (d) {
        if (d.type === 'challenge-done' && d.intent === obj.id) {
          frames.delete(frame.contentWindow);
          overlay.remove();
          resolve();
        }
      });
    });
  }

  // --- public methods ---

  Stripe.prototype.confirmCardSetup = function (clientSecret, data, options) {
    var intent = intentOf(clientSecret, 'stripe.confirmCardSetup', ['seti']);
    data = data || {};
    checkPaymentMethod(data.payment_method, 'stripe.confirmCardSetup');
    return this._confirm(intent, clientSecret, data, ['return_url'], options);
  };

  Stripe.prototype.confirmCardPayment = function (clientSecret, data, options) {
    var intent = intentOf(clientSecret, 'stripe.confirmCardPayment', ['pi']);
    data = data || {};
    checkPaymentMethod(data.payment_method, 'stripe.confirmCardPayment');
    return this._confirm(intent, clientSecret, data,
      ['return_url', 'setup_future_usage', 'receipt_email', 'shipping'], options);
  };

  Stripe.prototype.handleCardAction = function (clientSecret) {
    return this._handleAction(intentOf(clientSecret, 'stripe.handleCardAction', ['pi']), clientSecret);
  };

  Stripe.prototype.handleNextAction = function (options) {
    var secret = options && options.clientSecret;
    return this._handleAction(intentOf(secret, 'stripe.handleNextAction', ['pi', 'seti']), secret);
  };

  Stripe.prototype._handleAction = async function (intent, secret) {
    var r = await this._retrieve(intent, secret);
    if (r.error) {
      return r;
    }
    var obj = r[intent.result];
    if (obj.status !== 'requires_action') {
      var e = {type: 'invalid_request_error', code: intent.kind + '_unexpected_state',
        message: 'The ' + (intent.kind === 'payment_intent' ? 'PaymentIntent' : 'SetupIntent') +
          ' supplied does not require an action (its status is ' + obj.status + ').'};
      e[intent.kind] = obj;
      return {error: e};
    }
    return this._authenticate(intent, secret, obj);
  };

  Stripe.prototype.createPaymentMethod = function (data, element, extra) {
    var params = data;
    if (typeof data === 'string') {
      params = Object.assign({type: data, card: element}, extra || {});
    }
    if (!params || params.type !== 'card') {
      throw IntegrationError('The Tender emulator\'s Stripe.js creates only PaymentMethods of type card.');
    }
    checkPaymentMethod(params, 'stripe.createPaymentMethod');
    return this._createPaymentMethod(params.card, params.billing_details, params.metadata);
  };

  Stripe.prototype.retrieveSetupIntent = function (clientSecret) {
    return this._retrieve(intentOf(clientSecret, 'stripe.retrieveSetupIntent', ['seti']), clientSecret);
  };

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    return this._retrieve(intentOf(clientSecret, 'stripe.retrievePaymentIntent', ['pi']), clientSecret);
  };

  window.Stripe = Stripe;
})();
