// The composer: a textarea labelled "Message" (Enter sends, Shift+Enter is a
// new line), a "Send" button, and image / file / voice / location buttons.
import { icon } from './icons.js';
import { h, uid } from '../dom.js';
import { Uploads } from './uploads.js';
import { VoiceRecorder } from './voice.js';
import { openLocationDialog } from './location.js';
import { showError } from './notify.js';
import { gettext } from '../i18n.js';

const MAX_TEXT = 5000;

export class Composer {
  constructor(chat, { getConvId, onSent }) {
    this.chat = chat;
    this.getConvId = getConvId;
    this.onSent = onSent;
    this.drafts = new Map();

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
    this.element = h('div', { class: 'composer-area' }, this.uploads.tray, this.disabledNote, this.form);

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.textarea.addEventListener('keydown', (e) => {
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
    this.chat.sendText(convId, text);
    this.textarea.value = '';
    this.drafts.delete(convId);
    this.autosize();
    this.onSent?.();
    this.textarea.focus();
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
    if (this.textarea.value) this.drafts.set(convId, this.textarea.value);
    else this.drafts.delete(convId);
  }

  loadDraft() {
    const convId = this.getConvId();
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
