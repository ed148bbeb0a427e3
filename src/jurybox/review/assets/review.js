// jurybox review page: keyboard first. k keep, 1-9 relabel, d drop, u undo, n / -> next, p / <- previous,
// r reason (Enter or Esc leaves it). Every decision is a POST appended to the store; the page never
// inserts data as markup.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('jb-data').textContent);
  var SET = D.set, ITEMS = SET.items, LABELS = SET.labels.slice(0, 9);
  var TOKEN = new URLSearchParams(window.location.search).get('token') || '';
  var state = { decided: {}, n_decided: 0, n_items: ITEMS.length, agreement: { n: 0 } };
  var pos = 0, history = [], busy = false;

  function h(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined) return;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = v;
      else if (k.indexOf('on') === 0) e.addEventListener(k.slice(2), v);
      else if (k.indexOf('data-') === 0 || k === 'id' || k === 'type' || k === 'placeholder' || k === 'aria-label') e.setAttribute(k, String(v));
      else throw new Error('attribute not allowed: ' + k);
    });
    (kids || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function str(x) { return x === null || x === undefined ? '\u2013' : String(x); }
  function num(x) { return x === null || x === undefined ? '\u2013' : Number(x).toFixed(3); }

  document.getElementById('title').textContent = 'Review: ' + SET.source;
  document.getElementById('sub').textContent = SET.kind + ' \u00b7 reviewer ' + D.reviewer + ' \u00b7 ' + ITEMS.length + ' items';
  var main = document.getElementById('main');
  var progress = h('div', { id: 'progress' });
  var bar = h('div', { class: 'bar' }, [h('div', { class: 'fill', id: 'fill' })]);
  var kappa = h('div', { id: 'kappa' });
  var status = h('div', { id: 'status', class: 'note' });
  var card = h('div', { id: 'card' });
  var reason = h('input', { id: 'reason', type: 'text', placeholder: 'reason (optional; r to type, Enter to leave)', 'aria-label': 'reason' });
  var keys = h('div', { id: 'keys', class: 'note' });
  main.appendChild(h('div', { class: 'top' }, [progress, bar, kappa]));
  main.appendChild(card);
  main.appendChild(h('div', { class: 'actions' }, [reason]));
  main.appendChild(keys);
  main.appendChild(status);
  keys.appendChild(h('span', { text: 'k keep \u00b7 d drop \u00b7 u undo \u00b7 n/\u2192 next \u00b7 p/\u2190 previous \u00b7 r reason \u00b7 relabel: ' }));
  LABELS.forEach(function (l, i) { keys.appendChild(h('span', { class: 'key', text: (i + 1) + ' ' + l })); });

  function api(path, body) {
    var opts = { method: body ? 'POST' : 'GET', headers: { 'X-Jurybox-Token': TOKEN }, credentials: 'same-origin', cache: 'no-store' };
    if (body) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ' ' + t); });
      return r.json();
    });
  }
  function setState(s) { state = s; render(); }
  function item() { return ITEMS[pos]; }

  function render() {
    progress.textContent = state.n_decided + ' of ' + state.n_items + ' decided';
    progress.setAttribute('data-decided', String(state.n_decided));
    document.getElementById('fill').style.width = (state.n_items ? 100 * state.n_decided / state.n_items : 0) + '%';
    var a = state.agreement || { n: 0 };
    if (a.kappa) {
      kappa.textContent = "your agreement with the judge: Cohen's kappa " + num(a.kappa.estimate) + ' [' + num(a.kappa.low) + ', ' + num(a.kappa.high) +
        '], agreement ' + num(a.accuracy.estimate) + ' (95% intervals, ' + a.n + ' items)';
    } else kappa.textContent = "your agreement with the judge: kappa after two decided items (" + a.n + ' so far)';
    kappa.setAttribute('data-n', String(a.n));
    while (card.firstChild) card.removeChild(card.firstChild);
    if (!ITEMS.length) { card.appendChild(h('p', { text: 'Nothing to review.' })); return; }
    var it = item(), d = state.decided[it.key];
    card.setAttribute('data-key', it.key);
    card.appendChild(h('h2', { text: 'Item ' + (pos + 1) + ' of ' + ITEMS.length + ' (row ' + it.row + ')' }));
    card.appendChild(h('p', { class: 'why', text: it.why }));
    var facts = h('table', {}, [h('tbody', {}, [
      h('tr', {}, [h('th', { text: 'label under review' }), h('td', { id: 'given', text: str(it.given) })]),
      h('tr', {}, [h('th', { text: 'judge' }), h('td', { id: 'judge', text: str(it.judge) + (it.confidence !== null ? ' (confidence ' + num(it.confidence) + ')' : '') })]),
      h('tr', {}, [h('th', { text: 'your decision' }), h('td', { id: 'decision', class: d ? 'done' : 'open',
        text: d ? d.decision + (d.new_label ? ' \u2192 ' + d.new_label : '') + (d.reason ? ' (' + d.reason + ')' : '') + ' by ' + d.reviewer : 'not decided' })])])]);
    card.appendChild(facts);
    Object.keys(it.fields).forEach(function (f) {
      card.appendChild(h('h4', { text: f }));
      card.appendChild(h('pre', { class: 'field', text: str(it.fields[f]) }));
    });
  }

  function next() { if (pos < ITEMS.length - 1) { pos++; reason.value = ''; render(); } }
  function prev() { if (pos > 0) { pos--; reason.value = ''; render(); } }
  function firstOpen() {
    for (var i = 0; i < ITEMS.length; i++) if (!state.decided[ITEMS[i].key]) return i;
    return Math.max(0, ITEMS.length - 1);
  }
  function decide(decision, label) {
    if (busy || !ITEMS.length) return;
    var it = item();
    busy = true;
    api('/api/decide', { item: it.key, decision: decision, label: label || null, reason: reason.value || null }).then(function (r) {
      history.push(it.key);
      reason.value = '';
      status.textContent = 'saved: ' + decision + (label ? ' \u2192 ' + label : '') + ' on row ' + it.row;
      state = r.state;
      if (pos < ITEMS.length - 1) pos++;
      render();
    }).catch(function (e) { status.textContent = 'not saved: ' + e.message; }).then(function () { busy = false; });
  }
  function undo() {
    if (busy) return;
    var key = history.length ? history[history.length - 1] : (ITEMS.length ? item().key : null);
    if (key === null || !state.decided[key]) { status.textContent = 'nothing to undo'; return; }
    busy = true;
    api('/api/decide', { item: key, decision: 'undo' }).then(function (r) {
      if (history.length) history.pop();
      state = r.state;
      for (var i = 0; i < ITEMS.length; i++) if (ITEMS[i].key === key) pos = i;
      status.textContent = 'undone on row ' + ITEMS[pos].row;
      render();
    }).catch(function (e) { status.textContent = 'not undone: ' + e.message; }).then(function () { busy = false; });
  }

  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (document.activeElement === reason) {
      if (ev.key === 'Enter' || ev.key === 'Escape') { reason.blur(); ev.preventDefault(); }
      return;
    }
    var k = ev.key;
    if (k === 'k') decide('keep');
    else if (k === 'd') decide('drop');
    else if (k === 'u') undo();
    else if (k === 'n' || k === 'ArrowRight') next();
    else if (k === 'p' || k === 'ArrowLeft') prev();
    else if (k === 'r') { reason.focus(); }
    else if (/^[1-9]$/.test(k) && Number(k) <= LABELS.length) decide('relabel', LABELS[Number(k) - 1]);
    else return;
    ev.preventDefault();
  });

  api('/api/state').then(function (s) {
    state = s; pos = firstOpen(); render();
    document.body.setAttribute('data-ready', '1');
  }).catch(function (e) { status.textContent = 'cannot load the review state: ' + e.message; });
  window.jbReviewState = function () { return state; };
})();
