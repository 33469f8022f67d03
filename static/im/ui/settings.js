// Account self-service: profile (display name, avatar with a square preview that shows the whole
// image, email for password reset), language, password change, and the hidden chats.
import { h, setChildren, uid } from '../dom.js';
import * as api from '../api.js';
import { gettext } from '../i18n.js';
import { language } from '../locale.js';
import { displayName } from '../format.js';
import { avatar } from './avatar.js';
import { openDialog } from './dialogs.js';
import { announce, showError, showInfo } from './notify.js';

function field(label, input, help) {
  const helpId = help ? uid('help') : null;
  if (helpId) input.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
    help ? h('p', { class: 'help', id: helpId, text: help }) : null);
}

function fieldErrors(form, err) {
  form.querySelectorAll('.field-errors').forEach((el) => el.remove());
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  const fields = err instanceof api.ApiError ? err.fields ?? {} : {};
  let shown = false;
  for (const [name, messages] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    const id = uid('err');
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.closest('.field').append(h('ul', { class: 'field-errors', id }, ...[].concat(messages).map((m) => h('li', { text: m }))));
    shown = true;
  }
  if (!shown) showError(api.errorText(err));
}

function profileSection(chat, me) {
  const titleId = uid('sec');
  const name = h('input', { id: uid('f'), name: 'display_name', type: 'text', maxlength: '64', autocomplete: 'nickname', value: me.display_name ?? '' });
  const email = h('input', { id: uid('f'), name: 'email', type: 'email', maxlength: '254', autocomplete: 'email', value: me.email ?? '' });
  const file = h('input', { id: uid('f'), name: 'avatar_attachment_id', type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  // The preview shows the whole picture in a square (letterboxed, never cropped).
  const preview = h('img', { class: 'avatar-preview', alt: gettext('Avatar preview'), hidden: !me.avatar_url, src: me.avatar_url ?? '' });
  let objectUrl = null;
  file.addEventListener('change', () => {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    const chosen = file.files?.[0];
    objectUrl = chosen ? URL.createObjectURL(chosen) : null;
    preview.src = objectUrl ?? me.avatar_url ?? '';
    preview.hidden = !preview.src;
  });
  const save = h('button', { type: 'submit', class: 'primary' }, gettext('Save profile'));
  const form = h('form', { class: 'settings-form', 'aria-labelledby': titleId },
    h('h3', { id: titleId, text: gettext('Profile') }),
    field(gettext('Display name'), name),
    field(gettext('Avatar'), file), preview,
    field(gettext('Email'), email, gettext('Used only to reset your password.')),
    save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      const body = { display_name: name.value, email: email.value };
      const chosen = file.files?.[0];
      if (chosen) body.avatar_attachment_id = (await api.upload(chosen, 'image').promise).id;
      const updated = await api.updateMe(body);
      Object.assign(me, updated);
      chat.store.rememberUser(updated);
      const shown = document.getElementById('me-name');
      if (shown) shown.textContent = displayName(updated);
      fieldErrors(form, null);
      showInfo(gettext('Profile saved.'));
    } catch (err) {
      fieldErrors(form, err);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function languageSection(me) {
  const titleId = uid('sec');
  const select = h('select', { id: uid('f'), name: 'language' },
    h('option', { value: '', text: gettext('As my browser prefers') }),
    h('option', { value: 'en', lang: 'en', text: 'English' }),
    h('option', { value: 'zh-hans', lang: 'zh-hans', text: '简体中文' }));
  select.value = me.language ?? '';
  const form = h('form', { class: 'settings-form', 'aria-labelledby': titleId },
    h('h3', { id: titleId, text: gettext('Language') }),
    field(gettext('Language'), select),
    h('button', { type: 'submit' }, gettext('Change language')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.updateMe({ language: select.value || null });
      location.reload(); // pages, the catalogue and dates all follow the new choice
    } catch (err) {
      fieldErrors(form, err);
    }
  });
  return form;
}

function passwordSection() {
  const titleId = uid('sec');
  const old = h('input', { id: uid('f'), name: 'old_password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: uid('f'), name: 'new_password', type: 'password', autocomplete: 'new-password', required: true });
  const form = h('form', { class: 'settings-form', 'aria-labelledby': titleId },
    h('h3', { id: titleId, text: gettext('Password') }),
    field(gettext('Current password'), old),
    field(gettext('New password'), next, gettext('Your other devices are signed out when it changes.')),
    h('button', { type: 'submit' }, gettext('Change password')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.changePassword(old.value, next.value);
      form.reset();
      fieldErrors(form, null);
      showInfo(gettext('Password changed. Your other devices were signed out.'));
    } catch (err) {
      fieldErrors(form, err);
    }
  });
  return form;
}

/** The account settings dialog (opened from the top bar). */
export async function openSettings(chat) {
  let me;
  try {
    me = await api.getMe();
  } catch (err) {
    showError(api.errorText(err));
    return;
  }
  const body = h('div', { class: 'settings-body', lang: language },
    profileSection(chat, me), languageSection(me), passwordSection());
  openDialog(gettext('Settings'), body, { className: 'settings-dialog' });
}

/** The chats the user hid, each with a button that brings it back into the list. */
export async function openHiddenChats(chat, onShown) {
  const list = h('ul', { class: 'people-list', 'aria-label': gettext('Hidden chats') });
  const status = h('p', { class: 'status-text', role: 'status', text: gettext('Loading…') });
  const { close } = openDialog(gettext('Hidden chats'), h('div', {}, status, list), { className: 'hidden-chats-dialog' });
  let rows;
  try {
    rows = await api.listConversations({ hidden: 'true' });
  } catch (err) {
    status.textContent = api.errorText(err);
    return;
  }
  status.textContent = rows.length ? '' : gettext('No hidden chats.');
  setChildren(list, ...rows.map((conv) => {
    if (conv.peer) chat.store.rememberUser(conv.peer);
    const title = chat.store.conversationTitle(conv);
    const nameId = uid('hidden');
    const show = h('button', { type: 'button', 'aria-describedby': nameId }, gettext('Show in chats'));
    show.addEventListener('click', async () => {
      try {
        await api.updateConversation(conv.id, { hidden: false });
        announce(gettext('%(title)s is back in your chats', { title }));
        await chat.loadConversations();
        close();
        onShown?.(conv.id);
      } catch (err) {
        showError(api.errorText(err));
      }
    });
    return h('li', { class: 'person' },
      avatar(title, conv.type === 'group' ? conv.group?.avatar_url : conv.peer?.avatar_url, conv.id),
      h('span', { class: 'person-text' }, h('span', { class: 'person-name', id: nameId, text: title })),
      h('span', { class: 'person-actions' }, show));
  }));
}
