/*
 * The long poll's bookkeeping, as plain data: which request to send next and
 * what a success or a failure does to the cursor. poll.js does the I/O.
 *
 * No cursor means "start from now": take a fresh one, then reload the rooms
 * and the open room, so nothing that happens meanwhile is missed. A poll that
 * follows a failure asks with timeout 0, so that its answer (and the end of
 * "Reconnecting…") comes at once instead of after a full long poll.
 */

export const POLL_TIMEOUT_S = 25;
export const MAX_QUICK_RESYNCS = 3; // expired cursors in a row before backing off

/** The state of a poll loop that has no cursor yet. */
export function initialPoll() {
  return { cursor: null, failing: false, expired: 0 };
}

/** Return {resync: true} when a cursor must be taken first, else the events query. */
export function nextRequest(poll) {
  if (!poll.cursor) return { resync: true };
  return { cursor: poll.cursor, timeout: poll.failing ? 0 : POLL_TIMEOUT_S };
}

/** The server answered with `cursor`: carry on from there. */
export function pollSucceeded(poll, cursor) {
  return { cursor, failing: false, expired: 0 };
}

/**
 * A poll failed with `error` ({name, status, code}). Return the new poll
 * state and what to do: 'now' (poll again at once), 'login' (the session is
 * gone) or 'wait' (back off, and say the page is reconnecting).
 */
export function pollFailed(poll, { name, status, code } = {}) {
  if (name === 'AbortError') return { poll, action: 'now' }; // woken up on purpose
  if (status === 401 || status === 403 || code === 'pending_approval') {
    return { poll: { ...poll, failing: true }, action: 'login' };
  }
  if (status === 410 || status === 400) {
    // The cursor is too old (or unusable): start again from now and reload.
    const expired = poll.expired + 1;
    return {
      poll: { cursor: null, failing: true, expired },
      action: expired < MAX_QUICK_RESYNCS ? 'now' : 'wait',
    };
  }
  return { poll: { ...poll, failing: true }, action: 'wait' };
}
