// 1:1 audio/video calls over WebRTC, signalled with `call` frames
// (invite, ringing, accept, reject, cancel, hangup, offer, answer, ice): the call's state, the
// peer connection and the local media, without any DOM (ui/call.js shows them). STUN/TURN
// servers come from IM_ICE_SERVERS, in the page's JSON block #im-ice-servers; with none, host
// candidates only, which connects browsers on one network (docs/calls.md).
//
// Payloads sent: offer/answer -> {type, sdp} (an RTCSessionDescriptionInit);
// ice -> RTCIceCandidateInit {candidate, sdpMid, sdpMLineIndex}. Reading is
// lenient ({sdp: {...}} / {candidate: {...}} wrappers are accepted too).
//
// Events: 'shown' {call} (the call view is due: calling out, or answered here), 'incoming' {call},
// 'answered' (the incoming call was accepted here), 'state' {state, text}, 'local-stream' {stream},
// 'remote-stream' {stream}, 'ended' {text}, 'error' {message}.
import { pageConfig } from './config.js';
import { Emitter } from './emitter.js';
import { gettext } from './i18n.js';

const RING_TIMEOUT_MS = 60000;

function iceServers() {
  return pageConfig('im-ice-servers', []);
}

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

export class Calls extends Emitter {
  constructor(chat) {
    super();
    this.chat = chat;
    this.store = chat.store;
    this.call = null;
    chat.on('call', (f) => this.onFrame(f).catch((err) => this.fail(err)));
  }

  peerOf(convId) {
    return this.store.conversations.get(convId)?.peer ?? null;
  }

  // ------------------------------------------------------------ outgoing
  async start(convId, media) {
    if (this.call) {
      this.emit('error', { message: gettext('You are already in a call.') });
      return;
    }
    const conv = this.store.conversations.get(convId);
    if (!conv || conv.type !== 'direct') return;
    if (!this.chat.socket.isReady) {
      this.emit('error', { message: gettext('Not connected: calls need a live connection.') });
      return;
    }
    const callId = crypto.randomUUID();
    this.call = {
      callId, convId, media, role: 'caller', peer: conv.peer, pc: null, localStream: null,
      remoteStream: new MediaStream(), pendingIce: [], accepted: false, timer: null,
    };
    this.emit('shown', { call: this.call });
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
    this.emit('incoming', { call: this.call });
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
    this.emit('answered');
    this.emit('shown', { call });
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

  /** The user hung up (or cancelled before an answer, or left the page). */
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

  /** The microphone off (true) or on again. */
  setMuted(muted) {
    const tracks = this.call?.localStream?.getAudioTracks() ?? [];
    tracks.forEach((t) => { t.enabled = !muted; });
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
      this.emit('local-stream', { stream });
    } catch (err) {
      this.emit('error', { message: gettext('Camera or microphone unavailable (%(error)s); the call continues without them.', { error: err.name }) });
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
      this.emit('remote-stream', { stream });
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
    this.emit('error', { message: gettext('Call error: %(error)s', { error: err?.message || err }) });
    if (this.call) this.endLocal(this.call.accepted ? 'hangup' : this.call.role === 'caller' ? 'cancel' : 'reject', gettext('Call failed'));
  }

  teardown(text) {
    const call = this.call;
    if (!call) return;
    this.call = null;
    clearTimeout(call.timer);
    try { call.pc?.close(); } catch { /* closed */ }
    call.localStream?.getTracks().forEach((t) => t.stop());
    this.emit('ended', { text });
  }

  setState(state, text) {
    this.emit('state', { state, text });
  }
}
