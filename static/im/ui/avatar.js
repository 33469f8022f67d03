// Avatar: the image when there is one, else coloured initials.
import { h, safeUrl } from '../dom.js';
import { hueFor, initials } from '../format.js';

export function avatar(name, url, key, { size = 'md', online = null } = {}) {
  const src = safeUrl(url);
  const face = src
    ? h('img', { src, alt: '', class: 'avatar-img', loading: 'lazy', decoding: 'async' })
    : h('span', { class: 'avatar-initials', text: initials(name) });
  const wrap = h('span', { class: `avatar avatar-${size}`, 'aria-hidden': 'true' }, face);
  wrap.style.setProperty('--avatar-hue', String(hueFor(key ?? name)));
  if (src) {
    face.addEventListener('error', () => face.replaceWith(h('span', { class: 'avatar-initials', text: initials(name) })), { once: true });
  }
  if (online != null) wrap.append(h('span', { class: `presence-dot ${online ? 'online' : 'offline'}` }));
  return wrap;
}
