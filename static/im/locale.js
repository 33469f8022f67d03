// The page's language and the locale for dates and numbers, read from the page (time.js formats
// with them): apart from i18n.js, which needs no page, so that the store imports under node.

/** The page's language: `en` or `zh-hans`. */
export const language = document.documentElement.lang || 'en';

/** The locale for dates and numbers: the browser's own when it is a variant of the page's
 * language (en-GB keeps day-month order), else the page's language. */
export const locale = (navigator.languages ?? []).find(
  (tag) => tag.toLowerCase().split('-')[0] === language.split('-')[0]) ?? language;
