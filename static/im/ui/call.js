// 1:1 audio/video calls over WebRTC, signalled with `call` frames
// (invite, ringing, accept, reject, cancel, hangup, offer, answer, ice).
// STUN/TURN servers come from IM_ICE_SERVERS, in the page's JSON block #im-ice-servers; with
// none, host candidates only, which connects browsers on one network (docs/calls.md).
//
// Payloads sent: offer/answer -> {type, sdp} (an RTCSessionDescriptionInit);
// ice -> RTCIceCandidateInit {candidate, sdpMid, sdpMLineIndex}. Reading is
// lenient ({sdp: {...}} / {candidate: {...}} wrappers are accepted too).
import { pageConfig } from '../config.js';
import { h } from '../dom.js';
import { displayName } from '../format.js';
import { announce, showError } from './notify.js';
import { gettext } from '../i18n.js';

function iceServers() {
  return pageConfig('im-ice-servers', []);
}

const RING_TIMEOUT_MS = 60000;
const STATUS_TEXT = {
  calling: gettext('Calling…'),
  ringing: gettext('Ringing…'),
  connecting: gettext('Connecting…'),
  connected: 'connected',
  reconnecting: gettext('Reconnecting…'),
  ended: gettext('Call ended'),
};

function readDescription(payload) {
  if (!payload) return null;
  if (typeof payload.sdp === 'string' && payload.type) return { type: payload.type, sdp: payload.sdp };
  if (payload.sdp && typeof payload.sdp === 'object') return readDescription(payload.sdp);
  if (payload.description) return readDescription(payload.description);
  return null;
}

function readCandidate(payload) {
  if (!payload) return null;
  if (typeof payload.candidate === 'string') return payload;
  if (payload.candidate && typeof payload.candidate === 'object') return payload.candidate;
  return null;
}

export class CallManager {
  constructor(chat) {
    this.chat = chat;
    this.store = chat.store;
    this.call = null;
    chat.on('call', (f) => this.onFrame(f).catch((err) => this.fail(err)));
    window.addEventListener('beforeunload', () => {
      if (this.call) this.endLocal(this.call.accepted ? 'hangup' : this.call.role === 'caller' ? 'cancel' : 'reject');
    });
  }

  peerOf(convId) {
    return this.store.conversations.get(convId)?.peer ?? null;
  }

  // ------------------------------------------------------------ outgoing
  async start(convId, media) {
    if (this.call) {
      showError(gettext('You are already in a call.'));
      return;
    }
    const conv = this.store.conversations.get(convId);
    if (!conv || conv.type !== 'direct') return;
    if (!this.chat.socket.isReady) {
      showError(gettext('Not connected: calls need a live connection.'));
      return;
    }
    const callId = crypto.randomUUID();
    this.call = {
      callId, convId, media, role: 'caller', peer: conv.peer, pc: null, localStream: null,
      remoteStream: new MediaStream(), pendingIce: [], accepted: false, timer: null,
    };
    this.showCallView();
    this.setState('calling');
    this.chat.sendCallFrame({ action: 'invite', call_id: callId, conversation_id: convId, media });
    this.call.timer = setTimeout(() => {
      if (this.call?.callId === callId && !this.call.accepted) this.endLocal('cancel', gettext('No answer'));
    }, RING_TIMEOUT_MS);
    this.call.mediaReady = this.getLocalMedia(this.call);
    await this.call.mediaReady;
  }

  // ------------------------------------------------------------ frames
  async onFrame(f) {
    const call = this.call;
    const same = call && call.callId === f.call_id;
    switch (f.action) {
      case 'invite':
        if (call) {
          if (!same) this.send(f, 'reject');
          return;
        }
        this.incoming(f);
        return;
      case 'ringing':
        if (same && call.role === 'caller' && !call.accepted) this.setState('ringing');
        return;
      case 'accept':
        if (same && call.role === 'caller' && !call.accepted) {
          call.accepted = true;
          clearTimeout(call.timer);
          this.setState('connecting');
          await this.makeOffer(call);
        } else if (same && call.role === 'callee' && !call.accepted) {
          // Answered on another of my devices.
          this.teardown(gettext('Answered on another device'));
        }
        return;
      case 'reject':
        if (same) this.teardown(call.role === 'caller' ? gettext('Call declined') : gettext('Call ended'));
        return;
      case 'cancel':
        if (same) this.teardown(call.accepted ? gettext('Call ended') : gettext('Missed call'));
        return;
      case 'hangup':
        if (same) this.teardown(gettext('Call ended'));
        return;
      case 'timeout': // server-made: nobody answered within the ring timeout (docs/calls.md)
        if (same) this.teardown(gettext('Missed call'));
        return;
      case 'offer':
        if (same && call.role === 'callee') await this.onOffer(call, f.payload);
        return;
      case 'answer':
        if (same && call.role === 'caller' && call.pc) {
          const desc = readDescription(f.payload);
          if (desc) {
            await call.pc.setRemoteDescription(desc);
            await this.flushIce(call);
          }
        }
        return;
      case 'ice':
        if (same) {
          const cand = readCandidate(f.payload);
          if (!cand) return;
          if (call.pc?.remoteDescription) await call.pc.addIceCandidate(cand).catch(() => {});
          else call.pendingIce.push(cand);
        }
        return;
      default:
    }
  }

  incoming(f) {
    const peer = this.peerOf(f.conversation_id) ?? this.store.users.get(f.from_user_id) ?? { id: f.from_user_id };
    this.call = {
      callId: f.call_id, convId: f.conversation_id, media: f.media === 'video' ? 'video' : 'audio', role: 'callee',
      peer, pc: null, localStream: null, remoteStream: new MediaStream(), pendingIce: [], accepted: false, timer: null,
    };
    this.send(f, 'ringing');
    this.showIncomingDialog();
    const callId = f.call_id;
    this.call.timer = setTimeout(() => {
      if (this.call?.callId === callId && !this.call.accepted) this.teardown(gettext('Missed call'));
    }, RING_TIMEOUT_MS);
  }

  send(ref, action, payload) {
    const frame = { action, call_id: ref.callId ?? ref.call_id, conversation_id: ref.convId ?? ref.conversation_id };
    if (payload !== undefined) frame.payload = payload;
    return this.chat.sendCallFrame(frame);
  }

  // ------------------------------------------------------------ answering
  async accept() {
    const call = this.call;
    if (!call || call.role !== 'callee' || call.accepted) return;
    call.accepted = true;
    clearTimeout(call.timer);
    this.closeIncomingDialog();
    this.showCallView();
    this.setState('connecting');
    await this.getLocalMedia(call);
    if (this.call !== call) return;
    this.createPeerConnection(call);
    this.send(call, 'accept');
  }

  reject() {
    const call = this.call;
    if (!call) return;
    this.send(call, 'reject');
    this.teardown(gettext('Call declined'));
  }

  /** The user hung up (or cancelled before an answer). */
  hangup() {
    const call = this.call;
    if (!call) return;
    this.endLocal(call.accepted ? 'hangup' : call.role === 'caller' ? 'cancel' : 'reject');
  }

  endLocal(action, text) {
    const call = this.call;
    if (!call) return;
    this.send(call, action);
    this.teardown(text ?? (action === 'cancel' ? gettext('Call cancelled') : gettext('Call ended')));
  }

  // ------------------------------------------------------------ WebRTC
  async getLocalMedia(call) {
    if (!navigator.mediaDevices?.getUserMedia) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === 'video' });
      if (this.call !== call) {
        stream.getTracks().forEach((t) => t.stop());
        return;
      }
      call.localStream = stream;
      if (this.localVideo) this.localVideo.srcObject = stream;
    } catch (err) {
      showError(gettext('Camera or microphone unavailable (%(error)s); the call continues without them.', { error: err.name }));
    }
  }

  createPeerConnection(call) {
    const pc = new RTCPeerConnection({ iceServers: iceServers() });
    call.pc = pc;
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate) this.send(call, 'ice', e.candidate.toJSON());
    });
    pc.addEventListener('track', (e) => {
      const stream = call.remoteStream;
      if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
      if (this.remoteVideo && this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
      this.remoteVideo?.play?.().catch(() => {});
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.call !== call) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        call.connectedAt ??= Date.now();
        this.setState('connected');
      } else if (s === 'disconnected') {
        this.setState('reconnecting');
      } else if (s === 'failed') {
        this.endLocal('hangup', gettext('Connection failed'));
      }
    });
    return pc;
  }

  addLocalTracks(call) {
    const { pc, localStream } = call;
    if (localStream) for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
  }

  async makeOffer(call) {
    await call.mediaReady;
    if (this.call !== call) return;
    const pc = this.createPeerConnection(call);
    this.addLocalTracks(call);
    // Make sure we can receive media even when we send none.
    const kinds = new Set(pc.getTransceivers().map((t) => t.sender.track?.kind).filter(Boolean));
    if (!kinds.has('audio')) pc.addTransceiver('audio', { direction: 'recvonly' });
    if (call.media === 'video' && !kinds.has('video')) pc.addTransceiver('video', { direction: 'recvonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.send(call, 'offer', { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
  }

  async onOffer(call, payload) {
    const desc = readDescription(payload);
    if (!desc) return;
    const pc = call.pc ?? this.createPeerConnection(call);
    await pc.setRemoteDescription(desc);
    // Added after the offer so the tracks reuse the offered transceivers.
    if (!call.tracksAdded) {
      call.tracksAdded = true;
      this.addLocalTracks(call);
    }
    await this.flushIce(call);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.send(call, 'answer', { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
  }

  async flushIce(call) {
    const queued = call.pendingIce.splice(0);
    for (const cand of queued) await call.pc.addIceCandidate(cand).catch(() => {});
  }

  fail(err) {
    showError(gettext('Call error: %(error)s', { error: err?.message || err }));
    if (this.call) this.endLocal(this.call.accepted ? 'hangup' : this.call.role === 'caller' ? 'cancel' : 'reject', gettext('Call failed'));
  }

  teardown(text) {
    const call = this.call;
    if (!call) return;
    this.call = null;
    clearTimeout(call.timer);
    try { call.pc?.close(); } catch { /* closed */ }
    call.localStream?.getTracks().forEach((t) => t.stop());
    this.closeIncomingDialog();
    if (this.view) {
      this.setState('ended', text);
      const view = this.view;
      this.view = null;
      setTimeout(() => view.remove(), 2000);
    }
    announce(text);
  }

  // ------------------------------------------------------------ UI
  setState(state, text) {
    if (!this.statusEl) return;
    this.statusEl.dataset.callState = state;
    this.statusEl.textContent = text ?? STATUS_TEXT[state] ?? state;
    if (this.view) this.view.dataset.state = state;
    const ended = state === 'ended';
    if (this.hangupButton) this.hangupButton.disabled = ended;
  }

  showCallView() {
    const call = this.call;
    if (this.view) this.view.remove();
    const name = displayName(call.peer);
    this.remoteVideo = h('video', { class: 'remote-video', autoplay: true, playsinline: true, 'aria-label': gettext('Video from %(name)s', { name }) });
    this.localVideo = h('video', { class: 'local-video', autoplay: true, playsinline: true, muted: true, 'aria-label': gettext('Your camera') });
    this.localVideo.muted = true;
    if (call.localStream) this.localVideo.srcObject = call.localStream;
    this.remoteVideo.srcObject = call.remoteStream;
    this.statusEl = h('p', { class: 'call-status', role: 'status', 'aria-live': 'polite' });
    this.hangupButton = h('button', { type: 'button', class: 'danger hangup-button', onclick: () => this.hangup() }, gettext('Hang up'));
    const muteButton = h('button', { type: 'button', 'aria-pressed': 'false' }, gettext('Mute microphone'));
    muteButton.addEventListener('click', () => {
      const tracks = this.call?.localStream?.getAudioTracks() ?? [];
      const muted = muteButton.getAttribute('aria-pressed') !== 'true';
      tracks.forEach((t) => { t.enabled = !muted; });
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
    this.view.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.hangup(); });
    document.body.append(this.view);
    this.hangupButton.focus();
  }

  showIncomingDialog() {
    const call = this.call;
    const name = displayName(call.peer);
    const accept = h('button', { type: 'button', class: 'primary accept-call', onclick: () => this.accept().catch((err) => this.fail(err)) }, gettext('Accept'));
    const reject = h('button', { type: 'button', class: 'danger reject-call', onclick: () => this.reject() }, gettext('Reject'));
    this.incomingDialog = h('dialog', { class: 'dialog incoming-call', 'aria-label': gettext('Incoming call'), dataset: { callId: call.callId } },
      h('h2', { text: call.media === 'video' ? gettext('Incoming video call') : gettext('Incoming audio call') }),
      h('p', { text: gettext('%(name)s is calling you.', { name }) }),
      h('div', { class: 'dialog-actions' }, reject, accept));
    this.incomingDialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.reject();
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
