// The chat controller: wires the socket, id pool, outbox and store together with its three parts,
// frames.js (every server frame), sync.js (history, seq gaps, the resync after a reconnect) and
// receipts.js (delivered and read), and holds the user's actions. UI modules talk to this object
// only (and read its store).
import * as api from './api.js';
import { Emitter } from './emitter.js';
import { Frames } from './frames.js';
import { ChatSocket } from './socket.js';
import { IdPool } from './idpool.js';
import { Outbox } from './outbox.js';
import { Receipts } from './receipts.js';
import { Store } from './store.js';
import { Sync } from './sync.js';
import { messagePreview } from './format.js';
import { gettext } from './i18n.js';

const TYPING_SEND_EVERY_MS = 3000;

export class Chat extends Emitter {
  constructor(me) {
    super();
    this.store = new Store(me);
    this.socket = new ChatSocket();
    this.pool = new IdPool(this.socket);
    this.outbox = new Outbox({ socket: this.socket, pool: this.pool, store: this.store });
    this.receipts = new Receipts({ store: this.store, socket: this.socket });
    this.sync = new Sync(this);
    this.frames = new Frames(this);
    this.lastTypingSent = new Map();

    this.socket.on('state', (s) => this.onSocketState(s));
    this.socket.on('frame', (f) => this.frames.handle(f));
  }

  get me() {
    return this.store.me;
  }

  async start() {
    this.socket.connect();
    await Promise.allSettled([this.loadConversations(), this.loadFriends()]);
  }

  // ------------------------------------------------------------ loading
  async loadConversations() {
    try {
      const list = await api.listConversations();
      for (const conv of list) this.store.upsertConversation(conv);
      this.store.setConversationsLoaded();
    } catch (err) {
      this.store.setConversationsLoaded();
      this.emit('error', { message: gettext('Could not load conversations: %(error)s', { error: api.errorText(err) }) });
    }
  }

  async loadFriends() {
    try {
      const list = await api.listFriends();
      this.store.setFriends(list);
      this.emit('friends');
    } catch (err) {
      this.emit('error', { message: gettext('Could not load friends: %(error)s', { error: api.errorText(err) }) });
    }
  }

  async fetchConversation(convId) {
    const conv = await api.getConversation(convId);
    return this.store.upsertConversation(conv);
  }

  async loadGroup(groupId) {
    const group = await api.getGroup(groupId);
    this.rememberGroup(group);
    return group;
  }

  rememberGroup(group) {
    if (!group) return;
    this.store.setGroup(group);
    this.emit('group-loaded', { group });
  }

  /** Opens a conversation: loads its latest page the first time, marks read. */
  async openConversation(convId) {
    this.store.setActive(convId);
    const conv = this.store.conversations.get(convId);
    this.emit('active', { convId });
    if (conv?.type === 'group' && conv.group?.id != null && !this.store.groups.has(conv.group.id)) {
      this.loadGroup(conv.group.id).catch(() => {});
    }
    await this.sync.loadLatest(convId);
    this.receipts.markActiveRead();
  }

  closeConversation() {
    this.store.setActive(null);
    this.emit('active', { convId: null });
  }

  /** Scroll-back: the page just before the oldest held message; answers how many came. */
  loadOlder(convId) {
    return this.sync.loadOlder(convId);
  }

  /** The message with `seq`, loaded first when it is not held (a search result, a quote). */
  ensureSeqLoaded(convId, seq) {
    return this.sync.ensureSeqLoaded(convId, seq);
  }

  // ------------------------------------------------------------ socket
  onSocketState({ state, message, retryInMs }) {
    if (state === 'ready') {
      this.pool.onReady();
      this.outbox.flush();
    } else if (state === 'down') {
      this.outbox.onSocketDown();
    }
    this.emit('connection', { state, message, retryInMs });
  }

  /** Unread counters, read cursor, announcements, group refresh for new messages (pushed by
   * frames.js or pulled by sync.js). */
  afterNewMessages(convId, msgs, { announce }) {
    if (!msgs.length) return;
    const conv = this.store.conversations.get(convId);
    const fromOthers = msgs.filter((m) => !this.store.isMe(m.sender_id));
    for (const m of fromOthers) this.receipts.queueDelivered(convId, m.msg_id);
    if (conv?.type === 'group' && msgs.some((m) => m.type === 'system') && conv.group?.id != null) {
      this.loadGroup(conv.group.id).catch(() => {});
    }
    if (this.receipts.isReading(convId)) {
      this.receipts.markActiveRead();
    } else if (conv) {
      const unseen = fromOthers.filter((m) => m.seq > (conv.read_seq ?? 0) && m.type !== 'system');
      if (unseen.length) {
        const mentioned = unseen.filter((m) => (m.content?.mentions ?? []).some((id) => this.store.isMe(id)));
        this.store.addUnread(convId, unseen.length, mentioned.length);
      }
    }
    if (announce && fromOthers.length && !conv?.muted) {
      const last = fromOthers[fromOthers.length - 1];
      const nameOf = (id) => this.store.userName(id);
      const params = { name: this.store.userName(last.sender_id), title: this.store.conversationTitle(conv), text: messagePreview(last, nameOf) };
      const text = last.type === 'system' ? gettext('%(title)s: %(text)s', params)
        : conv?.type === 'group' ? gettext('New message from %(name)s in %(title)s: %(text)s', params)
          : gettext('New message from %(name)s: %(text)s', params);
      this.emit('announce', { text, convId, msgId: last.msg_id });
    }
    this.emit('activity', { convId, msgs });
  }

  // ------------------------------------------------------------ actions
  sendMessage(convId, msgType, content, localExtra, extra) {
    const msg = this.outbox.enqueue(convId, msgType, content, localExtra, extra);
    this.emit('sent-local', { convId, msg });
    return msg;
  }

  /** replyTo: the quoted message (same conversation); mentions: user ids (groups only). */
  sendText(convId, text, { replyTo = null, mentions = [] } = {}) {
    const trimmed = text.trim();
    if (!trimmed) return null;
    const content = mentions.length ? { text, mentions } : { text };
    if (!replyTo) return this.sendMessage(convId, 'text', content);
    return this.sendMessage(convId, 'text', content, {}, {
      frame: { reply_to: String(replyTo.msg_id) },
      fields: { reply_to: quoteOf(replyTo) },
    });
  }

  /** Sends a copy of `source` (a message of another or the same conversation) to convId. */
  forward(convId, source) {
    return this.sendMessage(convId, source.type, { ...source.content }, {}, {
      frame: { forward: { conversation_id: source.conversation_id, msg_id: String(source.msg_id) } },
      fields: { forwarded: true },
    });
  }

  /** Puts (on) or takes back one's own reaction. */
  async react(convId, msgId, emoji, on) {
    const frame = { type: 'react', conversation_id: convId, msg_id: String(msgId), emoji, on };
    if (this.socket.send(frame)) return;
    try {
      if (on) await api.addReaction(convId, msgId, emoji);
      else await api.removeReaction(convId, msgId, emoji);
      this.store.applyReaction({ conversation_id: convId, msg_id: msgId, user_id: this.me.id, emoji, on });
    } catch (err) {
      this.emit('error', { message: api.errorText(err) });
    }
  }

  /** Replaces the text (and mentions) of one's own text message. */
  async edit(convId, msgId, text, { mentions = [] } = {}) {
    const content = mentions.length ? { text, mentions } : { text };
    if (this.socket.send({ type: 'edit', conversation_id: convId, msg_id: String(msgId), content })) return;
    try {
      const msg = await api.editMessage(convId, msgId, content);
      this.store.applyEdit({ conversation_id: convId, msg_id: msgId, content: msg.content, edited_at: msg.edited_at });
    } catch (err) {
      this.emit('error', { message: api.errorText(err) });
    }
  }

  retry(msgId) {
    this.outbox.retry(msgId);
  }

  discard(msgId) {
    this.outbox.discard(msgId);
  }

  recall(convId, msgId) {
    if (!this.socket.send({ type: 'recall', conversation_id: convId, msg_id: String(msgId) })) {
      this.emit('error', { message: gettext('Not connected: try recalling again when the connection is back.') });
    }
  }

  typing(convId) {
    const last = this.lastTypingSent.get(convId) ?? 0;
    if (Date.now() - last < TYPING_SEND_EVERY_MS) return;
    if (this.socket.send({ type: 'typing', conversation_id: convId })) this.lastTypingSent.set(convId, Date.now());
  }

  sendCallFrame(frame) {
    return this.socket.send({ type: 'call', ...frame });
  }

  async updateConversation(convId, patch) {
    const conv = await api.updateConversation(convId, patch);
    // The patched fields hold even where the answer leaves one out.
    const merged = this.store.upsertConversation({ ...conv, ...patch });
    if (patch.hidden && this.store.activeId === convId) this.closeConversation();
    return merged;
  }

  async deleteConversation(convId) {
    await api.deleteConversation(convId);
    if (this.store.activeId === convId) this.closeConversation();
    this.store.removeConversation(convId, { clearHistory: true });
  }

  async startDirect(userId) {
    const conv = await api.openDirect(userId);
    conv.hidden = false;
    this.store.upsertConversation(conv);
    return conv;
  }

  isOnline(userId) {
    return this.store.online.has(String(userId));
  }
}

/** The `reply_to` of a message quoting `msg`, as the server will make it. */
function quoteOf(msg) {
  const text = msg.type === 'text' && !msg.recalled ? String(msg.content?.text ?? '') : '';
  return {
    msg_id: String(msg.msg_id),
    seq: msg.seq,
    sender_id: msg.sender_id,
    type: msg.type,
    preview: [...text].slice(0, 100).join(''),
    recalled: !!msg.recalled,
  };
}
