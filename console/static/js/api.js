// The console's oneM2M client: every request goes from this page to the CSE's
// own HTTP API (TS-0009) with the originator typed in at the top, like any
// other client's. Each exchange is announced on `bus` for the log.

import { tryJSON } from './util.js';

export const bus = new EventTarget();

export const state = {
  originator: '',
  rvi: '3',
  info: { cseID: '', cseName: '', spID: '' },
  types: new Map(), // ty -> type description (from /console/api/types)
  rsc: {},          // "2000" -> "OK"
  releases: [],
};

export async function loadMeta() {
  const [info, desc] = await Promise.all([
    fetch('api/info').then(r => r.json()),
    fetch('api/types').then(r => r.json()),
  ]);
  state.info = info;
  for (const t of desc.types) {
    t.attrByName = new Map(t.attrs.map(a => [a.sn, a]));
    state.types.set(t.ty, t);
  }
  state.rsc = desc.rsc;
  state.releases = desc.releases;
}

export function typeOf(ty) { return state.types.get(Number(ty)); }
export function typeByKey(key) { for (const t of state.types.values()) if (t.key === key) return t; return undefined; }

let counter = 0;
export function newRI() { return 'console-' + Date.now().toString(36) + '-' + (++counter); }

export function rscName(rsc) { return rsc ? `${rsc} ${state.rsc[rsc] || ''}`.trim() : ''; }

// send performs one HTTP exchange. headers is a list of [name, value].
export async function send({ method, path, headers = [], body }) {
  const entry = { id: ++counter, time: new Date(), method, path, reqHeaders: headers, reqBody: body || '' };
  const h = new Headers();
  for (const [k, v] of headers) h.append(k, v);
  const t0 = performance.now();
  try {
    const res = await fetch(path, { method, headers: h, body: body ? body : undefined, cache: 'no-store' });
    entry.status = res.status;
    entry.statusText = res.statusText;
    entry.resHeaders = [...res.headers.entries()];
    entry.resBody = await res.text();
    entry.rsc = res.headers.get('X-M2M-RSC') || '';
    entry.json = tryJSON(entry.resBody);
  } catch (err) {
    entry.error = String(err && err.message || err);
  }
  entry.ms = Math.round(performance.now() - t0);
  entry.ok = !entry.error && (entry.rsc ? entry.rsc.startsWith('2') : entry.status < 300);
  bus.dispatchEvent(new CustomEvent('request', { detail: entry }));
  return entry;
}

const methods = { create: 'POST', retrieve: 'GET', update: 'PUT', delete: 'DELETE', notify: 'POST' };

// request builds the headers of a oneM2M operation on a CSE-relative path
// ("cse-in/ae1") or an absolute one ("/~/id-in/cse-in") and returns what
// send needs.
export function request({ op, path, query, ty, content }) {
  const headers = [];
  if (state.originator) headers.push(['X-M2M-Origin', state.originator]);
  headers.push(['X-M2M-RI', newRI()], ['X-M2M-RVI', state.rvi], ['Accept', 'application/json']);
  let body;
  if (content !== undefined) {
    body = JSON.stringify(content);
    headers.push(['Content-Type', 'application/json' + (ty ? ';ty=' + ty : '')]);
  }
  let url = path.startsWith('/') ? path : '/' + path;
  if (query) {
    const q = new URLSearchParams(query).toString();
    if (q) url += (url.includes('?') ? '&' : '?') + q;
  }
  return { method: methods[op], path: url, headers, body };
}

export function op(args) { return send(request(args)); }

// problem describes a failed exchange in one line: "4103 ORIGINATOR_HAS_NO_PRIVILEGE: ...".
export function problem(entry) {
  if (entry.error) return 'No answer: ' + entry.error;
  const dbg = entry.json && typeof entry.json === 'object' ? entry.json['m2m:dbg'] : undefined;
  const code = entry.rsc ? rscName(entry.rsc) : `HTTP ${entry.status} ${entry.statusText || ''}`.trim();
  return dbg ? `${code}: ${dbg}` : (code || 'failed') + (entry.resBody && !entry.json ? ': ' + entry.resBody.slice(0, 300) : '');
}

// curl renders an exchange as a command line a user can paste into a shell.
export function curl({ method, path, headers, body }) {
  const q = s => "'" + String(s).replace(/'/g, "'\\''") + "'";
  const parts = ['curl -si', '-X', method, q(location.origin + path)];
  for (const [k, v] of headers) parts.push('-H', q(`${k}: ${v}`));
  if (body) parts.push('-d', q(body));
  return parts.join(' ');
}
