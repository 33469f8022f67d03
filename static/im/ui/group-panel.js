// Groups: the "New group" dialog and the group info panel (members with
// roles, invite, remove, make/remove admin, transfer ownership, leave,
// dissolve, rename, announcement).
import { icon } from './icons.js';
import { h, setChildren, uid } from '../dom.js';
import * as api from '../api.js';
import { displayName } from '../format.js';
import { avatar } from './avatar.js';
import { openDialog, confirmDialog } from './dialogs.js';
import { announce, showError, showInfo } from './notify.js';
import { gettext } from '../i18n.js';

const ROLE_LABEL = { owner: gettext('Owner'), admin: gettext('Admin'), member: gettext('Member') };

function friendCheckboxes(friends, legend) {
  const boxes = friends.map(({ user }) => {
    const id = uid('pick');
    return h('li', { class: 'pick' },
      h('input', { type: 'checkbox', id, value: String(user.id), name: 'member' }),
      avatar(displayName(user), user.avatar_url, user.id, { size: 'sm' }),
      h('label', { for: id, text: displayName(user) }));
  });
  const fieldset = h('fieldset', { class: 'pick-list' }, h('legend', { text: legend }),
    boxes.length ? h('ul', {}, ...boxes) : h('p', { class: 'empty-state', text: gettext('No friends to choose from.') }));
  const selected = () => [...fieldset.querySelectorAll('input[type=checkbox]:checked')].map((b) => Number(b.value));
  return { fieldset, selected };
}

/** The "New group" dialog; calls onCreated(conversationId). */
export function openNewGroupDialog(chat, onCreated) {
  const friends = [...chat.store.friends.values()].sort((a, b) => displayName(a.user).localeCompare(displayName(b.user)));
  const nameInput = h('input', { id: 'new-group-name', type: 'text', required: true, maxlength: '64', autocomplete: 'off' });
  const picker = friendCheckboxes(friends, gettext('Members'));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, gettext('Create group'));
  const form = h('form', { class: 'new-group-form' },
    h('div', { class: 'field' }, h('label', { for: 'new-group-name' }, gettext('Group name')), nameInput),
    picker.fieldset, error,
    h('div', { class: 'dialog-actions' }, submit));
  const { close } = openDialog(gettext('New group'), form, { className: 'new-group-dialog' });
  nameInput.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      error.textContent = gettext('Give the group a name.');
      nameInput.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const group = await api.createGroup(name, picker.selected());
      chat.rememberGroup(group);
      await chat.fetchConversation(group.conversation_id).catch(() => null);
      close();
      announce(gettext('Group %(name)s created', { name: group.name }));
      onCreated(group.conversation_id);
    } catch (err) {
      error.textContent = api.errorText(err);
      submit.disabled = false;
    }
  });
}

export class GroupPanel {
  constructor(chat, { root, onClosed, onLeft }) {
    this.chat = chat;
    this.store = chat.store;
    this.root = root;
    this.onClosed = onClosed;
    this.onLeft = onLeft;
    this.groupId = null;
    chat.on('group-loaded', ({ group }) => {
      if (this.groupId != null && String(group.id) === String(this.groupId)) this.render(group);
    });
    chat.on('group', (f) => {
      if (this.groupId != null && String(f.group_id) === String(this.groupId) && f.event === 'dissolved') this.reload();
    });
    chat.on('friends', () => { if (this.groupId != null) this.render(this.store.groups.get(this.groupId)); });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  async open(groupId) {
    this.groupId = groupId;
    this.root.hidden = false;
    document.body.classList.add('group-panel-open');
    const cached = this.store.groups.get(groupId);
    if (cached) this.render(cached);
    else setChildren(this.root, h('p', { class: 'status-text', text: gettext('Loading group…') }));
    await this.reload();
    this.root.querySelector('h2')?.focus();
  }

  close() {
    this.groupId = null;
    this.root.hidden = true;
    this.root.replaceChildren();
    document.body.classList.remove('group-panel-open');
    this.onClosed?.();
  }

  async reload() {
    if (this.groupId == null) return;
    try {
      await this.chat.loadGroup(this.groupId);
    } catch (err) {
      if (err?.status === 404) {
        setChildren(this.root, this.head(gettext('Group')), h('p', { class: 'empty-state', text: gettext('You are no longer a member of this group.') }));
      } else {
        showError(api.errorText(err));
      }
    }
  }

  head(title) {
    return h('div', { class: 'panel-head' },
      h('h2', { tabindex: '-1', text: title }),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Close group info'), onclick: () => this.close() }, icon('close')));
  }

  myRole(group) {
    return group.members?.find((m) => this.store.isMe(m.user?.id))?.role ?? null;
  }

  render(group) {
    if (!group || String(group.id) !== String(this.groupId)) return;
    const role = this.myRole(group);
    const canEdit = !group.dissolved && (role === 'owner' || role === 'admin');
    const parts = [this.head(group.name || gettext('Group'))];

    if (group.dissolved) parts.push(h('p', { class: 'banner-warning', text: gettext('This group has been dissolved.') }));

    // Name
    if (canEdit) {
      const input = h('input', { id: 'group-name-input', type: 'text', maxlength: '64', value: group.name ?? '' });
      const form = h('form', { class: 'inline-form' },
        h('label', { for: 'group-name-input' }, gettext('Group name')), input, h('button', { type: 'submit' }, gettext('Rename')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const name = input.value.trim();
        if (name) this.act(() => api.updateGroup(group.id, { name }), gettext('Group renamed'));
      });
      parts.push(form);
      parts.push(this.photoForm(group));
    }

    // Announcement
    const annTitle = uid('ann');
    const ann = h('section', { class: 'group-section', 'aria-labelledby': annTitle }, h('h3', { id: annTitle, text: gettext('Announcement') }));
    if (canEdit) {
      const area = h('textarea', { id: 'group-announcement-input', rows: '3', maxlength: '2000', 'aria-labelledby': annTitle });
      area.value = group.announcement ?? '';
      const form = h('form', { class: 'stack-form' }, area, h('button', { type: 'submit' }, gettext('Save announcement')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        this.act(() => api.updateGroup(group.id, { announcement: area.value.trim() }), gettext('Announcement saved'));
      });
      ann.append(form);
    } else {
      ann.append(h('p', { class: group.announcement ? 'announcement-text' : 'empty-state', text: group.announcement || gettext('No announcement.') }));
    }
    parts.push(ann);

    // Members
    const members = [...(group.members ?? [])].sort((a, b) => {
      const order = { owner: 0, admin: 1, member: 2 };
      return (order[a.role] ?? 3) - (order[b.role] ?? 3) || displayName(a.user).localeCompare(displayName(b.user));
    });
    const memTitle = uid('mem');
    const list = h('ul', { class: 'people-list members', 'aria-label': gettext('Members') },
      ...members.map((m) => this.memberRow(group, m, role)));
    parts.push(h('section', { class: 'group-section', 'aria-labelledby': memTitle },
      h('h3', { id: memTitle, text: gettext('Members (%(count)s)', { count: members.length }) }), list));

    // Invite
    if (!group.dissolved && role) {
      const memberIds = new Set(members.map((m) => String(m.user?.id)));
      const candidates = [...this.store.friends.values()].filter((f) => !memberIds.has(String(f.user.id)));
      const picker = friendCheckboxes(candidates, gettext('Invite friends'));
      const form = h('form', { class: 'stack-form invite-form' }, picker.fieldset,
        candidates.length ? h('button', { type: 'submit' }, gettext('Invite')) : null);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const ids = picker.selected();
        if (!ids.length) {
          showInfo(gettext('Choose at least one friend to invite.'));
          return;
        }
        this.act(() => api.addGroupMembers(group.id, ids), gettext('Invited'));
      });
      parts.push(form);
    }

    // Leave / dissolve
    const danger = h('div', { class: 'group-danger' });
    if (role && role !== 'owner' && !group.dissolved) {
      danger.append(h('button', { type: 'button', class: 'danger', onclick: () => this.leave(group) }, gettext('Leave group')));
    }
    if (role === 'owner' && !group.dissolved) {
      danger.append(h('p', { class: 'muted-text', text: gettext('To leave, first make someone else the owner.') }));
      danger.append(h('button', { type: 'button', class: 'danger', onclick: () => this.dissolve(group) }, gettext('Dissolve group')));
    }
    parts.push(danger);
    const hadFocusId = document.activeElement?.id;
    setChildren(this.root, ...parts);
    if (hadFocusId) document.getElementById(hadFocusId)?.focus();
  }

  memberRow(group, member, myRole) {
    const user = member.user ?? {};
    const nameId = uid('member');
    const self = this.store.isMe(user.id);
    const buttons = [];
    if (!group.dissolved && !self) {
      if (myRole === 'owner') {
        if (member.role === 'member') {
          buttons.push(h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.setRole(group, user, 'admin') }, gettext('Make admin')));
        } else if (member.role === 'admin') {
          buttons.push(h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.setRole(group, user, 'member') }, gettext('Remove admin')));
        }
        buttons.push(h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => this.transfer(group, user) }, gettext('Transfer ownership')));
      }
      if ((myRole === 'owner' && member.role !== 'owner') || (myRole === 'admin' && member.role === 'member')) {
        buttons.push(h('button', { type: 'button', class: 'danger', 'aria-describedby': nameId, onclick: () => this.removeMember(group, user) }, gettext('Remove')));
      }
    }
    return h('li', { class: 'person member', dataset: { userId: user.id, role: member.role } },
      avatar(displayName(user), user.avatar_url, user.id, { size: 'sm', online: self ? null : this.chat.isOnline(user.id) }),
      h('span', { class: 'person-text' },
        h('span', { class: 'person-name', id: nameId, text: self ? gettext('%(name)s (you)', { name: displayName(user) }) : displayName(user) }),
        h('span', { class: `role role-${member.role}`, text: ROLE_LABEL[member.role] ?? member.role })),
      buttons.length ? h('span', { class: 'person-actions' }, ...buttons) : null);
  }

  /** The group photo: a square preview of the whole picture, then upload and PATCH. */
  photoForm(group) {
    const file = h('input', { id: 'group-photo-input', type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
    const preview = h('img', { class: 'avatar-preview', alt: gettext('Group photo preview'), hidden: !group.avatar_url, src: group.avatar_url ?? '' });
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      if (preview.src.startsWith('blob:')) URL.revokeObjectURL(preview.src);
      preview.src = chosen ? URL.createObjectURL(chosen) : group.avatar_url ?? '';
      preview.hidden = !preview.src;
    });
    const form = h('form', { class: 'stack-form' },
      h('label', { for: 'group-photo-input' }, gettext('Group photo')), file, preview,
      h('button', { type: 'submit' }, gettext('Save group photo')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const chosen = file.files?.[0];
      if (!chosen) return;
      this.act(async () => {
        const image = await api.upload(chosen, 'image').promise;
        return api.updateGroup(group.id, { avatar_attachment_id: image.id });
      }, gettext('Group photo changed'));
    });
    return form;
  }

  async act(fn, doneText) {
    try {
      const result = await fn();
      if (result && result.members) this.chat.rememberGroup(result);
      else await this.reload();
      if (doneText) announce(doneText);
      return true;
    } catch (err) {
      showError(api.errorText(err));
      return false;
    }
  }

  setRole(group, user, role) {
    return this.act(() => api.setGroupRole(group.id, user.id, role),
      role === 'admin' ? gettext('%(name)s is now an admin', { name: displayName(user) }) : gettext('%(name)s is now a member', { name: displayName(user) }));
  }

  transfer(group, user) {
    return this.act(() => api.transferGroup(group.id, user.id),
      gettext('%(name)s is now the owner', { name: displayName(user) }));
  }

  removeMember(group, user) {
    return this.act(() => api.removeGroupMember(group.id, user.id), `${displayName(user)} removed`);
  }

  async leave(group) {
    const ok = await this.act(() => api.removeGroupMember(group.id, this.store.me.id), `You left ${group.name}`);
    if (ok) {
      const conv = this.store.conversationForGroup(group.id);
      if (conv) this.store.markLeft(conv.id);
      this.close();
      this.onLeft?.(group);
    }
  }

  async dissolve(group) {
    const yes = await confirmDialog(gettext('Dissolve %(name)s? Nobody will be able to send messages in it any more.', { name: group.name }), { title: gettext('Dissolve group') });
    if (!yes) return;
    await this.act(() => api.dissolveGroup(group.id), gettext('Group dissolved'));
  }
}
