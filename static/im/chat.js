// The chat controller: wires the socket, id pool, outbox and store together,
// handles every server frame, loads history, fills seq gaps and re-syncs
// after a reconnect. UI modules talk to this object only.
import * as api from './api.js';
import { Emitter } from './emitter.js';
import { ChatSocket } from './socket.js';
import { IdPool } from './idpool.js';
import { Outbox } from './outbox.js';
import { Store } from './store.js';
import { displayName, messagePreview } from './format.js';
import { gettext } from './i18n.js';

const PAGE = 50;
const PULL_PAGE = 200;
const TYPING_SEND_EVERY_MS = 3000;

export class Chat extends Emitter {
  constructor(me) {
    super();
    this.store = new Store(me);
    this.socket = new ChatSocket();
    this.pool = new IdPool(this.socket);
    this.outbox = new Outbox({ socket: this.socket, pool: this.pool, store: this.store });
    this.syncToken = null;
    this.deliveredQueue = new Map(); // convId -> Set(msg_id)
    this.deliveredScheduled = false;
    this.pulling = new Map(); // convId -> promise
    this.lastTypingSent = new Map();
    this.windowFocused = document.hasFocus();

    this.socket.on('state', (s) => this.onSocketState(s));
    this.socket.on('frame', (f) => this.onFrame(f));

    window.addEventListener('focus', () => {
      this.windowFocused = true;
      this.markActiveRead();
    });
    window.addEventListener('blur', () => { this.windowFocused = false; });
    document.addEventListener('visibilitychange', () => this.markActiveRead());
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
    await this.loadLatest(convId);
    this.markActiveRead();
  }

  /** The latest page of a conversation, fetched once (concurrent callers share it). */
  loadLatest(convId) {
    const thread = this.store.thread(convId);
    if (thread.loaded) return Promise.resolve();
    if (thread.loadPromise) return thread.loadPromise;
    thread.loadPromise = (async () => {
      try {
        const data = await api.listMessages(convId, { limit: PAGE });
        const results = data?.results ?? [];
        for (const m of results) this.store.upsertMessage(m);
        this.store.setThreadLoaded(convId, !!data?.next && results.length > 0);
        // Anything that arrived meanwhile is merged by msg_id; a hole is pulled.
        this.checkGap(convId);
      } catch (err) {
        this.emit('error', { message: gettext('Could not load messages: %(error)s', { error: api.errorText(err) }) });
      } finally {
        thread.loadPromise = null;
      }
    })();
    return thread.loadPromise;
  }

  closeConversation() {
    this.store.setActive(null);
    this.emit('active', { convId: null });
  }

  /** Scroll-back: the page just before the oldest held message. */
  async loadOlder(convId) {
    const thread = this.store.thread(convId);
    if (!thread.hasMoreBefore || thread.loadingOlder) return 0;
    this.store.setLoadingOlder(convId, true);
    try {
      const before = thread.minSeq();
      const data = await api.listMessages(convId, {
        before_seq: before,
        limit: PAGE,
      });
      const results = data?.results ?? [];
      for (const m of results) this.store.upsertMessage(m);
      this.store.setHasMoreBefore(convId, !!data?.next && results.length > 0 && thread.minSeq() > 1);
      return results.length;
    } catch (err) {
      this.emit('error', { message: gettext('Could not load older messages: %(error)s', { error: api.errorText(err) }) });
      return 0;
    } finally {
      this.store.setLoadingOlder(convId, false);
    }
  }

  /** Makes sure the message with `seq` is held (loading backwards as needed). */
  async ensureSeqLoaded(convId, seq) {
    const thread = this.store.thread(convId);
    await this.loadLatest(convId);
    let guard = 0;
    while (thread.minSeq() > seq && thread.hasMoreBefore && guard < 100) {
      guard += 1;
      const n = await this.loadOlder(convId);
      if (!n) break;
    }
    if (seq > thread.maxSeq()) await this.pullAfter(convId);
    return thread.bySeq(seq);
  }

  // ------------------------------------------------------------ gaps & sync
  /** Pull when the held range has a hole or is behind conv.last_seq. */
  checkGap(convId) {
    const thread = this.store.thread(convId);
    if (!thread.loaded) return;
    const conv = this.store.conversations.get(convId);
    const contiguous = thread.contiguousMax();
    const max = thread.maxSeq();
    const behind = (conv?.last_seq ?? 0) > max;
    if (contiguous < max || behind) this.pullAfter(convId, contiguous);
  }

  /** GET messages?after_seq= from what we hold, following `next`. */
  pullAfter(convId, afterSeq) {
    const running = this.pulling.get(convId);
    if (running) {
      running.again = true;
      return running.promise;
    }
    const job = { again: false, promise: null };
    job.promise = (async () => {
      try {
        do {
          job.again = false;
          const thread = this.store.thread(convId);
          const after = afterSeq ?? thread.contiguousMax();
          afterSeq = undefined;
          let cursor = null;
          for (let page = 0; page < 100; page += 1) {
            // Same query each page, plus the `next` cursor (docs/api.md section 0).
            const data = await api.listMessages(convId, {
              after_seq: after,
              cursor,
              limit: PULL_PAGE,
            });
            const results = data?.results ?? [];
            const fresh = [];
            for (const m of results) {
              const { isNew, msg } = this.store.upsertMessage(m);
              if (this.outbox.has(msg.msg_id)) this.outbox.resolve(msg.msg_id);
              if (isNew) fresh.push(msg);
            }
            this.afterNewMessages(convId, fresh, { announce: false });
            cursor = data?.next ?? null;
            if (!cursor || !results.length) break;
          }
        } while (job.again);
      } catch (err) {
        this.emit('error', { message: gettext('Could not fetch missing messages: %(error)s', { error: api.errorText(err) }) });
      } finally {
        this.pulling.delete(convId);
      }
    })();
    this.pulling.set(convId, job);
    return job.promise;
  }

  /** After `synced`: GET /sync?since= and pull every conversation we hold that is behind. */
  async resync() {
    try {
      const data = await api.sync(this.syncToken);
      for (const conv of data?.conversations ?? []) {
        if (conv.deleted) {
          this.store.removeConversation(conv.id, { clearHistory: true });
          continue;
        }
        this.store.upsertConversation(conv);
      }
      if (data?.token != null) this.syncToken = data.token;
      for (const [convId, thread] of this.store.threads) {
        if (!thread.loaded) continue;
        const conv = this.store.conversations.get(convId);
        if ((conv?.last_seq ?? 0) > thread.contiguousMax()) this.pullAfter(convId);
      }
      this.markActiveRead();
    } catch (err) {
      this.emit('error', { message: gettext('Could not synchronise: %(error)s', { error: api.errorText(err) }) });
    }
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

  onFrame(frame) {
    switch (frame.type) {
      case 'hello':
        this.store.setOnline(frame.online_friends ?? []);
        this.emit('presence', {});
        break;
      case 'synced':
        this.resync();
        break;
      case 'pong':
        break;
      case 'msg_ids':
        this.pool.onIds(frame.ids);
        break;
      case 'ack':
        this.onAck(frame);
        break;
      case 'message':
        if (frame.message) this.onMessage(frame.message);
        break;
      case 'receipt':
        this.store.applyReceipt(frame);
        this.emit('receipt', frame);
        break;
      case 'recalled':
        this.store.applyRecall(frame.conversation_id, frame.msg_id);
        this.emit('recalled', frame);
        break;
      case 'reaction':
        this.store.applyReaction(frame);
        break;
      case 'edited':
        this.store.applyEdit(frame);
        break;
      case 'conversation':
        this.onConversationFrame(frame.conversation);
        break;
      case 'typing':
        if (!this.store.isMe(frame.user_id)) this.emit('typing', frame);
        break;
      case 'presence':
        this.store.setPresence(frame.user_id, frame.online);
        this.emit('presence', frame);
        break;
      case 'friend_request':
        this.onFriendRequest(frame.request);
        break;
      case 'group':
        this.onGroupFrame(frame);
        break;
      case 'call':
        this.emit('call', frame);
        break;
      case 'error':
        this.onErrorFrame(frame);
        break;
      default:
        break;
    }
  }

  onAck(frame) {
    this.outbox.resolve(frame.msg_id);
    const msg = this.store.applyAck(frame);
    this.emit('acked', { convId: frame.conversation_id, msg });
    // Our seq may reveal messages we have not been pushed yet; give the push a moment.
    setTimeout(() => this.checkGap(frame.conversation_id), 1500);
  }

  onMessage(message) {
    const convId = message.conversation_id;
    const conv = this.store.conversations.get(convId);
    const { msg, isNew } = this.store.upsertMessage(message);
    if (this.outbox.has(msg.msg_id)) this.outbox.resolve(msg.msg_id);
    this.queueDelivered(convId, msg.msg_id);
    if (!conv) {
      // A new conversation (or one that was hidden/deleted): fetch its state.
      this.fetchConversation(convId).catch(() => {});
    } else {
      this.store.unhide(convId);
    }
    if (isNew) this.afterNewMessages(convId, [msg], { announce: true });
    const thread = this.store.thread(convId);
    if (thread.loaded) this.checkGap(convId);
  }

  /** Unread counters, read cursor, announcements, group refresh for new messages. */
  afterNewMessages(convId, msgs, { announce }) {
    if (!msgs.length) return;
    const conv = this.store.conversations.get(convId);
    const fromOthers = msgs.filter((m) => !this.store.isMe(m.sender_id));
    for (const m of fromOthers) this.queueDelivered(convId, m.msg_id);
    if (conv?.type === 'group' && msgs.some((m) => m.type === 'system') && conv.group?.id != null) {
      this.loadGroup(conv.group.id).catch(() => {});
    }
    if (this.isReading(convId)) {
      this.markActiveRead();
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

  onConversationFrame(conv) {
    if (!conv?.id) return;
    if (conv.deleted) {
      this.store.removeConversation(conv.id, { clearHistory: true });
      if (this.store.activeId === conv.id) this.closeConversation();
      return;
    }
    // The server's unread counts, when the frame has them, replace the local ones.
    this.store.upsertConversation(conv);
  }

  onFriendRequest(request) {
    if (request) {
      this.store.rememberUser(request.from_user);
      this.store.rememberUser(request.to_user);
      if (request.status === 'pending' && !this.store.isMe(request.from_user?.id)) {
        this.emit('announce', { text: gettext('Friend request from %(name)s', { name: displayName(request.from_user) }) });
      } else if (request.status === 'accepted' && this.store.isMe(request.from_user?.id)) {
        this.emit('announce', { text: gettext('%(name)s accepted your friend request', { name: displayName(request.to_user) }) });
      }
    }
    this.emit('friend_request', { request });
    if (request?.status === 'accepted') this.loadFriends();
  }

  onGroupFrame(frame) {
    const conv = this.store.conversationForGroup(frame.group_id);
    if (frame.event === 'created' && !conv) {
      this.loadConversations();
    }
    this.loadGroup(frame.group_id).catch((err) => {
      if (err?.status === 404 && conv) {
        // No longer a member.
        this.store.markLeft(conv.id);
      }
    });
    if (conv) this.fetchConversation(conv.id).catch(() => {});
    this.emit('group', frame);
  }

  onErrorFrame(frame) {
    if (frame.ref && this.outbox.onError(frame)) {
      if (['invalid_content', 'not_friends', 'blocked', 'group_dissolved', 'forbidden', 'not_found'].includes(frame.code)) {
        this.emit('error', { message: frame.message || frame.code });
      }
      return;
    }
    this.emit('error', { message: frame.message || `Error: ${frame.code}` });
  }

  // ------------------------------------------------------------ receipts
  queueDelivered(convId, msgId) {
    let set = this.deliveredQueue.get(convId);
    if (!set) {
      set = new Set();
      this.deliveredQueue.set(convId, set);
    }
    set.add(String(msgId));
    if (this.deliveredScheduled) return;
    this.deliveredScheduled = true;
    setTimeout(() => {
      this.deliveredScheduled = false;
      for (const [cid, ids] of this.deliveredQueue) {
        this.socket.send({ type: 'delivered', conversation_id: cid, msg_ids: [...ids] });
      }
      this.deliveredQueue.clear();
    }, 0);
  }

  isReading(convId) {
    return this.store.activeId === convId && document.visibilityState === 'visible' && this.windowFocused;
  }

  markActiveRead() {
    const convId = this.store.activeId;
    if (!convId || !this.isReading(convId)) return;
    const conv = this.store.conversations.get(convId);
    const thread = this.store.thread(convId);
    const seq = thread.maxSeq();
    if (!conv || !seq) return;
    if (!this.store.markRead(convId, seq)) return;
    if (!this.socket.send({ type: 'read', conversation_id: convId, seq })) {
      api.markRead(convId, seq).catch(() => {});
    }
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
