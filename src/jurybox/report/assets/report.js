// jurybox report: draws every section from the data in #jb-data (JSON, or that JSON gzip-compressed
// and base64-encoded for a large report). Data is only ever inserted as text (textContent, SVG
// attributes of numbers): never as markup, never as a link.
(function () {
  'use strict';
  // The data: plain JSON, or (data-encoding="gzip-base64") gzip-compressed JSON decompressed with the
  // browser's DecompressionStream from a Blob's stream: no URL is fetched, so the CSP's connect-src
  // 'none' still holds. A browser without DecompressionStream gets a message, not a blank page.
  function fail(msg) {
    var main = document.getElementById('main');
    main.textContent = '';
    var p = document.createElement('p');
    p.className = 'load-error';
    p.id = 'load-error';
    p.textContent = msg;
    main.appendChild(p);
    document.body.setAttribute('data-error', '1');
  }
  var el = document.getElementById('jb-data');
  if (el.getAttribute('data-encoding') !== 'gzip-base64') {
    draw(JSON.parse(el.textContent));
    return;
  }
  if (typeof DecompressionStream !== 'function' || typeof Response !== 'function' || typeof Blob !== 'function' ||
      typeof Blob.prototype.stream !== 'function') {
    fail('This report stores its data gzip-compressed and this browser cannot decompress it (it has no ' +
      'DecompressionStream). Open it in a current Chromium, Chrome, Edge, Firefox (113 or later) or Safari ' +
      '(16.4 or later), or write it again with jurybox report --compress never.');
    return;
  }
  var main = document.getElementById('main');
  main.appendChild(document.createElement('p')).textContent = 'Decompressing the report\u2019s data\u2026';
  Promise.resolve().then(function () {
    var bin = atob(el.textContent.trim());
    var bytes = new Uint8Array(bin.length);
    for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
  }).then(function (text) { return JSON.parse(text); }).then(function (D) {
    main.textContent = '';
    draw(D);
  }, function (err) {  // only a decoding error: an error while drawing is not this message
    fail('The report\u2019s compressed data could not be read: ' + (err && err.message ? err.message : err));
    throw err;
  });

  function draw(D) {
    var SVG = 'http://www.w3.org/2000/svg';
    var SAFE_ATTRS = { id: 1, title: 1, type: 1, placeholder: 1, value: 1, colspan: 1, tabindex: 1, 'aria-label': 1 };

    function h(tag, attrs, kids) {
      var e = document.createElement(tag);
      attrs = attrs || {};
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null) return;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'class') e.className = v;
        else if (k.indexOf('data-') === 0 || SAFE_ATTRS[k]) e.setAttribute(k, String(v));
        else if (k.indexOf('on') === 0) e.addEventListener(k.slice(2), v);
        else throw new Error('attribute not allowed: ' + k);
      });
      (kids || []).forEach(function (c) {
        if (c === null || c === undefined) return;
        e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
      });
      return e;
    }
    function s(tag, attrs, text) {
      var e = document.createElementNS(SVG, tag);
      Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
      if (text !== undefined) e.textContent = String(text);
      return e;
    }
    function num(x, d) {
      if (x === null || x === undefined || (typeof x === 'number' && !isFinite(x))) return '\u2013';
      return typeof x === 'number' ? x.toFixed(d === undefined ? 3 : d) : String(x);
    }
    function pct(x, d) { return x === null || x === undefined ? '\u2013' : (100 * x).toFixed(d === undefined ? 1 : d) + '%'; }
    function str(x) { return x === null || x === undefined ? '\u2013' : String(x); }
    function section(id, title) {
      var sec = h('section', { id: id }, [h('h2', { text: title })]);
      document.getElementById('main').appendChild(sec);
      var link = h('span', { text: title, onclick: function () { sec.scrollIntoView(); } });
      document.getElementById('nav').appendChild(link);
      return sec;
    }
    function table(headers, rows, attrs) {
      var thead = h('thead', {}, [h('tr', {}, headers.map(function (x) { return h('th', { text: x }); }))]);
      var tbody = h('tbody', {}, rows);
      return h('table', attrs || {}, [thead, tbody]);
    }
    function card(k, v, cls) {
      return h('div', { class: 'card' + (cls ? ' ' + cls : '') }, [h('div', { class: 'k', text: k }), h('div', { class: 'v', text: v })]);
    }

    // ---- header
    document.getElementById('title').textContent = D.title || 'jurybox report';
    document.title = D.title || 'jurybox report';
    document.getElementById('sub').textContent = (D.source ? D.source + ' \u00b7 ' : '') +
      'generated ' + new Date(D.generated_at * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

    var I = D.items, N = I.n;
    var strings = D.strings || [];

    // ---- run
    (function () {
      var r = D.run, sec = section('run', 'Run');
      var c = h('div', { class: 'cards' });
      var un = card('unparsed answers', pct(r.unparsed_rate) + '  (' + r.unparsed + ' of ' + r.items + ')',
        'unparsed' + (r.unparsed ? '' : ' zero'));
      if (r.unparsed_interval) un.appendChild(h('div', { class: 'k', text: '95% interval ' + pct(r.unparsed_interval[0]) + '\u2013' + pct(r.unparsed_interval[1]) + '; unparsed answers are left out of every figure, never guessed' }));
      un.setAttribute('data-unparsed', String(r.unparsed));
      c.appendChild(un);
      c.appendChild(card('items', String(r.items)));
      c.appendChild(card('errors (no verdict)', String(r.errors)));
      if (r.tasks !== undefined) {
        c.appendChild(card('tasks', String(r.tasks)));
        c.appendChild(card('model calls', String(r.model_calls)));
        c.appendChild(card('cached', String(r.cached)));
        c.appendChild(card('failed calls', String(r.failed)));
        c.appendChild(card('tokens (prompt / completion)', r.prompt_tokens + ' / ' + r.completion_tokens));
        c.appendChild(card('wall time', r.wall_s === null ? '\u2013' : num(r.wall_s, 1) + ' s'));
        c.appendChild(card('cost', r.cost === null || r.cost === undefined ? 'unknown' : '$' + num(r.cost, 4)));
      }
      sec.appendChild(c);
      var st = Object.keys(r.status).map(function (k) { return k + ' ' + r.status[k]; }).join(', ');
      sec.appendChild(h('p', { class: 'note', text: 'verdict status: ' + st }));
      if (r.judges && r.judges.length) sec.appendChild(h('p', { text: 'judge: ' + r.judges.join(', ') }));
      if (r.protocols && r.protocols.length) sec.appendChild(h('p', { text: 'protocol: ' + r.protocols.join(', ') }));
      if (r.runs && r.runs.length) {
        sec.appendChild(table(['run', 'description', 'tasks', 'cached', 'done', 'failed', 'wall s'], r.runs.map(function (x) {
          return h('tr', {}, [h('td', { text: x.run_id }), h('td', { text: x.description }), h('td', { class: 'num', text: x.tasks }),
            h('td', { class: 'num', text: x.cached }), h('td', { class: 'num', text: x.done }), h('td', { class: 'num', text: x.failed }),
            h('td', { class: 'num', text: num(x.wall_s, 1) })]);
        }), { id: 'runs-table' }));
      } else {
        sec.appendChild(h('p', { class: 'note', text: 'No store given: model calls, tokens and cost are not shown.' }));
      }
      if (D.details_found !== undefined) {
        var dj = D.details_judge || {};
        sec.appendChild(h('p', { class: 'note', text: 'per-order verdicts and prompts found in the store for ' + D.details_found + ' of ' + N + ' items' +
          (dj.judge ? ', from judge ' + dj.judge : '') + (dj.other_judges && dj.other_judges.length ? ' (the store also has verdicts of ' + dj.other_judges.join(', ') + ' for these prompts: choose with --judge)' : '') }));
      }
      if (r.failures && r.failures.length) {
        sec.appendChild(h('h4', { text: 'failed calls (retried by the next run)' }));
        sec.appendChild(table(['judge', 'error'], r.failures.map(function (f) {
          return h('tr', {}, [h('td', { text: f.judge }), h('td', { text: f.error })]);
        })));
      }
    })();

    // ---- agreement: table + forest plot
    if (D.agreement) (function () {
      var a = D.agreement, sec = section('agreement', 'Agreement with human labels');
      sec.appendChild(h('p', { class: 'note', text: 'human labels: ' + a.source + '; ' + a.n_used + ' of ' + a.n_items +
        ' items compared (' + a.n_missing_judge + ' without a verdict: unparsed or failed, left out, never guessed; ' +
        a.n_missing_human + ' without a human label); 95% percentile bootstrap intervals; level ' + a.level }));
      var names = Object.keys(a.statistics);
      var rows = names.map(function (k) {
        var iv = a.statistics[k];
        return h('tr', { 'data-stat': k }, [h('td', { text: k }), h('td', { class: 'num est', text: num(iv.estimate) }),
          h('td', { class: 'num', text: '[' + num(iv.low) + ', ' + num(iv.high) + ']' })]);
      });
      var box = h('div', { class: 'row2' });
      box.appendChild(table(['statistic', 'estimate', '95% interval'], rows, { id: 'agreement-table' }));
      // forest plot
      var W = 420, rowH = 24, top = 10, left = 150, right = 20, H = top + rowH * names.length + 30;
      var lo = 0, hi = 1;
      names.forEach(function (k) { var iv = a.statistics[k]; if (iv.low !== null && iv.low < lo) lo = iv.low; if (iv.high !== null && iv.high > hi) hi = iv.high; });
      lo = Math.floor(lo * 4) / 4; hi = Math.ceil(hi * 4) / 4;
      function x(v) { return left + (W - left - right) * (v - lo) / (hi - lo); }
      var svg = s('svg', { id: 'forest', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
      for (var t = lo; t <= hi + 1e-9; t += 0.25) {
        svg.appendChild(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: top, y2: H - 24 }));
        svg.appendChild(s('text', { x: x(t), y: H - 10, 'text-anchor': 'middle' }, t.toFixed(2)));
      }
      svg.appendChild(s('line', { class: 'axis', x1: x(0), x2: x(0), y1: top, y2: H - 24 }));
      names.forEach(function (k, i) {
        var iv = a.statistics[k], y = top + rowH * i + rowH / 2;
        svg.appendChild(s('text', { x: left - 8, y: y + 4, 'text-anchor': 'end' }, k));
        if (iv.low !== null && iv.high !== null) svg.appendChild(s('line', { class: 'ci', 'data-stat': k, x1: x(iv.low), x2: x(iv.high), y1: y, y2: y }));
        if (iv.estimate !== null) svg.appendChild(s('circle', { class: 'est', 'data-stat': k, 'data-estimate': iv.estimate, cx: x(iv.estimate), cy: y, r: 4 }));
      });
      box.appendChild(svg);
      sec.appendChild(box);
    })();

    // ---- confusion heatmap and reliability diagram
    if (D.confusion || D.calibration) (function () {
      var sec = section('charts', 'Confusion and calibration');
      var box = h('div', { class: 'row2' });
      sec.appendChild(box);
      if (D.confusion) {
        var c = D.confusion, k = c.labels.length, cell = Math.max(28, Math.min(60, Math.floor(360 / k))), off = 90;
        var W = off + cell * k + 20, H = off + cell * k + 20, max = 1;
        c.matrix.forEach(function (r) { r.forEach(function (v) { if (v > max) max = v; }); });
        var svg = s('svg', { id: 'confusion', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
        svg.appendChild(s('text', { x: off + cell * k / 2, y: 14, 'text-anchor': 'middle' }, 'judge'));
        svg.appendChild(s('text', { x: 12, y: off + cell * k / 2, transform: 'rotate(-90 12 ' + (off + cell * k / 2) + ')', 'text-anchor': 'middle' }, 'human'));
        for (var i = 0; i < k; i++) {
          svg.appendChild(s('text', { x: off + cell * i + cell / 2, y: off - 8, 'text-anchor': 'middle' }, c.labels[i]));
          svg.appendChild(s('text', { x: off - 8, y: off + cell * i + cell / 2 + 4, 'text-anchor': 'end' }, c.labels[i]));
          for (var j = 0; j < k; j++) {
            var v = c.matrix[i][j], light = Math.round(255 - 200 * v / max);
            svg.appendChild(s('rect', { class: 'cell', 'data-row': i, 'data-col': j, 'data-count': v, x: off + cell * j, y: off + cell * i,
              width: cell - 1, height: cell - 1, fill: 'rgb(' + light + ',' + Math.round(light * 0.9 + 20) + ',255)' }));
            svg.appendChild(s('text', { x: off + cell * j + cell / 2, y: off + cell * i + cell / 2 + 4, 'text-anchor': 'middle',
              class: light < 140 ? 'on-dark' : 'on-light' }, v));
          }
        }
        box.appendChild(h('div', {}, [h('h4', { text: 'confusion matrix (rows: human, columns: judge)' }), svg]));
      }
      if (D.calibration) {
        var cal = D.calibration, W2 = 340, H2 = 300, L = 40, B = 30, P = 10, w = W2 - L - 3 * P, hh = H2 - B - P;
        var sv = s('svg', { id: 'reliability', width: W2, height: H2, viewBox: '0 0 ' + W2 + ' ' + H2 });
        function X(v) { return L + w * v; } function Y(v) { return P + hh * (1 - v); }
        [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
          sv.appendChild(s('line', { class: 'grid', x1: X(0), x2: X(1), y1: Y(t), y2: Y(t) }));
          sv.appendChild(s('text', { x: L - 4, y: Y(t) + 4, 'text-anchor': 'end' }, t.toFixed(2)));
          sv.appendChild(s('text', { x: X(t), y: H2 - 12, 'text-anchor': 'middle' }, t.toFixed(2)));
        });
        for (var b = 0; b < cal.count.length; b++) {
          if (!cal.count[b]) continue;
          var x0 = cal.bins[b], x1 = cal.bins[b + 1], acc = cal.accuracy[b], cf = cal.confidence[b];
          sv.appendChild(s('rect', { class: 'bar', 'data-bin': b, 'data-count': cal.count[b], 'data-accuracy': acc, x: X(x0) + 1, y: Y(acc),
            width: Math.max(1, X(x1) - X(x0) - 2), height: Y(0) - Y(acc) }));
          sv.appendChild(s('circle', { class: 'est', cx: X(cf), cy: Y(cf), r: 2.5 }));
        }
        sv.appendChild(s('line', { class: 'diag', x1: X(0), y1: Y(0), x2: X(1), y2: Y(1) }));
        sv.appendChild(s('line', { class: 'axis', x1: X(0), y1: Y(0), x2: X(1), y2: Y(0) }));
        sv.appendChild(s('line', { class: 'axis', x1: X(0), y1: Y(0), x2: X(0), y2: Y(1) }));
        var e = cal.ece;
        box.appendChild(h('div', {}, [h('h4', { text: 'reliability diagram (bars: accuracy per confidence bin; dots: mean confidence)' }), sv,
          h('p', { id: 'ece', 'data-ece': e.estimate, text: 'ECE ' + num(e.estimate) + ' [' + num(e.low) + ', ' + num(e.high) + '] over ' + cal.n + ' items with the chosen label\'s probability' })]));
      }
    })();

    // ---- audit
    if (D.audit) (function () {
      var a = D.audit, sec = section('audit', 'Bias audit');
      sec.appendChild(h('p', { class: 'note', text: 'judge ' + a.judge + ', ' + str(a.n_items) + ' items; 95% intervals' }));
      sec.appendChild(table(['probe', 'statistic', 'estimate', '95% interval', 'n'], a.rows.map(function (r) {
        return h('tr', {}, [h('td', { text: r.probe }), h('td', { text: r.statistic }), h('td', { class: 'num', text: num(r.estimate) }),
          h('td', { class: 'num', text: '[' + num(r.low) + ', ' + num(r.high) + ']' }), h('td', { class: 'num', text: str(r.n_units) })]);
      }), { id: 'audit-table' }));
      a.notes.forEach(function (n) { sec.appendChild(h('p', { class: 'note', text: n })); });
    })();

    // ---- jury
    if (D.jury) (function () {
      var j = D.jury, sec = section('jury', 'Jury');
      var rows = j.judges.map(function (name, a) {
        return h('tr', {}, [h('th', { text: name })].concat(j.kappa[a].map(function (v) { return h('td', { class: 'num', text: num(v) }); })));
      });
      sec.appendChild(h('h4', { text: "Cohen's kappa between judges" }));
      sec.appendChild(table([''].concat(j.judges), rows, { id: 'jury-kappa' }));
      if (j.dawid_skene_accuracy) {
        sec.appendChild(h('h4', { text: 'Dawid-Skene estimated accuracy' }));
        sec.appendChild(table(['judge', 'accuracy'], j.judges.map(function (name, a) {
          return h('tr', {}, [h('td', { text: name }), h('td', { class: 'num', text: num(j.dawid_skene_accuracy[a]) })]);
        }), { id: 'jury-ds' }));
      } else if (j.dawid_skene_note) sec.appendChild(h('p', { class: 'note', text: 'Dawid-Skene: ' + j.dawid_skene_note }));
    })();

    // ---- label errors and confident disagreements
    if (D.errors) (function () {
      var e = D.errors, sec = section('errors', 'Label errors flagged');
      sec.appendChild(h('p', { class: 'note', text: e.rows.length + ' rows flagged' }));
      sec.appendChild(table(e.columns, e.rows.slice(0, 200).map(function (r) {
        return h('tr', {}, r.map(function (v) { return h('td', { text: typeof v === 'number' ? num(v) : str(v) }); }));
      }), { id: 'errors-table' }));
    })();
    if (D.reviews) (function () {
      var sec = section('reviews', 'Human review');
      D.reviews.forEach(function (r) {
        var a = r.agreement, k = a.kappa;
        sec.appendChild(h('p', { 'data-decided': r.decided, text: 'review of the ' + r.of + ': ' + r.decided + ' items decided (' +
          r.counts.keep + ' kept, ' + r.counts.relabel + ' relabelled, ' + r.counts.drop + ' dropped) by ' + r.reviewers.join(', ') +
          '; ' + r.rows + ' decisions recorded, ' + r.undos + ' of them undos' }));
        sec.appendChild(h('p', { text: k ? "reviewers' agreement with the judge on the decided items: Cohen's kappa " + num(k.estimate) + ' [' + num(k.low) + ', ' + num(k.high) +
          '], agreement ' + num(a.accuracy.estimate) + ' [' + num(a.accuracy.low) + ', ' + num(a.accuracy.high) + '] (95% intervals, ' + a.n + ' items)'
          : "reviewers' agreement with the judge: fewer than two decided items to compare" }));
      });
    })();
    if (D.disagreements) (function () {
      var sec = section('disagreements', 'Most confident judge-human disagreements');
      if (!D.disagreements.length) {
        var used = D.agreement ? D.agreement.n_used : 0;
        sec.appendChild(h('p', { text: used ? 'none: the judge agrees with the human label on all ' + used + ' items compared' : 'no item has both a readable verdict and a human label' }));
        return;
      }
      sec.appendChild(table(['row', 'human', 'judge', 'judge confidence'], D.disagreements.map(function (d) {
        return h('tr', { 'data-i': d.i, onclick: function () { showDetail(d.i); document.getElementById('detail').scrollIntoView(); } },
          [h('td', { text: d.i + 1 }), h('td', { text: d.human }), h('td', { text: d.judge }), h('td', { class: 'num', text: num(d.confidence) })]);
      }), { id: 'disagreements-table' }));
    })();

    // ---- items: search, filter, sort, page; detail panel
    var fieldNames = Object.keys(I.fields);
    var textCols = fieldNames.slice(0, 3);
    var haystack = null;
    function hay(i) {
      if (!haystack) {
        haystack = new Array(N);
        for (var k = 0; k < N; k++) {
          var parts = [String(k + 1), str(I.human && I.human[k]), str(I.verdict[k]), str(I.raw[k])];
          fieldNames.forEach(function (f) { parts.push(str(I.fields[f][k])); });
          haystack[k] = parts.join('\u0001').toLowerCase();
        }
      }
      return haystack[i];
    }
    var secItems = section('items', 'Items');
    var q = h('input', { type: 'search', id: 'q', placeholder: 'search text, labels, answers', 'aria-label': 'search' });
    function select(id, label, options) {
      var el = h('select', { id: id, 'aria-label': label });
      options.forEach(function (o) { var op = h('option', { value: o[0], text: o[1] }); el.appendChild(op); });
      return el;
    }
    var statuses = Object.keys(D.run.status);
    var labelSet = {};
    I.verdict.forEach(function (v) { if (v !== null) labelSet[v] = 1; });
    if (I.human) I.human.forEach(function (v) { if (v !== null) labelSet[v] = 1; });
    var fStatus = select('f-status', 'status', [['', 'any status']].concat(statuses.map(function (x) { return [x, x]; })));
    var fLabel = select('f-label', 'verdict label', [['', 'any verdict']].concat(Object.keys(labelSet).sort().map(function (x) { return [x, 'verdict ' + x]; })));
    var fDis = select('f-dis', 'disagreement', [['', 'agree or not'], ['yes', 'disagrees with human'], ['no', 'agrees with human'], ['na', 'not compared']]);
    var fSort = select('f-sort', 'sort', [['row', 'sort: row'], ['conf-desc', 'sort: confidence, high first'], ['conf-asc', 'sort: confidence, low first'], ['status', 'sort: status']]);
    var shown = h('span', { id: 'shown', class: 'note' });
    var prev = h('button', { text: '\u2190 prev', type: 'button' }), next = h('button', { text: 'next \u2192', type: 'button' });
    secItems.appendChild(h('div', { class: 'controls' }, [q, fStatus, fLabel, I.human ? fDis : null, fSort, h('span', { class: 'pager' }, [prev, next]), shown]));
    var headers = ['row'].concat(I.human ? ['human'] : []).concat(['verdict', 'status', 'confidence']).concat(textCols);
    var tbody = h('tbody');
    var tbl = h('table', { id: 'items-table' }, [h('thead', {}, [h('tr', {}, headers.map(function (x) { return h('th', { text: x }); }))]), tbody]);
    var detail = h('div', { id: 'detail' }, [h('p', { class: 'note', text: 'Select an item to see its prompt, answer and probabilities.' })]);
    secItems.appendChild(h('div', { class: 'layout' }, [h('div', {}, [tbl]), detail]));
    var PAGE = 100, page = 0, current = [], selected = -1;

    function matches() {
      var text = q.value.trim().toLowerCase(), st = fStatus.value, lab = fLabel.value, dis = fDis.value, out = [];
      for (var i = 0; i < N; i++) {
        if (st && I.status[i] !== st) continue;
        if (lab && I.verdict[i] !== lab) continue;
        if (dis && I.human) {
          var d = I.disagree[i];
          if (dis === 'yes' && d !== true) continue;
          if (dis === 'no' && d !== false) continue;
          if (dis === 'na' && d !== null) continue;
        }
        if (text && hay(i).indexOf(text) < 0) continue;
        out.push(i);
      }
      var srt = fSort.value;
      function c(i) { var v = I.confidence[i]; return v === null ? -1 : v; }
      if (srt === 'conf-desc') out.sort(function (a, b) { return c(b) - c(a) || a - b; });
      else if (srt === 'conf-asc') out.sort(function (a, b) { return c(a) - c(b) || a - b; });
      else if (srt === 'status') out.sort(function (a, b) { return String(I.status[a]).localeCompare(String(I.status[b])) || a - b; });
      return out;
    }
    function draw() {
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      var from = page * PAGE, to = Math.min(current.length, from + PAGE);
      for (var r = from; r < to; r++) {
        var i = current[r];
        var cells = [h('td', { class: 'num', text: i + 1 })];
        if (I.human) cells.push(h('td', { text: str(I.human[i]) }));
        cells.push(h('td', { class: I.disagree[i] ? 'dis' : '', text: str(I.verdict[i]) }));
        cells.push(h('td', { class: 'status-' + I.status[i], text: str(I.status[i]) }));
        cells.push(h('td', { class: 'num', text: num(I.confidence[i]) }));
        textCols.forEach(function (f) { cells.push(h('td', { class: 'text', text: str(I.fields[f][i]) })); });
        tbody.appendChild(h('tr', { 'data-i': i, class: i === selected ? 'sel' : '', onclick: (function (k) { return function () { showDetail(k); }; })(i) }, cells));
      }
      shown.textContent = current.length ? 'showing ' + (from + 1) + '\u2013' + to + ' of ' + current.length + ' matching (' + N + ' items)' : 'no item matches (' + N + ' items)';
      shown.setAttribute('data-matching', String(current.length));
      prev.disabled = page === 0; next.disabled = to >= current.length;
    }
    function refresh() { current = matches(); page = 0; draw(); }
    ['input', 'search'].forEach(function (ev) { q.addEventListener(ev, refresh); });
    [fStatus, fLabel, fDis, fSort].forEach(function (e) { e.addEventListener('change', refresh); });
    prev.addEventListener('click', function () { if (page > 0) { page--; draw(); } });
    next.addEventListener('click', function () { if ((page + 1) * PAGE < current.length) { page++; draw(); } });

    function probBars(p) {
      if (!p) return h('p', { class: 'note', text: 'no option probabilities' });
      var keys = Object.keys(p).sort(function (a, b) { return p[b] - p[a]; });
      return h('div', { class: 'probs' }, keys.map(function (k) {
        var bar = h('span', { class: 'b', 'data-p': p[k], title: String(p[k]) });
        bar.style.width = Math.round(160 * Math.max(0, Math.min(1, p[k]))) + 'px';
        return h('div', { class: 'pbar', 'data-option': k }, [h('span', { text: k }), bar, h('span', { text: num(p[k]) })]);
      }));
    }
    // a prompt is a list of line numbers; a copy of one of the item's fields is written \u0001column\u0001
    function promptText(lines, i) {
      return lines.map(function (k) { return strings[k]; }).join('\n').replace(/\u0001([^\u0001]+)\u0001/g, function (m, col) {
        return Object.prototype.hasOwnProperty.call(I.fields, col) ? str(I.fields[col][i]) : m;
      });
    }
    function showDetail(i) {
      selected = i;
      Array.prototype.forEach.call(tbody.querySelectorAll('tr'), function (tr) { tr.className = Number(tr.getAttribute('data-i')) === i ? 'sel' : ''; });
      while (detail.firstChild) detail.removeChild(detail.firstChild);
      detail.setAttribute('data-i', String(i));
      detail.appendChild(h('h3', { text: 'Row ' + (i + 1) }));
      var facts = [['verdict', str(I.verdict[i])], ['status', str(I.status[i])], ['confidence', num(I.confidence[i])]];
      if (I.human) facts.unshift(['human', str(I.human[i])]);
      detail.appendChild(table(['', ''], facts.map(function (f) { return h('tr', {}, [h('th', { text: f[0] }), h('td', { text: f[1] })]); })));
      fieldNames.forEach(function (f) { detail.appendChild(h('h4', { text: f })); detail.appendChild(h('pre', { class: 'field', text: str(I.fields[f][i]) })); });
      detail.appendChild(h('h4', { text: 'raw answer' }));
      detail.appendChild(h('pre', { id: 'raw', text: str(I.raw[i]) }));
      if (I.error[i]) { detail.appendChild(h('h4', { text: 'error' })); detail.appendChild(h('pre', { text: I.error[i] })); }
      detail.appendChild(h('h4', { text: 'option probabilities' }));
      detail.appendChild(probBars(I.probs[i]));
      var o = I.orders && I.orders[i];
      if (o) {
        Object.keys(o).forEach(function (variant) {
          var v = o[variant];
          var box = h('div', { class: 'order', 'data-variant': variant }, [
            h('h4', { text: 'variant ' + variant + ': ' + str(v[0]) + ' (' + str(v[1]) + ')' }), probBars(v[2]),
            h('p', { class: 'note', text: 'raw answer: ' + str(v[3]) }),
            v[5] ? h('p', { class: 'note', text: 'error: ' + v[5] }) : null,
            h('pre', { class: 'prompt', text: promptText(v[4], i) })]);
          detail.appendChild(box);
        });
      } else if (I.orders) {
        detail.appendChild(h('p', { class: 'note', text: 'this item\'s verdicts were not found in the store' }));
      } else {
        detail.appendChild(h('p', { class: 'note', text: 'prompts and per-order verdicts need the store (report --store with the judge\'s --protocol)' }));
      }
    }
    window.jbShowDetail = showDetail;
    refresh();
    document.body.setAttribute('data-ready', '1');
  }
})();
