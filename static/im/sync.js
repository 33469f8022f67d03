// History and catching up: the latest page of a conversation, scroll-back, the pull of what is
// missing (a hole in the seqs, or behind the conversation's last_seq) and the resync after a
// reconnect (`synced`: GET /sync, then a pull of every held conversation that is behind). Every
// message goes into the store, which de-duplicates by msg_id, so a push and a pull may overlap.
import * as api from './api.js';
import { gettext } from './i18n.js';

const PAGE = 50;
const PULL_PAGE = 200;

export class Sync {
  constructor(chat) {
    this.chat = chat;
    this.store = chat.store;
    this.outbox = chat.outbox;
    this.syncToken = null;
    this.loading = new Map(); // convId -> promise of the latest page
    this.pulling = new Map(); // convId -> {again, promise}
  }

  /** The latest page of a conversation, fetched once (concurrent callers share it). */
  loadLatest(convId) {
    const thread = this.store.thread(convId);
    if (thread.loaded) return Promise.resolve();
    const running = this.loading.get(convId);
    if (running) return running;
    const promise = (async () => {
      try {
        const data = await api.listMessages(convId, { limit: PAGE });
        const results = data?.results ?? [];
        for (const m of results) this.store.upsertMessage(m);
        this.store.setThreadLoaded(convId, !!data?.next && results.length > 0);
        // Anything that arrived meanwhile is merged by msg_id; a hole is pulled.
        this.checkGap(convId);
      } catch (err) {
        this.chat.emit('error', { message: gettext('Could not load messages: %(error)s', { error: api.errorText(err) }) });
      } finally {
        this.loading.delete(convId);
      }
    })();
    this.loading.set(convId, promise);
    return promise;
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
      this.chat.emit('error', { message: gettext('Could not load older messages: %(error)s', { error: api.errorText(err) }) });
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
            this.chat.afterNewMessages(convId, fresh, { announce: false });
            cursor = data?.next ?? null;
            if (!cursor || !results.length) break;
          }
        } while (job.again);
      } catch (err) {
        this.chat.emit('error', { message: gettext('Could not fetch missing messages: %(error)s', { error: api.errorText(err) }) });
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
      this.chat.receipts.markActiveRead();
    } catch (err) {
      this.chat.emit('error', { message: gettext('Could not synchronise: %(error)s', { error: api.errorText(err) }) });
    }
  }
}
