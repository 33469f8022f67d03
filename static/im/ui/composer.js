// The composer: a textarea labelled "Message" (Enter sends, Shift+Enter is a
// new line), a "Send" button, and image / file / voice / location buttons.
import { icon } from './icons.js';
import { h, uid } from '../dom.js';
import { Uploads } from './uploads.js';
import { VoiceRecorder } from './voice.js';
import { openLocationDialog } from './location.js';
import { showError } from './notify.js';
import { gettext } from '../i18n.js';
import { messagePreview } from '../format.js';
import { MentionPicker } from './mentions.js';

const MAX_TEXT = 5000;

export class Composer {
  /** lastEditable() -> the newest own message that may still be edited (ArrowUp edits it). */
  constructor(chat, { getConvId, onSent, lastEditable }) {
    this.chat = chat;
    this.lastEditable = lastEditable;
    this.getConvId = getConvId;
    this.onSent = onSent;
    this.drafts = new Map();
    this.replyTo = null; // the message being answered
    this.editing = null; // the own message being edited

    const textId = uid('composer-text');
    this.textarea = h('textarea', {
      id: textId,
      class: 'composer-input',
      rows: '1',
      'aria-label': gettext('Message'),
      placeholder: gettext('Message'),
      maxlength: String(MAX_TEXT),
      autocomplete: 'off',
    });
    this.sendButton = h('button', { type: 'submit', class: 'primary send-button' }, gettext('Send'));
    this.imageInput = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', multiple: true, hidden: true, 'aria-hidden': 'true', tabindex: '-1' });
    this.fileInput = h('input', { type: 'file', multiple: true, hidden: true, 'aria-hidden': 'true', tabindex: '-1' });
    this.imageButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Attach image'), title: gettext('Attach image'), onclick: () => this.imageInput.click() }, icon('image'));
    this.fileButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Attach file'), title: gettext('Attach file'), onclick: () => this.fileInput.click() }, icon('clip'));
    this.voiceButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Record voice message'), title: gettext('Record voice message'), 'aria-pressed': 'false' }, icon('mic'));
    this.locationButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': gettext('Share location'), title: gettext('Share location'), onclick: () => this.shareLocation() }, icon('pin'));
    this.disabledNote = h('p', { class: 'composer-disabled-note', hidden: true });
    this.contextText = h('p', { class: 'composer-context-text' });
    this.contextCancel = h('button', { type: 'button', class: 'icon-button', onclick: () => this.clearContext() }, icon('close', { size: 16 }));
    this.contextBar = h('div', { class: 'composer-context', hidden: true }, this.contextText, this.contextCancel);
    this.mentions = new MentionPicker(this.textarea, { getMembers: () => this.members() });

    this.uploads = new Uploads(chat);
    this.voice = new VoiceRecorder({
      button: this.voiceButton,
      tray: this.uploads.tray,
      onRecorded: (file, durationMs) => {
        const convId = this.getConvId();
        if (convId) this.uploads.add(file, 'voice', convId, { duration_ms: durationMs });
      },
    });

    this.form = h('form', { class: 'composer', 'aria-label': gettext('Write a message') },
      h('div', { class: 'composer-tools' }, this.imageButton, this.fileButton, this.voiceButton, this.locationButton,
        this.imageInput, this.fileInput),
      this.textarea, this.sendButton);
    this.element = h('div', { class: 'composer-area' }, this.uploads.tray, this.disabledNote, this.contextBar,
      this.mentions.list, this.form);

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.textarea.addEventListener('keydown', (e) => {
      if (this.mentions.handleKey(e)) return;
      if (e.key === 'Escape' && (this.replyTo || this.editing)) {
        e.preventDefault();
        e.stopPropagation();
        this.clearContext();
        return;
      }
      if (e.key === 'ArrowUp' && !this.textarea.value && !this.editing && !e.isComposing) {
        const msg = this.lastEditable?.();
        if (msg) {
          e.preventDefault();
          this.startEdit(msg);
          return;
        }
      }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.send();
      }
    });
    this.textarea.addEventListener('input', () => {
      this.autosize();
      const convId = this.getConvId();
      if (convId && this.textarea.value.trim()) this.chat.typing(convId);
    });
    this.textarea.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files, null);
    });
    this.imageInput.addEventListener('change', () => {
      this.addFiles([...this.imageInput.files], 'image');
      this.imageInput.value = '';
    });
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...this.fileInput.files], 'file');
      this.fileInput.value = '';
    });
    this.element.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types?.includes('Files')) e.preventDefault();
    });
    this.element.addEventListener('drop', (e) => {
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files, null);
    });
  }

  addFiles(files, kind) {
    const convId = this.getConvId();
    if (!convId || this.textarea.disabled) return;
    for (const file of files) {
      const k = kind ?? (/^image\/(png|jpeg|gif|webp)$/.test(file.type) ? 'image' : 'file');
      this.uploads.add(file, k, convId);
    }
  }

  send() {
    const convId = this.getConvId();
    if (!convId || this.textarea.disabled) return;
    const text = this.textarea.value;
    if (!text.trim()) return;
    if (text.trim().length > MAX_TEXT) {
      showError(gettext('A message can be at most %(count)s characters.', { count: MAX_TEXT }));
      return;
    }
    const mentions = this.mentions.mentionsIn(text);
    if (this.editing) this.chat.edit(convId, this.editing.msg_id, text, { mentions });
    else this.chat.sendText(convId, text, { replyTo: this.replyTo, mentions });
    this.textarea.value = this.editing ? this.savedDraft ?? '' : '';
    this.replyTo = null;
    this.editing = null;
    this.mentions.reset();
    this.renderContext();
    this.drafts.delete(convId);
    this.autosize();
    this.onSent?.();
    this.textarea.focus();
  }

  /** The open group's members other than oneself (for `@` completion). */
  members() {
    const group = this.chat.store.groupOf(this.getConvId());
    return (group?.members ?? []).map((m) => m.user).filter((u) => u && !this.chat.store.isMe(u.id));
  }

  /** Answer `msg`: its quote shows above the composer until sent or cancelled. */
  startReply(msg) {
    if (this.editing) this.clearContext();
    this.replyTo = msg;
    this.renderContext();
    this.focus();
  }

  /** Edit an own text message in the composer; Escape or the close button gives up. */
  startEdit(msg) {
    if (!this.editing) this.savedDraft = this.textarea.value;
    this.replyTo = null;
    this.editing = msg;
    this.mentions.reset();
    const store = this.chat.store;
    this.mentions.remember((msg.content?.mentions ?? []).map((id) => store.users.get(id) ?? store.users.get(Number(id))).filter(Boolean));
    this.textarea.value = String(msg.content?.text ?? '');
    this.autosize();
    this.renderContext();
    this.focus();
  }

  clearContext() {
    if (this.editing) this.textarea.value = this.savedDraft ?? '';
    this.replyTo = null;
    this.editing = null;
    this.renderContext();
    this.autosize();
    this.focus();
  }

  renderContext() {
    const store = this.chat.store;
    const msg = this.editing ?? this.replyTo;
    this.contextBar.hidden = !msg;
    this.contextBar.dataset.mode = this.editing ? 'edit' : 'reply';
    if (!msg) {
      this.sendButton.textContent = gettext('Send');
      return;
    }
    const preview = messagePreview(msg, (id) => store.userName(id));
    this.contextText.textContent = this.editing
      ? gettext('Editing message')
      : gettext('Replying to %(name)s: %(text)s', { name: store.userName(msg.sender_id), text: preview });
    const label = this.editing ? gettext('Cancel editing') : gettext('Cancel reply');
    this.contextCancel.setAttribute('aria-label', label);
    this.contextCancel.title = label;
    this.sendButton.textContent = this.editing ? gettext('Save') : gettext('Send');
  }

  async shareLocation() {
    const convId = this.getConvId();
    if (!convId) return;
    const loc = await openLocationDialog();
    if (loc) {
      this.chat.sendMessage(convId, 'location', loc);
      this.onSent?.();
    }
  }

  autosize() {
    this.textarea.style.height = 'auto';
    this.textarea.style.height = `${Math.min(this.textarea.scrollHeight, 160)}px`;
  }

  saveDraft() {
    const convId = this.getConvId();
    if (!convId) return;
    const draft = this.editing ? this.savedDraft : this.textarea.value;
    if (draft) this.drafts.set(convId, draft);
    else this.drafts.delete(convId);
  }

  loadDraft() {
    const convId = this.getConvId();
    this.replyTo = null;
    this.editing = null;
    this.mentions.reset();
    this.renderContext();
    this.textarea.value = (convId && this.drafts.get(convId)) || '';
    this.autosize();
  }

  setDisabled(reason) {
    const disabled = !!reason;
    for (const el of [this.textarea, this.sendButton, this.imageButton, this.fileButton, this.voiceButton, this.locationButton]) {
      el.disabled = disabled;
    }
    this.disabledNote.hidden = !disabled;
    this.disabledNote.textContent = reason || '';
  }

  focus() {
    this.textarea.focus();
  }
}
