// The chat's service worker (served at /sw.js so that its scope is the whole app): shows the Web
// Push notifications of docs/api.md section 10 and opens the conversation when one is clicked.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  if (data.type !== 'message' || data.conversation_id == null) return;
  const conversationId = String(data.conversation_id);
  event.waitUntil(self.registration.showNotification(data.title || 'Chat', {
    body: data.body || '',
    // One notification per conversation: a newer message replaces the older one.
    tag: `conversation-${conversationId}`,
    renotify: true,
    data: { conversation_id: conversationId, msg_id: data.msg_id ?? null },
  }));
});

/** Shows a conversation: in an open chat page when there is one (focused), else in a new window. */
async function openConversation(conversationId) {
  const url = new URL(conversationId ? `/#/c/${encodeURIComponent(conversationId)}` : '/', self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = windows.find((client) => new URL(client.url).pathname === '/');
  if (!page) return self.clients.openWindow(url);
  page.postMessage({ type: 'open-conversation', conversation_id: conversationId });
  // Focusing needs the click's user activation; without it the page still switches.
  return page.focus().catch(() => page);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openConversation(event.notification.data?.conversation_id));
});
