// The browser client's store (static/im/store.js) under node: merging server messages, acks and
// receipts, and the change notifications it emits by itself. Run by bin/test (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Store, higherStatus } from '../../static/im/store.js';

const ME = { id: 1, username: 'alice', display_name: 'Alice' };
const DIRECT = { id: 'c1', type: 'direct', peer: { id: 2, username: 'bob' }, last_seq: 0, read_seq: 0 };

function message(seq, fields = {}) {
  return {
    msg_id: String(100 + seq), conversation_id: 'c1', seq, sender_id: 2, type: 'text',
    content: { text: `m${seq}` }, created_at: `2026-01-01T00:00:0${seq}Z`, status: 'sent', ...fields,
  };
}

/** The notifications the store emits after the current task. */
function record(store) {
  const seen = [];
  store.on('conversations', () => seen.push('conversations'));
  store.on('thread', ({ convId }) => seen.push(`thread ${convId}`));
  return seen;
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

test('a message that comes twice (push and history) is held once, in seq order', () => {
  const store = new Store(ME);
  store.upsertConversation(DIRECT);
  assert.equal(store.upsertMessage(message(2)).isNew, true);
  assert.equal(store.upsertMessage(message(1)).isNew, true);
  assert.equal(store.upsertMessage(message(2)).isNew, false);
  const thread = store.thread('c1');
  assert.deepEqual(thread.sorted().map((m) => m.seq), [1, 2]);
  assert.equal(store.conversations.get('c1').last_seq, 2);
  assert.equal(store.conversations.get('c1').last_message.seq, 2);
});

test('a hole in the seqs ends the contiguous range', () => {
  const store = new Store(ME);
  for (const seq of [3, 4, 6]) store.upsertMessage(message(seq));
  const thread = store.thread('c1');
  assert.equal(thread.minSeq(), 3);
  assert.equal(thread.maxSeq(), 6);
  assert.equal(thread.contiguousMax(), 4);
});

test('a local message stays after the stored ones until its ack gives it a seq', () => {
  const store = new Store(ME);
  store.upsertConversation(DIRECT);
  store.upsertMessage(message(1));
  store.addLocal({ msg_id: '900', conversation_id: 'c1', seq: null, sender_id: 1, type: 'text', content: { text: 'hi' }, status: 'pending' });
  store.upsertMessage(message(2));
  assert.deepEqual(store.thread('c1').sorted().map((m) => m.msg_id), ['101', '102', '900']);

  const acked = store.applyAck({ conversation_id: 'c1', msg_id: '900', seq: 3, created_at: '2026-01-01T00:00:03Z' });
  assert.equal(acked.status, 'sent');
  assert.equal(acked._local, false);
  assert.equal(store.conversations.get('c1').last_message.msg_id, '900');
  assert.equal('_local' in store.conversations.get('c1').last_message, false, 'local fields stay out of the list');
});

test('receipts raise the status of my own messages only, and never lower it', () => {
  const store = new Store(ME);
  store.upsertConversation(DIRECT);
  const mine = (seq) => message(seq, { msg_id: String(200 + seq), sender_id: 1 });
  for (const seq of [1, 2, 3]) store.upsertMessage(mine(seq));
  store.upsertMessage(message(4));

  store.applyReceipt({ conversation_id: 'c1', status: 'delivered', seq: 2 });
  store.applyReceipt({ conversation_id: 'c1', status: 'read', seq: 1 });
  store.applyReceipt({ conversation_id: 'c1', status: 'delivered', seq: 1 });
  const status = (id) => store.statusOf(store.thread('c1').byId.get(id));
  assert.deepEqual(['201', '202', '203'].map(status), ['read', 'delivered', 'sent']);
  assert.equal(status('104'), null, "no status on the peer's messages");
  assert.equal(store.conversations.get('c1').peer_read_seq, 1);
});

test('higherStatus: pending and failed give way to any server status', () => {
  assert.equal(higherStatus('pending', 'sent'), 'sent');
  assert.equal(higherStatus('failed', 'pending'), 'failed');
  assert.equal(higherStatus('read', 'delivered'), 'read');
  assert.equal(higherStatus('sent', undefined), 'sent');
});

test('a recall empties the message, its quotes and the list preview', () => {
  const store = new Store(ME);
  store.upsertConversation(DIRECT);
  store.upsertMessage(message(1));
  store.upsertMessage(message(2, { reply_to: { msg_id: '101', preview: 'm1' } }));
  store.applyRecall('c1', '102');
  store.applyRecall('c1', '101');
  const thread = store.thread('c1');
  assert.equal(thread.byId.get('101').recalled, true);
  assert.deepEqual(thread.byId.get('101').content, {});
  assert.deepEqual(thread.byId.get('102').reply_to, { msg_id: '101', preview: '', recalled: true });
  assert.equal(store.conversations.get('c1').last_message.recalled, true);
});

test('reactions: a repeat changes nothing, the last one off removes the emoji', () => {
  const store = new Store(ME);
  store.upsertMessage(message(1));
  const react = (userId, on) => store.applyReaction({ conversation_id: 'c1', msg_id: '101', user_id: userId, emoji: '👍', on });
  react(1, true);
  react(1, true);
  react(2, true);
  assert.deepEqual(store.thread('c1').byId.get('101').reactions, { '👍': [1, 2] });
  react(1, false);
  react(2, false);
  assert.deepEqual(store.thread('c1').byId.get('101').reactions, {});
});

test('changes notify by themselves, once per task for the list and for each thread', async () => {
  const store = new Store(ME);
  const seen = record(store);
  store.upsertConversation(DIRECT);
  store.upsertMessage(message(1));
  store.upsertMessage(message(2));
  store.setPresence(2, true);
  assert.deepEqual(seen, [], 'nothing before the current task ends');
  await nextTask();
  assert.deepEqual(seen, ['conversations', 'thread c1']);
  assert.equal(store.online.has('2'), true);

  seen.length = 0;
  store.setThreadLoaded('c1', true);
  store.setLoadingOlder('c1', true);
  await nextTask();
  assert.deepEqual(seen, ['thread c1']);
  assert.equal(store.thread('c1').hasMoreBefore, true);
  assert.equal(store.thread('c1').loadingOlder, true);
  assert.equal(typeof store.touchList, 'undefined', 'no notification from outside the store');
});

test('opening a hidden conversation brings it back to the list', () => {
  const store = new Store(ME);
  store.upsertConversation({ ...DIRECT, hidden: true });
  assert.deepEqual(store.sortedConversations(), []);
  store.setActive('c1');
  assert.equal(store.activeId, 'c1');
  assert.deepEqual(store.sortedConversations().map((c) => c.id), ['c1']);
  store.setActive(null);
  assert.equal(store.activeId, null);
});

test('reading clears the badges and moves the read cursor only forwards', () => {
  const store = new Store(ME);
  store.upsertConversation({ ...DIRECT, read_seq: 2 });
  store.addUnread('c1', 3, 1);
  assert.equal(store.conversations.get('c1').unread_count, 3);
  assert.equal(store.conversations.get('c1').unread_mentions, 1);
  assert.equal(store.markRead('c1', 2), false, 'already read up to 2');
  assert.equal(store.conversations.get('c1').unread_count, 0);
  assert.equal(store.markRead('c1', 5), true);
  assert.equal(store.conversations.get('c1').read_seq, 5);
});

test('a group: its members become known users and its conversation shows its name', async () => {
  const store = new Store(ME);
  store.upsertConversation({ id: 'g1', type: 'group', group: { id: 7, name: 'old' } });
  const seen = record(store);
  store.setGroup({ id: 7, conversation_id: 'g1', name: 'Team', members: [{ user: { id: 3, display_name: 'Carol' }, role: 'owner' }] });
  await nextTask();
  assert.deepEqual(seen, ['conversations', 'thread g1']);
  assert.equal(store.conversationTitle(store.conversations.get('g1')), 'Team');
  assert.equal(store.userName(3), 'Carol');
  assert.equal(store.groupRoleOf('g1', 3), 'owner');
  store.markLeft('g1');
  assert.equal(store.conversations.get('g1').left, true);
});
