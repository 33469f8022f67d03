// Receipts this client sends: `delivered` for every message that reaches it (one frame per
// conversation per task), and `read` up to the last message of the conversation on screen while the
// window is visible and focused (over REST when the socket is down).
import * as api from './api.js';

export class Receipts {
  constructor({ store, socket }) {
    this.store = store;
    this.socket = socket;
    this.deliveredQueue = new Map(); // convId -> Set(msg_id)
    this.deliveredScheduled = false;
    this.windowFocused = document.hasFocus();
    window.addEventListener('focus', () => {
      this.windowFocused = true;
      this.markActiveRead();
    });
    window.addEventListener('blur', () => { this.windowFocused = false; });
    document.addEventListener('visibilitychange', () => this.markActiveRead());
  }

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
}
