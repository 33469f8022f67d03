// Message text as DOM nodes: web addresses become links and mentions become highlighted names,
// while every character of the text is still shown as text (never parsed as markup). No page is
// fetched for a link: no previews.
import { h } from '../dom.js';

// http(s):// or www. up to whitespace, quotes, angle brackets or CJK text and punctuation (Chinese,
// Japanese and Korean sentences put addresses right next to their words).
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`，。、！？；：（）「」【】《》\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/giu;
const TRAILING = /[.,;:!?*_~]$/u;
const PAIRS = { ')': '(', ']': '[', '}': '{' };

function count(text, ch) {
  return text.split(ch).length - 1;
}

/** Drops trailing punctuation that ends the sentence rather than the address. */
function trimUrl(url) {
  let out = url;
  for (;;) {
    const last = out.at(-1);
    if (TRAILING.test(last)) out = out.slice(0, -1);
    else if (PAIRS[last] && count(out, last) > count(out, PAIRS[last])) out = out.slice(0, -1);
    else return out;
  }
}

/** [{start, end, url}] of the web addresses in text. */
export function findUrls(text) {
  const found = [];
  for (const match of text.matchAll(URL_RE)) {
    const raw = trimUrl(match[0]);
    if (raw.length < 5) continue;
    const href = raw.toLowerCase().startsWith('www.') ? `https://${raw}` : raw;
    found.push({ start: match.index, end: match.index + raw.length, url: href });
  }
  return found;
}

function escapeRe(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * [{start, end, userId}] of the mentions in text: `@` followed by a mentioned user's display
 * name or username (the longest name wins when one is the start of another).
 */
export function findMentions(text, mentions, namesOf) {
  const names = [];
  for (const id of mentions ?? []) {
    for (const name of namesOf(id)) if (name) names.push({ name, id });
  }
  if (!names.length) return [];
  names.sort((a, b) => b.name.length - a.name.length);
  const re = new RegExp(`@(${names.map((n) => escapeRe(n.name)).join('|')})`, 'gu');
  const found = [];
  for (const match of text.matchAll(re)) {
    const hit = names.find((n) => n.name === match[1]);
    found.push({ start: match.index, end: match.index + match[0].length, userId: hit.id });
  }
  return found;
}

/**
 * The nodes of a message text. opts: {mentions: [user id], namesOf(id) -> [name...],
 * isMe(id) -> bool}.
 */
export function richText(text, { mentions = [], namesOf = () => [], isMe = () => false } = {}) {
  const spans = [
    ...findUrls(text).map((s) => ({ ...s, kind: 'url' })),
    ...findMentions(text, mentions, namesOf).map((s) => ({ ...s, kind: 'mention' })),
  ].sort((a, b) => a.start - b.start);
  const nodes = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue; // overlaps an earlier one (a mention inside a URL)
    if (span.start > at) nodes.push(text.slice(at, span.start));
    const shown = text.slice(span.start, span.end);
    if (span.kind === 'url') {
      nodes.push(h('a', { href: span.url, target: '_blank', rel: 'noopener noreferrer nofollow', class: 'msg-link', text: shown }));
    } else {
      const me = isMe(span.userId);
      nodes.push(h('span', { class: `mention${me ? ' mention-me' : ''}`, dataset: { userId: span.userId }, text: shown }));
    }
    at = span.end;
  }
  if (at < text.length) nodes.push(text.slice(at));
  return nodes;
}
