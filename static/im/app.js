// Entry point: reads the page context, builds the UI modules and starts the chat.
import { setCsrfToken } from './api.js';
import { $, h } from './dom.js';
import { gettext } from './i18n.js';
import { Chat } from './chat.js';
import { initNotify, announce, unannounce, showError } from './ui/notify.js';
import { ConversationList } from './ui/conversation-list.js';
import { ConversationView } from './ui/conversation-view.js';
import { ContactsPanel } from './ui/contacts.js';
import { GroupPanel, openNewGroupDialog } from './ui/group-panel.js';
import { MessageSearch } from './ui/search.js';
import { CallManager } from './ui/call.js';
import { openHiddenChats, openSettings } from './ui/settings.js';
import { PageTitle } from './ui/title.js';
import { PushControl, SoundToggle } from './ui/push.js';

const CONNECTION_TEXT = {
  connecting: gettext('Connecting…'),
  open: gettext('Connecting…'),
  ready: gettext('Online'),
  down: gettext('Offline — reconnecting…'),
  fatal: gettext('Disconnected'),
};

function boot() {
  const root = $('#app');
  if (!root) return;
  setCsrfToken(root.dataset.csrfToken);
  initNotify($('#live-region'), $('#toasts'));

  const me = {
    id: Number.isNaN(Number(root.dataset.userId)) ? root.dataset.userId : Number(root.dataset.userId),
    username: root.dataset.username,
    display_name: root.dataset.displayName || root.dataset.username,
    avatar_url: null,
  };
  const chat = new Chat(me);
  window.imChat = chat; // handy for debugging and automated checks

  const body = document.body;
  const calls = new CallManager(chat);
  const pageTitle = new PageTitle(chat.store, document.title);

  const openConversation = (convId, { focus = true } = {}) => {
    showTab('chats');
    chat.openConversation(convId);
    view.show(convId);
    body.classList.add('show-conversation');
    if (location.hash !== `#/c/${encodeURIComponent(convId)}`) {
      history.replaceState(null, '', `#/c/${encodeURIComponent(convId)}`);
    }
    if (groupPanel.isOpen) groupPanel.close();
    if (focus) view.focusComposer();
  };

  const closeConversation = () => {
    chat.closeConversation();
    view.show(null);
    body.classList.remove('show-conversation');
    history.replaceState(null, '', location.pathname + location.search);
    pageTitle.setBase(gettext('Chat'));
    $('#conversation-list .conversation-open')?.focus();
  };

  const view = new ConversationView(chat, {
    root: $('#conversation'),
    placeholder: $('#conversation-placeholder'),
    onBack: closeConversation,
    title: pageTitle,
    onGroupInfo: (conv) => groupPanel.open(conv.group.id),
    onCall: (convId, media) => calls.start(convId, media).catch((err) => showError(gettext('Call failed: %(error)s', { error: err.message }))),
  });

  const groupPanel = new GroupPanel(chat, {
    root: $('#group-panel'),
    onClosed: () => $('.group-info-button')?.focus(),
    onLeft: () => chat.loadConversations(),
  });

  new ConversationList(chat, {
    list: $('#conversation-list'),
    empty: $('#conversations-empty'),
    loading: $('#conversations-loading'),
    onOpen: (id) => openConversation(id),
  });

  const push = new PushControl({ onOpenConversation: (id) => {
    if (chat.store.conversations.has(id)) openConversation(id);
  } });
  $('.logout-form').before(h('div', { class: 'topbar-controls' }, push.button, new SoundToggle(chat).button));

  const newGroup = () => openNewGroupDialog(chat, (convId) => openConversation(convId));
  $('#new-group-button').addEventListener('click', newGroup);
  $('#settings-button').addEventListener('click', () => openSettings(chat));
  $('#hidden-chats-button').addEventListener('click', () => openHiddenChats(chat, (id) => openConversation(id)));

  const contacts = new ContactsPanel(chat, {
    root: $('#contacts-panel'),
    badge: $('#requests-badge'),
    onOpenConversation: (id) => openConversation(id),
    onNewGroup: newGroup,
  });

  new MessageSearch(chat, {
    form: $('#message-search-form'),
    input: $('#message-search'),
    panel: $('#search-results'),
    onPick: async (msg) => {
      openConversation(msg.conversation_id, { focus: false });
      await view.jumpTo(msg.msg_id, msg.seq);
    },
  });

  // Tabs: Chats / Contacts
  const tabs = { chats: $('#tab-chats'), contacts: $('#tab-contacts') };
  const panels = { chats: $('#chats-panel'), contacts: $('#contacts-panel') };
  let contactsLoaded = false;
  function showTab(name) {
    for (const [key, tab] of Object.entries(tabs)) {
      tab.setAttribute('aria-pressed', String(key === name));
      panels[key].hidden = key !== name;
    }
    if (name === 'contacts') {
      body.classList.remove('show-conversation');
      if (!contactsLoaded) {
        contactsLoaded = true;
        contacts.load();
      }
    }
  }
  tabs.chats.addEventListener('click', () => showTab('chats'));
  tabs.contacts.addEventListener('click', () => showTab('contacts'));

  // Connection status, errors and announcements
  const conn = $('#connection-status');
  chat.on('connection', ({ state, message }) => {
    conn.dataset.state = state;
    conn.textContent = message || CONNECTION_TEXT[state] || state;
    if (state === 'fatal' && message) showError(message);
  });
  chat.on('error', ({ message }) => showError(message));
  chat.on('announce', ({ text, msgId }) => announce(text, msgId));
  chat.on('recalled', ({ msg_id: msgId }) => unannounce(msgId));
  chat.on('active', ({ convId }) => {
    if (convId === null && view.convId) {
      view.show(null);
      body.classList.remove('show-conversation');
    }
  });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && body.classList.contains('show-conversation') && !document.querySelector('dialog[open]')
      && !e.target.closest?.('.menu-wrap') && matchMedia('(max-width: 760px)').matches) {
      closeConversation();
    }
  });

  chat.start().then(() => {
    contacts.refreshRequests();
    const m = location.hash.match(/^#\/c\/(.+)$/);
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (chat.store.conversations.has(id)) openConversation(id, { focus: false });
    }
  });
}

boot();
