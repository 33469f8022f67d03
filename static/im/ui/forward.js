// "Forward": a dialog listing one's conversations (with a filter); picking one sends a copy there.
import { h, uid } from '../dom.js';
import { gettext } from '../i18n.js';
import { avatar } from './avatar.js';
import { openDialog } from './dialogs.js';
import { announce, showInfo } from './notify.js';

export function openForwardDialog(chat, msg) {
  const store = chat.store;
  const filterId = uid('forward-filter');
  const filter = h('input', { id: filterId, type: 'search', autocomplete: 'off' });
  const list = h('ul', { class: 'forward-list', 'aria-label': gettext('Conversations to forward to') });
  const body = h('div', { class: 'forward-body' },
    h('label', { for: filterId, class: 'visually-hidden', text: gettext('Search conversations') }),
    filter, list);
  const { close } = openDialog(gettext('Forward message'), body, { className: 'forward-dialog' });

  const render = () => {
    const query = filter.value.trim().toLocaleLowerCase();
    const convs = store.sortedConversations()
      .filter((c) => !c.dissolved && !c.left)
      .filter((c) => !query || store.conversationTitle(c).toLocaleLowerCase().includes(query));
    list.replaceChildren(...convs.map((conv) => {
      const title = store.conversationTitle(conv);
      return h('li', {}, h('button', {
        type: 'button',
        class: 'forward-target',
        onclick: () => {
          chat.forward(conv.id, msg);
          close();
          announce(gettext('Forwarded to %(name)s', { name: title }));
          showInfo(gettext('Forwarded to %(name)s', { name: title }));
        },
      }, avatar(title, conv.type === 'group' ? conv.group?.avatar_url : conv.peer?.avatar_url, conv.peer?.id ?? conv.id, { size: 'sm' }),
      h('span', { text: title })));
    }));
    if (!convs.length) list.append(h('li', { class: 'empty-state', text: gettext('No conversations found') }));
  };
  filter.addEventListener('input', render);
  render();
  filter.focus();
}
