// The contacts panel: find people, incoming requests (Accept / Reject),
// sent requests, friends (Message / Remove / Block) and blocked users.
import { h, setChildren, uid } from '../dom.js';
import * as api from '../api.js';
import { displayName } from '../format.js';
import { listTime } from '../time.js';
import { avatar } from './avatar.js';
import { announce, showError, showInfo } from './notify.js';
import { confirmDialog, openDialog } from './dialogs.js';
import { gettext, ngettext } from '../i18n.js';

function section(title, listLabel, emptyText) {
  const titleId = uid('sec');
  const list = h('ul', { class: 'people-list', 'aria-label': listLabel });
  const empty = h('p', { class: 'empty-state', text: emptyText, hidden: true });
  const el = h('section', { class: 'contacts-section', 'aria-labelledby': titleId },
    h('h3', { id: titleId, text: title }), empty, list);
  return { el, list, empty };
}

export class ContactsPanel {
  constructor(chat, { root, badge, onOpenConversation, onNewGroup }) {
    this.chat = chat;
    this.store = chat.store;
    this.root = root;
    this.badge = badge;
    this.onOpenConversation = onOpenConversation;
    this.loadedOnce = false;
    this.outgoing = [];
    this.incoming = [];

    this.searchInput = h('input', { id: 'user-search', type: 'search', autocomplete: 'off', placeholder: gettext('Username or name') });
    this.searchStatus = h('p', { class: 'status-text', role: 'status' });
    this.results = h('ul', { class: 'people-list', 'aria-label': gettext('People found') });
    const searchForm = h('form', { class: 'search-form', role: 'search' },
      h('label', { for: 'user-search', class: 'visually-hidden' }, gettext('Find people')),
      this.searchInput,
      h('button', { type: 'submit' }, gettext('Search')));
    searchForm.addEventListener('submit', (e) => { e.preventDefault(); this.searchUsers(); });
    let debounce = null;
    this.searchInput.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.searchUsers(), 300);
    });

    this.incomingSec = section(gettext('Friend requests'), gettext('Incoming requests'), gettext('No pending requests.'));
    this.outgoingSec = section(gettext('Sent requests'), gettext('Outgoing requests'), gettext('No sent requests.'));
    this.friendsSec = section(gettext('Friends'), gettext('Friends'), gettext('No friends yet. Find people above.'));
    this.blockedSec = section(gettext('Blocked'), gettext('Blocked users'), gettext('Nobody is blocked.'));

    root.append(
      h('div', { class: 'panel-head' }, h('h2', { text: gettext('Contacts') }),
        h('button', { type: 'button', onclick: () => onNewGroup() }, gettext('New group'))),
      h('section', { class: 'contacts-section' }, searchForm, this.searchStatus, this.results),
      this.incomingSec.el, this.outgoingSec.el, this.friendsSec.el, this.blockedSec.el);

    chat.on('friend_request', () => this.refreshRequests());
    chat.on('friends', () => this.renderFriends());
    chat.on('presence', () => this.renderFriends());
    chat.on('connection', ({ state }) => { if (state === 'ready') this.refreshRequests(); });
  }

  async load() {
    this.loadedOnce = true;
    await Promise.allSettled([this.refreshRequests(), this.chat.loadFriends(), this.refreshBlocks()]);
  }

  // ------------------------------------------------------------ search
  async searchUsers() {
    const q = this.searchInput.value.trim();
    if (!q) {
      this.results.replaceChildren();
      this.searchStatus.textContent = '';
      return;
    }
    this.searchStatus.textContent = gettext('Searching…');
    try {
      const users = (await api.searchUsers(q))?.results ?? [];
      if (this.searchInput.value.trim() !== q) return;
      users.forEach((u) => this.store.rememberUser(u));
      this.searchStatus.textContent = users.length ? ngettext('%(count)s found', '%(count)s found', users.length, { count: users.length }) : gettext('Nobody found.');
      setChildren(this.results, ...users.filter((u) => !this.store.isMe(u.id)).map((u) => this.userRow(u)));
    } catch (err) {
      this.searchStatus.textContent = api.errorText(err);
    }
  }

  userRow(user) {
    const nameId = uid('user');
    const isFriend = this.store.friends.has(user.id);
    const pendingOut = this.outgoing.some((r) => String(r.to_user?.id) === String(user.id));
    const pendingIn = this.incoming.find((r) => String(r.from_user?.id) === String(user.id));
    let action;
    if (isFriend) {
      action = h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.message(user) }, gettext('Message'));
    } else if (pendingIn) {
      action = h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.answer(pendingIn, 'accept') }, gettext('Accept'));
    } else if (pendingOut) {
      action = h('span', { class: 'muted-text', text: gettext('Request sent') });
    } else {
      action = h('button', { type: 'button', 'aria-describedby': nameId, onclick: (e) => this.sendRequest(user, e.currentTarget) }, gettext('Add friend'));
    }
    return h('li', { class: 'person', dataset: { userId: user.id } },
      avatar(displayName(user), user.avatar_url, user.id),
      this.personText(user, nameId),
      h('span', { class: 'person-actions' }, action));
  }

  personText(user, nameId, extra) {
    return h('span', { class: 'person-text' },
      h('button', { type: 'button', class: 'link-button person-name', id: nameId, title: gettext('Profile'), onclick: () => this.openCard(user) }, displayName(user)),
      h('span', { class: 'person-username', text: `@${user.username ?? ''}` }),
      extra ?? null);
  }

  /** A user's profile card: who they are and what you can do (message, befriend, block). */
  async openCard(user) {
    let blocked = false;
    try {
      const data = await api.listBlocks();
      blocked = (data?.results ?? []).some((u) => String((u.user ?? u).id) === String(user.id));
    } catch { /* the card still shows; block/unblock report their own errors */ }
    const isFriend = this.store.friends.has(user.id);
    const actions = h('div', { class: 'dialog-actions' });
    const { close } = openDialog(displayName(user), h('div', { class: 'profile-card' },
      avatar(displayName(user), user.avatar_url, user.id, { size: 'lg' }),
      h('p', { class: 'person-username', text: `@${user.username ?? ''}` }),
      actions), { className: 'profile-card-dialog' });
    const act = (label, fn, cls = '') => h('button', { type: 'button', class: cls, onclick: async () => { close(); await fn(); } }, label);
    if (isFriend) actions.append(act(gettext('Message'), () => this.message(user), 'primary'));
    else if (!blocked) actions.append(act(gettext('Add friend'), () => this.sendRequest(user), 'primary'));
    actions.append(blocked ? act(gettext('Unblock'), () => this.unblock(user)) : act(gettext('Block'), () => this.block(user), 'danger'));
  }

  async sendRequest(user, button) {
    if (button) button.disabled = true;
    try {
      const req = await api.sendFriendRequest(user.id);
      if (req?.status === 'accepted') {
        showInfo(gettext('You and %(name)s are now friends.', { name: displayName(user) }));
        await this.chat.loadFriends();
      } else {
        showInfo(gettext('Friend request sent to %(name)s.', { name: displayName(user) }));
      }
      await this.refreshRequests();
      this.searchUsers();
    } catch (err) {
      showError(api.errorText(err));
      if (button) button.disabled = false;
    }
  }

  // ------------------------------------------------------------ requests
  async refreshRequests() {
    try {
      const [incoming, outgoing] = await Promise.all([
        api.listFriendRequests('incoming'),
        api.listFriendRequests('outgoing'),
      ]);
      this.incoming = incoming?.results ?? [];
      this.outgoing = outgoing?.results ?? [];
      this.renderRequests();
    } catch (err) {
      if (this.loadedOnce) showError(gettext('Could not load friend requests: %(error)s', { error: api.errorText(err) }));
    }
  }

  renderRequests() {
    const count = this.incoming.length;
    this.badge.hidden = count === 0;
    this.badge.textContent = String(count);
    this.badge.setAttribute('aria-label', ngettext('%(count)s friend request', '%(count)s friend requests', count, { count }));

    const { list, empty } = this.incomingSec;
    empty.hidden = count > 0;
    setChildren(list, ...this.incoming.map((req) => {
      const user = req.from_user ?? {};
      this.store.rememberUser(user);
      const nameId = uid('req');
      return h('li', { class: 'person request', dataset: { requestId: req.id, userId: user.id } },
        avatar(displayName(user), user.avatar_url, user.id),
        this.personText(user, nameId, req.message ? h('span', { class: 'request-message', text: `“${req.message}”` }) : null),
        h('span', { class: 'person-actions' },
          h('button', { type: 'button', class: 'primary', 'aria-describedby': nameId, onclick: () => this.answer(req, 'accept') }, gettext('Accept')),
          h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.answer(req, 'reject') }, gettext('Reject'))));
    }));

    const out = this.outgoingSec;
    out.empty.hidden = this.outgoing.length > 0;
    setChildren(out.list, ...this.outgoing.map((req) => {
      const user = req.to_user ?? {};
      const nameId = uid('out');
      return h('li', { class: 'person request', dataset: { requestId: req.id, userId: user.id } },
        avatar(displayName(user), user.avatar_url, user.id),
        this.personText(user, nameId, h('span', { class: 'muted-text', text: gettext('Sent %(time)s', { time: listTime(req.created_at) }) })),
        h('span', { class: 'person-actions' },
          h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.cancelRequest(req) }, gettext('Cancel request'))));
    }));
  }

  async cancelRequest(req) {
    try {
      await api.cancelFriendRequest(req.id);
      announce(gettext('Friend request to %(name)s cancelled', { name: displayName(req.to_user) }));
    } catch (err) {
      showError(api.errorText(err));
    }
    await this.refreshRequests();
    this.searchUsers(); // found people show "Add friend" again
  }

  async answer(req, action) {
    try {
      await api.answerFriendRequest(req.id, action);
      const name = displayName(req.from_user);
      announce(action === 'accept' ? gettext('You and %(name)s are now friends.', { name }) : gettext('Request from %(name)s rejected', { name }));
      await Promise.all([this.refreshRequests(), action === 'accept' ? this.chat.loadFriends() : null]);
    } catch (err) {
      showError(api.errorText(err));
      this.refreshRequests();
    }
  }

  // ------------------------------------------------------------ friends & blocks
  renderFriends() {
    const friends = [...this.store.friends.values()]
      .sort((a, b) => displayName(a.user).localeCompare(displayName(b.user)));
    const { list, empty } = this.friendsSec;
    empty.hidden = friends.length > 0;
    setChildren(list, ...friends.map(({ user }) => {
      const nameId = uid('friend');
      const online = this.chat.isOnline(user.id);
      return h('li', { class: 'person friend', dataset: { userId: user.id, online: String(online) } },
        avatar(displayName(user), user.avatar_url, user.id, { online }),
        this.personText(user, nameId, h('span', { class: 'muted-text', text: online ? gettext('Online') : gettext('Offline') })),
        h('span', { class: 'person-actions' },
          h('button', { type: 'button', class: 'primary', 'aria-describedby': nameId, onclick: () => this.message(user) }, gettext('Message')),
          h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.removeFriend(user) }, gettext('Remove')),
          h('button', { type: 'button', class: 'danger', 'aria-describedby': nameId, onclick: () => this.block(user) }, gettext('Block'))));
    }));
  }

  async message(user) {
    try {
      const conv = await this.chat.startDirect(user.id);
      this.onOpenConversation(conv.id);
    } catch (err) {
      showError(api.errorText(err));
    }
  }

  async removeFriend(user) {
    try {
      await api.removeFriend(user.id);
      announce(gettext('%(name)s removed from friends', { name: displayName(user) }));
      await this.chat.loadFriends();
    } catch (err) {
      showError(api.errorText(err));
    }
  }

  async block(user) {
    const ok = await confirmDialog(gettext('Block %(name)s? This ends your friendship and they cannot message you.', { name: displayName(user) }), { title: gettext('Block user') });
    if (!ok) return;
    try {
      await api.block(user.id);
      announce(gettext('%(name)s blocked', { name: displayName(user) }));
      await Promise.all([this.chat.loadFriends(), this.refreshBlocks(), this.refreshRequests()]);
    } catch (err) {
      showError(api.errorText(err));
    }
  }

  async refreshBlocks() {
    try {
      const data = await api.listBlocks();
      const users = (data?.results ?? []).map((x) => x.user ?? x);
      const { list, empty } = this.blockedSec;
      empty.hidden = users.length > 0;
      setChildren(list, ...users.map((user) => {
        const nameId = uid('blocked');
        return h('li', { class: 'person', dataset: { userId: user.id } },
          avatar(displayName(user), user.avatar_url, user.id),
          this.personText(user, nameId),
          h('span', { class: 'person-actions' },
            h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.unblock(user) }, gettext('Unblock'))));
      }));
    } catch (err) {
      if (this.loadedOnce) showError(gettext('Could not load blocked users: %(error)s', { error: api.errorText(err) }));
    }
  }

  async unblock(user) {
    try {
      await api.unblock(user.id);
      announce(gettext('%(name)s unblocked', { name: displayName(user) }));
      await this.refreshBlocks();
    } catch (err) {
      showError(api.errorText(err));
    }
  }
}
