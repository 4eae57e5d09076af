// The Notifications tab: this browser's notification sink (a URL under
// /console/sink/ that a subscription's nu can name) and what arrives at it,
// streamed live over Server-Sent Events.

import { el, $, jsonNode, tryJSON, clock, store, copyText } from './util.js';

const netNames = {
  1: 'update of resource', 2: 'delete of resource', 3: 'create of direct child', 4: 'delete of direct child',
  5: 'retrieve of container', 6: 'trigger for AE', 7: 'blocking update', 8: 'missing data',
};

function randomID() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
  return [...crypto.getRandomValues(new Uint8Array(16))].map(b => b.toString(16).padStart(2, '0')).join('');
}

export class Live {
  constructor({ onCount }) {
    this.onCount = onCount;
    this.unseen = 0;
    this.visible = false;
    this.id = store.get('sink');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(this.id)) { this.id = randomID(); store.set('sink', this.id); }
    this.url = `${location.origin}/console/sink/${this.id}`;
    this.clearedAt = store.get('sink-cleared');
    $('#sink-url').textContent = this.url;
    $('#sink-copy').addEventListener('click', () => copyText(this.url));
    $('#sink-clear').addEventListener('click', () => {
      $('#notif-list').replaceChildren();
      $('#notif-empty').hidden = false;
      this.clearedAt = new Date().toISOString();
      store.set('sink-cleared', this.clearedAt);
      this.setUnseen(0);
    });
  }

  connect() {
    const status = $('#live-status');
    const state = $('#sink-state');
    const es = new EventSource(`events/${this.id}`);
    es.addEventListener('open', () => {
      status.className = 'live on';
      status.title = 'Receiving notifications live';
      state.textContent = 'connected: notifications appear as they arrive';
    });
    es.addEventListener('error', () => {
      status.className = 'live off';
      status.title = 'Notification stream interrupted: reconnecting';
      state.textContent = 'reconnecting…';
    });
    es.addEventListener('notification', e => this.add(JSON.parse(e.data)));
    this.es = es;
  }

  setVisible(v) {
    this.visible = v;
    if (v) this.setUnseen(0);
  }

  setUnseen(n) {
    this.unseen = n;
    this.onCount(n);
  }

  add(ev) {
    if (this.clearedAt && ev.time <= this.clearedAt) return;
    $('#notif-empty').hidden = true;
    const body = tryJSON(ev.body);
    const sgn = body && body['m2m:sgn'];
    const h = k => (ev.header[k] || [])[0] || '';
    const tags = [];
    if (sgn) {
      if (sgn.vrq) tags.push(el('span', { class: 'tag vrq', text: 'verification request' }));
      if (sgn.sud) tags.push(el('span', { class: 'tag sud', text: 'subscription deleted' }));
      const net = sgn.nev && sgn.nev.net;
      if (net) tags.push(el('span', { class: 'tag', text: `net ${net}: ${netNames[net] || ''}` }));
      if (sgn.sur) tags.push(el('span', { class: 'tag', title: 'subscription', text: sgn.sur }));
      const rep = sgn.nev && sgn.nev.rep;
      if (rep && typeof rep === 'object') {
        const k = Object.keys(rep)[0];
        const r = rep[k];
        if (r && typeof r === 'object') tags.push(el('span', { class: 'tag', text: `${k}${r.rn ? ' ' + r.rn : ''}${'con' in r ? ` con=${JSON.stringify(r.con).slice(0, 40)}` : ''}` }));
      }
    } else if (body && body['m2m:agn']) {
      tags.push(el('span', { class: 'tag', text: 'aggregated (batch)' }));
    }
    const pre = el('pre', { class: 'json' });
    if (body !== undefined) pre.append(jsonNode(body));
    else pre.textContent = ev.body;
    const headers = el('table', { class: 'headers' }, el('tbody', {},
      Object.entries(ev.header).map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: v.join(', ') })))));
    const details = el('div', { class: 'ev-body' },
      el('details', {}, el('summary', { class: 'small muted', text: `${ev.method} ${ev.path} from ${ev.remote}: ${Object.keys(ev.header).length} headers` }), headers),
      el('h4', { text: `Body (${ev.size} bytes${ev.format === 'cbor' ? ', CBOR shown as JSON' : ev.format === 'base64' ? ', binary shown in base64' : ''})` }), pre);
    const item = el('li', { class: 'fresh', dataset: { seq: ev.seq } },
      el('div', { class: 'ev-head', title: 'Show or hide the body', onclick: () => { details.hidden = !details.hidden; } },
        el('span', { class: 'time', title: ev.time, text: clock(new Date(ev.time)) }),
        el('span', { class: 'method', text: ev.method }),
        el('span', { class: 'muted small', text: h('X-M2m-Origin') ? `from ${h('X-M2m-Origin')}` : '' }),
        tags),
      details);
    // Older notifications fold up so that the newest stay in view.
    for (const old of [...$('#notif-list').children].slice(4)) old.querySelector('.ev-body').hidden = true;
    $('#notif-list').prepend(item);
    if (!this.visible) this.setUnseen(this.unseen + 1);
  }
}
