// Attachment uploads with previews and a progress bar (XMLHttpRequest),
// then a message of kind image / file / voice with the attachment_id.
import { icon } from './icons.js';
import { h } from '../dom.js';
import * as api from '../api.js';
import { fileSize } from '../format.js';
import { gettext } from '../i18n.js';

export class Uploads {
  constructor(chat) {
    this.chat = chat;
    this.tray = h('ul', { class: 'upload-tray', 'aria-label': gettext('Uploads') });
  }

  /** extra: additional content fields (duration_ms for voice). */
  add(file, kind, convId, extra = {}) {
    const previewUrl = kind === 'image' || kind === 'voice' ? URL.createObjectURL(file) : null;
    const name = file.name || (kind === 'voice' ? gettext('Voice message') : gettext('file'));
    const progress = h('progress', { max: '1', value: '0', 'aria-label': gettext('Uploading %(name)s', { name }) });
    const status = h('span', { class: 'upload-status', text: gettext('Uploading…') });
    const cancel = h('button', { type: 'button', class: 'link-button' }, gettext('Cancel'));
    const preview = kind === 'image'
      ? h('img', { src: previewUrl, alt: '', class: 'upload-thumb' })
      : h('span', { class: 'upload-icon', 'aria-hidden': 'true' }, icon(kind === 'voice' ? 'mic' : 'file'));
    const item = h('li', { class: 'upload-item', dataset: { kind } },
      preview,
      h('span', { class: 'upload-info' },
        h('span', { class: 'upload-name', text: name }),
        h('span', { class: 'upload-size', text: fileSize(file.size) }),
        progress, status),
      cancel);
    this.tray.append(item);

    const job = api.upload(file, kind, (fraction) => {
      progress.value = fraction;
      status.textContent = `${Math.round(fraction * 100)}%`;
    }, name);
    cancel.addEventListener('click', () => job.abort());

    job.promise.then((att) => {
      item.remove();
      const content = { attachment_id: att.id, ...extra };
      const local = kind === 'image'
        ? { _localUrl: previewUrl, width: att.width, height: att.height }
        : kind === 'voice'
          ? { _localUrl: previewUrl }
          : { _name: att.name ?? name, _size: att.size ?? file.size };
      this.chat.sendMessage(convId, kind, content, local);
    }).catch((err) => {
      if (err?.name === 'AbortError') {
        item.remove();
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        return;
      }
      progress.remove();
      status.textContent = gettext('Upload failed: %(error)s', { error: api.errorText(err) });
      status.classList.add('error');
      status.setAttribute('role', 'alert');
      cancel.textContent = gettext('Dismiss');
      cancel.onclick = () => item.remove();
    });
  }
}
