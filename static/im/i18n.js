// Translations of the browser client (docs/api.md section 12). The page loads Django's
// JavaScript catalogue (/jsi18n/, a same-origin classic script) before the modules, in the
// language the server chose: the user's own, else Accept-Language, else English.
//
//   import { gettext, ngettext } from './i18n.js';
//   gettext('Send')
//   gettext('%(name)s is typing…', { name })
//   ngettext('%(n)s member', '%(n)s members', count, { n: count })
//
// Strings must be literal first arguments so `makemessages -d djangojs` finds them; named
// placeholders `%(name)s` let a translation reorder them.

// Without the catalogue (node's unit tests import the store and the outbox) the English
// source strings are the text. The page's language and locale are in locale.js.
const catalog = globalThis.django;

function fill(text, params) {
  if (!params) return text;
  return text.replace(/%\((\w+)\)s/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

export function gettext(msgid, params) {
  return fill(catalog ? catalog.gettext(msgid) : msgid, params);
}

export function ngettext(singular, plural, count, params) {
  const text = catalog ? catalog.ngettext(singular, plural, count) : (count === 1 ? singular : plural);
  return fill(text, params);
}

export function pgettext(context, msgid, params) {
  return fill(catalog ? catalog.pgettext(context, msgid) : msgid, params);
}
