// WebSocket connection at /ws (same origin, session cookie): JSON frames in
// batch mode (docs/api.md section 8: frames sent in the same task go out as one
// array, arrays from the server are read frame by frame), heartbeat from
// `hello`, reconnect with exponential backoff and jitter, close codes 4401 (go
// to /login) and 4403 (fatal error).
import { loginUrl, socketUrl } from './api.js';
import { Emitter } from './emitter.js';
import { gettext } from './i18n.js';

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30000;
const DEFAULT_HEARTBEAT_S = 25;
const DEFAULT_TIMEOUT_S = 90;
const MAX_ARRAY_FRAMES = 1000;
const MAX_MESSAGE_BYTES = 64 * 1024;

function withBatch(url) {
  return url + (url.includes('?') ? '&' : '?') + 'batch=1';
}

/**
 * Events: 'state' ({state: 'connecting'|'open'|'ready'|'down'|'fatal', ...}),
 * 'frame' (every parsed server frame), 'hello', 'synced'.
 * "ready" means hello was received (the server knows who we are).
 */
export class ChatSocket extends Emitter {
  constructor(url = socketUrl()) {
    super();
    this.url = url;
    this.ws = null;
    this.state = 'idle';
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.watchdogTimer = null;
    this.lastFrameAt = 0;
    this.heartbeatTimeoutMs = DEFAULT_TIMEOUT_S * 1000;
    this.stopped = false;
    this.outgoing = [];

    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  get isReady() {
    return this.state === 'ready' && this.ws?.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(withBatch(this.url));
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      this.setState('open');
    });
    ws.addEventListener('message', (e) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const frame of Array.isArray(data) ? data : [data]) {
        if (ws !== this.ws) return; // a frame before this one replaced the connection
        this.onFrame(frame);
      }
    });
    ws.addEventListener('close', (e) => {
      if (ws !== this.ws) return;
      this.onClosed(e.code, e.reason);
    });
    // 'error' is always followed by 'close'.
  }

  onFrame(frame) {
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'hello') this.onHello(frame);
    this.emit('frame', frame);
    if (frame.type === 'hello') this.emit('hello', frame);
    if (frame.type === 'synced') this.emit('synced', frame);
  }

  onHello(frame) {
    this.attempt = 0;
    const interval = Number(frame.heartbeat_interval) > 0 ? Number(frame.heartbeat_interval) : DEFAULT_HEARTBEAT_S;
    const timeout = Number(frame.heartbeat_timeout) > 0 ? Number(frame.heartbeat_timeout) : DEFAULT_TIMEOUT_S;
    this.heartbeatTimeoutMs = timeout * 1000;
    this.stopTimers();
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), interval * 1000);
    // Watchdog: a silent connection (not even a pong) for the server's
    // timeout is treated as dead and replaced.
    this.watchdogTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > this.heartbeatTimeoutMs) this.drop('heartbeat timeout');
    }, Math.min(interval, 10) * 1000);
    this.setState('ready');
  }

  /**
   * Queues a frame; the frames queued in one task go out together as one
   * array (in order). Returns false when the socket is not open.
   */
  send(frame) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.outgoing.push(JSON.stringify(frame));
    if (this.outgoing.length === 1) queueMicrotask(() => this.flush());
    return true;
  }

  flush() {
    const ws = this.ws;
    const texts = this.outgoing;
    this.outgoing = [];
    if (ws?.readyState !== WebSocket.OPEN) return;
    let chunk = [];
    let size = 2;
    const write = () => {
      try { ws.send(`[${chunk.join(',')}]`); } catch { /* closing: the reconnect resends */ }
      chunk = [];
      size = 2;
    };
    for (const text of texts) {
      const bytes = new TextEncoder().encode(text).length;
      if (chunk.length && (chunk.length >= MAX_ARRAY_FRAMES || size + bytes + 1 > MAX_MESSAGE_BYTES)) write();
      chunk.push(text);
      size += bytes + 1;
    }
    if (chunk.length) write();
  }

  /** Abandon the current connection at once and reconnect. */
  drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try { ws.close(4000, reason); } catch { /* already closed */ }
    this.onClosed(1006, reason);
  }

  onClosed(code, reason) {
    this.stopTimers();
    this.ws = null;
    this.outgoing = [];
    if (code === 4401) {
      this.stopped = true;
      this.setState('fatal', { code, message: gettext('Your session has ended. Please log in again.') });
      location.assign(loginUrl());
      return;
    }
    if (code === 4403) {
      this.stopped = true;
      this.setState('fatal', {
        code,
        message: gettext('The server refused this connection (account disabled or page opened from a foreign address).'),
      });
      return;
    }
    this.setState('down', { code, reason });
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    // Equal jitter: between half and all of the exponential step.
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.nextRetryAt = Date.now() + delay;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.emit('state', { state: 'down', retryInMs: delay });
  }

  /** Skip the remaining backoff (network came back, tab became visible). */
  reconnectNow() {
    if (this.stopped || this.ws || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  stopTimers() {
    clearInterval(this.pingTimer);
    clearInterval(this.watchdogTimer);
    this.pingTimer = null;
    this.watchdogTimer = null;
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit('state', { state, ...extra });
  }
}
