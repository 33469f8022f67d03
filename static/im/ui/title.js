// The tab title: the open conversation's name, and while the page is hidden the unread total in
// front of it ("(3) Ben · Chat"), so a background tab shows that messages arrived.

/** Unread messages that count for the title: a muted conversation counts only its mentions. */
export function unreadTotal(store) {
  let total = 0;
  for (const conv of store.conversations.values()) {
    if (conv.hidden || conv.deleted) continue;
    total += conv.muted ? Number(conv.unread_mentions) || 0 : Number(conv.unread_count) || 0;
  }
  return total;
}

export class PageTitle {
  constructor(store, base = 'Chat') {
    this.store = store;
    this.base = base;
    store.on('conversations', () => this.render());
    document.addEventListener('visibilitychange', () => this.render());
  }

  setBase(text) {
    this.base = text;
    this.render();
  }

  render() {
    const total = document.visibilityState === 'hidden' ? unreadTotal(this.store) : 0;
    const title = total > 0 ? `(${total > 99 ? '99+' : total}) ${this.base}` : this.base;
    if (document.title !== title) document.title = title;
  }
}
