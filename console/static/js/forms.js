// CREATE and UPDATE forms, built from the CSE's own attribute tables
// (/console/api/types): a field for each attribute the operation may carry,
// mandatory ones marked, values checked by kind before sending, and the exact
// request shown as it will go out.

import { el, $, jsonNode, toast } from './util.js';
import { state, typeOf, request, send, problem, rscName } from './api.js';

// Attributes worth showing before "more attributes", besides the mandatory ones.
const favourites = {
  2: ['rn', 'apn', 'poa', 'rr', 'srv', 'api'],
  3: ['rn', 'mni', 'mbs', 'mia'],
  4: ['rn', 'cnf', 'con'],
  23: ['rn', 'nu', 'enc', 'nct', 'exc'],
  1: ['rn', 'pv', 'pvs'],
};
const commonFavourites = ['rn', 'lbl'];

const enumLabels = {
  nct: { 1: 'all attributes', 2: 'modified attributes', 3: 'resource ID', 4: 'trigger payload', 5: 'time series notification' },
  pn: { 1: 'sendLatest', 2: 'sendAllPending' },
  cst: { 1: 'IN-CSE', 2: 'MN-CSE', 3: 'ASN-CSE' },
  regs: { 1: 'registered', 2: 'not registered' },
};

const kindHints = {
  string: 'text', bool: 'true or false', int: 'integer', time: 'timestamp YYYYMMDDThhmmss (UTC)',
  absRelTime: 'timestamp YYYYMMDDThhmmss or milliseconds', stringList: 'one value per line',
  intList: 'integers separated by commas', any: 'text, or JSON when "JSON value" is ticked',
  object: 'a JSON object', list: 'a JSON list', duration: 'ISO 8601 duration, e.g. PT1H',
};

const timestampRE = /^\d{8}T\d{6}(,\d{1,6})?$/;

// Field is one attribute's input.
class Field {
  constructor(attr, current, mode) {
    this.attr = attr;
    this.mode = mode;
    this.current = current; // the value now (UPDATE), undefined otherwise
    const id = 'f-' + attr.sn;
    const k = attr.kind;
    const presence = mode === 'create' ? attr.create : attr.update;
    this.mandatory = presence === 'M';
    if (k === 'bool') {
      this.input = el('select', { id }, el('option', { value: '', text: '(not set)' }), el('option', { text: 'true' }), el('option', { text: 'false' }));
    } else if (k === 'int' && attr.enum) {
      this.input = el('select', { id }, el('option', { value: '', text: '(not set)' }),
        attr.enum.map(v => el('option', { value: v, text: enumLabels[attr.sn]?.[v] ? `${v} – ${enumLabels[attr.sn][v]}` : String(v) })));
    } else if (['stringList', 'object', 'list', 'any'].includes(k)) {
      this.input = el('textarea', { id, rows: k === 'stringList' ? 2 : 3, spellcheck: 'false' });
    } else {
      this.input = el('input', { id, spellcheck: 'false', autocomplete: 'off', inputmode: k === 'int' ? 'numeric' : null,
        placeholder: { time: '20301231T235959', duration: 'PT1H', absRelTime: '20301231T235959 or 60000' }[k] || null });
    }
    this.input.dataset.sn = attr.sn;
    if (k === 'any') {
      this.asJSON = el('input', { type: 'checkbox', id: id + '-json' });
      this.asJSON.addEventListener('change', () => this.onchange && this.onchange());
    }
    this.msg = el('div', { class: 'msg' });
    const range = attr.min != null && attr.max != null ? ` ${attr.min}…${attr.max}` : attr.min != null && attr.min > 0 ? ` ≥ ${attr.min}` : '';
    this.box = el('div', { class: 'field', dataset: { sn: attr.sn } },
      el('label', { for: id }, el('span', { class: 'ln', text: attr.name }), el('code', { text: attr.sn }), this.mandatory ? el('span', { class: 'req', title: 'mandatory', text: '*' }) : null),
      this.extra = el('div', { class: 'row' }, this.input),
      el('div', { class: 'hint', text: (kindHints[k] || k) + range + (this.asJSON ? '' : '') }),
      this.asJSON ? el('label', { class: 'hint' }, this.asJSON, ' JSON value') : null,
      this.msg);
    if (current !== undefined) this.setValue(current);
  }

  setValue(v) {
    const k = this.attr.kind;
    if (v === undefined || v === null) { this.input.value = ''; return; }
    if (k === 'stringList' && Array.isArray(v)) this.input.value = v.join('\n');
    else if (k === 'intList' && Array.isArray(v)) this.input.value = v.join(', ');
    else if (k === 'object' || k === 'list') this.input.value = JSON.stringify(v, null, 2);
    else if (k === 'any') {
      if (typeof v === 'string') this.input.value = v;
      else { this.input.value = JSON.stringify(v); this.asJSON.checked = true; }
    } else this.input.value = String(v);
  }

  // read returns {set, value} or {error}.
  read() {
    const a = this.attr, raw = this.input.value, t = raw.trim();
    if (t === '' && a.kind !== 'any' && a.kind !== 'string') return { set: false };
    if (raw === '' ) return { set: false };
    const int = s => {
      if (!/^-?\d+$/.test(s)) return { error: `"${s}" is not an integer` };
      const n = Number(s);
      if (a.min != null && n < a.min) return { error: `must be at least ${a.min}` };
      if (a.max != null && n > a.max) return { error: `must be at most ${a.max}` };
      return { value: n };
    };
    switch (a.kind) {
      case 'bool': return { set: true, value: t === 'true' };
      case 'int': { const r = int(t); return r.error ? r : { set: true, value: r.value }; }
      case 'time': return timestampRE.test(t) ? { set: true, value: t } : { error: 'a timestamp looks like 20301231T235959' };
      case 'absRelTime': return /^\d+$/.test(t) ? { set: true, value: Number(t) } : timestampRE.test(t) ? { set: true, value: t } : { error: 'a timestamp (20301231T235959) or milliseconds' };
      case 'stringList': return { set: true, value: raw.split('\n').map(s => s.trim()).filter(Boolean) };
      case 'intList': {
        const out = [];
        for (const s of t.split(/[\s,]+/).filter(Boolean)) { const r = int(s); if (r.error) return r; out.push(r.value); }
        return { set: true, value: out };
      }
      case 'object': case 'list': {
        let v;
        try { v = JSON.parse(t); } catch (e) { return { error: 'not JSON: ' + e.message }; }
        if (a.kind === 'object' && (typeof v !== 'object' || v === null || Array.isArray(v))) return { error: 'must be a JSON object {…}' };
        if (a.kind === 'list' && !Array.isArray(v)) return { error: 'must be a JSON list […]' };
        return { set: true, value: v };
      }
      case 'any':
        if (this.asJSON.checked) { try { return { set: true, value: JSON.parse(t) }; } catch (e) { return { error: 'not JSON: ' + e.message }; } }
        return { set: true, value: raw };
    }
    return { set: true, value: raw };
  }
}

let open = null; // the form being shown

function presetsFor(ty, opts) {
  const p = {};
  if (ty === 2) { p.srv = [state.rvi]; p.rr = false; }
  if (ty === 1 && state.originator) {
    const rules = { acr: [{ acor: [state.originator], acop: 63 }] };
    p.pv = rules; p.pvs = rules;
  }
  if (ty === 23 && opts.sink) { p.nu = [opts.sink]; p.enc = { net: [1, 2, 3, 4] }; }
  return Object.assign(p, opts.preset || {});
}

// openForm shows the CREATE form for a child of type ty under parent, or the
// UPDATE form of the resource at target.
export function openForm({ mode, ty, path, current = {}, sinkURL, subscribe = false, preset, onDone, onRaw }) {
  const t = typeOf(ty);
  if (!t) { toast(`The console does not know resource type ${ty}`, { fail: true }); return; }
  const dlg = $('#form-dialog');
  const create = mode === 'create';
  $('#form-title').textContent = create ? `Create ${t.name} under ${path}` : `Update ${t.name} ${path}`;
  const presets = create ? presetsFor(ty, { sink: subscribe ? sinkURL : null, preset }) : {};
  const allowed = t.attrs.filter(a => (create ? a.create : a.update) !== 'NP');
  const fav = new Set([...(favourites[ty] || []), ...commonFavourites]);
  const fields = allowed.map(a => new Field(a, create ? presets[a.sn] : current[a.sn], mode));
  const primary = [], rest = [];
  for (const f of fields) {
    const shown = f.mandatory || fav.has(f.attr.sn) || presets[f.attr.sn] !== undefined || (!create && current[f.attr.sn] !== undefined);
    (shown ? primary : rest).push(f);
  }
  // mandatory first, then the table's order
  primary.sort((x, y) => (y.mandatory - x.mandatory));
  const box = $('#form-fields');
  box.replaceChildren(...primary.map(f => f.box));
  if (rest.length) {
    box.append(el('details', { class: 'more-attrs' }, el('summary', { text: `More attributes (${rest.length})` }), el('div', { class: 'fields' }, rest.map(f => f.box))));
  }
  // nu: offer the console's sink.
  const nu = fields.find(f => f.attr.sn === 'nu');
  if (nu && sinkURL) {
    nu.extra.append(el('button', { type: 'button', title: 'Add the console\'s notification sink', text: 'use console sink', onclick: () => {
      const lines = nu.input.value.split('\n').map(s => s.trim()).filter(Boolean);
      if (!lines.includes(sinkURL)) lines.push(sinkURL);
      nu.input.value = lines.join('\n'); update();
    } }));
  }
  const err = $('#form-error');
  err.hidden = true;

  // build returns the request, or null with the fields' errors shown.
  const build = (showErrors) => {
    const content = {};
    let bad = false;
    for (const f of fields) {
      const r = f.read();
      f.box.classList.toggle('invalid', !!r.error && showErrors);
      f.msg.textContent = showErrors && r.error ? r.error : '';
      if (r.error) { bad = true; continue; }
      if (create) {
        if (r.set) content[f.attr.sn] = r.value;
        else if (f.mandatory && showErrors) { f.box.classList.add('invalid'); f.msg.textContent = 'mandatory'; bad = true; }
      } else {
        const before = current[f.attr.sn];
        if (r.set) { if (JSON.stringify(r.value) !== JSON.stringify(before)) content[f.attr.sn] = r.value; }
        else if (before !== undefined) content[f.attr.sn] = null; // emptied: removed
      }
    }
    const req = request({ op: create ? 'create' : 'update', path, ty: create ? ty : undefined, content: { [t.key]: content } });
    return { req, bad, content };
  };
  const update = () => {
    const { req, content } = build(false);
    const pre = $('#form-preview');
    pre.replaceChildren(`${req.method} ${req.path}\n` + req.headers.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n');
    pre.append(jsonNode({ [t.key]: content }));
  };
  for (const f of fields) {
    f.onchange = update;
    f.input.addEventListener('input', update);
    f.input.addEventListener('change', update);
    f.input.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || f.input.tagName === 'INPUT')) { e.preventDefault(); submit(); } });
  }
  update();

  const sendBtn = $('#form-send');
  sendBtn.textContent = create ? 'Create' : 'Update';
  sendBtn.disabled = false;
  const submit = async () => {
    const { req, bad, content } = build(true);
    if (bad) { err.textContent = 'Some values are not valid: see the marked fields.'; err.hidden = false; return; }
    if (!create && Object.keys(content).length === 0) { err.textContent = 'Nothing changed.'; err.hidden = false; return; }
    sendBtn.disabled = true;
    const r = await send(req);
    sendBtn.disabled = false;
    if (!r.ok) { err.textContent = problem(r); err.hidden = false; return; }
    close();
    const rn = r.json && r.json[t.key] && r.json[t.key].rn;
    toast(`${create ? 'Created' : 'Updated'} ${t.name}${rn ? ' ' + rn : ''}: ${rscName(r.rsc)}`);
    onDone && onDone(r);
  };
  const close = () => { dlg.close(); open = null; };
  open = { submit, close, raw: () => { const { req } = build(false); close(); onRaw && onRaw(req); } };
  if (!dlg.open) dlg.showModal();
  (fields.find(f => f.mandatory && !f.input.value) || fields[0])?.input.focus();
}

// confirmDelete asks before a DELETE.
export function confirmDialog(text, okLabel = 'Delete') {
  const dlg = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  return new Promise(resolve => {
    const done = v => { dlg.close(); resolve(v); };
    $('#confirm-ok').onclick = () => done(true);
    $('#confirm-cancel').onclick = () => done(false);
    dlg.oncancel = () => resolve(false);
    dlg.showModal();
    $('#confirm-cancel').focus();
  });
}

export function initForms() {
  $('#form-send').addEventListener('click', () => open && open.submit());
  $('#form-cancel').addEventListener('click', () => open && open.close());
  $('#form-close').addEventListener('click', () => open && open.close());
  $('#form-raw').addEventListener('click', () => open && open.raw());
  $('#form-dialog').addEventListener('cancel', () => { open = null; });
}
