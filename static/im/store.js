// Client state: conversations, per-conversation message threads (a Map keyed
// by msg_id, ordered by seq), users, friends, groups and presence.
// Every change is a method here that notifies by itself ('conversations' for the list, 'thread'
// {convId} for one conversation's messages); the notifications are coalesced and emitted after the
// current task. Other modules read the maps and never write them.
import { Emitter } from './emitter.js';
import { displayName } from './format.js';
import { gettext } from './i18n.js';

export const STATUS_RANK = { pending: 0, failed: 0, sent: 1, delivered: 2, read: 3 };

export class Thread {
  constructor(convId) {
    this.convId = convId;
    this.byId = new Map(); // msg_id -> message
    this.loaded = false; // the latest page has been fetched
    this.hasMoreBefore = false;
    this.loadingOlder = false;
    this.sortedCache = null;
  }

  invalidate() {
    this.sortedCache = null;
  }

  /** Messages in seq order; pending (no seq yet) last, in creation order. */
  sorted() {
    if (!this.sortedCache) {
      this.sortedCache = [...this.byId.values()].sort((a, b) => {
        const as = a.seq ?? Infinity;
        const bs = b.seq ?? Infinity;
        if (as !== bs) return as - bs;
        return (a._localOrder ?? 0) - (b._localOrder ?? 0);
      });
    }
    return this.sortedCache;
  }

  maxSeq() {
    let max = 0;
    for (const m of this.byId.values()) if (m.seq != null && m.seq > max) max = m.seq;
    return max;
  }

  minSeq() {
    let min = Infinity;
    for (const m of this.byId.values()) if (m.seq != null && m.seq < min) min = m.seq;
    return min === Infinity ? 0 : min;
  }

  /** The highest seq such that every seq from minSeq up to it is held. */
  contiguousMax() {
    const seqs = this.sorted().filter((m) => m.seq != null).map((m) => m.seq);
    if (!seqs.length) return 0;
    let expected = seqs[0];
    for (const s of seqs) {
      if (s > expected) return expected - 1;
      expected = s + 1;
    }
    return expected - 1;
  }

  bySeq(seq) {
    for (const m of this.byId.values()) if (m.seq === seq) return m;
    return null;
  }
}

let localOrder = 0;

export class Store extends Emitter {
  constructor(me) {
    super();
    this.me = me; // {id, username, display_name}
    this.conversations = new Map();
    this.threads = new Map();
    this.users = new Map();
    this.friends = new Map(); // user id -> {user, since}
    this.groups = new Map(); // group id -> group object
    this.online = new Set();
    this.activeId = null;
    this.conversationsLoaded = false;
    this.#rememberUser(me);
  }

  // ---- change notification (private: only the store's own methods notify) ----
  #dirtyThreads = new Set();
  #dirtyList = false;
  #flushScheduled = false;

  #touchList() {
    this.#dirtyList = true;
    this.#scheduleFlush();
  }

  #touchThread(convId) {
    this.#dirtyThreads.add(convId);
    this.thread(convId).invalidate();
    this.#scheduleFlush();
  }

  #scheduleFlush() {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setTimeout(() => {
      this.#flushScheduled = false;
      const threads = [...this.#dirtyThreads];
      this.#dirtyThreads.clear();
      const list = this.#dirtyList;
      this.#dirtyList = false;
      if (list) this.emit('conversations');
      for (const convId of threads) this.emit('thread', { convId });
    }, 0);
  }

  // ---- users, friends, groups, presence ----
  /** Merges what is known of a user (names shown in the list and the threads). */
  rememberUser(user) {
    if (this.#rememberUser(user)) this.#touchList();
  }

  /** Returns true when something about the user changed. */
  #rememberUser(user) {
    if (!user || user.id == null) return false;
    const prev = this.users.get(user.id);
    const merged = { ...prev, ...user };
    this.users.set(user.id, merged);
    return !prev || Object.keys(merged).some((key) => merged[key] !== prev[key]);
  }

  /** The whole friend list, as GET /friends gives it. */
  setFriends(friends) {
    this.friends.clear();
    for (const f of friends) {
      this.#rememberUser(f.user);
      this.friends.set(f.user.id, f);
    }
    this.#touchList();
  }

  /** A group's details (members, name, photo): also shown on its conversation. */
  setGroup(group) {
    for (const m of group.members ?? []) this.#rememberUser(m.user);
    this.groups.set(group.id, group);
    const conv = this.conversations.get(group.conversation_id) ?? this.conversationForGroup(group.id);
    if (!conv) return;
    conv.group = {
      ...conv.group,
      id: group.id,
      name: group.name,
      avatar_url: group.avatar_url,
      member_count: group.members?.length ?? conv.group?.member_count,
    };
    conv.dissolved = !!group.dissolved;
    this.#touchList();
    this.#touchThread(conv.id);
  }

  /** The friends online when the socket said `hello`. */
  setOnline(userIds) {
    this.online = new Set(userIds.map(String));
    this.#touchList();
  }

  /** A `presence` frame. */
  setPresence(userId, online) {
    if (online) this.online.add(String(userId));
    else this.online.delete(String(userId));
    this.#touchList();
  }

  userName(id) {
    if (id == null) return gettext('Someone');
    if (String(id) === String(this.me.id)) return gettext('You');
    const u = this.users.get(id) ?? this.users.get(Number(id));
    return u ? displayName(u) : gettext('User %(id)s', { id });
  }

  isMe(id) {
    return String(id) === String(this.me.id);
  }

  // ---- conversations ----
  upsertConversation(conv) {
    if (!conv?.id) return null;
    const prev = this.conversations.get(conv.id);
    const merged = { ...prev, ...conv };
    // Cursors and counters only move forward locally unless the server says less for unread.
    if (prev) {
      merged.last_seq = Math.max(prev.last_seq ?? 0, conv.last_seq ?? 0);
      merged.read_seq = Math.max(prev.read_seq ?? 0, conv.read_seq ?? 0);
      if (prev.peer_read_seq != null || conv.peer_read_seq != null) {
        merged.peer_read_seq = Math.max(prev.peer_read_seq ?? 0, conv.peer_read_seq ?? 0);
      }
      if ((prev.last_message?.seq ?? 0) > (conv.last_message?.seq ?? 0)) merged.last_message = prev.last_message;
    }
    if (conv.peer) this.#rememberUser(conv.peer);
    this.conversations.set(conv.id, merged);
    this.#touchList();
    if (prev && (prev.peer_read_seq !== merged.peer_read_seq)) this.#touchThread(conv.id);
    return merged;
  }

  removeConversation(id, { clearHistory = false } = {}) {
    this.conversations.delete(id);
    if (clearHistory) this.threads.delete(id);
    if (this.activeId === id) this.activeId = null;
    this.#touchList();
  }

  /** The first load of the list ended (with or without an error): the list stops saying loading. */
  setConversationsLoaded() {
    this.conversationsLoaded = true;
    this.#touchList();
  }

  /** The conversation on screen (null: none); opening one shows it in the list again. */
  setActive(convId) {
    this.activeId = convId;
    if (convId != null) this.unhide(convId);
    this.#touchList();
  }

  /** A hidden conversation comes back to the list (it was opened, or a message came). */
  unhide(convId) {
    const conv = this.conversations.get(convId);
    if (!conv?.hidden) return;
    conv.hidden = false;
    this.#touchList();
  }

  /** New messages from others that were not seen (nor read elsewhere): the list's badges. */
  addUnread(convId, count, mentions) {
    const conv = this.conversations.get(convId);
    if (!conv || !count) return;
    conv.unread_count = (conv.unread_count ?? 0) + count;
    conv.unread_mentions = (conv.unread_mentions ?? 0) + mentions;
    this.#touchList();
  }

  /** Read on screen up to seq: no unread badge. Returns true when the read cursor moved (then
   * the server is told). */
  markRead(convId, seq) {
    const conv = this.conversations.get(convId);
    if (!conv) return false;
    if ((conv.unread_count ?? 0) > 0 || (conv.unread_mentions ?? 0) > 0) {
      conv.unread_count = 0;
      conv.unread_mentions = 0;
      this.#touchList();
    }
    if (seq <= (conv.read_seq ?? 0)) return false;
    conv.read_seq = seq;
    return true;
  }

  /** No longer a member of the group: the conversation stays, read-only. */
  markLeft(convId) {
    const conv = this.conversations.get(convId);
    if (!conv) return;
    conv.left = true;
    this.#touchThread(convId);
  }

  conversationTitle(conv) {
    if (!conv) return '';
    if (conv.type === 'group') return conv.group?.name || gettext('Group');
    return displayName(conv.peer);
  }

  sortedConversations() {
    const activity = (c) => c.last_message?.created_at || c.updated_at || '';
    return [...this.conversations.values()]
      .filter((c) => !c.hidden && !c.deleted)
      .sort((a, b) => {
        if (!!a.pinned !== !!b.pinned) return a.pinned ? -1 : 1;
        const ta = activity(a);
        const tb = activity(b);
        return ta < tb ? 1 : ta > tb ? -1 : 0;
      });
  }

  conversationForGroup(groupId) {
    for (const c of this.conversations.values()) {
      if (c.type === 'group' && String(c.group?.id) === String(groupId)) return c;
    }
    return null;
  }

  groupOf(convId) {
    const conv = this.conversations.get(convId);
    return conv?.group?.id != null ? this.groups.get(conv.group.id) ?? null : null;
  }

  groupRoleOf(convId, userId) {
    const member = this.groupOf(convId)?.members?.find((m) => String(m.user?.id) === String(userId));
    return member?.role ?? null;
  }

  // ---- messages ----
  thread(convId) {
    let t = this.threads.get(convId);
    if (!t) {
      t = new Thread(convId);
      this.threads.set(convId, t);
    }
    return t;
  }

  /** The latest page is in: the thread stops saying loading. */
  setThreadLoaded(convId, hasMoreBefore) {
    const t = this.thread(convId);
    t.loaded = true;
    t.hasMoreBefore = hasMoreBefore;
    this.#touchThread(convId);
  }

  /** Scroll-back: a page of older messages is being fetched (or is in). */
  setLoadingOlder(convId, loading) {
    this.thread(convId).loadingOlder = loading;
    this.#touchThread(convId);
  }

  setHasMoreBefore(convId, hasMoreBefore) {
    this.thread(convId).hasMoreBefore = hasMoreBefore;
    this.#touchThread(convId);
  }

  /** Adds a local (not yet acknowledged) message. */
  addLocal(msg) {
    localOrder += 1;
    const m = { ...msg, _local: true, _key: msg.msg_id, _localOrder: localOrder, _v: 1 };
    this.thread(msg.conversation_id).byId.set(m.msg_id, m);
    this.#touchThread(msg.conversation_id);
    return m;
  }

  /** Moves a local message to a new msg_id (ids arrived / id refused). */
  rekey(convId, oldId, newId) {
    const t = this.thread(convId);
    const m = t.byId.get(oldId);
    if (!m) return null;
    t.byId.delete(oldId);
    m.msg_id = newId;
    m._v += 1;
    t.byId.set(newId, m);
    this.#touchThread(convId);
    return m;
  }

  /** Merges a server message; returns {msg, isNew}. De-duplicated by msg_id. */
  upsertMessage(incoming) {
    const convId = incoming.conversation_id;
    const t = this.thread(convId);
    const id = String(incoming.msg_id);
    const prev = t.byId.get(id);
    let msg;
    if (prev) {
      msg = prev;
      if (incoming.seq != null) msg.seq = incoming.seq;
      if (incoming.created_at) msg.created_at = incoming.created_at;
      if (incoming.recalled) {
        msg.recalled = true;
        msg.content = {};
      } else if (!msg.recalled && incoming.content) {
        // Keep local-only preview fields (blob URLs) while adding server ones.
        msg.content = { ...msg.content, ...incoming.content };
      }
      msg.type = incoming.type ?? msg.type;
      for (const key of ['reply_to', 'reactions', 'edited_at', 'forwarded']) {
        if (incoming[key] !== undefined) msg[key] = incoming[key];
      }
      msg.status = higherStatus(msg.status, incoming.status);
      if (msg.seq != null && (msg.status === 'pending' || msg.status === 'failed')) msg.status = 'sent';
      msg._error = null;
      msg._local = false;
      msg._v += 1;
    } else {
      msg = { ...incoming, msg_id: id, _key: id, _v: 1 };
      t.byId.set(id, msg);
    }
    this.#touchThread(convId);
    this.noteLastMessage(msg);
    return { msg, isNew: !prev };
  }

  noteLastMessage(msg) {
    const conv = this.conversations.get(msg.conversation_id);
    if (!conv || msg.seq == null) return;
    if (msg.seq >= (conv.last_message?.seq ?? 0)) {
      conv.last_message = stripLocal(msg);
      if (msg.created_at) conv.updated_at = msg.created_at;
    }
    if (msg.seq > (conv.last_seq ?? 0)) conv.last_seq = msg.seq;
    this.#touchList();
  }

  applyAck(frame) {
    const t = this.thread(frame.conversation_id);
    const msg = t.byId.get(String(frame.msg_id));
    if (!msg) return null;
    msg.seq = frame.seq;
    if (frame.created_at) msg.created_at = frame.created_at;
    msg.status = higherStatus(msg.status === 'failed' ? 'pending' : msg.status, 'sent');
    msg._local = false;
    msg._error = null;
    msg._v += 1;
    this.#touchThread(frame.conversation_id);
    this.noteLastMessage(msg);
    return msg;
  }

  /** A local message the user dropped (a failed send). */
  removeMessage(convId, msgId) {
    this.thread(convId).byId.delete(String(msgId));
    this.#touchThread(convId);
  }

  setMessageState(convId, msgId, patch) {
    const msg = this.thread(convId).byId.get(String(msgId));
    if (!msg) return null;
    Object.assign(msg, patch);
    msg._v += 1;
    this.#touchThread(convId);
    return msg;
  }

  applyReceipt(frame) {
    const conv = this.conversations.get(frame.conversation_id);
    const t = this.thread(frame.conversation_id);
    if (frame.status === 'delivered') {
      // Cumulative receipts (batch mode) carry only `seq`: everything up to it reached the peer.
      const covered = frame.seq != null
        ? [...t.byId.values()].filter((m) => m.seq != null && m.seq <= frame.seq)
        : (frame.msg_ids ?? []).map((id) => t.byId.get(String(id)));
      for (const msg of covered) {
        if (msg && this.isMe(msg.sender_id)) {
          const next = higherStatus(msg.status, 'delivered');
          if (next !== msg.status) {
            msg.status = next;
            msg._v += 1;
          }
        }
      }
    } else if (frame.status === 'read' && frame.seq != null) {
      if (conv && conv.type === 'direct') {
        conv.peer_read_seq = Math.max(conv.peer_read_seq ?? 0, frame.seq);
      }
      for (const msg of t.byId.values()) {
        if (msg.seq != null && msg.seq <= frame.seq && this.isMe(msg.sender_id)) {
          const next = higherStatus(msg.status, 'read');
          if (next !== msg.status) {
            msg.status = next;
            msg._v += 1;
          }
        }
      }
    }
    this.#touchThread(frame.conversation_id);
  }

  applyRecall(convId, msgId) {
    const msg = this.thread(convId).byId.get(String(msgId));
    if (msg) {
      msg.recalled = true;
      msg.content = {};
      msg.reactions = {};
      msg._v += 1;
      this.#touchThread(convId);
    }
    this.updateQuotes(convId, msgId, { recalled: true, preview: '' });
    const conv = this.conversations.get(convId);
    if (conv?.last_message && String(conv.last_message.msg_id) === String(msgId)) {
      conv.last_message = { ...conv.last_message, recalled: true, content: {} };
      this.#touchList();
    }
  }

  /** Replies quoting msgId show its new state (recalled, or an edited preview). */
  updateQuotes(convId, msgId, patch) {
    let changed = false;
    for (const m of this.thread(convId).byId.values()) {
      if (m.reply_to && String(m.reply_to.msg_id) === String(msgId)) {
        m.reply_to = { ...m.reply_to, ...patch };
        m._v += 1;
        changed = true;
      }
    }
    if (changed) this.#touchThread(convId);
  }

  /** A `reaction` frame: one user's emoji on or off (a repeat changes nothing). */
  applyReaction({ conversation_id: convId, msg_id: msgId, user_id: userId, emoji, on }) {
    const msg = this.thread(convId).byId.get(String(msgId));
    if (!msg || msg.recalled) return null;
    const reactions = { ...msg.reactions };
    const users = (reactions[emoji] ?? []).filter((id) => String(id) !== String(userId));
    if (on) users.push(userId);
    if (users.length) reactions[emoji] = users;
    else delete reactions[emoji];
    msg.reactions = reactions;
    msg._v += 1;
    this.#touchThread(convId);
    return msg;
  }

  /** An `edited` frame: the new text replaces the old everywhere it is shown. */
  applyEdit({ conversation_id: convId, msg_id: msgId, content, edited_at: editedAt }) {
    const msg = this.thread(convId).byId.get(String(msgId));
    if (msg && !msg.recalled) {
      msg.content = { ...content };
      msg.edited_at = editedAt;
      msg._v += 1;
      this.#touchThread(convId);
    }
    const text = String(content?.text ?? '');
    this.updateQuotes(convId, msgId, { preview: [...text].slice(0, 100).join('') });
    const conv = this.conversations.get(convId);
    if (conv?.last_message && String(conv.last_message.msg_id) === String(msgId)) {
      conv.last_message = { ...conv.last_message, content: { ...content }, edited_at: editedAt };
      this.#touchList();
    }
  }

  /** The status shown for a message, or null when none applies. */
  statusOf(msg) {
    if (!this.isMe(msg.sender_id) || msg.type === 'system') return null;
    if (msg.status === 'pending' || msg.status === 'failed') return msg.status;
    const conv = this.conversations.get(msg.conversation_id);
    if (!conv || conv.type !== 'direct') return null;
    let status = msg.status ?? 'sent';
    if (msg.seq != null && (conv.peer_read_seq ?? 0) >= msg.seq) status = 'read';
    return status;
  }
}

export function higherStatus(a, b) {
  if (!b) return a;
  if (!a) return b;
  if (a === 'failed' || a === 'pending') return b === 'pending' || b === 'failed' ? a : b;
  return (STATUS_RANK[b] ?? 0) > (STATUS_RANK[a] ?? 0) ? b : a;
}

export function stripLocal(msg) {
  const out = {};
  for (const [k, v] of Object.entries(msg)) if (!k.startsWith('_')) out[k] = v;
  return out;
}
