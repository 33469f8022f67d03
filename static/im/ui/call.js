// The call's DOM: the incoming-call dialog, the call view (videos, status, mute, hang up) and
// the announcements. The call itself (signalling, WebRTC, media) is calls.js.
import { Calls } from '../calls.js';
import { h } from '../dom.js';
import { displayName } from '../format.js';
import { announce, showError } from './notify.js';
import { gettext } from '../i18n.js';

const STATUS_TEXT = {
  calling: gettext('Calling…'),
  ringing: gettext('Ringing…'),
  connecting: gettext('Connecting…'),
  connected: 'connected',
  reconnecting: gettext('Reconnecting…'),
  ended: gettext('Call ended'),
};

export class CallManager {
  constructor(chat) {
    const calls = new Calls(chat);
    this.calls = calls;
    calls.on('shown', ({ call }) => this.showCallView(call));
    calls.on('incoming', ({ call }) => this.showIncomingDialog(call));
    calls.on('answered', () => this.closeIncomingDialog());
    calls.on('state', ({ state, text }) => this.setState(state, text));
    calls.on('local-stream', ({ stream }) => {
      if (this.localVideo) this.localVideo.srcObject = stream;
    });
    calls.on('remote-stream', ({ stream }) => {
      if (this.remoteVideo && this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
      this.remoteVideo?.play?.().catch(() => {});
    });
    calls.on('ended', ({ text }) => this.ended(text));
    calls.on('error', ({ message }) => showError(message));
    window.addEventListener('beforeunload', () => calls.hangup());
  }

  /** Calls out; settles once the camera and microphone were asked for. */
  start(convId, media) {
    return this.calls.start(convId, media);
  }

  ended(text) {
    this.closeIncomingDialog();
    if (this.view) {
      this.setState('ended', text);
      const view = this.view;
      this.view = null;
      setTimeout(() => view.remove(), 2000);
    }
    announce(text);
  }

  setState(state, text) {
    if (!this.statusEl) return;
    this.statusEl.dataset.callState = state;
    this.statusEl.textContent = text ?? STATUS_TEXT[state] ?? state;
    if (this.view) this.view.dataset.state = state;
    const ended = state === 'ended';
    if (this.hangupButton) this.hangupButton.disabled = ended;
  }

  showCallView(call) {
    if (this.view) this.view.remove();
    const name = displayName(call.peer);
    this.remoteVideo = h('video', { class: 'remote-video', autoplay: true, playsinline: true, 'aria-label': gettext('Video from %(name)s', { name }) });
    this.localVideo = h('video', { class: 'local-video', autoplay: true, playsinline: true, muted: true, 'aria-label': gettext('Your camera') });
    this.localVideo.muted = true;
    if (call.localStream) this.localVideo.srcObject = call.localStream;
    this.remoteVideo.srcObject = call.remoteStream;
    this.statusEl = h('p', { class: 'call-status', role: 'status', 'aria-live': 'polite' });
    this.hangupButton = h('button', { type: 'button', class: 'danger hangup-button', onclick: () => this.calls.hangup() }, gettext('Hang up'));
    const muteButton = h('button', { type: 'button', 'aria-pressed': 'false' }, gettext('Mute microphone'));
    muteButton.addEventListener('click', () => {
      const muted = muteButton.getAttribute('aria-pressed') !== 'true';
      this.calls.setMuted(muted);
      muteButton.setAttribute('aria-pressed', String(muted));
    });
    const titleId = 'call-title';
    this.view = h('section', {
      class: `call-view call-${call.media}`,
      role: 'dialog',
      'aria-modal': 'false',
      'aria-labelledby': titleId,
      dataset: { callId: call.callId, media: call.media },
    },
    h('h2', { id: titleId, text: call.media === 'video' ? gettext('Video call with %(name)s', { name }) : gettext('Audio call with %(name)s', { name }) }),
    this.statusEl,
    h('div', { class: 'call-videos' }, this.remoteVideo, this.localVideo),
    h('div', { class: 'call-actions' }, muteButton, this.hangupButton));
    this.view.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.calls.hangup(); });
    document.body.append(this.view);
    this.hangupButton.focus();
  }

  showIncomingDialog(call) {
    const name = displayName(call.peer);
    const accept = h('button', { type: 'button', class: 'primary accept-call', onclick: () => this.calls.accept().catch((err) => this.calls.fail(err)) }, gettext('Accept'));
    const reject = h('button', { type: 'button', class: 'danger reject-call', onclick: () => this.calls.reject() }, gettext('Reject'));
    this.incomingDialog = h('dialog', { class: 'dialog incoming-call', 'aria-label': gettext('Incoming call'), dataset: { callId: call.callId } },
      h('h2', { text: call.media === 'video' ? gettext('Incoming video call') : gettext('Incoming audio call') }),
      h('p', { text: gettext('%(name)s is calling you.', { name }) }),
      h('div', { class: 'dialog-actions' }, reject, accept));
    this.incomingDialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.calls.reject();
    });
    document.body.append(this.incomingDialog);
    this.incomingDialog.showModal();
    accept.focus();
    announce(call.media === 'video' ? gettext('Incoming video call from %(name)s', { name }) : gettext('Incoming audio call from %(name)s', { name }));
  }

  closeIncomingDialog() {
    const d = this.incomingDialog;
    this.incomingDialog = null;
    if (d) {
      if (d.open) d.close();
      d.remove();
    }
  }
}
