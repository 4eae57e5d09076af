// Small helpers. Everything that comes from the CSE or a notification is put
// into the page as text (textContent), never as HTML.

// el builds an element: el('div', {class: 'x', onclick: f}, child, 'text', ...).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function tryJSON(text) {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}

// jsonNode renders a value as indented JSON with coloured tokens.
export function jsonNode(value, indent = 0) {
  const frag = document.createDocumentFragment();
  const pad = n => '  '.repeat(n);
  const add = (cls, text) => frag.append(cls ? el('span', { class: cls, text }) : document.createTextNode(text));
  const walk = (v, d) => {
    if (v === null) return add('j-lit', 'null');
    if (Array.isArray(v)) {
      if (v.length === 0) return add('', '[]');
      add('', '[\n');
      v.forEach((x, i) => { add('', pad(d + 1)); walk(x, d + 1); add('', i < v.length - 1 ? ',\n' : '\n'); });
      return add('', pad(d) + ']');
    }
    switch (typeof v) {
      case 'object': {
        const keys = Object.keys(v);
        if (keys.length === 0) return add('', '{}');
        add('', '{\n');
        keys.forEach((k, i) => {
          add('', pad(d + 1)); add('j-key', JSON.stringify(k)); add('', ': ');
          walk(v[k], d + 1); add('', i < keys.length - 1 ? ',\n' : '\n');
        });
        return add('', pad(d) + '}');
      }
      case 'string': return add('j-str', JSON.stringify(v));
      case 'number': return add('j-num', String(v));
      case 'boolean': return add('j-lit', String(v));
    }
    add('', String(v));
  };
  walk(value, indent);
  return frag;
}

// showBody puts a body into a <pre>: coloured JSON when it is JSON, else text.
export function showBody(pre, text) {
  pre.replaceChildren();
  const v = tryJSON(text);
  if (v !== undefined) pre.append(jsonNode(v));
  else pre.textContent = text || '';
}

// oneM2M timestamps (YYYYMMDDThhmmss[,ffffff], UTC) as a Date.
export function parseTimestamp(s) {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(?:[,.](\d{1,6}))?$/.exec(s || '');
  if (!m) return null;
  const ms = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms));
}

// relative describes a date relative to now ("3 min ago", "in 2 days").
export function relative(d) {
  const s = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  const unit = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'days'];
  return s < 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

export function clock(d = new Date()) {
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

// toast shows a short message; actions are [label, function] pairs.
export function toast(message, { fail = false, actions = [], ms = 6000 } = {}) {
  const box = el('div', { class: 'toast' + (fail ? ' fail' : ''), role: fail ? 'alert' : 'status' }, el('span', { class: 'msg', text: message }));
  const close = () => box.remove();
  for (const [label, f] of actions) box.append(el('button', { text: label, onclick: () => { close(); f(); } }));
  box.append(el('button', { class: 'icon', text: '×', title: 'Dismiss', onclick: close }));
  const stack = $('#toasts');
  stack.append(box);
  while (stack.children.length > 3) stack.firstElementChild.remove();
  if (ms) setTimeout(close, actions.length ? ms * 2 : ms);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard', { ms: 2000 });
  } catch {
    toast('The browser did not allow copying: select the text and copy it yourself', { fail: true });
  }
}

// store keeps the console's settings in the browser.
export const store = {
  get(k, d = '') { try { return localStorage.getItem('onecse.' + k) ?? d; } catch { return d; } },
  set(k, v) { try { localStorage.setItem('onecse.' + k, v); } catch { /* private mode */ } },
};
