// The browser client's outbox (static/im/outbox.js) with the real store and id pool under node: a
// message shows at once, goes out with a reserved msg_id and is sent again with the SAME id until
// it is acknowledged (docs/api.md section 5). The socket is a stand-in that records frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IdPool } from '../../static/im/idpool.js';
import { Outbox } from '../../static/im/outbox.js';
import { Store } from '../../static/im/store.js';

const ME = { id: 1, username: 'alice' };

/** What the outbox needs of ChatSocket: isReady, and send() that says whether the frame went. */
class RecordingSocket {
  constructor() {
    this.isReady = true;
    this.frames = [];
  }

  send(frame) {
    if (!this.isReady) return false;
    this.frames.push(frame);
    return true;
  }

  sends() {
    return this.frames.filter((f) => f.type === 'send');
  }
}

/**
 * setTimeout and clearTimeout on a clock that moves only by tick(ms), for the ack timeouts (node's
 * own mock timers changed their signature between Debian's nodejs 18 and 20).
 */
class ManualClock {
  constructor(t) {
    this.now = 0;
    this.timers = new Map(); // id -> {at, fn}
    this.lastId = 0;
    const saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
    globalThis.setTimeout = (fn, ms = 0) => {
      this.lastId += 1;
      this.timers.set(this.lastId, { at: this.now + ms, fn });
      return this.lastId;
    };
    globalThis.clearTimeout = (id) => this.timers.delete(id);
    t.after(() => Object.assign(globalThis, saved));
  }

  /** Moves the time on by ms, running what falls due in time order. */
  tick(ms) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= end).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}

/** An outbox over a socket whose pool holds `ids`, its timers on a manual clock. */
function setUp(t, ids = ['11', '12', '13']) {
  const clock = new ManualClock(t);
  const socket = new RecordingSocket();
  const pool = new IdPool(socket);
  if (ids.length) pool.onIds(ids);
  const store = new Store(ME);
  const outbox = new Outbox({ socket, pool, store });
  return { clock, socket, pool, store, outbox };
}

test('a message is shown pending and sent with a reserved id; the ack settles it', (t) => {
  const { clock, socket, store, outbox } = setUp(t);
  const msg = outbox.enqueue('c1', 'text', { text: 'hi' });
  assert.equal(msg.msg_id, '11');
  assert.equal(msg.status, 'pending');
  assert.deepEqual(socket.sends(), [{ type: 'send', msg_id: '11', conversation_id: 'c1', msg_type: 'text', content: { text: 'hi' } }]);
  assert.equal(outbox.pendingCount, 1);

  outbox.resolve('11');
  store.applyAck({ conversation_id: 'c1', msg_id: '11', seq: 1 });
  assert.equal(outbox.pendingCount, 0);
  assert.equal(store.thread('c1').byId.get('11').status, 'sent');
  clock.tick(60000);
  assert.equal(socket.sends().length, 1, 'nothing is sent again after the ack');
});

test('without an ack the same msg_id goes again, and after 5 attempts the message fails', (t) => {
  const { clock, socket, store, outbox } = setUp(t);
  outbox.enqueue('c1', 'text', { text: 'hi' });
  for (let i = 0; i < 5; i += 1) clock.tick(10000);
  const ids = socket.sends().map((f) => f.msg_id);
  assert.deepEqual(ids, ['11', '11', '11', '11', '11']);
  const msg = store.thread('c1').byId.get('11');
  assert.equal(msg.status, 'failed');
  assert.equal(outbox.pendingCount, 0);

  outbox.retry('11');
  assert.equal(msg.status, 'pending');
  assert.equal(socket.sends().at(-1).msg_id, '11', 'Retry starts over with the same id');
});

test('a reconnect sends again what was in flight, with the same ids', (t) => {
  const { socket, outbox } = setUp(t);
  outbox.enqueue('c1', 'text', { text: 'one' });
  outbox.enqueue('c1', 'text', { text: 'two' });
  socket.isReady = false;
  outbox.onSocketDown();
  outbox.enqueue('c1', 'text', { text: 'three' });
  assert.equal(socket.sends().length, 2, 'nothing goes while the socket is down');

  socket.isReady = true;
  outbox.flush();
  assert.deepEqual(socket.sends().map((f) => f.msg_id), ['11', '12', '11', '12', '13']);
});

test('without reserved ids the message waits under a local key, then takes the first id', (t) => {
  const { socket, pool, store, outbox } = setUp(t, []);
  const msg = outbox.enqueue('c1', 'text', { text: 'hi' });
  assert.match(msg.msg_id, /^local-/);
  assert.deepEqual(socket.frames, [{ type: 'msg_ids', count: 50 }]);

  pool.onIds(['21', '22']);
  assert.equal(msg.msg_id, '21');
  assert.deepEqual([...store.thread('c1').byId.keys()], ['21']);
  assert.equal(socket.sends()[0].msg_id, '21');
  assert.equal(outbox.has('21'), true);
});

test('an unknown reservation takes a fresh id; a refusal fails the message; discard drops it', (t) => {
  const { socket, store, outbox } = setUp(t);
  outbox.enqueue('c1', 'text', { text: 'hi' });
  assert.equal(outbox.onError({ type: 'error', ref: '11', code: 'invalid_msg_id' }), true);
  assert.deepEqual([...store.thread('c1').byId.keys()], ['12']);
  assert.equal(socket.sends().at(-1).msg_id, '12');

  outbox.onError({ type: 'error', ref: '12', code: 'not_friends', message: 'Not friends.' });
  const msg = store.thread('c1').byId.get('12');
  assert.equal(msg.status, 'failed');
  assert.equal(msg._error, 'Not friends.');
  assert.equal(outbox.onError({ type: 'error', ref: '99', code: 'not_found' }), false, 'not ours');

  outbox.discard('12');
  assert.equal(store.thread('c1').byId.size, 0);
  assert.equal(outbox.has('12'), false);
});

test('a forward sends the source instead of a type and content', (t) => {
  const { socket, outbox } = setUp(t);
  const msg = outbox.enqueue('c2', 'image', { url: '/x' }, {}, {
    frame: { forward: { conversation_id: 'c1', msg_id: '5' } },
    fields: { forwarded: true },
  });
  assert.equal(msg.forwarded, true);
  assert.deepEqual(socket.sends(), [{ type: 'send', msg_id: '11', conversation_id: 'c2', forward: { conversation_id: 'c1', msg_id: '5' } }]);
});
