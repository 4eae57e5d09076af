// The resource view: a RETRIEVE of the selected resource shown as a table of
// its attributes (long name, short name, value) and as JSON, with the
// operations its type allows.

import { el, $, $$, jsonNode, parseTimestamp, relative } from './util.js';
import { state, op, problem, typeOf, typeByKey } from './api.js';
import { badge } from './tree.js';

export class View {
  constructor(actions) {
    this.actions = actions; // {navigate(path), create(path, ty), update(...), del(...), subscribe(...), raw(path)}
    this.mode = 'table';
    for (const b of $$('.subtabs button')) b.addEventListener('click', () => this.setMode(b.dataset.view));
    $('#act-refresh').addEventListener('click', () => this.path && this.show(this.path, this.ty || this.hint));
    $('#act-update').addEventListener('click', () => this.actions.update(this.path, this.ty, this.attrs));
    $('#act-delete').addEventListener('click', () => this.actions.del(this.path, this.ty));
    $('#act-subscribe').addEventListener('click', () => this.actions.subscribe(this.path));
    $('#act-raw').addEventListener('click', () => this.actions.raw(this.path));
  }

  setMode(mode) {
    this.mode = mode;
    for (const b of $$('.subtabs button')) b.classList.toggle('active', b.dataset.view === mode);
    $('#attr-table').hidden = mode !== 'table' || !this.attrs;
    $('#res-json').hidden = mode !== 'json' || !this.json;
  }

  clear() {
    this.path = null;
    $('#res-view').hidden = true;
    $('#res-empty').hidden = false;
  }

  // show retrieves path and shows it. tyHint is the type the tree knows the
  // resource has: when the RETRIEVE is refused, the operations of that type
  // are still offered (an originator that is not registered yet cannot
  // retrieve the CSEBase, but it can register an AE under it). A virtual
  // resource (…/la, …/ol) is shown with the type of what it stands for.
  async show(path, tyHint) {
    this.path = path;
    this.hint = tyHint;
    $('#res-empty').hidden = true;
    $('#res-view').hidden = false;
    $('#res-path').textContent = path;
    const r = await op({ op: 'retrieve', path });
    if (path !== this.path) return; // another one was selected meanwhile
    const err = $('#res-error');
    const body = r.json && typeof r.json === 'object' ? r.json : null;
    const key = body ? Object.keys(body)[0] : undefined;
    const virtual = /\/(la|ol)$/.test(path);
    let t = r.ok && key ? typeByKey(key) : undefined;
    this.attrs = t ? body[key] : null;
    this.json = body;
    if (!t) {
      let msg = r.ok ? 'The answer is not a resource the console knows: see JSON.' : problem(r);
      if (r.rsc === '4106' || r.rsc === '4000' && !state.originator) msg += '\nType an originator at the top right: the admin originator, the AE-ID of a registered AE, or a new one (e.g. Cmyapp) and register an AE with it below.';
      else if (r.rsc === '4103') msg += `\nAccess control does not let ${state.originator} retrieve this resource: act as another originator, or grant it in an accessControlPolicy.`;
      err.textContent = msg;
      err.hidden = false;
      t = r.ok ? undefined : typeOf(tyHint);
    } else err.hidden = true;
    this.ty = t ? t.ty : 0;
    $('#res-name').textContent = (this.attrs && this.attrs.rn) || path.split('/').pop();
    const b = t ? badge(t.ty) : el('span', { class: 'tb', text: '?' });
    b.id = 'res-badge';
    $('#res-badge').replaceWith(b);
    $('#act-update').hidden = !this.attrs || !t.updatable || virtual;
    $('#act-delete').hidden = !t || !t.deletable;
    $('#act-subscribe').hidden = !this.attrs || !t.children.includes(23) || virtual;

    // CREATE of the child types the type allows (announced types are made by CSEs).
    const kids = t && !virtual ? t.children.map(typeOf).filter(k => k && k.creatable && k.ty < 10000) : [];
    const bar = $('#create-bar');
    bar.replaceChildren();
    if (kids.length) {
      bar.append(el('span', { class: 'label', text: 'Create child:' }));
      for (const k of kids) bar.append(el('button', { dataset: { create: k.ty }, title: `CREATE a ${k.name} under ${path}`, onclick: () => this.actions.create(path, k.ty) }, '+ ', badge(k.ty), ' ', k.name));
    }
    const vb = $('#virtual-bar');
    vb.hidden = !t || t.ty !== 3 || virtual;
    if (t && t.ty === 3) {
      vb.replaceChildren(el('span', { class: 'label', text: 'Virtual resources:' }),
        el('button', { onclick: () => this.actions.navigate(path + '/la'), title: 'latest contentInstance' }, 'la (latest)'),
        el('button', { onclick: () => this.actions.navigate(path + '/ol'), title: 'oldest contentInstance' }, 'ol (oldest)'));
    }
    if (this.attrs) this.renderTable(t, this.attrs);
    $('#res-json').replaceChildren(body ? jsonNode(body) : r.resBody || '');
    this.setMode(this.mode);
  }

  renderTable(t, attrs) {
    const tbody = $('#attr-table tbody');
    tbody.replaceChildren();
    const order = t.attrs.map(a => a.sn).filter(sn => sn in attrs);
    for (const sn of Object.keys(attrs)) if (!order.includes(sn)) order.push(sn);
    for (const sn of order) {
      const a = t.attrByName.get(sn);
      tbody.append(el('tr', { dataset: { sn } },
        el('td', { class: 'ln', text: a ? a.name : sn }),
        el('td', { class: 'sn', text: sn }),
        el('td', { class: 'val' }, this.value(sn, a, attrs[sn]))));
    }
  }

  value(sn, a, v) {
    if (sn === 'ty') {
      const t = typeOf(v);
      return `${v}${t ? ` (${t.name})` : ''}`;
    }
    if (sn === 'pi' && typeof v === 'string') {
      // The parent of …/la is the container itself.
      const parent = /\/(la|ol)$/.test(this.path) ? this.path.slice(0, -3) : this.path.split('/').slice(0, -1).join('/');
      if (parent) return el('a', { title: `parent: ${parent}`, onclick: () => this.actions.navigate(parent) }, v);
    }
    if (a && a.kind === 'time' && typeof v === 'string') {
      const d = parseTimestamp(v);
      return [v, d ? el('span', { class: 'when', title: d.toString(), text: relative(d) }) : null];
    }
    if (Array.isArray(v) && v.length && v.every(x => typeof x === 'number')) return v.join(', ');
    if (Array.isArray(v) && v.every(x => typeof x !== 'object')) return v.map(String).join('\n');
    if (v !== null && typeof v === 'object') return jsonNode(v);
    return String(v);
  }
}
