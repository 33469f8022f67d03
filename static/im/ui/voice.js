// Voice messages with MediaRecorder: the mic button toggles recording; a
// tray row shows the elapsed time with "Stop and send" and "Cancel".
import { h } from '../dom.js';
import { duration } from '../format.js';
import { showError } from './notify.js';
import { gettext } from '../i18n.js';

const MAX_MS = 300000;
const TYPES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/ogg', 'audio/mp4'];

function pickType() {
  if (typeof MediaRecorder === 'undefined') return null;
  return TYPES.find((t) => MediaRecorder.isTypeSupported?.(t)) ?? '';
}

function extensionFor(mime) {
  if (mime.includes('ogg')) return 'ogg';
  if (mime.includes('mp4')) return 'm4a';
  return 'webm';
}

export class VoiceRecorder {
  constructor({ button, tray, onRecorded }) {
    this.button = button;
    this.tray = tray;
    this.onRecorded = onRecorded;
    this.recorder = null;
    button.addEventListener('click', () => (this.recorder ? this.stop(true) : this.start()));
  }

  async start() {
    const type = pickType();
    if (type === null || !navigator.mediaDevices?.getUserMedia) {
      showError(gettext('Voice recording is not supported in this browser.'));
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      showError(gettext('Microphone unavailable: %(error)s', { error: err.message || err.name }));
      return;
    }
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks = [];
    this.recorder = recorder;
    this.keep = true;
    const startedAt = Date.now();
    const elapsed = h('span', { class: 'recording-time', text: '0:00' });
    const stopBtn = h('button', { type: 'button', class: 'primary', onclick: () => this.stop(true) }, gettext('Stop and send'));
    const cancelBtn = h('button', { type: 'button', class: 'link-button', onclick: () => this.stop(false) }, gettext('Cancel'));
    this.row = h('li', { class: 'upload-item recording', role: 'status' },
      h('span', { class: 'recording-dot', 'aria-hidden': 'true' }), h('span', { text: gettext('Recording voice message ') }), elapsed, stopBtn, cancelBtn);
    this.tray.append(this.row);
    this.button.setAttribute('aria-pressed', 'true');
    this.button.setAttribute('aria-label', gettext('Stop recording and send'));
    this.ticker = setInterval(() => {
      const ms = Date.now() - startedAt;
      elapsed.textContent = duration(ms);
      if (ms >= MAX_MS) this.stop(true);
    }, 500);

    recorder.addEventListener('dataavailable', (e) => { if (e.data?.size) chunks.push(e.data); });
    recorder.addEventListener('stop', () => {
      stream.getTracks().forEach((t) => t.stop());
      const ms = Math.min(MAX_MS, Math.max(1, Date.now() - startedAt));
      if (!this.keep || !chunks.length) return;
      const mime = (recorder.mimeType || type || 'audio/webm').split(';')[0];
      const file = new File(chunks, `voice-${Date.now()}.${extensionFor(mime)}`, { type: mime });
      this.onRecorded(file, ms);
    });
    recorder.start(250);
  }

  stop(keep) {
    if (!this.recorder) return;
    this.keep = keep;
    clearInterval(this.ticker);
    try { this.recorder.stop(); } catch { /* already stopped */ }
    this.recorder = null;
    this.row?.remove();
    this.button.setAttribute('aria-pressed', 'false');
    this.button.setAttribute('aria-label', gettext('Record voice message'));
    this.button.focus();
  }
}
