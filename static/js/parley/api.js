/*
 * Parley's HTTP client: JSON fetch with the CSRF header, one error shape,
 * and the small waits every retry loop uses (the backoff itself is in
 * backoff.js, pure).
 */

import { parseRetryAfter } from './backoff.js';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEFAULT_TIMEOUT_MS = 30000;

/** An API failure: `status` is 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, { fields = null, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter; // milliseconds, or null
  }

  /** Network failures, rate limits and server errors are worth another try. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

function readCookie(name) {
  const pairs = document.cookie ? document.cookie.split(';') : [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq > -1 && pair.slice(0, eq).trim() === name) {
      return decodeURIComponent(pair.slice(eq + 1).trim());
    }
  }
  return null;
}

/** The cookie is the source of truth (login rotates it); the meta tag covers HttpOnly cookies. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return readCookie('csrftoken') || (meta ? meta.content : '');
}

function abortError() {
  return new DOMException('The request was aborted.', 'AbortError');
}

function fallbackMessage(status) {
  if (status === 401) return 'Please log in again.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'That is too large.';
  if (status === 429) return 'Too many requests; slow down a little.';
  if (status >= 500) return 'The server had a problem. Please try again.';
  return 'Something went wrong.';
}

/**
 * Send one request and return the parsed JSON (null for 204).
 * Throws ApiError for failures, or a DOMException named AbortError when
 * the caller's signal aborted it. `keepalive` lets a small request finish
 * after the page is gone (with its headers, so the CSRF check holds).
 */
export async function request(method, url, { body, signal, timeout = DEFAULT_TIMEOUT_MS, keepalive = false } = {}) {
  if (signal && signal.aborted) throw abortError();
  const controller = new AbortController();
  const forwardAbort = () => controller.abort();
  if (signal) signal.addEventListener('abort', forwardAbort, { once: true });
  const timer = setTimeout(() => controller.abort(), timeout);

  const headers = { Accept: 'application/json' };
  const init = {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    signal: controller.signal,
  };
  if (keepalive) init.keepalive = true; // outlives the page: a last word as it goes away
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE_METHODS.has(method)) headers['X-CSRFToken'] = csrfToken();

  try {
    let response;
    let data = null;
    try {
      response = await fetch(url, init);
      const type = response.headers.get('Content-Type') || '';
      if (response.status !== 204 && type.includes('json')) {
        data = await response.json().catch(() => null);
      } else if (response.ok && response.status !== 204) {
        // An HTML page where JSON was expected: most likely a redirect to the login page.
        throw new ApiError(response.redirected ? 401 : 502, 'unexpected_response',
          response.redirected ? fallbackMessage(401) : fallbackMessage(502));
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (signal && signal.aborted) throw abortError();
      if (controller.signal.aborted) {
        throw new ApiError(0, 'timeout', 'The server took too long to answer.');
      }
      throw new ApiError(0, 'network_error', 'Could not reach the server.');
    }

    if (response.ok) return data;
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || fallbackMessage(response.status),
      { fields: error.fields || null, retryAfter: parseRetryAfter(response.headers.get('Retry-After')) },
    );
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', forwardAbort);
  }
}

/**
 * Upload one file as multipart/form-data (field `file`) with XMLHttpRequest,
 * which, unlike fetch, reports upload progress. Returns {promise, abort}:
 * the promise resolves to the parsed JSON, rejects with ApiError (413 with
 * the server's message when too large), or with an AbortError after abort().
 * `onProgress(loaded, total)` follows the request body.
 */
export function uploadFile(url, file, { onProgress, name } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', url);
    xhr.responseType = 'text';
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRFToken', csrfToken());
    if (onProgress) {
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
    }
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch (err) {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        resolve(data);
        return;
      }
      const error = (data && data.error) || {};
      const status = xhr.status >= 200 && xhr.status < 300 ? 502 : xhr.status;
      reject(new ApiError(status, error.code || `http_${status}`, error.message || fallbackMessage(status), {
        fields: error.fields || null, retryAfter: parseRetryAfter(xhr.getResponseHeader('Retry-After')),
      }));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network_error', 'Could not reach the server.')));
    xhr.addEventListener('abort', () => reject(abortError()));
    const form = new FormData();
    form.append('file', file, name || file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Join the API root, a path and query parameters (empty values are left out). */
export function buildUrl(root, path, params) {
  let url = root + path;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.append(key, String(value));
    }
    const text = query.toString();
    if (text) url += (url.includes('?') ? '&' : '?') + text;
  }
  return url;
}

/** A client bound to the API root from parley_config (it may sit under a sub-path). */
export function createClient(apiRoot) {
  const root = apiRoot.endsWith('/') ? apiRoot : apiRoot + '/';
  return {
    url: (path, params) => buildUrl(root, path, params),
    get: (path, params, options) => request('GET', buildUrl(root, path, params), options),
    post: (path, body, options) => request('POST', buildUrl(root, path), { ...options, body }),
    patch: (path, body, options) => request('PATCH', buildUrl(root, path), { ...options, body }),
    del: (path, options) => request('DELETE', buildUrl(root, path), options),
    upload: (path, file, options) => uploadFile(buildUrl(root, path), file, options),
  };
}

/** Wait `ms`, or less if `signal` aborts first (it never rejects). */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal) signal.addEventListener('abort', done, { once: true });
  });
}

/** The page's parley_config, rendered by json_script. */
export function readConfig() {
  const node = document.getElementById('parley-config');
  return node ? JSON.parse(node.textContent) : null;
}

let leaving = false;

/** Send the browser to the login page, coming back here afterwards. */
export function redirectToLogin() {
  if (leaving) return;
  leaving = true;
  const loginUrl = document.body.dataset.loginUrl || '/';
  const next = window.location.pathname + window.location.search;
  window.location.assign(buildUrl(loginUrl, '', { next }));
}

/** Return a client-made id that makes a send idempotent. */
export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) {
    window.crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
