// Screen-reader announcements (aria-live="polite") and visible error toasts.
import { icon } from './icons.js';
import { h } from '../dom.js';
import { gettext } from '../i18n.js';

let liveRegion = null;
let toastBox = null;

export function initNotify(live, toasts) {
  liveRegion = live;
  toastBox = toasts;
}

/** Politely announce text to screen readers; `key` names it for `unannounce`. */
export function announce(text, key = null) {
  if (!liveRegion || !text) return;
  const item = h('p', { text });
  if (key != null) item.dataset.key = String(key);
  liveRegion.append(item);
  while (liveRegion.childElementCount > 5) liveRegion.firstElementChild.remove();
  setTimeout(() => item.remove(), 15000);
}

/** Withdraw the announcements made under `key` (a recalled message's text must not linger). */
export function unannounce(key) {
  if (!liveRegion) return;
  for (const item of [...liveRegion.children]) {
    if (item.dataset.key === String(key)) item.remove();
  }
}

/** A visible message; kind 'error' | 'info'. */
export function toast(text, kind = 'error', ms = 6000) {
  if (!toastBox) return;
  const close = h('button', { type: 'button', class: 'icon-button toast-close', 'aria-label': gettext('Dismiss') }, icon('close', { size: 16 }));
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('p', { text }), close);
  close.addEventListener('click', () => item.remove());
  toastBox.append(item);
  while (toastBox.childElementCount > 4) toastBox.firstElementChild.remove();
  if (ms) setTimeout(() => item.remove(), ms);
}

export const showError = (text) => toast(text, 'error');
export const showInfo = (text) => toast(text, 'info', 3500);
