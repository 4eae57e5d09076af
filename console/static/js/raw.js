// The Request tab: any HTTP request to the CSE with the method, path, headers
// and body the user writes, and the whole answer with its headers.

import { el, $, showBody, tryJSON, copyText, toast } from './util.js';
import { state, send, newRI, rscName, curl } from './api.js';

function parseHeaders(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const i = t.indexOf(':');
    if (i <= 0) throw new Error(`header line "${t}" has no "Name: value"`);
    out.push([t.slice(0, i).trim(), t.slice(i + 1).trim()]);
  }
  return out;
}

export class Raw {
  constructor() {
    this.edited = false;
    $('#raw-headers').addEventListener('input', () => { this.edited = true; });
    $('#raw-send').addEventListener('click', () => this.send());
    $('#raw-path').addEventListener('keydown', e => { if (e.key === 'Enter') this.send(); });
    $('#raw-reset').addEventListener('click', () => { this.edited = false; this.defaults(); });
    $('#raw-format').addEventListener('click', () => {
      const v = tryJSON($('#raw-body').value);
      if (v === undefined) toast('The body is not JSON', { fail: true });
      else $('#raw-body').value = JSON.stringify(v, null, 2);
    });
    $('#raw-curl').addEventListener('click', () => {
      try {
        const text = curl(this.current());
        const pre = $('#raw-curl-text');
        pre.textContent = text;
        pre.hidden = false;
        copyText(text);
      } catch (e) { toast(e.message, { fail: true }); }
    });
    $('#raw-method').addEventListener('change', () => { if (!this.edited) this.defaults(); });
    $('#raw-template').addEventListener('change', e => { this.template(e.target.value); e.target.value = ''; });
  }

  // defaults writes the usual headers for the current method and originator
  // (until the user edits them).
  defaults() {
    const lines = [];
    if (state.originator) lines.push(`X-M2M-Origin: ${state.originator}`);
    lines.push(`X-M2M-RVI: ${state.rvi}`, 'Accept: application/json');
    const m = $('#raw-method').value;
    if (m === 'POST' || m === 'PUT') lines.push('Content-Type: application/json' + (m === 'POST' && this.ty ? `;ty=${this.ty}` : ''));
    $('#raw-headers').value = lines.join('\n');
  }

  originatorChanged() { if (!this.edited) this.defaults(); }

  fillTemplates() {
    const sel = $('#raw-template');
    const add = (value, text) => sel.append(el('option', { value, text }));
    add('retrieve', 'RETRIEVE the path');
    add('children', 'RETRIEVE child references (rcn=6)');
    add('discovery', 'DISCOVERY (fu=1) below the path');
    add('la', 'RETRIEVE latest contentInstance (…/la)');
    for (const t of state.types.values()) if (t.creatable && t.ty < 10000) add('create:' + t.ty, `CREATE ${t.name}`);
    add('update', 'UPDATE (labels)');
    add('delete', 'DELETE the path');
  }

  template(name) {
    if (!name) return;
    const path = ($('#raw-path').value || '/' + state.info.cseName).split('?')[0];
    const set = (method, p, body, ty) => {
      this.ty = ty;
      $('#raw-method').value = method;
      $('#raw-path').value = p;
      $('#raw-body').value = body ? JSON.stringify(body, null, 2) : '';
      this.edited = false;
      this.defaults();
    };
    if (name === 'retrieve') set('GET', path);
    else if (name === 'children') set('GET', path + '?rcn=6');
    else if (name === 'discovery') set('GET', path + '?fu=1&lim=50');
    else if (name === 'la') set('GET', path.replace(/\/$/, '') + '/la');
    else if (name === 'delete') set('DELETE', path);
    else if (name === 'update') {
      // The key of the resource's type: from the resource view when it shows this path.
      const key = (this.keyFor && this.keyFor(path.replace(/^\//, ''))) || 'm2m:cnt';
      set('PUT', path, { [key]: { lbl: ['key:value'] } });
    } else if (name.startsWith('create:')) {
      const t = state.types.get(Number(name.slice(7)));
      const examples = { api: 'Nmyapp', rr: false, srv: [state.rvi], con: '21.5', nu: [this.sinkURL || 'http://127.0.0.1:9999/notify'], pv: { acr: [{ acor: [state.originator || 'CAdmin'], acop: 63 }] } };
      examples.pvs = examples.pv;
      const body = { rn: 'my' + t.name.replace(/^./, c => c.toUpperCase()) };
      for (const a of t.attrs) if (a.create === 'M') body[a.sn] = examples[a.sn] ?? '';
      set('POST', path, { [t.key]: body }, t.ty);
    }
  }

  // load puts a request into the form (from a form's "Open in Request tab",
  // the log's "Repeat", or a resource's "Raw request").
  load({ method, path, headers, body }) {
    this.ty = undefined;
    $('#raw-method').value = method;
    $('#raw-path').value = path;
    if (headers) {
      $('#raw-headers').value = headers.filter(([k]) => k.toLowerCase() !== 'x-m2m-ri').map(([k, v]) => `${k}: ${v}`).join('\n');
      this.edited = true;
    } else {
      this.edited = false;
      this.defaults();
    }
    const v = tryJSON(body);
    $('#raw-body').value = !body ? '' : v !== undefined ? JSON.stringify(v, null, 2) : body;
  }

  current() {
    const method = $('#raw-method').value;
    let path = $('#raw-path').value.trim() || '/';
    if (!path.startsWith('/')) path = '/' + path;
    const headers = parseHeaders($('#raw-headers').value);
    if (!headers.some(([k]) => k.toLowerCase() === 'x-m2m-ri')) headers.push(['X-M2M-RI', newRI()]);
    const body = method === 'GET' || method === 'DELETE' ? '' : $('#raw-body').value;
    return { method, path, headers, body };
  }

  async send() {
    let req;
    try { req = this.current(); } catch (e) { toast(e.message, { fail: true }); return; }
    $('#raw-send').disabled = true;
    const status = $('#raw-status');
    status.className = 'status-line muted';
    status.textContent = 'Sending…';
    const r = await send(req);
    $('#raw-send').disabled = false;
    if (r.error) {
      status.className = 'status-line fail';
      status.textContent = 'No answer: ' + r.error;
      return;
    }
    status.className = 'status-line ' + (r.ok ? 'ok' : 'fail');
    status.textContent = `HTTP ${r.status} ${r.statusText}` + (r.rsc ? ` · ${rscName(r.rsc)}` : '') + ` · ${r.ms} ms`;
    const tbody = $('#raw-resp-headers tbody');
    tbody.replaceChildren(...r.resHeaders.map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: v }))));
    showBody($('#raw-resp-body'), r.resBody);
  }
}
