// A small Markdown renderer for model output. It builds DOM nodes, never
// HTML strings: every character of the input ends up in a text node, and
// links are kept only when they are absolute http, https or mailto URLs.

import { h } from './dom.js';

const SAFE = new Set(['http:', 'https:', 'mailto:']);

// safeURL returns the normalised URL, or null when it is not allowed.
export function safeURL(u) {
  let p;
  try { p = new URL(String(u).trim()); } catch { return null; }
  return SAFE.has(p.protocol) ? p.href : null;
}

function link(text, url) {
  const href = safeURL(url);
  if (!href) return [text === url ? text : `${text} (${url})`];
  return [h('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' }, text)];
}

const INLINE = new RegExp([
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/,                   // 1,2 code
  /\*\*(?=\S)([\s\S]*?\S)\*\*/,                          // 3 strong
  /(?<!\w)__(?=\S)([\s\S]*?\S)__(?!\w)/,                 // 4 strong
  /\*(?=[^\s*])([^*]*?[^\s*])\*/,                        // 5 em
  /(?<!\w)_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/,             // 6 em
  /\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/,  // 7,8 link
  /<((?:https?:|mailto:)[^>\s]+)>/,                      // 9 autolink
  /(https?:\/\/[^\s<]*[^\s<.,;:!?)\]'"*_])/,             // 10 bare URL
].map((r) => r.source).join('|'), 'g');

export function inline(text) {
  const out = [];
  let last = 0;
  // A regexp of its own: the calls below recurse, and a shared global
  // regexp's lastIndex would be reset under our feet.
  const re = new RegExp(INLINE);
  for (let m; (m = re.exec(text));) {
    if (m.index > last) out.push(text.slice(last, m.index));
    last = re.lastIndex;
    if (m[1]) out.push(h('code', {}, m[2].replace(/^ (.*) $/, '$1')));
    else if (m[3] !== undefined || m[4] !== undefined) out.push(h('strong', {}, inline(m[3] ?? m[4])));
    else if (m[5] !== undefined || m[6] !== undefined) out.push(h('em', {}, inline(m[5] ?? m[6])));
    else if (m[7] !== undefined) {
      const href = safeURL(m[8]);
      out.push(href ? h('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' }, inline(m[7])) : m[0]);
    } else if (m[9]) out.push(...link(m[9], m[9]));
    else if (m[10]) out.push(...link(m[10], m[10]));
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// lines joins a paragraph's lines, keeping hard breaks as <br>.
function para(lines) {
  const kids = [];
  lines.forEach((l, i) => {
    if (i) kids.push(h('br'));
    kids.push(...inline(l));
  });
  return kids;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const UL = /^( {0,3})[-*+]\s+(.*)$/;
const OL = /^( {0,3})(\d{1,9})[.)]\s+(.*)$/;
const HR = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;

// render returns a fragment for the markdown source.
export function render(src) {
  const frag = document.createDocumentFragment();
  blocks(String(src ?? '').replace(/\r\n?/g, '\n').split('\n'), frag, 0);
  return frag;
}

function blocks(lines, into, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) { i++; continue; }
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence)) body.push(lines[i++]);
      i++;
      const code = h('code', m[2] ? { 'data-lang': m[2] } : {}, body.join('\n'));
      into.append(h('pre', {}, code));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      into.append(h('h' + Math.min(6, m[1].length + 2), {}, inline(m[2])));
      i++;
      continue;
    }
    if (HR.test(line)) { into.append(h('hr')); i++; continue; }
    if (QUOTE.test(line) && depth < 8) {
      const body = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) { body.push(m[1]); i++; }
      const q = h('blockquote');
      blocks(body, q, depth + 1);
      into.append(q);
      continue;
    }
    if ((UL.test(line) || OL.test(line)) && depth < 8) {
      const ordered = !UL.test(line);
      const re = ordered ? OL : UL;
      const first = re.exec(line);
      const list = h(ordered ? 'ol' : 'ul', ordered && first[2] !== '1' ? { start: Number(first[2]) } : {});
      let item = null;
      while (i < lines.length) {
        const l = lines[i];
        const im = re.exec(l);
        if (im) {
          item = [ordered ? im[3] : im[2]];
          list.append(h('li'));
          list.lastChild.__src = item;
          i++;
        } else if (l.trim() && /^\s{2,}/.test(l) && item) {
          item.push(l.replace(/^\s{2,4}/, ''));
          i++;
        } else if (!l.trim() && i + 1 < lines.length && (re.exec(lines[i + 1]) || /^\s{2,}\S/.test(lines[i + 1]))) {
          i++;
        } else break;
      }
      for (const li of list.children) {
        const src = li.__src;
        delete li.__src;
        if (src.length === 1) li.append(...inline(src[0]));
        else blocks(src, li, depth + 1);
      }
      into.append(list);
      continue;
    }
    const body = [];
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i]) &&
      !(body.length && (QUOTE.test(lines[i]) || UL.test(lines[i]) || OL.test(lines[i]) || HR.test(lines[i])))) {
      body.push(lines[i].trim());
      i++;
    }
    if (!body.length) { body.push(line); i++; }
    into.append(h('p', {}, para(body)));
  }
}
