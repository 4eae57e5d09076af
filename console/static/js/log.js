// The Log tab: every request this page sent and its answer, newest first.

import { el, $, showBody, clock } from './util.js';
import { bus, rscName } from './api.js';

const MAX = 500;

export class Log {
  constructor({ onCount, onRepeat }) {
    this.onCount = onCount;
    this.onRepeat = onRepeat;
    this.count = 0;
    this.unseen = 0;
    this.visible = false;
    bus.addEventListener('request', e => this.add(e.detail));
    $('#log-clear').addEventListener('click', () => { $('#log-list').replaceChildren(); this.count = 0; this.setUnseen(0); });
  }

  setVisible(v) { this.visible = v; if (v) this.setUnseen(0); }
  setUnseen(n) { this.unseen = n; this.onCount(n); }

  add(x) {
    const list = $('#log-list');
    let details = null;
    const open = () => {
      if (!details) {
        const reqBody = el('pre', { class: 'json' }); showBody(reqBody, x.reqBody);
        const resBody = el('pre', { class: 'json' }); showBody(resBody, x.resBody || x.error || '');
        const hdrs = list => el('table', { class: 'headers' }, el('tbody', {}, (list || []).map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: v })))));
        details = el('div', { class: 'ev-body' },
          el('h4', { text: 'Request' }), hdrs(x.reqHeaders), x.reqBody ? reqBody : null,
          el('h4', { text: x.error ? 'No answer' : `Answer: HTTP ${x.status} ${x.statusText || ''}` }), hdrs(x.resHeaders), resBody,
          el('div', { class: 'ev-tools' }, el('button', { text: 'Repeat in Request tab', onclick: () => this.onRepeat({ method: x.method, path: x.path, headers: x.reqHeaders, body: x.reqBody }) })));
        item.append(details);
      } else details.hidden = !details.hidden;
    };
    const item = el('li', {},
      el('div', { class: 'ev-head', onclick: open },
        el('span', { class: 'time', text: clock(x.time) }),
        el('span', { class: 'method', text: x.method }),
        el('code', { class: 'small', text: x.path }),
        el('span', { class: 'rsc ' + (x.ok ? 'ok' : 'fail'), text: x.error ? 'no answer' : x.rsc ? rscName(x.rsc) : `HTTP ${x.status}` }),
        el('span', { class: 'muted small', text: `${x.ms} ms` })));
    list.prepend(item);
    if (++this.count > MAX) { list.lastElementChild.remove(); this.count--; }
    if (!this.visible) this.setUnseen(this.unseen + 1);
  }
}
