// Rendering of one message element (<li data-msg-id data-seq data-status>).
import { icon } from './icons.js';
import { h, safeUrl } from '../dom.js';
import { clockTime, coords, duration, fileSize, fullTime, osmUrl, systemSentence } from '../format.js';
import { menuButton } from './menu.js';

const RECALL_WINDOW_MS = 120 * 1000;
const STATUS_TEXT = {
  pending: 'Sending…',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};
const STATUS_ICON = { pending: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' };

/** Whether the current user may recall this message right now. */
export function canRecall(msg, { store, myRole }) {
  if (msg.recalled || msg.seq == null || msg.type === 'system') return false;
  if (store.isMe(msg.sender_id)) {
    const created = Date.parse(msg.created_at);
    if (Number.isFinite(created) && Date.now() - created <= RECALL_WINDOW_MS) return true;
  }
  if (myRole === 'owner') return true;
  if (myRole === 'admin') {
    const senderRole = roleIn(msg.sender_id);
    return senderRole === 'member';
  }
  return false;

  function roleIn(userId) {
    return store.groupRoleOf?.(msg.conversation_id, userId) ?? 'member';
  }
}

function renderContent(msg, store) {
  const c = msg.content ?? {};
  if (msg.recalled) return h('p', { class: 'msg-recalled', text: 'Message recalled' });
  switch (msg.type) {
    case 'text':
      return h('p', { class: 'msg-text', text: String(c.text ?? '') });
    case 'image': {
      const full = safeUrl(c.url) ?? safeUrl(c._localUrl);
      const thumb = safeUrl(c.thumbnail_url) ?? full;
      const img = h('img', {
        src: thumb,
        alt: 'Image',
        class: 'msg-image',
        loading: 'lazy',
        width: c.width || null,
        height: c.height || null,
      });
      return full ? h('a', { href: full, target: '_blank', rel: 'noopener', class: 'msg-image-link' }, img) : img;
    }
    case 'voice': {
      const src = safeUrl(c.url) ?? safeUrl(c._localUrl);
      return h('div', { class: 'msg-voice' },
        src ? h('audio', { controls: true, preload: 'metadata', src, 'aria-label': 'Voice message' }) : null,
        h('span', { class: 'msg-voice-duration', text: `Voice message · ${duration(c.duration_ms)}` }));
    }
    case 'file': {
      const href = safeUrl(c.url);
      const name = String(c.name ?? c._name ?? 'File');
      const size = c.size ?? c._size;
      const label = [h('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon('file')),
        h('span', { class: 'file-name', text: name }),
        size != null ? h('span', { class: 'file-size', text: ` (${fileSize(size)})` }) : null];
      return href
        ? h('a', { href, download: name, class: 'msg-file' }, ...label)
        : h('span', { class: 'msg-file' }, ...label);
    }
    case 'location': {
      const lat = Number(c.lat);
      const lng = Number(c.lng);
      const valid = Number.isFinite(lat) && Number.isFinite(lng);
      return h('div', { class: 'msg-location' },
        h('span', { class: 'location-icon', 'aria-hidden': 'true' }, icon('pin')),
        h('div', {},
          c.name ? h('p', { class: 'location-name', text: String(c.name) }) : null,
          c.address ? h('p', { class: 'location-address', text: String(c.address) }) : null,
          valid ? h('p', { class: 'location-coords', text: coords(lat, lng) }) : null,
          valid ? h('a', { href: osmUrl(lat, lng), target: '_blank', rel: 'noopener noreferrer' }, 'Open in OpenStreetMap') : null));
    }
    case 'system':
      return h('p', { class: 'msg-system-text', text: systemSentence(c, (id) => store.userName(id)) });
    default:
      return h('p', { class: 'msg-text unknown', text: 'Unsupported message' });
  }
}

/**
 * ctx: {store, conv, myRole, groupRead: {read, total}|null, onRetry, onDiscard, onRecall}
 */
export function renderMessage(msg, ctx) {
  const { store, conv } = ctx;
  const mine = store.isMe(msg.sender_id);
  const status = store.statusOf(msg);
  const dataset = { msgId: msg.msg_id, type: msg.type };
  if (msg.seq != null) dataset.seq = msg.seq;
  if (status) dataset.status = status;
  if (msg.recalled) dataset.recalled = 'true';

  if (msg.type === 'system') {
    return h('li', { class: 'msg msg-system', dataset },
      renderContent(msg, store),
      h('time', { class: 'msg-time', datetime: msg.created_at, title: fullTime(msg.created_at), text: clockTime(msg.created_at) }));
  }

  const senderName = mine ? 'You' : store.userName(msg.sender_id);
  const showSender = conv?.type === 'group' && !mine;
  const meta = h('div', { class: 'msg-meta' },
    h('time', { datetime: msg.created_at, title: fullTime(msg.created_at), text: clockTime(msg.created_at) }));
  if (status) {
    meta.append(h('span', { class: `msg-status status-${status}` },
      h('span', { 'aria-hidden': 'true', text: STATUS_ICON[status] ?? '' }),
      h('span', { class: 'status-label', text: ` ${STATUS_TEXT[status] ?? status}` })));
  }
  if (mine && conv?.type === 'group' && ctx.groupRead && msg.seq != null && !msg.recalled) {
    meta.append(h('span', { class: 'msg-group-read', text: `Read by ${ctx.groupRead.read} of ${ctx.groupRead.total}` }));
  }

  const bubble = h('div', { class: 'msg-bubble' },
    showSender ? h('p', { class: 'msg-sender', text: senderName }) : null,
    h('span', { class: 'visually-hidden', text: showSender ? '' : `${senderName}: ` }),
    renderContent(msg, store),
    meta);

  const actions = [];
  if (status === 'failed') {
    actions.push(h('p', { class: 'msg-error', text: msg._error ? `Not sent: ${msg._error}` : 'Not sent.' }),
      h('button', { type: 'button', class: 'retry-button', onclick: () => ctx.onRetry(msg) }, 'Retry'),
      h('button', { type: 'button', class: 'link-button', onclick: () => ctx.onDiscard(msg) }, 'Discard'));
  }

  let menu = null;
  if (!msg.recalled && msg.seq != null) {
    menu = menuButton({
      label: 'Message options',
      className: 'msg-menu',
      items: () => {
        const items = [];
        if (canRecall(msg, ctx)) items.push({ label: 'Recall', danger: true, onSelect: () => ctx.onRecall(msg) });
        if (msg.type === 'text' && navigator.clipboard) {
          items.push({ label: 'Copy text', onSelect: () => navigator.clipboard.writeText(String(msg.content?.text ?? '')).catch(() => {}) });
        }
        if (!items.length) items.push({ label: 'No actions available', onSelect: () => {} });
        return items;
      },
    });
  }

  return h('li', { class: `msg ${mine ? 'msg-own' : 'msg-other'}`, dataset },
    bubble, menu, actions.length ? h('div', { class: 'msg-actions' }, ...actions) : null);
}

/** Signature deciding whether an existing element can be reused. */
export function messageSignature(msg, ctx) {
  const read = ctx.groupRead ? `${ctx.groupRead.read}/${ctx.groupRead.total}` : '';
  return `${msg.msg_id}|${msg._v}|${ctx.store.statusOf(msg)}|${read}|${ctx.store.userName(msg.sender_id)}|${ctx.conv?.type}`;
}
