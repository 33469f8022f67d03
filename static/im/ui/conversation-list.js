// The conversation list (<ul aria-label="Conversations">): name, avatar,
// preview, time, unread badge ("<n> unread"), pinned first, per-item menu.
import { icon } from './icons.js';
import { h, reconcile } from '../dom.js';
import { errorText } from '../api.js';
import { messagePreview } from '../format.js';
import { listTime, fullTime } from '../time.js';
import { avatar } from './avatar.js';
import { menuButton } from './menu.js';
import { confirmDialog } from './dialogs.js';
import { showError, announce } from './notify.js';
import { gettext, ngettext } from '../i18n.js';

export class ConversationList {
  constructor(chat, { list, empty, loading, onOpen }) {
    this.chat = chat;
    this.store = chat.store;
    this.list = list;
    this.empty = empty;
    this.loading = loading;
    this.onOpen = onOpen;
    this.items = new Map(); // conv id -> {li, sig}
    this.store.on('conversations', () => this.render());
  }

  render() {
    const store = this.store;
    this.loading.hidden = store.conversationsLoaded;
    const convs = store.sortedConversations();
    this.empty.hidden = !store.conversationsLoaded || convs.length > 0;
    const nodes = [];
    const seen = new Set();
    for (const conv of convs) {
      seen.add(conv.id);
      const sig = this.signature(conv);
      let item = this.items.get(conv.id);
      if (!item || item.sig !== sig) {
        const li = this.renderItem(conv);
        if (item) {
          const hadFocus = item.li.contains(document.activeElement);
          item.li.replaceWith(li);
          if (hadFocus) li.querySelector('.conversation-open')?.focus();
        }
        item = { li, sig };
        this.items.set(conv.id, item);
      }
      nodes.push(item.li);
    }
    for (const id of [...this.items.keys()]) if (!seen.has(id)) this.items.delete(id);
    reconcile(this.list, nodes);
  }

  signature(conv) {
    const store = this.store;
    const peerId = conv.peer?.id;
    return JSON.stringify([
      store.conversationTitle(conv), conv.peer?.avatar_url, conv.group?.avatar_url, conv.pinned, conv.muted,
      conv.unread_count, conv.unread_mentions, conv.last_message?.msg_id, conv.last_message?.edited_at, conv.last_message?.recalled, conv.last_message?.seq,
      conv.updated_at, store.activeId === conv.id, peerId != null && this.chat.isOnline(peerId),
      conv.last_message?.sender_id != null && store.userName(conv.last_message.sender_id),
    ]);
  }

  renderItem(conv) {
    const store = this.store;
    const title = store.conversationTitle(conv);
    const last = conv.last_message;
    const nameOf = (id) => store.userName(id);
    let preview = last ? messagePreview(last, nameOf) : gettext('No messages yet');
    if (last && conv.type === 'group' && last.type !== 'system' && !last.recalled) {
      preview = `${store.userName(last.sender_id)}: ${preview}`;
    }
    const when = last?.created_at || conv.updated_at;
    const unread = Number(conv.unread_count) || 0;
    const mentions = Number(conv.unread_mentions) || 0;
    const online = conv.type === 'direct' && conv.peer ? this.chat.isOnline(conv.peer.id) : null;
    const isActive = store.activeId === conv.id;

    const open = h('button', {
      type: 'button',
      class: 'conversation-open',
      'aria-current': isActive ? 'true' : null,
      onclick: () => this.onOpen(conv.id),
    },
    avatar(title, conv.type === 'group' ? conv.group?.avatar_url : conv.peer?.avatar_url, conv.peer?.id ?? conv.id, { online }),
    h('span', { class: 'conversation-text' },
      h('span', { class: 'conversation-top' },
        h('span', { class: 'conversation-name', text: title }),
        conv.pinned ? h('span', { class: 'pin-mark', role: 'img', 'aria-label': gettext('Pinned') }, icon('thumbtack', { size: 14 })) : null,
        conv.muted ? h('span', { class: 'mute-mark', role: 'img', 'aria-label': gettext('Muted') }, icon('bellOff', { size: 14 })) : null,
        online ? h('span', { class: 'visually-hidden', text: gettext(', online') }) : null,
        when ? h('time', { class: 'conversation-time', datetime: when, title: fullTime(when), text: listTime(when) }) : null),
      h('span', { class: 'conversation-bottom' },
        h('span', { class: `conversation-preview${last?.recalled ? ' recalled' : ''}`, text: preview }),
        mentions > 0
          ? h('span', { class: 'badge mention-badge', role: 'img', 'aria-label': ngettext('%(n)s unread mention', '%(n)s unread mentions', mentions, { n: mentions }) }, '@')
          : null,
        unread > 0
          ? h('span', { class: `badge${conv.muted ? ' muted' : ''}`, role: 'img', 'aria-label': gettext('%(count)s unread', { count: unread }) },
            unread > 99 ? '99+' : String(unread))
          : null)));

    const menu = menuButton({
      label: gettext('Options for %(title)s', { title }),
      items: () => [
        { label: conv.pinned ? gettext('Unpin') : gettext('Pin'), onSelect: () => this.patch(conv, { pinned: !conv.pinned }, conv.pinned ? gettext('Unpinned') : gettext('Pinned')) },
        { label: conv.muted ? gettext('Unmute') : gettext('Mute'), onSelect: () => this.patch(conv, { muted: !conv.muted }, conv.muted ? gettext('Unmuted') : gettext('Muted')) },
        { label: gettext('Hide'), onSelect: () => this.patch(conv, { hidden: true }, gettext('Conversation hidden')) },
        { label: gettext('Delete'), danger: true, onSelect: () => this.remove(conv) },
      ],
    });

    return h('li', {
      class: `conversation-item${isActive ? ' active' : ''}${conv.pinned ? ' pinned' : ''}${unread ? ' has-unread' : ''}`,
      dataset: { conversationId: conv.id, pinned: conv.pinned ? 'true' : 'false', type: conv.type },
    }, open, menu);
  }

  async patch(conv, patch, doneText) {
    try {
      await this.chat.updateConversation(conv.id, patch);
      announce(doneText);
    } catch (err) {
      showError(errorText(err));
    }
  }

  async remove(conv) {
    const ok = await confirmDialog(
      gettext('Delete the conversation with %(title)s? Its history is cleared for you only.', { title: this.store.conversationTitle(conv) }),
      { title: gettext('Delete conversation') },
    );
    if (!ok) return;
    try {
      await this.chat.deleteConversation(conv.id);
      announce(gettext('Conversation deleted'));
    } catch (err) {
      showError(errorText(err));
    }
  }
}
