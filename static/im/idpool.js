// Message ids reserved over the socket in batches (`msg_ids`, count 50),
// refilled when fewer than 10 remain. Ids stay decimal strings.
const BATCH = 50;
const LOW_WATER = 10;
const ID_LIFETIME_MS = 23 * 60 * 60 * 1000; // server binds them for 24 h

export class IdPool {
  constructor(socket) {
    this.socket = socket;
    this.ids = []; // [{id, at}]
    this.requestedAt = 0;
    this.waiters = [];
  }

  get size() {
    this.dropExpired();
    return this.ids.length;
  }

  dropExpired() {
    const cutoff = Date.now() - ID_LIFETIME_MS;
    while (this.ids.length && this.ids[0].at < cutoff) this.ids.shift();
  }

  /** Takes one id, or null if none is available right now. */
  take() {
    this.dropExpired();
    const entry = this.ids.shift() ?? null;
    this.refill();
    return entry ? entry.id : null;
  }

  refill() {
    if (this.ids.length >= LOW_WATER) return;
    // One request in flight at a time; re-ask if the answer got lost.
    if (this.requestedAt && Date.now() - this.requestedAt < 10000) return;
    if (this.socket.isReady && this.socket.send({ type: 'msg_ids', count: BATCH })) {
      this.requestedAt = Date.now();
    }
  }

  /** Socket reconnected: the old request (if any) died with the old socket. */
  onReady() {
    this.requestedAt = 0;
    this.refill();
  }

  onIds(ids) {
    const at = Date.now();
    for (const id of ids ?? []) this.ids.push({ id: String(id), at });
    this.requestedAt = 0;
    const waiters = this.waiters.splice(0);
    for (const fn of waiters) fn();
    this.refill();
  }

  /** Calls fn once ids are available. */
  whenAvailable(fn) {
    if (this.size > 0) fn();
    else {
      this.waiters.push(fn);
      this.refill();
    }
  }
}
