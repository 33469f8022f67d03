// Notifications for when the page is not looking (docs/api.md section 10): an "Enable
// notifications" button registers the service worker (/sw.js, scope /), subscribes to Web Push
// with the server's VAPID key and hands the subscription to the server; a "Sound" toggle plays
// a short tone when a message arrives while the page is hidden or another conversation is open.
import * as api from '../api.js';
import { h } from '../dom.js';
import { gettext } from '../i18n.js';
import { icon } from './icons.js';
import { showError, showInfo } from './notify.js';

const SOUND_KEY = 'im.sound';

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

export class PushControl {
  constructor({ onOpenConversation }) {
    this.subscribed = false;
    this.busy = false;
    this.button = h('button', { type: 'button', class: 'icon-button topbar-toggle notifications-button', onclick: () => this.toggle() }, icon('bell'));
    this.button.hidden = !pushSupported();
    this.render();
    if (!pushSupported()) return;
    // A click on a notification while this page is open: the service worker asks it to open the conversation.
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data?.type === 'open-conversation' && e.data.conversation_id != null) onOpenConversation(String(e.data.conversation_id));
    });
    this.restore();
  }

  async registration() {
    await navigator.serviceWorker.register(api.SERVICE_WORKER.url, { scope: api.SERVICE_WORKER.scope });
    return navigator.serviceWorker.ready;
  }

  /** On load: a subscription kept by the browser is told to the server again (it may have dropped it). */
  async restore() {
    if (Notification.permission !== 'granted') return;
    try {
      const reg = await this.registration();
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await api.addPushSubscription(sub.toJSON());
        this.subscribed = true;
      }
    } catch { /* stays off; the button offers it again */ }
    this.render();
  }

  render() {
    const denied = pushSupported() && Notification.permission === 'denied';
    const label = this.subscribed ? gettext('Disable notifications') : gettext('Enable notifications');
    this.button.setAttribute('aria-label', label);
    this.button.title = denied ? gettext('Notifications are blocked in this browser’s site settings') : label;
    this.button.setAttribute('aria-pressed', String(this.subscribed));
    this.button.disabled = this.busy;
  }

  async toggle() {
    if (this.busy) return;
    this.busy = true;
    this.render();
    try {
      if (this.subscribed) await this.disable();
      else await this.enable();
    } catch (err) {
      showError(gettext('Notifications: %(error)s', { error: api.errorText(err) }));
    } finally {
      this.busy = false;
      this.render();
    }
  }

  async enable() {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      showError(gettext('Notifications are blocked in this browser’s site settings'));
      return;
    }
    const reg = await this.registration();
    const { vapid_public_key: key } = await api.pushKey();
    let sub = await reg.pushManager.getSubscription();
    if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    await api.addPushSubscription(sub.toJSON());
    this.subscribed = true;
    showInfo(gettext('Notifications are on'));
  }

  async disable() {
    const reg = await this.registration();
    const sub = await reg.pushManager.getSubscription();
    if (sub) {
      // Posting a known endpoint again answers its id.
      const { id } = await api.addPushSubscription(sub.toJSON());
      await api.removePushSubscription(id);
      await sub.unsubscribe();
    }
    this.subscribed = false;
    showInfo(gettext('Notifications are off'));
  }
}

export class SoundToggle {
  constructor(chat) {
    this.chat = chat;
    this.on = localStorage.getItem(SOUND_KEY) === 'on';
    this.audio = null;
    this.button = h('button', { type: 'button', class: 'icon-button topbar-toggle sound-button', onclick: () => this.toggle() }, icon('speaker'));
    this.render();
    chat.on('announce', ({ convId, msgId }) => {
      if (msgId == null || !this.on) return;
      const looking = document.visibilityState === 'visible' && document.hasFocus() && chat.store.activeId === convId;
      if (!looking) this.play();
    });
  }

  render() {
    const label = gettext('Sound for new messages');
    this.button.setAttribute('aria-label', label);
    this.button.title = label;
    this.button.setAttribute('aria-pressed', String(this.on));
  }

  toggle() {
    this.on = !this.on;
    localStorage.setItem(SOUND_KEY, this.on ? 'on' : 'off');
    this.render();
    if (this.on) this.play(); // a sample; also lets the audio start inside this click
  }

  /** A short two-note chime made on the spot (no sound file to load). */
  play() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return;
    this.audio ??= new Context();
    const ctx = this.audio;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    const now = ctx.currentTime;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    for (const [freq, at] of [[880, 0], [1320, 0.09]]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(now + at);
      osc.stop(now + 0.35);
    }
  }
}
