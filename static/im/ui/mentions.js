// `@` autocomplete of group members in the composer: typing `@` and the start of a name lists the
// matching members (arrows move, Enter or Tab picks, Escape closes); a pick writes `@Name ` into
// the text and remembers whom it names, so the message carries their ids in `content.mentions`.
import { h, uid } from '../dom.js';
import { gettext } from '../i18n.js';
import { displayName } from '../format.js';
import { avatar } from './avatar.js';

const MAX_SHOWN = 8;
const QUERY_RE = /(?:^|\s)@([^\s@]{0,32})$/u;

export class MentionPicker {
  /** getMembers() -> [user] (the open group's members other than oneself; [] outside groups). */
  constructor(textarea, { getMembers }) {
    this.textarea = textarea;
    this.getMembers = getMembers;
    this.picked = new Map(); // name as written after `@` -> user id
    this.matches = [];
    this.active = 0;
    this.start = -1; // index of the `@` being completed
    this.list = h('ul', { class: 'mention-list', role: 'listbox', id: uid('mentions'), 'aria-label': gettext('Mention someone'), hidden: true });
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.addEventListener('input', () => this.update());
    textarea.addEventListener('click', () => this.update());
    textarea.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  get isOpen() {
    return !this.list.hidden;
  }

  update() {
    const caret = this.textarea.selectionStart;
    const before = this.textarea.value.slice(0, caret);
    const match = before.match(QUERY_RE);
    const members = match ? this.getMembers() : [];
    if (!match || !members.length) {
      this.close();
      return;
    }
    const query = match[1].toLocaleLowerCase();
    this.start = caret - match[1].length - 1;
    this.matches = members.filter((u) => [displayName(u), u.username].some((n) => n?.toLocaleLowerCase().includes(query)))
      .slice(0, MAX_SHOWN);
    this.active = 0;
    this.render();
  }

  render() {
    if (!this.matches.length) {
      this.close();
      return;
    }
    this.list.replaceChildren(...this.matches.map((user, index) => h('li', {
      id: `${this.list.id}-${index}`,
      role: 'option',
      class: 'mention-option',
      'aria-selected': String(index === this.active),
      onmousedown: (e) => { e.preventDefault(); this.pick(index); },
    }, avatar(displayName(user), user.avatar_url, user.id, { size: 'sm' }),
    h('span', { class: 'mention-name', text: displayName(user) }),
    h('span', { class: 'mention-username', text: `@${user.username}` }))));
    this.list.hidden = false;
    this.textarea.setAttribute('aria-controls', this.list.id);
    this.textarea.setAttribute('aria-activedescendant', `${this.list.id}-${this.active}`);
  }

  close() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.textarea.removeAttribute('aria-activedescendant');
  }

  /** Keys while the list is open; returns true when the key was used here. */
  handleKey(e) {
    if (!this.isOpen) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.render();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      this.pick(this.active);
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    e.preventDefault();
    e.stopPropagation();
    return true;
  }

  pick(index) {
    const user = this.matches[index];
    if (!user) return;
    const name = displayName(user);
    const value = this.textarea.value;
    const caret = this.textarea.selectionStart;
    const insert = `@${name} `;
    this.textarea.value = value.slice(0, this.start) + insert + value.slice(caret);
    const at = this.start + insert.length;
    this.textarea.setSelectionRange(at, at);
    this.picked.set(name, user.id);
    this.close();
    this.textarea.dispatchEvent(new Event('input', { bubbles: true }));
    this.textarea.focus();
  }

  /** Remembers the people an existing text mentions (editing a message keeps its mentions). */
  remember(users) {
    for (const user of users) this.picked.set(displayName(user), user.id);
  }

  /** The ids of the picked people still named in text. */
  mentionsIn(text) {
    const ids = new Set();
    for (const [name, id] of this.picked) if (text.includes(`@${name}`)) ids.add(id);
    return [...ids];
  }

  reset() {
    this.picked.clear();
    this.close();
  }
}
