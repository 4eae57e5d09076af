// onecse console: the page's entry point. It wires the tree, the resource
// view, the forms, the Request tab, the notification sink and the log.

import { el, $, $$, toast, store } from './util.js';
import { state, loadMeta, op, problem, rscName } from './api.js';
import { Tree } from './tree.js';
import { View } from './view.js';
import { openForm, confirmDialog, initForms } from './forms.js';
import { Raw } from './raw.js';
import { Live } from './live.js';
import { Log } from './log.js';

let tree, view, raw, live, log;

function showTab(name) {
  for (const b of $$('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of $$('.tab-body')) p.hidden = p.id !== 'tab-' + name;
  live.setVisible(name === 'notifications');
  log.setVisible(name === 'log');
}

const isVirtual = path => /\/(la|ol)$/.test(path);

// navigate shows the resource at path (structured, CSE-relative), selecting
// it in the tree when it is there.
async function navigate(path) {
  showTab('resource');
  if (isVirtual(path)) { view.show(path); return; }
  const node = await tree.reveal(path);
  if (!node || node.path !== path) view.show(path);
}

function selected(node) {
  showTab('resource');
  history.replaceState(null, '', '#' + node.path);
  view.show(node.path, node.ty);
}

async function created(parent, r) {
  const res = r.json ? Object.values(r.json)[0] : null;
  await tree.refresh(parent);
  if (res && res.rn) await navigate(parent + '/' + res.rn);
  if (res && res.aei && res.aei !== state.originator) {
    toast(`The AE's AE-ID is ${res.aei}: it acts with that originator from now on.`, {
      actions: [[`Act as ${res.aei}`, () => setOriginator(res.aei)]], ms: 15000,
    });
  }
}

const actions = {
  navigate,
  create(path, ty) {
    openForm({ mode: 'create', ty, path, sinkURL: live.url, onDone: r => created(path, r), onRaw: rawOpen });
  },
  subscribe(path) {
    openForm({
      mode: 'create', ty: 23, path, sinkURL: live.url, subscribe: true, onRaw: rawOpen,
      onDone: r => {
        created(path, r);
        toast('Subscribed: its notifications appear in the Notifications tab', { actions: [['Show them', () => showTab('notifications')]] });
      },
    });
  },
  update(path, ty, attrs) {
    openForm({ mode: 'update', ty, path, current: attrs, sinkURL: live.url, onDone: () => view.show(path), onRaw: rawOpen });
  },
  async del(path) {
    if (!await confirmDialog(`DELETE ${path} and everything below it?`)) return;
    const r = await op({ op: 'delete', path });
    if (!r.ok) { toast(problem(r), { fail: true }); return; }
    toast(`Deleted ${path}: ${rscName(r.rsc)}`);
    const parent = tree.parentPath(path.replace(/\/(la|ol)$/, '/x'));
    if (parent) { await tree.refresh(parent); await navigate(parent); }
  },
  raw(path) { rawOpen({ method: 'GET', path: '/' + path }); },
};

function rawOpen(req) {
  raw.load(req);
  showTab('request');
}

function setOriginator(v) {
  $('#originator').value = v;
  applyOriginator();
}

function applyOriginator() {
  const v = $('#originator').value.trim();
  const changed = v !== state.originator;
  state.originator = v;
  store.set('originator', v);
  $('#originator').classList.toggle('missing', !v);
  raw.originatorChanged();
  if (changed) {
    // What the tree shows depends on who asks.
    reloadTree();
  }
}

async function reloadTree() {
  const keep = view.path;
  await tree.setRoot(state.info.cseName, state.info.cseName);
  if (keep && !isVirtual(keep)) await navigate(keep);
  else if (!keep) tree.select(tree.root);
  else view.show(keep);
}

async function main() {
  initForms();
  try {
    await loadMeta();
  } catch (e) {
    toast('The console could not load its description of the CSE: ' + e, { fail: true, ms: 0 });
    return;
  }
  const { cseID, cseName, spID } = state.info;
  $('#cse-info').textContent = `${spID}${cseID} · ${cseName}`;
  document.title = `${cseName} · onecse console`;
  const rvi = $('#rvi');
  for (const r of state.releases) rvi.append(el('option', { text: r }));
  state.rvi = store.get('rvi', '3');
  if (!state.releases.includes(state.rvi)) state.rvi = '3';
  rvi.value = state.rvi;
  rvi.addEventListener('change', () => { state.rvi = rvi.value; store.set('rvi', rvi.value); raw.originatorChanged(); });

  const badge = id => n => { $(id).textContent = n ? String(n) : ''; };
  log = new Log({ onCount: badge('#log-count'), onRepeat: rawOpen });
  live = new Live({ onCount: badge('#notif-count') });
  raw = new Raw();
  raw.fillTemplates();
  raw.sinkURL = live.url;
  raw.keyFor = path => (view.path === path && view.json ? Object.keys(view.json)[0] : undefined);
  view = new View(actions);
  tree = new Tree($('#tree'), selected);
  for (const b of $$('.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('#tree-reload').addEventListener('click', reloadTree);

  const orig = $('#originator');
  orig.value = store.get('originator');
  state.originator = orig.value.trim();
  orig.classList.toggle('missing', !state.originator);
  orig.addEventListener('change', applyOriginator);
  orig.addEventListener('keydown', e => { if (e.key === 'Enter') applyOriginator(); });
  raw.defaults();
  $('#raw-path').value = '/' + cseName;

  live.connect();
  showTab('resource');
  await tree.setRoot(cseName, cseName);
  const want = decodeURIComponent(location.hash.slice(1));
  if (want) await navigate(want);
  else tree.select(tree.root);
  if (!state.originator) orig.focus();
  document.body.dataset.ready = 'true';
}

main();
