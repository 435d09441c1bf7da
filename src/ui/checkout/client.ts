// The checkout page's one script, served by the gateway as /assets/checkout.js (CSP `script-src 'self'`,
// nothing inline). The page works without it (links switch options and languages; a reload shows the
// status); with it: live status over server-sent events with a polling fallback, the countdown, copy
// buttons, the redirect after payment, and paying from an EIP-1193 browser wallet. No framework and no
// ethers: the wallet builds nothing, the gateway's intents endpoint gives the transaction.
//
// Kept as a string (Workers cannot read files); written as plain ES2017 without template literals.
// The phase rules mirror src/ui/checkout/phase.ts, and the browser tests check both render alike.
export const CHECKOUT_JS = String.raw`(function () {
  'use strict';
  var root = document.getElementById('checkout');
  if (!root) return;
  var data;
  try { data = JSON.parse(root.getAttribute('data-checkout') || ''); } catch (e) { return; }
  var M = data.messages;
  var view = data.view;
  var skewMs = Date.parse(view.serverTime) - Date.now();
  var stopped = false;
  var es = null;
  var pollTimer = null;
  var redirectTimer = null;
  var expiryChecked = false;

  function $(id) { return document.getElementById(id); }
  function fill(t, v) {
    return String(t).replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(v, k) ? String(v[k]) : m;
    });
  }
  var nf = null;
  try {
    nf = new Intl.NumberFormat(data.locale, {
      style: 'currency', currency: 'KZT', currencyDisplay: 'narrowSymbol'
    });
  } catch (e) { nf = null; }
  // Intl formats the decimal string exactly; no float is made of a tenge amount.
  function tenge(s) { try { return nf ? nf.format(s) : s + ' \u20b8'; } catch (e) { return s + ' \u20b8'; } }
  function counted(p) { return p.status === 'seen' || p.status === 'confirmed'; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function announce(text) { var n = $('live-note'); if (n) { n.textContent = ''; n.textContent = text; } }

  function phaseOf(v, nowMs) {
    var paidSome = v.amountPaid !== '0.00';
    if (v.status === 'settled') return { phase: 'paid' };
    if (v.status === 'processing') {
      if (v.underReview) return { phase: 'review' };
      var list = v.payments.filter(counted);
      var worst = null;
      list.forEach(function (p) {
        if (p.confirmations >= p.confirmationsRequired) return;
        if (!worst || p.confirmations < worst.confirmations) worst = p;
      });
      if (!worst) {
        var m = list.reduce(function (a, p) { return Math.max(a, p.confirmationsRequired); }, 1);
        return { phase: 'confirming', n: m, m: m };
      }
      return {
        phase: worst.confirmations === 0 ? 'seen' : 'confirming',
        n: worst.confirmations,
        m: worst.confirmationsRequired
      };
    }
    if (v.status === 'invalid') return { phase: 'invalid' };
    if (v.status === 'expired') {
      return { phase: v.additionalStatus === 'paid_late' ? 'late' : 'expired', partial: paidSome };
    }
    if (nowMs >= Date.parse(v.expiresAt)) return { phase: 'expired', partial: paidSome };
    if (v.additionalStatus === 'paid_partial' && paidSome) return { phase: 'partial' };
    return { phase: 'waiting' };
  }

  function statusText(ph, v) {
    var S = M.status;
    var vars = {
      merchant: data.merchant, paid: tenge(v.amountPaid), due: tenge(v.amountDue), n: ph.n, m: ph.m
    };
    var detail = {
      waiting: S.waitingDetail, partial: S.partialDetail, seen: S.seenDetail, confirming: S.confirmingDetail,
      review: S.reviewDetail, paid: S.paidDetail, late: S.lateDetail, invalid: S.invalidDetail,
      expired: ph.partial ? S.expiredPartialDetail : S.expiredDetail
    }[ph.phase];
    return { title: S[ph.phase], detail: fill(detail, vars) };
  }

  function renderPayments(v) {
    var list = $('payments');
    var box = $('payments-box');
    if (!list || !box) return;
    var shown = v.payments.filter(counted);
    box.hidden = shown.length === 0;
    while (list.firstChild) list.removeChild(list.firstChild);
    shown.forEach(function (p) {
      var li = document.createElement('li');
      var a = document.createElement('span');
      a.textContent = tenge(p.amountKzt) + ' \u00b7 ' + p.option.split('@')[0];
      var b = document.createElement('span');
      b.className = 'muted';
      b.textContent = fill(M.confirmations, {
        n: Math.min(p.confirmations, p.confirmationsRequired), m: p.confirmationsRequired
      });
      li.appendChild(a);
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function showRedirect(url, auto) {
    var link = $('back-link');
    if (link) { link.href = url; link.hidden = false; }
    if (!auto || redirectTimer) return;
    var note = $('redirect-note');
    if (note) { note.textContent = fill(M.redirecting, { merchant: data.merchant }); note.hidden = false; }
    redirectTimer = setTimeout(function () { location.assign(url); }, data.redirectDelayMs);
  }

  function render(v) {
    var previous = view;
    view = v;
    var ph = phaseOf(v, Date.now() + skewMs);
    // A partial payment changes what is still due: the server draws the QR code of the remainder.
    if (v.status === 'new' && previous.amountPaid !== v.amountPaid && ph.phase !== 'expired') {
      stopLive();
      location.reload();
      return;
    }
    var st = statusText(ph, v);
    var box = $('status');
    if (box.getAttribute('data-phase') !== ph.phase) announce(st.title);
    box.setAttribute('data-phase', ph.phase);
    $('status-title').textContent = st.title;
    $('status-detail').textContent = st.detail;
    var payable = ph.phase === 'waiting' || ph.phase === 'partial';
    var pay = $('pay');
    if (pay) pay.hidden = !payable;
    var clock = $('countdown-box');
    if (clock) clock.hidden = !payable;
    renderPayments(v);
    if (ph.phase === 'paid' || ph.phase === 'invalid') stopLive();
    if (v.redirectUrl && /^https?:\/\//i.test(v.redirectUrl)) {
      showRedirect(v.redirectUrl, ph.phase === 'paid');
    }
  }

  function refresh() {
    var url = '/v1/checkout/' + encodeURIComponent(data.id);
    return fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) { if (v && !stopped) render(v); })
      .catch(function () {});
  }
  function poll() {
    pollTimer = null;
    refresh().then(function () { if (!stopped) pollTimer = setTimeout(poll, data.pollMs); });
  }
  function startPolling() {
    if (pollTimer || stopped) return;
    root.setAttribute('data-live', 'polling');
    pollTimer = setTimeout(poll, 0);
  }
  function startLive() {
    if (typeof window.EventSource !== 'function') { startPolling(); return; }
    var failures = 0;
    es = new EventSource('/v1/checkout/' + encodeURIComponent(data.id) + '/events');
    root.setAttribute('data-live', 'events');
    es.addEventListener('status', function (e) {
      failures = 0;
      try { render(JSON.parse(e.data)); } catch (err) { /* a bad frame: the next one will do */ }
    });
    es.onerror = function () {
      failures++;
      // The server ends each stream after a while and EventSource reconnects; repeated failures or a
      // closed stream (a proxy that buffers, an HTTP error) fall back to polling.
      if (es && (es.readyState === 2 || failures >= 3)) { es.close(); es = null; startPolling(); }
    };
  }
  function stopLive() {
    stopped = true;
    if (es) { es.close(); es = null; }
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
    root.setAttribute('data-live', 'stopped');
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmtLeft(ms) {
    var t = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(s) : pad(m) + ':' + pad(s);
  }
  function tickClock() {
    var el = $('countdown');
    if (!el) return;
    var left = Date.parse(view.expiresAt) - (Date.now() + skewMs);
    el.textContent = fmtLeft(left);
    var box = $('countdown-box');
    if (box) box.classList.toggle('urgent', left < 120000);
    if (left <= 0 && view.status === 'new' && !expiryChecked) {
      expiryChecked = true;
      render(view);
      refresh();
    }
    setTimeout(tickClock, 1000 - (Date.now() % 1000));
  }

  function copyText(btn) {
    var src = $(btn.getAttribute('data-copy'));
    var text = src ? (src.getAttribute('data-value') || src.textContent || '').trim() : '';
    var label = btn.getAttribute('data-label') || btn.textContent;
    function done(ok) {
      btn.textContent = ok ? M.copied : label;
      announce(ok ? M.copied : M.copyFailed);
      setTimeout(function () { btn.textContent = label; }, 2000);
    }
    function fallback() {
      try {
        var sel = window.getSelection();
        sel.removeAllRanges();
        var range = document.createRange();
        range.selectNodeContents(src);
        sel.addRange(range);
        done(document.execCommand('copy'));
      } catch (e) { done(false); }
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else fallback();
  }
  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (btn) {
    btn.setAttribute('data-label', btn.textContent);
    btn.hidden = false;
    btn.addEventListener('click', function () { copyText(btn); });
  });

  // Browser wallet (EIP-1193).
  var opt = data.option;
  function walletError(kind, message) { var e = new Error(message || kind); e.kind = kind; return e; }
  function errCode(e) {
    if (!e) return undefined;
    if (e.code !== undefined) return e.code;
    if (e.data && e.data.code !== undefined) return e.data.code;
    if (e.error && e.error.code !== undefined) return e.error.code;
    return undefined;
  }
  function showWallet(text, isError) {
    var el = $('wallet-msg');
    if (!el) return;
    el.hidden = false;
    el.textContent = text;
    el.className = 'wallet-msg' + (isError ? ' error' : '');
    el.setAttribute('data-state', isError ? 'error' : 'progress');
  }
  function hex(n) { return '0x' + BigInt(n).toString(16); }
  function withDomainType(td) {
    var d = td.domain, fields = [];
    if (d.name != null) fields.push({ name: 'name', type: 'string' });
    if (d.version != null) fields.push({ name: 'version', type: 'string' });
    if (d.chainId != null) fields.push({ name: 'chainId', type: 'uint256' });
    if (d.verifyingContract != null) fields.push({ name: 'verifyingContract', type: 'address' });
    if (d.salt != null) fields.push({ name: 'salt', type: 'bytes32' });
    var types = { EIP712Domain: fields };
    Object.keys(td.types).forEach(function (k) { types[k] = td.types[k]; });
    return { domain: d, types: types, primaryType: td.primaryType, message: td.message };
  }

  async function postIntent(body) {
    var r = await fetch('/v1/checkout/' + encodeURIComponent(data.id) + '/intents', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body)
    });
    var j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    if (r.ok) return j;
    if (r.status === 403 && j && j.code === 'payer_rejected') throw walletError('payerRefused');
    if (r.status === 409 && j && j.code === 'invoice_not_payable') throw walletError('notPayable');
    if (r.status === 503) throw walletError('unavailable');
    throw walletError('failed', (j && (j.detail || j.title)) || ('HTTP ' + r.status));
  }

  async function payWithWallet(eth) {
    var W = M.wallet;
    function rpc(method, params) { return eth.request({ method: method, params: params || [] }); }
    async function waitReceipt(hash) {
      for (var i = 0; i < 300; i++) {
        var rc = await rpc('eth_getTransactionReceipt', [hash]);
        if (rc) {
          if (rc.status === '0x0') throw walletError('failed', 'the approval transaction failed');
          return rc;
        }
        await sleep(1000);
      }
      throw walletError('failed', 'the approval was not confirmed in time');
    }
    showWallet(W.connecting, false);
    var accounts = await rpc('eth_requestAccounts');
    var payer = accounts && accounts[0];
    if (!payer) throw walletError('noAccount');
    var want = hex(opt.chainId);
    var current = await rpc('eth_chainId');
    if (BigInt(current) !== BigInt(opt.chainId)) {
      showWallet(fill(W.switching, { network: opt.networkName }), false);
      try {
        await rpc('wallet_switchEthereumChain', [{ chainId: want }]);
      } catch (e) {
        // 4902: the wallet does not know the chain yet.
        if (errCode(e) !== 4902 || !opt.addChain) throw e;
        await rpc('wallet_addEthereumChain', [opt.addChain]);
        if (BigInt(await rpc('eth_chainId')) !== BigInt(opt.chainId)) {
          await rpc('wallet_switchEthereumChain', [{ chainId: want }]);
        }
      }
    }
    showWallet(W.preparing, false);
    var intent = await postIntent({ option: opt.option, payer: payer });
    var tx = null;
    if (opt.native) {
      tx = { from: payer, to: intent.to, data: intent.data, value: hex(intent.value) };
    } else if (intent.approval && intent.approval.needed === false) {
      tx = { from: payer, to: intent.to, data: intent.data, value: '0x0' };
    } else if (intent.permit && opt.permit) {
      showWallet(fill(W.signPermit, { asset: opt.asset }), false);
      var signature = null;
      try {
        signature = await rpc('eth_signTypedData_v4', [payer, JSON.stringify(withDomainType(intent.permit))]);
      } catch (e) {
        // Refused by the person: stop. Not supported by the wallet: approve instead.
        if (errCode(e) === 4001) throw e;
        signature = null;
      }
      if (signature) {
        showWallet(W.preparing, false);
        var withPermit = await postIntent({
          option: opt.option,
          payer: payer,
          permit: {
            deadline: intent.permit.message.deadline,
            signature: signature,
            value: intent.permit.message.value
          }
        });
        tx = { from: payer, to: withPermit.to, data: withPermit.data, value: '0x0' };
      }
    }
    if (!tx) {
      if (!intent.approval) throw walletError('unavailable');
      showWallet(fill(W.approve, { asset: opt.asset }), false);
      var approveHash = await rpc('eth_sendTransaction', [
        { from: payer, to: intent.approval.to, data: intent.approval.data, value: '0x0' }
      ]);
      showWallet(W.waitApproval, false);
      await waitReceipt(approveHash);
      tx = { from: payer, to: intent.to, data: intent.data, value: '0x0' };
    }
    showWallet(W.confirm, false);
    var hash = await rpc('eth_sendTransaction', [tx]);
    showWallet(W.sent, false);
    var txEl = $('wallet-tx');
    if (txEl) { txEl.textContent = hash; txEl.hidden = false; }
    refresh();
  }

  function walletFailure(e) {
    var W = M.wallet;
    if (e && e.kind) {
      showWallet(e.kind === 'failed' ? fill(W.failed, { message: e.message }) : W[e.kind], true);
      return;
    }
    var c = errCode(e);
    if (c === 4001 || c === 'ACTION_REJECTED') { showWallet(W.refused, true); return; }
    showWallet(fill(W.failed, { message: (e && e.message) || String(e) }), true);
  }

  function setupWallet() {
    var btn = $('wallet-pay');
    var eth = window.ethereum;
    if (!btn || !opt || !opt.wallet || !eth || typeof eth.request !== 'function') return;
    if (btn.getAttribute('data-ready')) return;
    btn.setAttribute('data-ready', '1');
    btn.hidden = false;
    var or = $('wallet-or');
    if (or) or.hidden = false;
    btn.addEventListener('click', function () {
      btn.disabled = true;
      payWithWallet(eth).catch(walletFailure).then(function () { btn.disabled = false; });
    });
  }

  setupWallet();
  // Some wallets inject their provider after the page has loaded.
  window.addEventListener('ethereum#initialized', setupWallet, { once: true });
  render(view);
  if (!stopped) startLive();
  tickClock();
})();
`;
