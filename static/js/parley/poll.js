/*
 * The one long-poll loop that carries everything for all of the user's
 * rooms. Startup takes a cursor first (GET events with no cursor), then
 * loads the rooms and the open room's history, then polls: anything that
 * happens while the history loads is in the events after that cursor, and
 * messages are de-duplicated by id, so nothing is missed or shown twice.
 * The decisions (cursor, timeout, when to back off) are cursor.js's.
 */

import { redirectToLogin, sleep } from './api.js';
import { Backoff } from './backoff.js';
import { initialPoll, nextRequest, pollFailed, pollSucceeded, POLL_TIMEOUT_S } from './cursor.js';
import { dispatch } from './dispatch.js';
import { dom } from './dom.js';
import { logUnexpected } from './notices.js';
import { scheduleRead } from './read.js';
import { openFirstRoom, openRoom } from './room.js';
import { loadRooms } from './roomlist.js';
import { api, state } from './state.js';

const POLL_CLIENT_TIMEOUT_MS = (POLL_TIMEOUT_S + 35) * 1000; // the server may add jitter; proxies cut at 60 s
const HIDDEN_WAKE_MS = 60000; // visible again after this long hidden: poll at once
const SLEEP_GAP_MS = 40000; // a timer this late means the machine slept

function setConnected(ok) {
  dom.connection.classList.toggle('reconnecting', !ok);
  dom.connection.setAttribute('aria-hidden', String(ok));
}

/** Abort the current poll and every backoff wait, so everything retries now. */
export function wake() {
  const old = state.wake;
  state.wake = new AbortController();
  old.abort();
  if (state.pollAbort) state.pollAbort.abort();
}

/** Start from "now": take a cursor, then (re)load the rooms and the open room; return the cursor. */
async function resync(signal, focusId, taken) {
  const data = await api.get('events', null, { signal });
  await loadRooms(signal);
  taken(data.cursor);
  setConnected(true);
  if (state.current) await openRoom(state.current, { focusId });
  else openFirstRoom();
  return data.cursor;
}

export async function pollLoop(focusId) {
  const backoff = new Backoff();
  let poll = initialPoll();
  for (;;) {
    const controller = new AbortController();
    state.pollAbort = controller;
    try {
      const request = nextRequest(poll);
      if (request.resync) {
        const cursor = await resync(controller.signal, focusId, (taken) => { poll = { ...poll, cursor: taken }; });
        focusId = null;
        poll = pollSucceeded(poll, cursor);
      } else {
        const data = await api.get('events', { cursor: request.cursor, timeout: request.timeout }, {
          signal: controller.signal,
          timeout: POLL_CLIENT_TIMEOUT_MS,
        });
        poll = pollSucceeded(poll, data.cursor);
        setConnected(true);
        for (const event of data.events || []) dispatch(event);
      }
      backoff.reset();
    } catch (err) {
      const failed = pollFailed(poll, err);
      poll = failed.poll;
      if (failed.action === 'now') continue; // woken up, or a fresh cursor is due
      if (failed.action === 'login') {
        redirectToLogin();
        return;
      }
      logUnexpected(err);
      setConnected(false);
      await sleep(backoff.next(err.retryAfter), state.wake.signal);
    }
  }
}

/** Notice the laptop waking up or the network coming back, and poll at once. */
export function watchForWakeUps() {
  window.addEventListener('online', wake);
  // Offline: a long poll already in flight may hang on a dead connection for its
  // whole timeout; cut it, so "Reconnecting…" shows now and the retries start.
  window.addEventListener('offline', wake);
  let hiddenSince = document.hidden ? Date.now() : null;
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      hiddenSince = Date.now();
      return;
    }
    if (hiddenSince !== null && Date.now() - hiddenSince > HIDDEN_WAKE_MS) wake();
    hiddenSince = null;
    scheduleRead();
  });
  // Timers stand still while the machine sleeps: a late tick means it just woke up.
  let lastTick = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (now - lastTick > SLEEP_GAP_MS && !document.hidden) wake();
    lastTick = now;
  }, 10000);
}
