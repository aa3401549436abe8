// The card Element's iframe, served from the emulator's origin. The card
// number, expiry, CVC and postal code are typed here and sent from here to
// the emulator's API (POST /v1/payment_methods with the publishable key);
// the embedding page only ever receives the PaymentMethod, as with
// Stripe.js. It talks to the page with postMessage, to the page's origin
// only, and accepts messages only from that origin and its own parent.
(function () {
  'use strict';

  var SOURCE = 'stripe-emulator';
  var query = new URLSearchParams(location.search);
  var elementId = query.get('id') || '';
  var parentOrigin = query.get('origin') || '';
  var key = query.get('key') || '';
  var account = query.get('account') || '';
  var options = parseJSON(query.get('options'));

  var fields = {
    number: document.getElementById('number'),
    exp: document.getElementById('exp'),
    cvc: document.getElementById('cvc'),
    postal: document.getElementById('postal')
  };
  var order = ['number', 'exp', 'cvc', 'postal'];
  // touched fields show "incomplete" errors; Stripe shows them on blur.
  var touched = {};
  var lastChange = '';
  var styleSheet = null;

  function parseJSON(s) {
    try {
      var v = JSON.parse(s || '{}');
      return v && typeof v === 'object' ? v : {};
    } catch (e) {
      return {};
    }
  }

  // --- card rules: brands, lengths, Luhn, expiry ---

  // Brands by number prefix, with the number's length and the CVC's.
  var BRANDS = [
    {brand: 'amex', re: /^3[47]/, length: 15, cvc: 4, groups: [4, 6, 5]},
    {brand: 'diners', re: /^3(0[0-5]|[689])/, length: 14, cvc: 3, groups: [4, 6, 4]},
    {brand: 'jcb', re: /^35/, length: 16, cvc: 3},
    {brand: 'unionpay', re: /^62/, length: 16, cvc: 3},
    {brand: 'discover', re: /^6(011|4[4-9]|5)/, length: 16, cvc: 3},
    {brand: 'mastercard', re: /^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/, length: 16, cvc: 3},
    {brand: 'visa', re: /^4/, length: 16, cvc: 3}
  ];
  var UNKNOWN = {brand: 'unknown', length: 16, cvc: 3};

  function brandOf(digits) {
    for (var i = 0; i < BRANDS.length; i++) {
      if (BRANDS[i].re.test(digits)) {
        return BRANDS[i];
      }
    }
    return UNKNOWN;
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function onlyDigits(s) {
    return String(s || '').replace(/\D/g, '');
  }

  function numberDigits() {
    return onlyDigits(fields.number.value);
  }

  function formatNumber(digits) {
    var groups = brandOf(digits).groups || [4, 4, 4, 4];
    var out = [];
    var at = 0;
    for (var i = 0; i < groups.length && at < digits.length; i++) {
      out.push(digits.slice(at, at + groups[i]));
      at += groups[i];
    }
    return out.join(' ');
  }

  // expiryDigits reads MMYY from what was typed, as Stripe's field does:
  // "4" means April ("04"), "13" means January and a year starting with 3.
  function expiryDigits(raw) {
    var d = onlyDigits(raw);
    if (d.length >= 1 && d[0] > '1') {
      d = '0' + d;
    }
    if (d.length >= 2 && d[0] === '1' && d[1] > '2') {
      d = '01' + d.slice(1);
    }
    if (d.slice(0, 2) === '00') {
      d = '0' + d.slice(2);
    }
    return d.slice(0, 4);
  }

  function formatExpiry(d, deleting) {
    if (d.length < 2 || (d.length === 2 && deleting)) {
      return d;
    }
    return d.slice(0, 2) + ' / ' + d.slice(2);
  }

  // --- validation, with Stripe.js's codes and messages ---

  function validationError(code, message) {
    return {type: 'validation_error', code: code, message: message};
  }

  // fieldError is one field's error. Incomplete values are errors only once
  // the field was left (or on submit); invalid ones at once.
  function fieldError(name, submitting) {
    var show = submitting || touched[name];
    switch (name) {
      case 'number':
        return numberError(show);
      case 'exp':
        return expiryError(show);
      case 'cvc':
        var cvc = onlyDigits(fields.cvc.value);
        if (cvc.length < brandOf(numberDigits()).cvc && show) {
          return validationError('incomplete_cvc', "Your card's security code is incomplete.");
        }
        return null;
      case 'postal':
        if (postalHidden() || fields.postal.value.trim() !== '' || !show) {
          return null;
        }
        return validationError('incomplete_zip', 'Your postal code is incomplete.');
    }
    return null;
  }

  function numberError(show) {
    var digits = numberDigits();
    var b = brandOf(digits);
    if (digits.length >= b.length && !luhn(digits)) {
      return validationError('invalid_number', 'Your card number is invalid.');
    }
    if (digits.length < b.length && show) {
      return validationError('incomplete_number', 'Your card number is incomplete.');
    }
    return null;
  }

  function expiryError(show) {
    var d = expiryDigits(fields.exp.value);
    if (d.length < 4) {
      return show ? validationError('incomplete_expiry', "Your card's expiration date is incomplete.") : null;
    }
    var month = Number(d.slice(0, 2));
    var year = Number(d.slice(2));
    var now = new Date();
    var thisYear = now.getFullYear() % 100;
    if (year < thisYear) {
      return validationError('invalid_expiry_year_past', "Your card's expiration year is in the past.");
    }
    if (year === thisYear && month < now.getMonth() + 1) {
      return validationError('invalid_expiry_month_past', "Your card's expiration date is in the past.");
    }
    if (year > thisYear + 50) {
      return validationError('invalid_expiry_year', "Your card's expiration year is invalid.");
    }
    return null;
  }

  function fieldComplete(name) {
    switch (name) {
      case 'number':
        var digits = numberDigits();
        return digits.length >= brandOf(digits).length && luhn(digits);
      case 'exp':
        return expiryDigits(fields.exp.value).length === 4 && !expiryError(true);
      case 'cvc':
        return onlyDigits(fields.cvc.value).length >= brandOf(numberDigits()).cvc;
      case 'postal':
        return postalHidden() || fields.postal.value.trim() !== '';
    }
    return false;
  }

  function postalHidden() {
    return Boolean(options.hidePostalCode);
  }

  function firstError(submitting) {
    for (var i = 0; i < order.length; i++) {
      var err = fieldError(order[i], submitting);
      if (err) {
        return err;
      }
    }
    return null;
  }

  // --- talking to the embedding page ---

  function post(type, payload) {
    var msg = Object.assign({source: SOURCE, elementId: elementId, type: type}, payload || {});
    window.parent.postMessage(msg, parentOrigin);
  }

  function changeEvent() {
    var empty = order.every(function (name) {
      return name === 'postal' || fields[name].value === '';
    });
    var complete = order.every(fieldComplete);
    var ev = {elementType: 'card', empty: empty, complete: complete, brand: brandOf(numberDigits()).brand};
    if (!postalHidden()) {
      ev.value = {postalCode: fields.postal.value};
    }
    var err = firstError(false);
    if (err) {
      ev.error = err;
    }
    return ev;
  }

  // emitChange tells the page when anything in the event changed.
  function emitChange() {
    var ev = changeEvent();
    render(ev);
    var s = JSON.stringify(ev);
    if (s !== lastChange) {
      lastChange = s;
      post('change', {event: ev});
    }
  }

  function render(ev) {
    document.getElementById('brand').dataset.brand = ev.brand;
    order.forEach(function (name) {
      fields[name].classList.toggle('invalid', Boolean(fieldError(name, false)));
    });
    document.body.classList.toggle('complete', ev.complete);
    document.body.classList.toggle('empty', ev.empty);
    fields.cvc.placeholder = brandOf(numberDigits()).cvc === 4 ? 'CVV' : 'CVC';
  }

  // --- input handling ---

  // reformat rewrites a field's value and keeps the caret after the same
  // number of digits.
  function reformat(input, format) {
    var raw = input.value;
    var caret = input.selectionStart === null ? raw.length : input.selectionStart;
    var before = onlyDigits(raw.slice(0, caret)).length;
    var atEnd = caret >= raw.length;
    var next = format(raw);
    input.value = next;
    if (document.activeElement !== input) {
      return;
    }
    var pos = next.length;
    if (!atEnd) {
      var seen = 0;
      for (pos = 0; pos < next.length && seen < before; pos++) {
        if (/\d/.test(next[pos])) {
          seen++;
        }
      }
    }
    input.setSelectionRange(pos, pos);
  }

  function advance(from) {
    var i = order.indexOf(from);
    for (var j = i + 1; j < order.length; j++) {
      var next = fields[order[j]];
      if (!next.classList.contains('hidden')) {
        next.focus();
        return;
      }
    }
  }

  fields.number.addEventListener('input', function () {
    reformat(fields.number, function (raw) {
      var digits = onlyDigits(raw);
      return formatNumber(digits.slice(0, brandOf(digits).length));
    });
    if (fieldComplete('number')) {
      advance('number');
    }
    emitChange();
  });

  fields.exp.addEventListener('input', function (ev) {
    var deleting = ev.inputType && ev.inputType.indexOf('delete') === 0;
    reformat(fields.exp, function (raw) {
      return formatExpiry(expiryDigits(raw), deleting);
    });
    if (fieldComplete('exp')) {
      advance('exp');
    }
    emitChange();
  });

  fields.cvc.addEventListener('input', function () {
    var b = brandOf(numberDigits());
    reformat(fields.cvc, function (raw) {
      return onlyDigits(raw).slice(0, b === UNKNOWN ? 4 : b.cvc);
    });
    if (onlyDigits(fields.cvc.value).length === b.cvc) {
      advance('cvc');
    }
    emitChange();
  });

  fields.postal.addEventListener('input', function () {
    if (fields.postal.value.length > 10) {
      fields.postal.value = fields.postal.value.slice(0, 10);
    }
    emitChange();
  });

  order.forEach(function (name) {
    fields[name].addEventListener('blur', function () {
      if (fields[name].value !== '') {
        touched[name] = true;
      }
      emitChange();
    });
  });

  // Focus and blur of the Element as a whole: moving between its fields
  // is neither.
  document.addEventListener('focusin', function (ev) {
    if (!ev.relatedTarget) {
      post('focus');
    }
  });
  document.addEventListener('focusout', function (ev) {
    if (!ev.relatedTarget) {
      post('blur');
    }
  });

  // --- creating the PaymentMethod ---

  function encodeForm(params, prefix, out) {
    out = out || [];
    Object.keys(params).forEach(function (k) {
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

  async function createPaymentMethod(billingDetails) {
    order.forEach(function (name) {
      touched[name] = true;
    });
    emitChange();
    var invalid = firstError(true);
    if (invalid) {
      return {error: invalid};
    }
    var exp = expiryDigits(fields.exp.value);
    var billing = Object.assign({}, billingDetails || {});
    if (!postalHidden()) {
      billing.address = Object.assign({}, billing.address || {}, {postal_code: fields.postal.value.trim()});
    }
    var params = {
      type: 'card',
      card: {number: numberDigits(), exp_month: exp.slice(0, 2), exp_year: '20' + exp.slice(2), cvc: onlyDigits(fields.cvc.value)},
      billing_details: billing
    };
    var headers = {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/x-www-form-urlencoded'};
    if (account) {
      headers['Stripe-Account'] = account;
    }
    try {
      var res = await fetch('/v1/payment_methods', {method: 'POST', headers: headers, body: encodeForm(params), credentials: 'omit'});
      var body = await res.json();
      return body.error ? {error: body.error} : {paymentMethod: body};
    } catch (e) {
      return {error: connectionError()};
    }
  }

  // --- options: style, postal code, disabled ---

  var STYLE_PROPS = {
    color: 'color', fontFamily: 'font-family', fontSize: 'font-size', fontSmoothing: '-webkit-font-smoothing',
    fontStyle: 'font-style', fontVariant: 'font-variant', fontWeight: 'font-weight', letterSpacing: 'letter-spacing',
    lineHeight: 'line-height', textAlign: 'text-align', textDecoration: 'text-decoration', textShadow: 'text-shadow',
    textTransform: 'text-transform'
  };

  function declarations(style) {
    var out = [];
    Object.keys(style || {}).forEach(function (k) {
      var v = style[k];
      if (STYLE_PROPS[k] && (typeof v === 'string' || typeof v === 'number')) {
        out.push(STYLE_PROPS[k] + ':' + String(v).replace(/[;{}<>\\]/g, ''));
      }
    });
    return out.join(';');
  }

  // styleRules turns Stripe's Style object (base, complete, empty,
  // invalid; each with pseudo-classes such as ::placeholder) into CSS.
  function styleRules(style) {
    var variants = {base: 'body', complete: 'body.complete', empty: 'body.empty', invalid: '.invalid'};
    var rules = [];
    Object.keys(variants).forEach(function (variant) {
      var s = style && style[variant];
      if (!s) {
        return;
      }
      var sel = variants[variant];
      var scope = variant === 'invalid' ? 'input.invalid' : sel + ' input';
      rules.push(sel + '{' + declarations(s) + '}');
      if (s.iconColor) {
        rules.push((variant === 'base' ? '' : sel + ' ') + '.brand{color:' + String(s.iconColor).replace(/[;{}<>\\]/g, '') + '}');
      }
      Object.keys(s).forEach(function (k) {
        if (/^(::placeholder|:focus|:hover|::selection)$/.test(k)) {
          rules.push(scope + k + '{' + declarations(s[k]) + '}');
        }
      });
    });
    return rules.join('\n');
  }

  function applyOptions() {
    if (!styleSheet) {
      styleSheet = new CSSStyleSheet();
      document.adoptedStyleSheets = [styleSheet];
    }
    styleSheet.replaceSync(styleRules(options.style));
    fields.postal.classList.toggle('hidden', postalHidden());
    document.body.classList.toggle('hide-icon', Boolean(options.hideIcon));
    if (options.value && typeof options.value.postalCode === 'string' && fields.postal.value === '') {
      fields.postal.value = options.value.postalCode;
    }
    order.forEach(function (name) {
      fields[name].disabled = Boolean(options.disabled);
    });
  }

  window.addEventListener('message', function (ev) {
    if (ev.origin !== parentOrigin || ev.source !== window.parent) {
      return;
    }
    var m = ev.data;
    if (!m || m.source !== SOURCE || m.elementId !== elementId) {
      return;
    }
    switch (m.type) {
      case 'create-payment-method':
        createPaymentMethod(m.billingDetails).then(function (result) {
          post('response', {requestId: m.requestId, result: result});
        });
        break;
      case 'focus':
        fields.number.focus();
        break;
      case 'blur':
        if (document.activeElement) {
          document.activeElement.blur();
        }
        break;
      case 'clear':
        order.forEach(function (name) {
          fields[name].value = '';
          touched[name] = false;
        });
        emitChange();
        break;
      case 'update':
        options = Object.assign({}, options, m.options || {});
        applyOptions();
        emitChange();
        break;
    }
  });

  applyOptions();
  render(changeEvent());
  lastChange = JSON.stringify(changeEvent());
  post('ready', {height: Math.ceil(document.getElementById('card').getBoundingClientRect().height)});
})();
