// Every frame the server pushes (docs/api.md sections 5 and 8), applied to the store or passed on
// to the UI as an event of the chat controller.
import { displayName } from './format.js';
import { gettext } from './i18n.js';

export class Frames {
  constructor(chat) {
    this.chat = chat;
    this.store = chat.store;
    this.pool = chat.pool;
    this.outbox = chat.outbox;
  }

  handle(frame) {
    switch (frame.type) {
      case 'hello':
        this.store.setOnline(frame.online_friends ?? []);
        this.chat.emit('presence', {});
        break;
      case 'synced':
        this.chat.sync.resync();
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
        this.chat.emit('receipt', frame);
        break;
      case 'recalled':
        this.store.applyRecall(frame.conversation_id, frame.msg_id);
        this.chat.emit('recalled', frame);
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
        if (!this.store.isMe(frame.user_id)) this.chat.emit('typing', frame);
        break;
      case 'presence':
        this.store.setPresence(frame.user_id, frame.online);
        this.chat.emit('presence', frame);
        break;
      case 'friend_request':
        this.onFriendRequest(frame.request);
        break;
      case 'group':
        this.onGroupFrame(frame);
        break;
      case 'call':
        this.chat.emit('call', frame);
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
    this.chat.emit('acked', { convId: frame.conversation_id, msg });
    // Our seq may reveal messages we have not been pushed yet; give the push a moment.
    setTimeout(() => this.chat.sync.checkGap(frame.conversation_id), 1500);
  }

  onMessage(message) {
    const convId = message.conversation_id;
    const conv = this.store.conversations.get(convId);
    const { msg, isNew } = this.store.upsertMessage(message);
    if (this.outbox.has(msg.msg_id)) this.outbox.resolve(msg.msg_id);
    this.chat.receipts.queueDelivered(convId, msg.msg_id);
    if (!conv) {
      // A new conversation (or one that was hidden/deleted): fetch its state.
      this.chat.fetchConversation(convId).catch(() => {});
    } else {
      this.store.unhide(convId);
    }
    if (isNew) this.chat.afterNewMessages(convId, [msg], { announce: true });
    const thread = this.store.thread(convId);
    if (thread.loaded) this.chat.sync.checkGap(convId);
  }

  onConversationFrame(conv) {
    if (!conv?.id) return;
    if (conv.deleted) {
      this.store.removeConversation(conv.id, { clearHistory: true });
      if (this.store.activeId === conv.id) this.chat.closeConversation();
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
        this.chat.emit('announce', { text: gettext('Friend request from %(name)s', { name: displayName(request.from_user) }) });
      } else if (request.status === 'accepted' && this.store.isMe(request.from_user?.id)) {
        this.chat.emit('announce', { text: gettext('%(name)s accepted your friend request', { name: displayName(request.to_user) }) });
      }
    }
    this.chat.emit('friend_request', { request });
    if (request?.status === 'accepted') this.chat.loadFriends();
  }

  onGroupFrame(frame) {
    const conv = this.store.conversationForGroup(frame.group_id);
    if (frame.event === 'created' && !conv) {
      this.chat.loadConversations();
    }
    this.chat.loadGroup(frame.group_id).catch((err) => {
      if (err?.status === 404 && conv) {
        // No longer a member.
        this.store.markLeft(conv.id);
      }
    });
    if (conv) this.chat.fetchConversation(conv.id).catch(() => {});
    this.chat.emit('group', frame);
  }

  onErrorFrame(frame) {
    if (frame.ref && this.outbox.onError(frame)) {
      if (['invalid_content', 'not_friends', 'blocked', 'group_dissolved', 'forbidden', 'not_found'].includes(frame.code)) {
        this.chat.emit('error', { message: frame.message || frame.code });
      }
      return;
    }
    this.chat.emit('error', { message: frame.message || `Error: ${frame.code}` });
  }
}
