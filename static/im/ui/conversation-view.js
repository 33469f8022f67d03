// The open conversation: header (name, presence, typing, call / group
// buttons), messages grouped by day with scroll-back, and the composer.
import { icon } from './icons.js';
import { h, reconcile, setChildren } from '../dom.js';
import * as api from '../api.js';
import { dayKey, dayLabel } from '../time.js';
import { avatar } from './avatar.js';
import { canEdit, renderMessage, messageSignature } from './message-view.js';
import { Composer } from './composer.js';
import { showError, announce } from './notify.js';
import { gettext, ngettext } from '../i18n.js';
import { openForwardDialog } from './forward.js';

const TYPING_SHOW_MS = 4000;
const GROUP_READ_LIMIT = 10;
// Messages of one sender closer than this in time are drawn as one run.
const RUN_GAP_MS = 5 * 60 * 1000;

// The controls of a message that keep the keyboard focus when the message is drawn again.
const FOCUSABLE = ['.react-button', '.msg-menu', '.msg-quote', '.retry-button'];

/** A selector finding the focused control again in the redrawn message. */
function focusSelector(el) {
  const chip = el.closest('.reaction-chip');
  if (chip) return `.reaction-chip[data-emoji="${CSS.escape(chip.dataset.emoji)}"]`;
  return FOCUSABLE.find((sel) => el.closest(sel)) ?? 'button';
}

/** Whether `msg` continues the run of `prev` (same sender, same day, a few minutes apart). */
function continuesRun(prev, msg) {
  if (!prev || !msg || prev.type === 'system' || msg.type === 'system') return false;
  if (String(prev.sender_id) !== String(msg.sender_id)) return false;
  if (dayKey(prev.created_at) !== dayKey(msg.created_at)) return false;
  const gap = Date.parse(msg.created_at) - Date.parse(prev.created_at);
  return !(gap > RUN_GAP_MS);
}

export class ConversationView {
  constructor(chat, { root, placeholder, onBack, onGroupInfo, onCall, title }) {
    this.chat = chat;
    this.store = chat.store;
    this.root = root;
    this.placeholder = placeholder;
    this.onGroupInfo = onGroupInfo;
    this.onCall = onCall;
    this.convId = null;
    this.elements = new Map(); // _key -> {el, sig}
    this.dayElements = new Map();
    this.typing = new Map(); // userId -> timeout
    this.groupReads = new Map(); // `${convId}:${seq}` -> {read, total}
    this.groupReadTimer = null;
    this.forceBottom = false;
    this.pageTitle = title;
    // "New messages" divider: shown above the first message from others after this seq.
    this.unreadAfter = null;
    this.unreadDivider = h('li', { class: 'unread-divider', role: 'separator', 'aria-label': gettext('New messages') },
      h('span', { text: gettext('New messages') }));
    this.scrollToDivider = false;

    this.backButton = h('button', { type: 'button', class: 'icon-button back-button', 'aria-label': gettext('Back to conversations'), onclick: onBack }, icon('back'));
    this.avatarSlot = h('span', { class: 'header-avatar' });
    this.title = h('h2', { class: 'conversation-title', id: 'conversation-title' });
    this.subtitle = h('p', { class: 'conversation-subtitle' });
    this.typingLine = h('p', { class: 'typing-indicator', 'aria-live': 'polite' });
    this.actions = h('div', { class: 'header-actions' });
    this.header = h('header', { class: 'conversation-header' },
      this.backButton, this.avatarSlot,
      h('div', { class: 'header-text' }, this.title, this.subtitle, this.typingLine),
      this.actions);
    this.banner = h('div', { class: 'conversation-banner', hidden: true });
    this.olderButton = h('button', { type: 'button', class: 'link-button older-button', onclick: () => this.loadOlder() }, gettext('Load earlier messages'));
    this.olderStatus = h('p', { class: 'status-text older-status', role: 'status' });
    this.emptyNote = h('p', { class: 'empty-state thread-empty', hidden: true, text: gettext('No messages yet. Say hello!') });
    this.list = h('ol', { class: 'messages', 'aria-label': gettext('Messages'), 'aria-describedby': 'conversation-title' });
    this.scroller = h('div', { class: 'messages-scroll', tabindex: '0', 'aria-label': gettext('Message history') },
      this.olderStatus, this.olderButton, this.emptyNote, this.list);
    this.composer = new Composer(chat, {
      getConvId: () => this.convId,
      onSent: () => { this.forceBottom = true; },
      lastEditable: () => this.convId && this.store.thread(this.convId).sorted().findLast((m) => canEdit(m, { store: this.store })),
    });
    this.view = h('section', { class: 'conversation-view', 'aria-labelledby': 'conversation-title', hidden: true },
      this.header, this.banner, this.scroller, this.composer.element);
    root.append(this.view);

    this.scroller.addEventListener('scroll', () => {
      if (this.scroller.scrollTop < 120) this.loadOlder();
    }, { passive: true });

    this.store.on('thread', ({ convId }) => {
      if (convId === this.convId) this.renderMessages();
    });
    this.store.on('conversations', () => this.renderHeader());
    chat.on('typing', (f) => this.onTyping(f));
    chat.on('presence', () => this.renderHeader());
    chat.on('group-loaded', () => {
      this.renderHeader();
      if (this.convId) this.renderMessages();
      // An `@` typed before the members were known gets its suggestions now.
      if (document.activeElement === this.composer.textarea) this.composer.mentions.update();
    });
    chat.on('receipt', (f) => { if (f.conversation_id === this.convId) this.scheduleGroupReads(); });
    chat.on('activity', ({ convId }) => {
      if (convId !== this.convId) return;
      this.scheduleGroupReads();
      for (const m of this.store.thread(convId).sorted()) {
        if (m.sender_id != null && this.typing.has(String(m.sender_id))) this.clearTyping(m.sender_id);
      }
    });
    chat.on('acked', ({ convId }) => { if (convId === this.convId) this.scheduleGroupReads(); });
    setInterval(() => {
      if (this.convId && document.visibilityState === 'visible') this.scheduleGroupReads();
    }, 20000);
  }

  get conv() {
    return this.convId ? this.store.conversations.get(this.convId) : null;
  }

  show(convId) {
    if (this.convId !== convId) {
      this.composer.saveDraft();
      this.convId = convId;
      this.elements.clear();
      this.dayElements.clear();
      this.list.replaceChildren();
      for (const t of this.typing.values()) clearTimeout(t);
      this.typing.clear();
      this.typingLine.textContent = '';
      this.forceBottom = true;
      // Captured before the conversation is marked read (that happens after its history loads).
      const conv = convId ? this.store.conversations.get(convId) : null;
      this.unreadAfter = conv && (conv.unread_count ?? 0) > 0 ? conv.read_seq ?? 0 : null;
      this.scrollToDivider = this.unreadAfter != null;
    }
    this.placeholder.hidden = !!convId;
    this.view.hidden = !convId;
    if (!convId) return;
    this.renderHeader();
    this.renderMessages();
    this.composer.loadDraft();
    this.scheduleGroupReads(0);
  }

  focusComposer() {
    this.composer.focus();
  }

  // ------------------------------------------------------------ header
  renderHeader() {
    const conv = this.conv;
    if (!conv) return;
    const store = this.store;
    const title = store.conversationTitle(conv);
    if (this.title.textContent !== title) this.title.textContent = title;
    this.pageTitle.setBase(gettext('%(title)s · Chat', { title }));
    let online = null;
    let subtitle = '';
    if (conv.type === 'direct') {
      online = conv.peer ? this.chat.isOnline(conv.peer.id) : false;
      subtitle = online ? gettext('Online') : gettext('Offline');
    } else {
      const group = store.groupOf(conv.id);
      const count = group?.members?.length ?? conv.group?.member_count;
      subtitle = count ? ngettext('%(count)s member', '%(count)s members', count, { count }) : gettext('Group');
    }
    this.subtitle.textContent = subtitle;
    this.subtitle.dataset.online = online == null ? '' : String(online);
    setChildren(this.avatarSlot, avatar(title, conv.type === 'group' ? conv.group?.avatar_url : conv.peer?.avatar_url, conv.peer?.id ?? conv.id, { online, size: 'lg' }));

    const key = `${conv.id}|${conv.type}`;
    if (this.actions.dataset.key !== key) {
      this.actions.dataset.key = key;
      if (conv.type === 'direct') {
        setChildren(this.actions,
          h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Audio call'), title: gettext('Audio call'), onclick: () => this.onCall(conv.id, 'audio') }, icon('phone')),
          h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Video call'), title: gettext('Video call'), onclick: () => this.onCall(conv.id, 'video') }, icon('video')));
      } else {
        setChildren(this.actions,
          h('button', { type: 'button', class: 'group-info-button', onclick: () => this.onGroupInfo(conv) }, gettext('Group info')));
      }
    }
    this.renderBanner();
  }

  renderBanner() {
    const conv = this.conv;
    const group = conv ? this.store.groupOf(conv.id) : null;
    const parts = [];
    let disabledReason = '';
    if (conv?.type === 'group') {
      if (group?.dissolved || conv.dissolved) {
        parts.push(h('p', { class: 'banner-warning', text: gettext('This group has been dissolved. Nobody can send messages.') }));
        disabledReason = gettext('This group has been dissolved.');
      } else if (conv.left) {
        parts.push(h('p', { class: 'banner-warning', text: gettext('You are no longer a member of this group.') }));
        disabledReason = gettext('You are no longer a member of this group.');
      }
      if (group?.announcement) {
        parts.push(h('p', { class: 'announcement' }, h('strong', {}, gettext('Announcement: ')), h('span', { text: group.announcement })));
      }
    }
    setChildren(this.banner, ...parts);
    this.banner.hidden = parts.length === 0;
    this.composer.setDisabled(disabledReason);
  }

  // ------------------------------------------------------------ typing
  onTyping(frame) {
    if (frame.conversation_id !== this.convId) return;
    const userId = String(frame.user_id);
    clearTimeout(this.typing.get(userId));
    this.typing.set(userId, setTimeout(() => this.clearTyping(userId), TYPING_SHOW_MS));
    this.renderTyping();
  }

  clearTyping(userId) {
    clearTimeout(this.typing.get(String(userId)));
    this.typing.delete(String(userId));
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typing.keys()].map((id) => this.store.userName(id));
    let text = '';
    if (names.length === 1) text = gettext('%(name)s is typing…', { name: names[0] });
    else if (names.length === 2) text = gettext('%(name)s and %(other)s are typing…', { name: names[0], other: names[1] });
    else if (names.length > 2) text = gettext('Several people are typing…');
    this.typingLine.textContent = text;
  }

  // ------------------------------------------------------------ messages
  myRole() {
    const conv = this.conv;
    if (conv?.type !== 'group') return null;
    return this.store.groupRoleOf(conv.id, this.store.me.id);
  }

  renderMessages() {
    const conv = this.conv;
    if (!conv) return;
    const thread = this.store.thread(conv.id);
    const sc = this.scroller;
    const atBottom = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    const prevHeight = sc.scrollHeight;
    const prevTop = sc.scrollTop;
    const prevFirst = this.list.querySelector('.msg')?.dataset.msgId;

    const ctx = {
      store: this.store,
      conv,
      myRole: this.myRole(),
      groupRead: null,
      onRetry: (m) => this.chat.retry(m.msg_id),
      onDiscard: (m) => this.chat.discard(m.msg_id),
      onRecall: (m) => this.recall(m),
      onReply: (m) => this.composer.startReply(m),
      onEdit: (m) => this.composer.startEdit(m),
      onForward: (m) => openForwardDialog(this.chat, m),
      onReact: (m, emoji, on) => this.chat.react(m.conversation_id, m.msg_id, emoji, on),
      onJump: (quote) => this.jumpTo(quote.msg_id, quote.seq),
    };
    const nodes = [];
    const seen = new Set();
    let lastDay = null;
    const sorted = thread.sorted();
    const dividerAt = this.unreadAfter == null ? -1 : sorted.findIndex((m) => m.seq != null
      && m.seq > this.unreadAfter && !this.store.isMe(m.sender_id) && m.type !== 'system');
    for (const [index, msg] of sorted.entries()) {
      const prev = sorted[index - 1];
      const next = sorted[index + 1];
      const day = dayKey(msg.created_at);
      if (day !== lastDay) {
        lastDay = day;
        let dayEl = this.dayElements.get(day);
        const label = dayLabel(msg.created_at);
        if (!dayEl) {
          dayEl = h('li', { class: 'day-divider', dataset: { day } }, h('span', { text: label }));
          this.dayElements.set(day, dayEl);
        } else if (dayEl.textContent !== label) {
          dayEl.firstChild.textContent = label;
        }
        nodes.push(dayEl);
      }
      if (index === dividerAt) nodes.push(this.unreadDivider);
      ctx.first = index === dividerAt || !continuesRun(prev, msg);
      ctx.last = index + 1 === dividerAt || !continuesRun(msg, next);
      ctx.groupRead = conv.type === 'group' && msg.seq != null ? this.groupReads.get(`${conv.id}:${msg.seq}`) ?? null : null;
      const sig = messageSignature(msg, ctx) + `|${ctx.myRole}`;
      const key = msg._key ?? msg.msg_id;
      seen.add(key);
      let entry = this.elements.get(key);
      if (!entry || entry.sig !== sig) {
        const el = renderMessage(msg, ctx);
        if (entry) {
          const hadFocus = entry.el.contains(document.activeElement) ? focusSelector(document.activeElement) : null;
          if (entry.el.classList.contains('highlight')) el.classList.add('highlight');
          entry.el.replaceWith(el);
          if (hadFocus) (el.querySelector(hadFocus) ?? el.querySelector('button') ?? el).focus?.();
        }
        entry = { el, sig };
        this.elements.set(key, entry);
      }
      nodes.push(entry.el);
    }
    for (const key of [...this.elements.keys()]) if (!seen.has(key)) this.elements.delete(key);
    reconcile(this.list, nodes);

    this.emptyNote.hidden = !thread.loaded || thread.byId.size > 0;
    this.olderButton.hidden = !thread.hasMoreBefore || thread.loadingOlder;
    this.olderStatus.textContent = !thread.loaded ? gettext('Loading messages…') : thread.loadingOlder ? gettext('Loading earlier messages…') : '';

    const newFirst = this.list.querySelector('.msg')?.dataset.msgId;
    if (this.scrollToDivider && thread.loaded) {
      // Opening with unread messages: start at the first unread one, not at the bottom.
      this.scrollToDivider = false;
      this.forceBottom = false;
      if (this.unreadDivider.isConnected) this.unreadDivider.scrollIntoView({ block: 'start' });
      else sc.scrollTop = sc.scrollHeight;
    } else if (this.forceBottom || atBottom) {
      sc.scrollTop = sc.scrollHeight;
      if (thread.loaded) this.forceBottom = false;
    } else if (prevFirst && newFirst !== prevFirst) {
      // Older messages were prepended: keep what the user was looking at in place.
      sc.scrollTop = prevTop + (sc.scrollHeight - prevHeight);
    }
  }

  async loadOlder() {
    if (!this.convId) return;
    const thread = this.store.thread(this.convId);
    if (!thread.loaded || !thread.hasMoreBefore || thread.loadingOlder) return;
    await this.chat.loadOlder(this.convId);
  }

  recall(msg) {
    this.chat.recall(msg.conversation_id, msg.msg_id);
    announce(gettext('Recalling message'));
  }

  /** Opens the message (loading history as needed), scrolls to it and highlights it. */
  async jumpTo(msgId, seq) {
    const convId = this.convId;
    if (!convId) return;
    if (seq != null) await this.chat.ensureSeqLoaded(convId, Number(seq));
    this.renderMessages();
    const el = [...this.list.querySelectorAll('.msg')].find((e) => e.dataset.msgId === String(msgId));
    if (!el) {
      showError(gettext('That message is no longer available.'));
      return;
    }
    for (const old of this.list.querySelectorAll('.highlight')) old.classList.remove('highlight');
    el.classList.add('highlight');
    el.dataset.highlighted = 'true';
    el.setAttribute('tabindex', '-1');
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
    setTimeout(() => {
      el.classList.remove('highlight');
      delete el.dataset.highlighted;
    }, 4000);
  }

  // ------------------------------------------------------------ group read receipts
  scheduleGroupReads(delay = 800) {
    const conv = this.conv;
    if (conv?.type !== 'group' || conv.group?.id == null) return;
    clearTimeout(this.groupReadTimer);
    this.groupReadTimer = setTimeout(() => this.refreshGroupReads(conv), delay);
  }

  async refreshGroupReads(conv) {
    const thread = this.store.thread(conv.id);
    const own = thread.sorted()
      .filter((m) => m.seq != null && this.store.isMe(m.sender_id) && m.type !== 'system' && !m.recalled)
      .slice(-GROUP_READ_LIMIT);
    if (!own.length) return;
    let changed = false;
    await Promise.all(own.map(async (m) => {
      try {
        const data = await api.groupReadReceipts(conv.group.id, m.seq);
        const read = data?.read?.length ?? 0;
        const total = read + (data?.unread?.length ?? 0);
        const key = `${conv.id}:${m.seq}`;
        const prev = this.groupReads.get(key);
        if (!prev || prev.read !== read || prev.total !== total) {
          this.groupReads.set(key, { read, total });
          changed = true;
        }
      } catch { /* not fatal: the count just stays as it was */ }
    }));
    if (changed && conv.id === this.convId) this.renderMessages();
  }
}


