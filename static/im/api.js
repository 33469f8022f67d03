// REST client: session cookie + X-CSRFToken on unsafe methods; errors carry
// the server's error.message so the UI can show it in words.
import { gettext } from './i18n.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
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

export function withQuery(path, query) {
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

function onUnauthenticated() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}`);
}

export async function request(method, path, { body, query, signal } = {}) {
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

export const get = (path, query, opts) => request('GET', path, { ...opts, query });
export const post = (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} });
export const patch = (path, body, opts) => request('PATCH', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

/** Follows `next` cursors and returns every result (bounded by maxPages). */
export async function getAll(path, query = {}, { maxPages = 50, signal } = {}) {
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
    xhr.open('POST', '/api/v1/attachments');
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
