// Unsent messages: shown at once as pending, sent over the socket with a
// reserved msg_id, matched to `ack` by msg_id, re-sent with the SAME msg_id
// after a reconnect or an ack timeout, failed after 5 attempts (Retry resets).
import { gettext } from './i18n.js';
const MAX_ATTEMPTS = 5;
const ACK_TIMEOUT_MS = 10000;
const PERMANENT_ERRORS = new Set([
  'invalid_content', 'not_friends', 'blocked', 'group_dissolved', 'forbidden', 'not_found', 'too_large',
]);

let localCounter = 0;

export class Outbox {
  constructor({ socket, pool, store }) {
    this.socket = socket;
    this.pool = pool;
    this.store = store;
    this.entries = new Map(); // current key (msg_id or local key) -> entry
  }

  /**
   * Queues a message and returns the local message object. `frame`: more fields of the `send`
   * frame (`reply_to`, or `forward` instead of type and content); `fields`: more fields of the
   * local message (the quoted message, `forwarded`).
   */
  enqueue(convId, msgType, content, localExtra = {}, { frame = {}, fields = {} } = {}) {
    const msgId = this.pool.take();
    localCounter += 1;
    const key = msgId ?? `local-${Date.now()}-${localCounter}`;
    const entry = {
      key,
      hasId: msgId != null,
      convId,
      msgType,
      content,
      frame,
      attempts: 0,
      timer: null,
      awaiting: false,
      failed: false,
    };
    this.entries.set(key, entry);
    const msg = this.store.addLocal({
      msg_id: key,
      conversation_id: convId,
      seq: null,
      sender_id: this.store.me.id,
      type: msgType,
      content: { ...content, ...localExtra },
      created_at: new Date().toISOString(),
      recalled: false,
      status: 'pending',
      ...fields,
    });
    this.trySend(entry);
    return msg;
  }

  has(msgId) {
    return this.entries.has(String(msgId));
  }

  get pendingCount() {
    return [...this.entries.values()].filter((e) => !e.failed).length;
  }

  trySend(entry) {
    if (entry.failed || entry.awaiting) return;
    if (!this.socket.isReady) return; // re-sent from flush() when the socket is back
    if (!entry.hasId) {
      const id = this.pool.take();
      if (!id) {
        this.pool.whenAvailable(() => this.trySend(entry));
        return;
      }
      this.entries.delete(entry.key);
      this.store.rekey(entry.convId, entry.key, id);
      entry.key = id;
      entry.hasId = true;
      this.entries.set(id, entry);
    }
    if (entry.attempts >= MAX_ATTEMPTS) {
      this.fail(entry, gettext('Not delivered to the server.'));
      return;
    }
    const sent = this.socket.send({
      type: 'send',
      msg_id: entry.key,
      conversation_id: entry.convId,
      ...(entry.frame.forward ? {} : { msg_type: entry.msgType, content: entry.content }),
      ...entry.frame,
    });
    if (!sent) return;
    entry.attempts += 1;
    entry.awaiting = true;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.awaiting = false;
      this.trySend(entry);
    }, ACK_TIMEOUT_MS);
  }

  /** Socket ready again: re-send everything not yet acknowledged. */
  flush() {
    for (const entry of [...this.entries.values()]) {
      entry.awaiting = false;
      clearTimeout(entry.timer);
      this.trySend(entry);
    }
  }

  /** Socket lost: in-flight sends will be repeated on reconnect. */
  onSocketDown() {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      entry.awaiting = false;
    }
  }

  /** An ack (or the stored message itself) arrived for msgId. */
  resolve(msgId) {
    const entry = this.entries.get(String(msgId));
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(entry.key);
  }

  /** A socket `error` frame whose ref is one of our msg_ids. Returns true if handled. */
  onError(frame) {
    const entry = this.entries.get(String(frame.ref));
    if (!entry) return false;
    clearTimeout(entry.timer);
    entry.awaiting = false;
    const code = frame.code;
    if (code === 'rate_limited') {
      entry.timer = setTimeout(() => this.trySend(entry), 1000 * entry.attempts + Math.random() * 500);
    } else if (code === 'invalid_msg_id') {
      // The reservation is unknown/expired: nothing was stored, take a fresh id.
      const fresh = this.pool.take();
      if (fresh) {
        this.entries.delete(entry.key);
        this.store.rekey(entry.convId, entry.key, fresh);
        entry.key = fresh;
        this.entries.set(fresh, entry);
      } else {
        entry.hasId = false;
      }
      this.trySend(entry);
    } else if (PERMANENT_ERRORS.has(code)) {
      this.fail(entry, frame.message || code);
    } else {
      this.trySend(entry);
    }
    return true;
  }

  fail(entry, reason) {
    clearTimeout(entry.timer);
    entry.failed = true;
    entry.awaiting = false;
    this.store.setMessageState(entry.convId, entry.key, { status: 'failed', _error: reason });
  }

  /** The Retry button: start over with the same msg_id. */
  retry(msgId) {
    const entry = this.entries.get(String(msgId));
    if (!entry) return;
    entry.failed = false;
    entry.attempts = 0;
    this.store.setMessageState(entry.convId, entry.key, { status: 'pending', _error: null });
    this.trySend(entry);
  }

  /** Drop a failed message the user does not want to retry. */
  discard(msgId) {
    const entry = this.entries.get(String(msgId));
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(entry.key);
    this.store.removeMessage(entry.convId, entry.key);
  }
}
