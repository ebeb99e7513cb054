// The script of the check report's HTML page (html.ts): it reads the embedded report JSON,
// draws the heat map, and lists a cell's failed relocations when one is clicked. Plain
// ES2020 and no template literals: it is embedded in one.
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var R = JSON.parse(document.getElementById('report-data').textContent);
  var COLOR = { 'pass': '#3b9e57', 'guarded': '#8fd19e', 'expected-fail': '#e5b03e', 'unexpected-fail': '#d3323b', 'unexpected-pass': '#8b5cd0', 'not-applicable': '#e3e5e9', 'skipped': '#a9aeb8' };
  var LABEL = { 'pass': 'relocates', 'guarded': 'relocates, guarded fallbacks', 'expected-fail': 'expected failure', 'unexpected-fail': 'UNEXPECTED failure', 'unexpected-pass': 'unexpected pass', 'not-applicable': 'not applicable', 'skipped': 'not checked' };
  var CAUSE = { 'type-missing': 'type missing', 'field-missing': 'field missing', 'enumval-missing': 'enumerator missing', 'ambiguous': 'ambiguous candidates', 'size-changed': 'size changed', 'incompatible': 'incompatible type', 'other': 'failed' };
  var ORDER = ['pass', 'guarded', 'expected-fail', 'unexpected-fail', 'unexpected-pass', 'not-applicable', 'skipped'];

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') e.textContent = attrs[k]; else if (k === 'style') e.style.cssText = attrs[k]; else e.setAttribute(k, attrs[k]); }
    (kids || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  // "ok, guarded": a pass whose failed relocations all sit in dead code
  function shown(v) { return v.status === 'pass' && v.guarded && v.guarded.length ? 'guarded' : v.status; }
  function verifierText(c) {
    var t = c.status === 'accepted' ? 'accepts' : c.status === 'rejected' ? 'rejects' + (c.errno ? ' (' + c.errno + ')' : '') + (c.insn !== undefined ? ' at insn ' + c.insn : '') + (c.message ? ': ' + c.message : '') + (c.source ? ' (' + c.source + ')' : '')
      : c.status === 'not-verified' ? (c.note || 'not verified') : 'not loaded' + (c.note ? ': ' + c.note : '');
    return c.agrees ? t : t + ' — DISAGREES with the offline verdict';
  }
  function badge(status) { return el('span', { 'class': 'badge', style: 'background:' + COLOR[status] + (status === 'not-applicable' ? ';color:#333' : ''), text: LABEL[status] }); }
  function plural(n, w) { return n + ' ' + w + (n === 1 ? '' : 's'); }

  var kernels = R.kernels, objects = R.objects, S = R.summary;
  var kIndex = {}; kernels.forEach(function (k, i) { kIndex[k.id] = i; });
  var res = {};
  R.results.forEach(function (r) { (res[r.object] = res[r.object] || [])[kIndex[r.kernel]] = r; });
  function resultOf(o, ki) { return (res[o.id] || [])[ki] || null; }
  function verdict(o, pi, ki) { var r = resultOf(o, ki); return r ? r.programs[pi] : null; }

  // header
  var bad = S.unexpectedFail > 0;
  var h1 = document.getElementById('title');
  h1.appendChild(el('span', { 'class': 'verdict', style: 'background:' + (bad ? COLOR['unexpected-fail'] : COLOR.pass), text: bad ? plural(S.unexpectedFail, 'unexpected failure') : 'no unexpected failures' }));
  var shards = R.shards.length > 1 ? ' \u00b7 ' + R.shards.length + ' shards merged' : (R.shards[0] && R.shards[0].count > 1 ? ' \u00b7 shard ' + R.shards[0].index + '/' + R.shards[0].count : '');
  document.getElementById('sub').textContent = plural(S.objects, 'object') + ' (' + plural(S.programs, 'program') + ') \u00d7 ' + plural(S.kernels, 'kernel') +
    (S.skippedKernels ? ' (' + S.skippedKernels + ' skipped)' : '') + shards + ' \u00b7 libbpf ' + (R.tool.libbpf || '?') + ' \u00b7 corebpf ' + R.tool.corebpf + ' \u00b7 ' + R.timing.startedAt.replace('T', ' ').replace(/\..*/, ' UTC');
  var counts = { 'pass': S.pass - (S.guarded || 0), 'guarded': S.guarded || 0, 'expected-fail': S.expectedFail, 'unexpected-fail': S.unexpectedFail, 'unexpected-pass': S.unexpectedPass, 'not-applicable': S.notApplicable, 'skipped': S.skipped };
  var chips = document.getElementById('chips');
  ORDER.forEach(function (s) { chips.appendChild(el('span', { 'class': 'chip' }, [el('span', { 'class': 'sw', style: 'background:' + COLOR[s] }), LABEL[s] + ': ' + counts[s]])); });
  chips.appendChild(el('span', { 'class': 'chip' }, [el('span', { 'class': 'sw dot', style: 'background:' + COLOR['unexpected-fail'] }), 'libbpf error (whole object)']));

  // rows: an object line, then its programs
  var onlyFailing = false, query = '';
  var rows = [];
  function rowFails(o, pi) {
    for (var ki = 0; ki < kernels.length; ki++) { var v = verdict(o, pi, ki); if (v && v.status !== 'pass' && v.status !== 'not-applicable') return true; }
    return false;
  }
  function buildRows() {
    rows = [];
    objects.forEach(function (o) {
      var progs = [];
      o.programs.forEach(function (p, pi) {
        if (query && (o.id + ' ' + p.name).toLowerCase().indexOf(query) < 0) return;
        if (onlyFailing && !rowFails(o, pi)) return;
        progs.push({ kind: 'program', o: o, p: p, pi: pi });
      });
      if (!progs.length) return;
      rows.push({ kind: 'object', o: o });
      rows = rows.concat(progs);
    });
  }

  var canvas = document.getElementById('map'), ctx = canvas.getContext('2d');
  var L = {};
  var selected = null, hover = null;
  var FONT = '12px system-ui, -apple-system, "DejaVu Sans", sans-serif';
  var BOLD = '600 12px system-ui, -apple-system, "DejaVu Sans", sans-serif';
  function layout() {
    ctx.font = FONT;
    var lw = 0;
    rows.forEach(function (r) { ctx.font = r.kind === 'object' ? BOLD : FONT; lw = Math.max(lw, ctx.measureText(r.kind === 'object' ? r.o.id : r.p.name).width + (r.kind === 'object' ? 8 : 22)); });
    L.labelW = Math.min(Math.ceil(lw) + 10, 380);
    var avail = Math.max(200, box.clientWidth - 20 - L.labelW);
    L.cw = Math.max(3, Math.min(22, Math.floor(avail / Math.max(1, kernels.length))));
    L.rh = 17;
    L.showCols = L.cw >= 11;
    ctx.font = FONT;
    var kw = 0; kernels.forEach(function (k) { kw = Math.max(kw, ctx.measureText(k.id).width); });
    L.archH = 18;
    L.headH = L.archH + (L.showCols ? Math.min(Math.ceil(kw) + 10, 220) : 6);
    L.w = L.labelW + kernels.length * L.cw + 4;
    L.h = L.headH + rows.length * L.rh + 4;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.ceil(L.w * dpr); canvas.height = Math.ceil(L.h * dpr);
    canvas.style.width = L.w + 'px'; canvas.style.height = L.h + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function ellipsize(text, max) {
    if (ctx.measureText(text).width <= max) return text;
    while (text.length > 1 && ctx.measureText(text + '\u2026').width > max) text = text.slice(0, -1);
    return text + '\u2026';
  }
  function archRuns() {
    var runs = [], cur = null;
    kernels.forEach(function (k, i) { var a = k.arch || '?'; if (!cur || cur.arch !== a) { cur = { arch: a, from: i, to: i }; runs.push(cur); } else cur.to = i; });
    return runs;
  }
  var ARCH_BG = ['#dbe7f6', '#e6def3', '#dcefe3', '#f5e5d3', '#f1dbe2', '#e0eef0', '#ecebd5'];
  var box = document.getElementById('mapbox');
  // the header (arch band, kernel names) is drawn at the scroll offset, so it stays on top;
  // only the rows in view are drawn
  function draw() {
    var st = box.scrollTop, x0 = L.labelW, y0 = L.headH;
    ctx.clearRect(0, st, L.w, box.clientHeight + L.rh);
    ctx.textBaseline = 'middle';
    var first = Math.max(0, Math.floor((st - L.rh) / L.rh)), last = Math.min(rows.length, Math.ceil((st + box.clientHeight) / L.rh) + 1);
    for (var ri = first; ri < last; ri++) {
      var r = rows[ri], y = y0 + ri * L.rh;
      if (r.kind === 'object') {
        ctx.fillStyle = '#eef0f4'; ctx.fillRect(0, y, L.w, L.rh - 1);
        ctx.fillStyle = '#1d2330'; ctx.font = BOLD; ctx.fillText(ellipsize(r.o.id, L.labelW - 8), 4, y + L.rh / 2);
        continue;
      }
      ctx.font = FONT; ctx.fillStyle = '#2d3442';
      ctx.fillText(ellipsize(r.p.name, L.labelW - 24), 16, y + L.rh / 2);
      for (var ki = 0; ki < kernels.length; ki++) {
        var v = verdict(r.o, r.pi, ki);
        var x = x0 + ki * L.cw;
        ctx.fillStyle = v ? COLOR[shown(v)] : '#ffffff';
        ctx.fillRect(x, y + 1, L.cw - 1, L.rh - 3);
        // the verifier disagrees with the offline verdict: a black corner
        if (v && v.verifier && !v.verifier.agrees) { ctx.fillStyle = '#000'; ctx.beginPath(); ctx.moveTo(x + L.cw - 1, y + 1); ctx.lineTo(x + L.cw - 1, y + 7); ctx.lineTo(x + L.cw - 7, y + 1); ctx.fill(); }
        if (v && v.error && L.cw >= 7) { ctx.fillStyle = 'rgba(255,255,255,.85)'; ctx.fillRect(x + L.cw / 2 - 2, y + L.rh / 2 - 2.5, 3, 3); }
      }
    }
    [hover, selected].forEach(function (c, i) {
      if (!c) return;
      var ri = rows.findIndex(function (r) { return r.kind === 'program' && r.o === c.o && r.pi === c.pi; });
      if (ri < 0) return;
      ctx.strokeStyle = i ? '#000' : 'rgba(0,0,0,.45)'; ctx.lineWidth = i ? 2 : 1;
      ctx.strokeRect(x0 + c.ki * L.cw - 0.5, y0 + ri * L.rh + 0.5, L.cw, L.rh - 2);
    });
    ctx.save();
    ctx.translate(0, st);
    ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, L.w, L.headH);
    archRuns().forEach(function (r, i) {
      var x = x0 + r.from * L.cw, w = (r.to - r.from + 1) * L.cw;
      ctx.fillStyle = ARCH_BG[i % ARCH_BG.length]; ctx.fillRect(x, 0, w - 1, L.archH - 3);
      ctx.fillStyle = '#2d3442'; ctx.font = BOLD;
      ctx.fillText(ellipsize(r.arch, w - 6), x + 3, (L.archH - 3) / 2);
    });
    if (L.showCols) {
      ctx.font = FONT; ctx.fillStyle = '#2d3442';
      kernels.forEach(function (k, i) {
        ctx.save(); ctx.translate(x0 + i * L.cw + L.cw / 2, y0 - 5); ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left'; ctx.fillText(ellipsize(k.id, L.headH - L.archH - 10), 0, 0); ctx.restore();
      });
    }
    ctx.restore();
  }
  box.addEventListener('scroll', function () { draw(); });
  function render() { buildRows(); layout(); draw(); }

  function hit(ev) {
    var b = canvas.getBoundingClientRect();
    var x = ev.clientX - b.left, y = ev.clientY - b.top;
    var ri = Math.floor((y - L.headH) / L.rh), ki = Math.floor((x - L.labelW) / L.cw);
    if (y - box.scrollTop < L.headH) return ki >= 0 && ki < kernels.length ? { kind: 'kernel', ki: ki } : null;
    if (ri < 0 || ri >= rows.length) return null;
    var r = rows[ri];
    if (x < L.labelW) return r.kind === 'program' ? { kind: 'row', o: r.o, pi: r.pi } : null;
    if (r.kind !== 'program' || ki < 0 || ki >= kernels.length) return null;
    return { kind: 'cell', o: r.o, pi: r.pi, ki: ki };
  }
  var tip = document.getElementById('tip');
  canvas.addEventListener('mousemove', function (ev) {
    var h = hit(ev);
    var text = '';
    if (h && h.kind === 'cell') {
      var v = verdict(h.o, h.pi, h.ki);
      text = h.o.id + ' \u00b7 ' + h.o.programs[h.pi].name + ' @ ' + kernels[h.ki].id + ': ' + (v ? LABEL[shown(v)] + (v.verifier ? '; verifier ' + verifierText(v.verifier) : '') : 'no result');
      if (!hover || hover.o !== h.o || hover.pi !== h.pi || hover.ki !== h.ki) { hover = h; draw(); }
    } else if (h && h.kind === 'kernel') text = kernelText(kernels[h.ki]);
    else if (h && h.kind === 'row') text = h.o.id + ' \u00b7 ' + h.o.programs[h.pi].name + ' (click: all kernels)';
    if (text) { tip.textContent = text; tip.style.display = 'block'; tip.style.left = (ev.clientX + 14) + 'px'; tip.style.top = (ev.clientY + 12) + 'px'; }
    else tip.style.display = 'none';
  });
  canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; hover = null; draw(); });
  canvas.addEventListener('click', function (ev) {
    var h = hit(ev);
    if (!h) return;
    if (h.kind === 'cell') selectCell(h.o, h.pi, h.ki, true);
    else if (h.kind === 'row') showRow(h.o, h.pi);
    else if (h.kind === 'kernel') showKernel(h.ki);
  });

  function kernelText(k) {
    return k.id + ' \u2014 ' + [k.arch, k.kernelRelease, k.endianness ? k.endianness + '-endian' : null].filter(Boolean).join(', ');
  }
  var details = document.getElementById('details');
  function clear() { while (details.firstChild) details.removeChild(details.firstChild); }
  function kv(name, value) { return el('div', { 'class': 'kv' }, [name + ': ', el('b', { text: value })]); }

  function selectCell(o, pi, ki, fromClick) {
    selected = { o: o, pi: pi, ki: ki }; draw();
    var p = o.programs[pi], k = kernels[ki], r = resultOf(o, ki), v = verdict(o, pi, ki);
    clear();
    details.appendChild(el('h2', { text: o.id + ' \u00b7 ' + p.name }));
    details.appendChild(el('div', { 'class': 'kv' }, ['on ', el('b', { text: k.id }), ' \u2014 ' + [k.arch || 'arch unknown', k.kernelRelease || 'release unknown', k.endianness ? k.endianness + '-endian' : null, k.file].filter(Boolean).join(' \u00b7 ')]));
    if (p.section) details.appendChild(kv('section', p.section));
    if (!v || !r) { details.appendChild(el('p', { text: 'No result for this pair.' })); return; }
    details.appendChild(badge(shown(v)));
    if (v.verifier) details.appendChild(kv('verifier', verifierText(v.verifier)));
    var outcome = { relocated: 'libbpf relocated the object', stopped: 'libbpf stopped at a failed relocation', error: 'libbpf could not load the object', 'not-applicable': 'not tried' }[r.outcome];
    details.appendChild(kv('object', outcome + (r.outcome === 'relocated' || r.outcome === 'stopped' ? ' (' + plural(r.relocations, 'CO-RE relocation') + ', ' + r.failed.length + ' failed)' : '')));
    if (v.expected) details.appendChild(kv('expected because', v.expected));
    if (v.note) details.appendChild(kv('note', v.note));
    var pe = (r.disabled || []).find(function (d) { return d.program === v.program; });
    var un = (r.unmet || []).filter(function (u) { return u.program === v.program; });
    var lacks = un.filter(function (u) { return u.need !== 'ctx-access'; });
    var refused = un.filter(function (u) { return u.need === 'ctx-access'; }).map(function (u) { return u.name + ' (insn ' + u.insn + ')'; }).join('; ');
    var perr = un.length ? (lacks.length ? { name: 'NotSupportedError', message: 'this kernel lacks ' + lacks.map(function (u) { return (u.need === 'helper' ? 'helper ' : u.need === 'map-type' ? 'map type ' : 'program type ') + u.name + (u.map ? " (map '" + u.map + "')" : ''); }).join('; ') + (refused ? '; its verifier refuses ' + refused : '') }
      : { name: 'VerifierError', message: "the kernel's verifier refuses " + refused })
      : pe ? pe.error : r.error;
    if (v.error && perr) details.appendChild(el('pre', { text: perr.name + ': ' + perr.message }));
    var failed = v.failures.map(function (i) { return r.failed[i]; });
    if (failed.length) {
      details.appendChild(el('h3', { 'class': 'fh', text: 'Failed relocations (' + failed.length + ')' }));
      var t = el('table', { 'class': 'failures' }, [el('tr', {}, ['Program', 'Insn', 'Kind', 'Access', 'Local'].map(function (h) { return el('th', { text: h }); }))]);
      failed.forEach(function (f) {
        t.appendChild(el('tr', { 'class': 'failure' }, [
          el('td', { text: f.program }), el('td', { 'class': 'num', text: f.insn === null ? '?' : String(f.insn) }),
          el('td', {}, [el('code', { text: f.kind })]), el('td', {}, [el('code', { text: f.access })]),
          el('td', { 'class': 'num', text: f.local === null ? '-' : f.local })]));
        t.appendChild(el('tr', { 'class': 'why' }, [el('td', { colspan: '5', 'class': 'reason' }, [
          el('span', { 'class': 'cause', style: 'color:' + (f.expected ? '#9a6b00' : '#d3323b'), text: CAUSE[f.cause] || f.cause }), ': ' + f.reason,
          f.poisoned ? el('div', { 'class': 'hint', text: 'libbpf poisoned the instruction, and it may be reached: the verifier rejects the program' }) : null,
          f.path ? el('div', { 'class': 'hint', text: 'reached by insn ' + f.path.insns.join(' → ') + ' of ' + f.path.program }) : f.reachNote ? el('div', { 'class': 'hint', text: f.reachNote }) : null,
          f.expected ? el('div', { 'class': 'xp', text: 'expected: ' + f.expected }) : null])]));
      });
      details.appendChild(t);
    } else if (v.status === 'pass' && !(v.guarded && v.guarded.length)) details.appendChild(el('p', { 'class': 'hint', text: 'Every CO-RE relocation of this program resolved against this kernel.' }));
    var guarded = (v.guarded || []).map(function (i) { return r.failed[i]; });
    if (guarded.length) {
      details.appendChild(el('h3', { 'class': 'fh', text: 'Guarded relocations (' + guarded.length + '): failed, in dead code' }));
      details.appendChild(el('p', { 'class': 'hint', text: 'libbpf poisoned these instructions, but the CO-RE and kconfig constants rule out the branches that lead there: the verifier never visits them, the program loads.' }));
      var g = el('table', { 'class': 'failures' }, [el('tr', {}, ['Program', 'Insn', 'Kind', 'Access', 'Why it failed'].map(function (h) { return el('th', { text: h }); }))]);
      guarded.forEach(function (f) {
        g.appendChild(el('tr', { 'class': 'guarded' }, [
          el('td', { text: f.program }), el('td', { 'class': 'num', text: f.insn === null ? '?' : String(f.insn) }),
          el('td', {}, [el('code', { text: f.kind })]), el('td', {}, [el('code', { text: f.access })]),
          el('td', { text: (CAUSE[f.cause] || f.cause) + (f.reachNote ? ' (' + f.reachNote + ')' : '') })]));
      });
      details.appendChild(g);
    }
    document.body.setAttribute('data-selected', o.id + '/' + p.name + '/' + k.id);
    if (fromClick) history.replaceState(null, '', '#cell=' + [o.id, p.name, k.id].map(encodeURIComponent).join('/'));
    else {
      // selected from the URL or on load: bring the cell into view
      var ri = rows.findIndex(function (x) { return x.kind === 'program' && x.o === o && x.pi === pi; });
      if (ri >= 0) {
        var cy = L.headH + ri * L.rh, cx = L.labelW + ki * L.cw;
        if (cy + L.rh > box.scrollTop + box.clientHeight || cy < box.scrollTop + L.headH) box.scrollTop = Math.max(0, cy - L.headH - 3 * L.rh);
        if (cx + L.cw > box.scrollLeft + box.clientWidth) box.scrollLeft = Math.max(0, cx - box.clientWidth / 2);
      }
    }
  }
  function showRow(o, pi) {
    var p = o.programs[pi];
    clear();
    details.appendChild(el('h2', { text: o.id + ' \u00b7 ' + p.name }));
    var t = el('table', {}, [el('tr', {}, ['Kernel', 'Arch', 'Release', 'Verdict'].map(function (h) { return el('th', { text: h }); }))]);
    kernels.forEach(function (k, ki) {
      var v = verdict(o, pi, ki);
      var tr = el('tr', { style: 'cursor:pointer' }, [el('td', { text: k.id }), el('td', { text: k.arch || '' }), el('td', { text: k.kernelRelease || '' }), el('td', {}, [v ? badge(shown(v)) : '-', v && v.verifier ? ' verifier ' + verifierText(v.verifier) : null])]);
      tr.addEventListener('click', function () { selectCell(o, pi, ki, true); });
      t.appendChild(tr);
    });
    details.appendChild(t);
  }
  function showKernel(ki) {
    var k = kernels[ki];
    clear();
    details.appendChild(el('h2', { text: k.id }));
    [['file', k.file], ['arch', k.arch], ['kernel release', k.kernelRelease], ['uname -v', k.kernelVersion], ['endianness', k.endianness], ['package', k.package ? k.package + ' ' + (k.version || '') : null], ['BTF sha256', k.btfSha256]].forEach(function (x) { if (x[1]) details.appendChild(kv(x[0], x[1])); });
    var t = el('table', {}, [el('tr', {}, ['Object', 'Program', 'Verdict'].map(function (h) { return el('th', { text: h }); }))]);
    objects.forEach(function (o) { o.programs.forEach(function (p, pi) {
      var v = verdict(o, pi, ki);
      if (!v || v.status === 'pass' || v.status === 'not-applicable') return;
      var tr = el('tr', { style: 'cursor:pointer' }, [el('td', { text: o.id }), el('td', { text: p.name }), el('td', {}, [badge(v.status)])]);
      tr.addEventListener('click', function () { selectCell(o, pi, ki, true); });
      t.appendChild(tr);
    }); });
    details.appendChild(el('p', { 'class': 'hint', text: 'Programs that do not simply relocate on this kernel:' }));
    details.appendChild(t);
  }

  // kernels and expectations tables
  var kt = document.getElementById('kernels');
  kt.appendChild(el('tr', {}, ['Kernel', 'Arch', 'Release', 'Endianness', 'Relocates', 'Expected failures', 'Unexpected failures', 'Not applicable'].map(function (h) { return el('th', { text: h }); })));
  kernels.forEach(function (k, ki) {
    var c = { 'pass': 0, 'expected-fail': 0, 'unexpected-fail': 0, 'not-applicable': 0 };
    objects.forEach(function (o) { o.programs.forEach(function (p, pi) { var v = verdict(o, pi, ki); if (v && c[v.status] !== undefined) c[v.status]++; }); });
    var tr = el('tr', { style: 'cursor:pointer' }, [el('td', { text: k.id }), el('td', { text: k.arch || '' }), el('td', { text: k.kernelRelease || '' }), el('td', { text: k.endianness || '' }),
      el('td', { 'class': 'num', text: String(c.pass) }), el('td', { 'class': 'num', text: String(c['expected-fail']) }),
      el('td', { 'class': 'num', style: c['unexpected-fail'] ? 'color:#d3323b;font-weight:600' : '', text: String(c['unexpected-fail']) }), el('td', { 'class': 'num', text: String(c['not-applicable']) })]);
    tr.addEventListener('click', function () { showKernel(ki); window.scrollTo(0, 0); });
    kt.appendChild(tr);
  });
  R.skippedKernels.forEach(function (s) { kt.appendChild(el('tr', {}, [el('td', { text: s.file }), el('td', { colspan: '7', 'class': 'hint', text: 'skipped: ' + s.reason })])); });
  var ex = document.getElementById('expectations');
  if (R.expectations.entries.length) {
    ex.appendChild(el('tr', {}, ['Object', 'Program', 'Kernel', 'Arch', 'Access / error', 'Reason', 'Matched'].map(function (h) { return el('th', { text: h }); })));
    R.expectations.entries.forEach(function (e, i) {
      function g(v) { return v === undefined ? '*' : [].concat(v).join(' | '); }
      ex.appendChild(el('tr', {}, [el('td', { text: g(e.object) }), el('td', { text: g(e.program) }), el('td', { text: g(e.kernel) }), el('td', { text: g(e.arch) }),
        el('td', { text: e.error !== undefined ? 'error ' + g(e.error) : (e.access !== undefined || e.kind !== undefined ? g(e.kind) + ' ' + g(e.access) : 'any failure') }),
        el('td', { text: e.reason || '' }), el('td', { 'class': 'num', style: R.expectations.uses[i] ? '' : 'color:#d3323b', text: String(R.expectations.uses[i]) })]));
    });
  } else ex.appendChild(el('tr', {}, [el('td', { 'class': 'hint', text: 'No --expect-fail file; only programs named ___err_ are expected to fail.' })]));

  document.getElementById('only-failing').addEventListener('change', function (e) { onlyFailing = e.target.checked; render(); });
  document.getElementById('filter').addEventListener('input', function (e) { query = e.target.value.trim().toLowerCase(); render(); });
  window.addEventListener('resize', render);
  render();

  // #cell=OBJECT/PROGRAM/KERNEL selects a cell; otherwise the first unexpected failure is shown
  function fromHash() {
    var m = /^#cell=([^/]*)\/([^/]*)\/([^/]*)$/.exec(location.hash);
    if (!m) return false;
    var oid = decodeURIComponent(m[1]), pn = decodeURIComponent(m[2]), kid = decodeURIComponent(m[3]);
    var o = objects.find(function (x) { return x.id === oid; });
    var pi = o ? o.programs.findIndex(function (p) { return p.name === pn; }) : -1;
    if (!o || pi < 0 || kIndex[kid] === undefined) return false;
    selectCell(o, pi, kIndex[kid], false);
    return true;
  }
  if (!fromHash()) {
    var first = null;
    R.results.some(function (r) { return r.programs.some(function (v, pi) { if (v.status === 'unexpected-fail') { first = { o: objects.find(function (x) { return x.id === r.object; }), pi: pi, ki: kIndex[r.kernel] }; return true; } return false; }); });
    if (first) selectCell(first.o, first.pi, first.ki, false);
  }
  window.addEventListener('hashchange', fromHash);
  document.title = 'corebpf check: ' + (bad ? plural(S.unexpectedFail, 'unexpected failure') : 'OK') + ' (' + S.kernels + ' kernels)';
  document.body.setAttribute('data-rendered', 'true');
})();
`;
