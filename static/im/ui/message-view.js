// Rendering of one message element (<li data-msg-id data-seq data-status>).
import { pageConfig } from '../config.js';
import { icon } from './icons.js';
import { h, safeUrl } from '../dom.js';
import { coords, duration, fileSize, messagePreview, osmUrl, systemSentence } from '../format.js';
import { clockTime, fullTime } from '../time.js';
import { gettext } from '../i18n.js';
import { avatar } from './avatar.js';
import { menuButton } from './menu.js';
import { richText } from './richtext.js';

const RECALL_WINDOW_MS = 120 * 1000;
// The server's IM_EDIT_WINDOW (seconds), from the page's JSON block.
const EDIT_WINDOW_MS = pageConfig('im-edit-window', 86400) * 1000;
// The React picker: a few common emoji (any one emoji is accepted by the server).
export const REACTION_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👀'];
const STATUS_TEXT = {
  pending: gettext('Sending…'),
  sent: gettext('Sent'),
  delivered: gettext('Delivered'),
  read: gettext('Read'),
  failed: gettext('Not sent'),
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

/** Whether the current user may edit this message now (own text, within the edit window). */
export function canEdit(msg, { store }) {
  if (msg.recalled || msg.seq == null || msg.type !== 'text' || !store.isMe(msg.sender_id)) return false;
  const created = Date.parse(msg.created_at);
  return !Number.isFinite(created) || Date.now() - created <= EDIT_WINDOW_MS;
}

/** The quote of the replied-to message above a reply; clicking it shows the original. */
function renderQuote(quote, ctx) {
  const text = quote.recalled
    ? gettext('Message recalled')
    : quote.type === 'text' ? quote.preview : messagePreview({ type: quote.type, content: {} }, () => '');
  return h('button', {
    type: 'button',
    class: `msg-quote${quote.recalled ? ' recalled' : ''}`,
    dataset: { replyTo: quote.msg_id },
    onclick: () => ctx.onJump?.(quote),
  },
  h('span', { class: 'visually-hidden', text: `${gettext('In reply to')} ` }),
  h('span', { class: 'quote-sender', text: ctx.store.userName(quote.sender_id) }),
  h('span', { class: 'quote-text', text }));
}

/** Chips under the message: emoji and count, pressed when one's own, names on hover / focus. */
function renderReactions(msg, ctx) {
  const entries = Object.entries(msg.reactions ?? {}).filter(([, users]) => users?.length);
  if (!entries.length || msg.recalled) return null;
  return h('ul', { class: 'msg-reactions', 'aria-label': gettext('Reactions') },
    entries.map(([emoji, users]) => {
      const mine = users.some((id) => ctx.store.isMe(id));
      const names = users.map((id) => ctx.store.userName(id)).join(', ');
      return h('li', {}, h('button', {
        type: 'button',
        class: `reaction-chip${mine ? ' mine' : ''}`,
        'aria-pressed': String(mine),
        'aria-label': `${emoji} ${users.length}: ${names}`,
        dataset: { emoji, names },
        onclick: () => ctx.onReact?.(msg, emoji, !mine),
      }, h('span', { class: 'reaction-emoji', text: emoji }), h('span', { class: 'reaction-count', text: String(users.length) })));
    }));
}

/** A user's names as they may follow an `@` in a text. */
function namesOf(store, id) {
  const user = store.users.get(id) ?? store.users.get(Number(id));
  return user ? [user.display_name, user.username] : [];
}

function renderContent(msg, store) {
  const c = msg.content ?? {};
  if (msg.recalled) return h('p', { class: 'msg-recalled', text: gettext('Message recalled') });
  switch (msg.type) {
    case 'text':
      return h('p', { class: 'msg-text' }, richText(String(c.text ?? ''), {
        mentions: c.mentions,
        namesOf: (id) => namesOf(store, id),
        isMe: (id) => store.isMe(id),
      }));
    case 'image': {
      const full = safeUrl(c.url) ?? safeUrl(c._localUrl);
      const thumb = safeUrl(c.thumbnail_url) ?? full;
      const img = h('img', {
        src: thumb,
        alt: gettext('Image'),
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
        src ? h('audio', { controls: true, preload: 'metadata', src, 'aria-label': gettext('Voice message') }) : null,
        h('span', { class: 'msg-voice-duration', text: gettext('Voice message · %(duration)s', { duration: duration(c.duration_ms) }) }));
    }
    case 'file': {
      const href = safeUrl(c.url);
      const name = String(c.name ?? c._name ?? gettext('File'));
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
          valid ? h('a', { href: osmUrl(lat, lng), target: '_blank', rel: 'noopener noreferrer' }, gettext('Open in OpenStreetMap')) : null));
    }
    case 'system':
      return h('p', { class: 'msg-system-text', text: systemSentence(c, (id) => store.userName(id)) });
    default:
      return h('p', { class: 'msg-text unknown', text: gettext('Unsupported message') });
  }
}

/** Whether the text mentions the current user. */
export function mentionsMe(msg, store) {
  return !msg.recalled && (msg.content?.mentions ?? []).some((id) => store.isMe(id));
}

/**
 * ctx: {store, conv, myRole, groupRead: {read, total}|null, first, last (the message opens /
 * closes a run of one sender's messages), onRetry, onDiscard, onRecall}
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

  const senderName = mine ? gettext('You') : store.userName(msg.sender_id);
  const inGroup = conv?.type === 'group';
  const showSender = inGroup && !mine && ctx.first;
  const meta = h('div', { class: 'msg-meta' },
    h('time', { datetime: msg.created_at, title: fullTime(msg.created_at), text: clockTime(msg.created_at) }));
  if (status) {
    meta.append(h('span', { class: `msg-status status-${status}` },
      h('span', { 'aria-hidden': 'true', text: STATUS_ICON[status] ?? '' }),
      h('span', { class: 'status-label', text: ` ${STATUS_TEXT[status] ?? status}` })));
  }
  if (mine && inGroup && ctx.groupRead && msg.seq != null && !msg.recalled) {
    meta.append(h('span', { class: 'msg-group-read', text: gettext('Read by %(read)s of %(total)s', { read: ctx.groupRead.read, total: ctx.groupRead.total }) }));
  }

  const bubble = h('div', { class: 'msg-bubble' },
    showSender ? h('p', { class: 'msg-sender', text: senderName }) : null,
    h('span', { class: 'visually-hidden', text: showSender ? '' : `${senderName}: ` }),
    msg.forwarded ? h('p', { class: 'msg-forwarded', text: gettext('Forwarded') }) : null,
    msg.reply_to ? renderQuote(msg.reply_to, ctx) : null,
    renderContent(msg, store),
    meta);
  if (msg.edited_at && !msg.recalled) {
    meta.prepend(h('span', { class: 'msg-edited', title: fullTime(msg.edited_at), text: gettext('edited') }));
  }

  const actions = [];
  if (status === 'failed') {
    actions.push(h('p', { class: 'msg-error', text: msg._error ? gettext('Not sent: %(error)s', { error: msg._error }) : gettext('Not sent.') }),
      h('button', { type: 'button', class: 'retry-button', onclick: () => ctx.onRetry(msg) }, gettext('Retry')),
      h('button', { type: 'button', class: 'link-button', onclick: () => ctx.onDiscard(msg) }, gettext('Discard')));
  }

  const tools = [];
  if (!msg.recalled && msg.seq != null && ctx.onReact) {
    const has = (emoji) => (msg.reactions?.[emoji] ?? []).some((id) => store.isMe(id));
    tools.push(menuButton({
      label: gettext('React'),
      className: 'react-button',
      iconName: 'smile',
      menuClass: 'emoji-picker',
      items: () => REACTION_EMOJI.map((emoji) => ({ label: emoji, onSelect: () => ctx.onReact(msg, emoji, !has(emoji)) })),
    }));
  }
  if (!msg.recalled && msg.seq != null) {
    tools.push(menuButton({
      label: gettext('Message options'),
      className: 'msg-menu',
      items: () => {
        const items = [];
        if (ctx.onReply) items.push({ label: gettext('Reply'), onSelect: () => ctx.onReply(msg) });
        if (ctx.onEdit && canEdit(msg, ctx)) items.push({ label: gettext('Edit'), onSelect: () => ctx.onEdit(msg) });
        if (ctx.onForward) items.push({ label: gettext('Forward'), onSelect: () => ctx.onForward(msg) });
        if (canRecall(msg, ctx)) items.push({ label: gettext('Recall'), danger: true, onSelect: () => ctx.onRecall(msg) });
        if (msg.type === 'text' && navigator.clipboard) {
          items.push({ label: gettext('Copy text'), onSelect: () => navigator.clipboard.writeText(String(msg.content?.text ?? '')).catch(() => {}) });
        }
        if (!items.length) items.push({ label: gettext('No actions available'), onSelect: () => {} });
        return items;
      },
    }));
  }

  // In a group, others' runs of messages carry the sender's avatar beside their last message.
  let face = null;
  if (inGroup && !mine) {
    const user = store.users.get(msg.sender_id) ?? store.users.get(Number(msg.sender_id));
    face = h('span', { class: 'msg-avatar' },
      ctx.last ? avatar(senderName, user?.avatar_url, msg.sender_id, { size: 'sm' }) : null);
  }

  const classes = ['msg', mine ? 'msg-own' : 'msg-other'];
  if (ctx.first) classes.push('msg-first');
  if (ctx.last) classes.push('msg-last');
  if (mentionsMe(msg, store)) classes.push('msg-mentions-me');
  return h('li', { class: classes.join(' '), dataset },
    face,
    h('div', { class: 'msg-main' },
      h('div', { class: 'msg-row' }, bubble, tools.length ? h('div', { class: 'msg-tools' }, ...tools) : null),
      renderReactions(msg, ctx),
      actions.length ? h('div', { class: 'msg-actions' }, ...actions) : null));
}

/** Signature deciding whether an existing element can be reused. */
export function messageSignature(msg, ctx) {
  const read = ctx.groupRead ? `${ctx.groupRead.read}/${ctx.groupRead.total}` : '';
  return `${msg.msg_id}|${msg._v}|${ctx.store.statusOf(msg)}|${read}|${ctx.store.userName(msg.sender_id)}|${ctx.conv?.type}|${ctx.first}|${ctx.last}`;
}
