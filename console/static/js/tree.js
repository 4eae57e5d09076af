// The resource tree, loaded lazily: a node's children are retrieved when it is
// expanded, with a RETRIEVE of result content 6 (child resource references),
// PAGE at a time.

import { el } from './util.js';
import { op, problem, typeOf } from './api.js';

const PAGE = 100;

export function badge(ty) {
  const t = typeOf(ty);
  let text = t ? t.sn : String(ty);
  const annc = ty > 10000;
  if (annc) text = text.replace(/A$/, '');
  text = text.toUpperCase() + (annc ? 'ᴬ' : '');
  return el('span', { class: `tb t${ty}${annc ? ' annc' : ''}`, title: t ? t.name : `type ${ty}`, text });
}

function canHaveChildren(ty) {
  const t = typeOf(ty);
  return !t || t.children.length > 0;
}

export class Tree {
  constructor(ul, onSelect) {
    this.ul = ul;
    this.onSelect = onSelect;
    this.nodes = new Map(); // path -> node
    this.selected = null;
  }

  // setRoot shows the CSEBase as the only top node and expands it.
  async setRoot(path, name) {
    this.ul.replaceChildren();
    this.nodes.clear();
    this.root = this.makeNode(path, name, 5);
    this.ul.append(this.root.li);
    await this.expand(this.root);
  }

  makeNode(path, name, ty) {
    const node = { path, name, ty, expanded: false, loaded: 0, kids: new Map() };
    const leaf = !canHaveChildren(ty);
    node.twisty = el('button', { class: 'twisty' + (leaf ? ' leaf' : ''), tabindex: -1, 'aria-label': 'expand', text: '▸', onclick: () => this.toggle(node) });
    node.row = el('div', { class: 'node', dataset: { path } },
      node.twisty,
      el('button', { class: 'label', title: path, onclick: () => this.select(node), ondblclick: () => this.toggle(node) },
        badge(ty), el('span', { class: 'nm', text: name })));
    node.group = el('ul', { role: 'group', hidden: true });
    node.li = el('li', { role: 'treeitem', 'aria-expanded': 'false' }, node.row, node.group);
    this.nodes.set(path, node);
    return node;
  }

  async toggle(node) {
    if (node.expanded) this.collapse(node);
    else await this.expand(node);
  }

  collapse(node) {
    node.expanded = false;
    node.group.hidden = true;
    node.twisty.textContent = '▸';
    node.li.setAttribute('aria-expanded', 'false');
  }

  async expand(node) {
    if (!canHaveChildren(node.ty)) return;
    node.expanded = true;
    node.group.hidden = false;
    node.twisty.textContent = '▾';
    node.li.setAttribute('aria-expanded', 'true');
    if (!node.fetched) await this.load(node);
  }

  // load (re)reads the children of node; nodes that are still there keep
  // their own expanded subtrees.
  async load(node, more = false) {
    const ofst = more ? node.loaded : 0;
    const query = { rcn: 6, lim: PAGE };
    if (ofst > 0) query.ofst = ofst + 1;
    node.group.querySelectorAll(':scope > .note, :scope > .more-li').forEach(n => n.remove());
    const loading = el('li', { class: 'note', text: 'loading…' });
    node.group.append(loading);
    const r = await op({ op: 'retrieve', path: node.path, query });
    loading.remove();
    node.fetched = true;
    if (!r.ok) {
      node.group.append(el('li', { class: 'note err', text: problem(r) }));
      return;
    }
    const refs = r.json?.['m2m:rrl']?.rrf || [];
    const seen = new Set();
    if (!more) node.loaded = 0;
    for (const ref of refs) {
      const path = ref.val;
      seen.add(path);
      let kid = node.kids.get(path);
      if (!kid) {
        kid = this.makeNode(path, ref.nm, ref.typ);
        node.kids.set(path, kid);
      }
      node.group.append(kid.li); // (re)appended in the CSE's order
    }
    node.loaded += refs.length;
    if (!more) {
      for (const [path, kid] of node.kids) {
        if (!seen.has(path)) { kid.li.remove(); node.kids.delete(path); this.forget(kid); }
      }
    }
    if (refs.length === PAGE) {
      node.group.append(el('li', { class: 'more-li' }, el('button', { class: 'more', text: `more… (${node.loaded} shown)`, onclick: () => this.load(node, true) })));
    } else if (node.kids.size === 0) {
      node.group.append(el('li', { class: 'note', text: 'no children' }));
    }
  }

  forget(node) {
    this.nodes.delete(node.path);
    for (const k of node.kids.values()) this.forget(k);
    if (this.selected === node) this.selected = null;
  }

  select(node, notify = true) {
    if (this.selected) this.selected.row.classList.remove('selected');
    this.selected = node;
    node.row.classList.add('selected');
    node.row.scrollIntoView({ block: 'nearest' });
    if (notify) this.onSelect(node);
  }

  // reveal expands the tree down to path (structured, CSE-relative) and
  // selects it; it stops where a level is not there.
  async reveal(path) {
    const parts = path.split('/');
    let node = this.root;
    if (!node || parts[0] !== node.path) return null;
    for (let i = 1; i < parts.length; i++) {
      await this.expand(node);
      const next = this.nodes.get(parts.slice(0, i + 1).join('/'));
      if (!next) break;
      node = next;
    }
    this.select(node);
    return node;
  }

  // refresh reloads the children of the node at path (after a CREATE or
  // DELETE below it) and expands it.
  async refresh(path) {
    const node = this.nodes.get(path);
    if (!node) return;
    node.fetched = false;
    await this.expand(node);
  }

  parentPath(path) {
    const i = path.lastIndexOf('/');
    return i > 0 ? path.slice(0, i) : null;
  }
}
