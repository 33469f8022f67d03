// The server's addresses, and the REST client: one named function per endpoint of docs/api.md, the
// socket's URL and the login page. No other module writes a URL. Session cookie + X-CSRFToken on
// unsafe methods; errors carry the server's error.message so the UI can show it in words.
import { gettext } from './i18n.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const V1 = '/api/v1';
const enc = encodeURIComponent;
const conversation = (convId) => `${V1}/conversations/${enc(convId)}`;
const message = (convId, msgId) => `${conversation(convId)}/messages/${enc(msgId)}`;
const group = (groupId) => `${V1}/groups/${enc(groupId)}`;
let csrfToken = '';

export function setCsrfToken(token) {
  csrfToken = token || '';
}

function currentCsrfToken() {
  if (csrfToken) return csrfToken;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

export class ApiError extends Error {
  constructor(status, code, message, fields = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/** Human text for any error thrown by this module (or anything else). */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.fields && typeof err.fields === 'object') {
      const details = Object.entries(err.fields)
        .map(([field, msgs]) => `${field}: ${[].concat(msgs).join(' ')}`)
        .join('; ');
      return details ? `${err.message} (${details})` : err.message;
    }
    return err.message;
  }
  if (err?.name === 'AbortError') return gettext('Cancelled.');
  if (err instanceof TypeError) return gettext('Network error: the server could not be reached.');
  return err?.message || gettext('Something went wrong.');
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v != null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

function toApiError(status, data) {
  const e = data?.error;
  const fallback = status === 0 ? gettext('Network error.') : gettext('The server answered %(status)s.', { status });
  return new ApiError(status, e?.code ?? 'error', e?.message || data?.detail || fallback, e?.fields ?? null);
}

/** The login page; `next`: where it leads back to after signing in. */
export function loginUrl(next = null) {
  return next == null ? '/login' : `/login?next=${encodeURIComponent(next)}`;
}

/** The chat socket (docs/api.md section 5), on the page's own host. */
export function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

function onUnauthenticated() {
  location.assign(loginUrl(location.pathname + location.search));
}

async function request(method, path, { body, query, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method)) headers['X-CSRFToken'] = currentCsrfToken();
  const res = await fetch(withQuery(path, query), {
    method,
    headers,
    body: body !== undefined ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
    signal,
  });
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = toApiError(res.status, data);
    if (res.status === 401) onUnauthenticated();
    throw err;
  }
  return data;
}

const get = (path, query, opts) => request('GET', path, { ...opts, query });
const post = (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} });
const put = (path, opts) => request('PUT', path, opts);
const patch = (path, body, opts) => request('PATCH', path, { ...opts, body });
const del = (path, opts) => request('DELETE', path, opts);

/** Follows `next` cursors and returns every result (bounded by maxPages). */
async function getAll(path, query = {}, { maxPages = 50, signal } = {}) {
  const results = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const data = await get(path, { ...query, cursor }, { signal });
    results.push(...(data?.results ?? []));
    cursor = data?.next ?? null;
    if (!cursor) break;
  }
  return results;
}

/**
 * Multipart upload with progress (XMLHttpRequest). Returns {promise, abort}.
 * onProgress(fraction 0..1).
 */
export function upload(file, kind, onProgress, fileName) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, fileName ?? file.name ?? 'upload');
    form.append('kind', kind);
    xhr.open('POST', `${V1}/attachments`);
    xhr.setRequestHeader('X-CSRFToken', currentCsrfToken());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(1);
        resolve(data);
      } else {
        if (xhr.status === 401) onUnauthenticated();
        const fallback = {
          413: gettext('The file is too large.'),
          415: gettext('This type of file is not supported.'),
        }[xhr.status];
        const err = toApiError(xhr.status, data);
        if (!data?.error && fallback) err.message = fallback;
        reject(err);
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', gettext('Upload failed: network error.'))));
    xhr.addEventListener('abort', () => reject(new DOMException(gettext('Upload cancelled'), 'AbortError')));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

// ------------------------------------------------------------ endpoints (docs/api.md)
// The account
export const getMe = () => get(`${V1}/me`);
/** fields: display_name, email, language, avatar_attachment_id. */
export const updateMe = (fields) => patch(`${V1}/me`, fields);
export const changePassword = (oldPassword, newPassword) => post(`${V1}/me/password`, { old_password: oldPassword, new_password: newPassword });

// People: search, friends, requests, blocks
export const searchUsers = (q) => get(`${V1}/users`, { q, limit: 20 });
export const listFriends = () => getAll(`${V1}/friends`, { limit: 200 });
export const removeFriend = (userId) => del(`${V1}/friends/${enc(userId)}`);
export const sendFriendRequest = (userId) => post(`${V1}/friends/requests`, { to_user_id: userId });
/** direction: 'incoming' or 'outgoing'. */
export const listFriendRequests = (direction) => get(`${V1}/friends/requests`, { direction, limit: 200 });
export const cancelFriendRequest = (requestId) => del(`${V1}/friends/requests/${enc(requestId)}`);
/** action: 'accept' or 'reject'. */
export const answerFriendRequest = (requestId, action) => post(`${V1}/friends/requests/${enc(requestId)}/${action}`);
export const listBlocks = () => get(`${V1}/blocks`, { limit: 200 });
export const block = (userId) => post(`${V1}/blocks`, { user_id: userId });
export const unblock = (userId) => del(`${V1}/blocks/${enc(userId)}`);

// Conversations and their messages
/** query: { hidden: 'true' } for the hidden ones. */
export const listConversations = (query = {}) => getAll(`${V1}/conversations`, { limit: 200, ...query });
export const getConversation = (convId) => get(conversation(convId));
/** fields: muted, pinned, hidden. */
export const updateConversation = (convId, fields) => patch(conversation(convId), fields);
export const deleteConversation = (convId) => del(conversation(convId));
export const openDirect = (userId) => post(`${V1}/conversations/direct`, { user_id: userId });
/** One page; query: limit and one of before_seq / after_seq (with the `next` cursor). */
export const listMessages = (convId, query) => get(`${conversation(convId)}/messages`, query);
export const markRead = (convId, seq) => post(`${conversation(convId)}/read`, { seq });
export const editMessage = (convId, msgId, content) => patch(message(convId, msgId), { content });
export const addReaction = (convId, msgId, emoji) => put(`${message(convId, msgId)}/reactions/${enc(emoji)}`);
export const removeReaction = (convId, msgId, emoji) => del(`${message(convId, msgId)}/reactions/${enc(emoji)}`);
export const searchMessages = (q) => get(`${V1}/messages/search`, { q, limit: 50 });
/** What changed since the token (null: everything), after a reconnect. */
export const sync = (since) => get(`${V1}/sync`, { since });

// Groups
export const createGroup = (name, memberIds) => post(`${V1}/groups`, { name, member_ids: memberIds });
export const getGroup = (groupId) => get(group(groupId));
/** fields: name, announcement, avatar_attachment_id. */
export const updateGroup = (groupId, fields) => patch(group(groupId), fields);
export const dissolveGroup = (groupId) => del(group(groupId));
export const addGroupMembers = (groupId, userIds) => post(`${group(groupId)}/members`, { user_ids: userIds });
export const setGroupRole = (groupId, userId, role) => patch(`${group(groupId)}/members/${enc(userId)}`, { role });
/** Removes a member, or leaves when userId is one's own. */
export const removeGroupMember = (groupId, userId) => del(`${group(groupId)}/members/${enc(userId)}`);
export const transferGroup = (groupId, userId) => post(`${group(groupId)}/transfer`, { user_id: userId });
export const groupReadReceipts = (groupId, seq) => get(`${group(groupId)}/read_receipts`, { seq });

// Web Push (docs/api.md section 10)
export const pushKey = () => get(`${V1}/push/key`);
/** Answers the subscription's id (also for an endpoint the server knows already). */
export const addPushSubscription = (subscription) => post(`${V1}/push/subscriptions`, subscription);
export const removePushSubscription = (subscriptionId) => del(`${V1}/push/subscriptions/${enc(subscriptionId)}`);
/** The service worker's script; its scope is the whole app. */
export const SERVICE_WORKER = { url: '/sw.js', scope: '/' };
