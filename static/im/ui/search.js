// Message search (GET /api/v1/messages/search?q=): results open the
// conversation and scroll to / highlight the message.
import { h, setChildren } from '../dom.js';
import * as api from '../api.js';
import { messagePreview } from '../format.js';
import { listTime, fullTime } from '../time.js';
import { gettext, ngettext } from '../i18n.js';

export class MessageSearch {
  constructor(chat, { form, input, panel, onPick }) {
    this.chat = chat;
    this.store = chat.store;
    this.input = input;
    this.panel = panel;
    this.onPick = onPick;
    this.list = panel.querySelector('ul');
    this.status = panel.querySelector('.status-text');
    this.seq = 0;
    let debounce = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearTimeout(debounce);
      this.run();
    });
    input.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.run(), 350);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.clear();
    });
    panel.querySelector('#search-close')?.addEventListener('click', () => this.clear());
  }

  clear() {
    this.input.value = '';
    this.panel.hidden = true;
    this.list.replaceChildren();
    this.input.focus();
  }

  async run() {
    const q = this.input.value.trim();
    const mySeq = ++this.seq;
    if (!q) {
      this.panel.hidden = true;
      this.list.replaceChildren();
      return;
    }
    this.panel.hidden = false;
    this.status.textContent = gettext('Searching…');
    try {
      const data = await api.searchMessages(q);
      if (mySeq !== this.seq) return;
      const results = data?.results ?? [];
      this.status.textContent = results.length ? ngettext('%(count)s message found', '%(count)s messages found', results.length, { count: results.length }) : gettext('No messages found.');
      const missing = new Set(results.map((m) => m.conversation_id).filter((id) => !this.store.conversations.has(id)));
      await Promise.allSettled([...missing].map((id) => this.chat.fetchConversation(id)));
      if (mySeq !== this.seq) return;
      setChildren(this.list, ...results.map((m) => this.row(m)));
    } catch (err) {
      if (mySeq === this.seq) this.status.textContent = api.errorText(err);
    }
  }

  row(msg) {
    const conv = this.store.conversations.get(msg.conversation_id);
    const title = conv ? this.store.conversationTitle(conv) : gettext('Conversation');
    const sender = this.store.userName(msg.sender_id);
    return h('li', { class: 'search-result', dataset: { msgId: msg.msg_id, conversationId: msg.conversation_id } },
      h('button', { type: 'button', class: 'search-result-open', onclick: () => this.onPick(msg) },
        h('span', { class: 'result-top' },
          h('span', { class: 'result-title', text: title }),
          h('time', { datetime: msg.created_at, title: fullTime(msg.created_at), text: listTime(msg.created_at) })),
        h('span', { class: 'result-text', text: `${sender}: ${messagePreview(msg, (id) => this.store.userName(id))}` })));
  }
}
