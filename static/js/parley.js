/*
 * Parley's chat client.
 *
 * One long-poll loop carries everything for all of the user's rooms. Startup
 * takes a cursor first (GET events with no cursor), then loads the rooms and
 * the open room's history, then polls: anything that happens while the
 * history loads is in the events after that cursor, and messages are
 * de-duplicated by id, so nothing is missed or shown twice.
 *
 * Sends are optimistic: a message shows as pending at once, carries a
 * client_id, and is retried with the same client_id until the server
 * answers; the answer or the `message` event (whichever comes first)
 * replaces the pending copy.
 */
(function () {
  'use strict';

  const { Backoff, createClient, newClientId, readConfig, redirectToLogin, sleep } = window.ParleyAPI;
  const ui = window.ParleyUI;
  const { el } = ui;

  const POLL_TIMEOUT_S = 25;
  const POLL_CLIENT_TIMEOUT_MS = (POLL_TIMEOUT_S + 35) * 1000; // the server may add jitter; proxies cut at 60 s
  const HISTORY_PAGE = 50;
  const REVEAL_PAGE = 200; // bigger pages when paging back to a search result
  const TYPING_SHOWN_MS = 6000;
  const TYPING_SEND_EVERY_MS = 3000;
  const READ_DEBOUNCE_MS = 400;
  const HIDDEN_WAKE_MS = 60000; // visible again after this long hidden: poll at once
  const SLEEP_GAP_MS = 40000; // a timer this late means the machine slept
  const AT_BOTTOM_PX = 48;
  const GROUP_WITHIN_MS = 5 * 60 * 1000; // same author within 5 min: one visual group

  const config = readConfig();
  const me = config.user;
  const api = createClient(config.apiRoot);
  const MAX_CHARS = config.maxMessageChars; // the server's PARLEY_MAX_MESSAGE_CHARS

  const $ = (id) => document.getElementById(id);
  const dom = {
    app: $('app'),
    sidebar: $('sidebar'),
    sidebarToggle: $('sidebar-toggle'),
    backdrop: $('backdrop'),
    roomList: $('room-list'),
    dmList: $('dm-list'),
    search: $('search'),
    searchForm: $('search-form'),
    searchRoomOnly: $('search-room-only'),
    searchResults: $('search-results'),
    searchStatus: $('search-status'),
    searchList: $('search-result-list'),
    searchClose: $('search-close'),
    notifyButton: $('enable-notifications'),
    connection: $('connection-status'),
    reconnectNow: $('reconnect-now'),
    roomTitle: $('room-title'),
    roomTopic: $('room-topic'),
    roomBadges: $('room-badges'),
    roomRetention: $('room-retention'),
    roomNotice: $('room-notice'),
    membersToggle: $('members-toggle'),
    leaveRoom: $('leave-room'),
    messages: $('messages'),
    jumpNewest: $('jump-newest'),
    typing: $('typing'),
    composerForm: $('composer-form'),
    composer: $('composer'),
    send: $('send'),
    charCount: $('char-count'),
    membersPanel: $('members-panel'),
    membersClose: $('members-close'),
    members: $('members'),
    memberCount: $('member-count'),
    inviteForm: $('invite-form'),
    inviteSearch: $('invite-search'),
    inviteResults: $('invite-results'),
    toast: $('toast'),
  };

  const state = {
    cursor: null,
    rooms: new Map(), // slug -> room object (API.md, plus is_member)
    current: config.room || null, // slug of the open room
    view: null, // what is shown for the open room; replaced on every switch
    pending: new Map(), // client_id -> a message not yet confirmed
    lastRead: new Map(), // slug -> newest message id marked read
    presence: new Map(), // user id -> {presence, last_seen}, from events
    wake: new AbortController(), // aborted (and replaced) to cut waits short
    pollAbort: null,
    sendQueue: Promise.resolve(),
    typingSent: Promise.resolve(), // the last typing notice, settled once the server has it
  };

  // ---- Small helpers --------------------------------------------------------

  const enc = encodeURIComponent;
  const roomPath = (slug, rest = '') => `rooms/${enc(slug)}${rest}`;

  function roomUrl(slug, messageId = null) {
    const url = config.roomUrl.replace('__slug__', enc(slug));
    return messageId ? `${url}?message=${enc(messageId)}` : url;
  }

  /** The slug in a room page's path, using the roomUrl template. */
  function slugFromPath(pathname) {
    const [prefix, suffix] = config.roomUrl.split('__slug__');
    if (suffix === undefined || !pathname.startsWith(prefix) || !pathname.endsWith(suffix)) return null;
    const middle = pathname.slice(prefix.length, pathname.length - suffix.length);
    return middle && !middle.includes('/') ? decodeURIComponent(middle) : null;
  }

  function messageIdFromUrl() {
    const value = Number(new URLSearchParams(window.location.search).get('message'));
    return Number.isInteger(value) && value > 0 ? value : null;
  }

  function otherDmUser(room) {
    const users = room.dm_users || [];
    return users.find((u) => u.id !== me.id) || users[0] || null;
  }

  /** A DM is called by the other person's name. */
  function roomTitle(room) {
    if (!room) return '';
    if (room.kind === 'dm') {
      const other = otherDmUser(room);
      return other ? other.display_name : room.name || 'Direct message';
    }
    return room.name;
  }

  function isAtBottom() {
    const box = dom.messages;
    return box.scrollHeight - box.scrollTop - box.clientHeight < AT_BOTTOM_PX;
  }

  function scrollToBottom() {
    dom.messages.scrollTop = dom.messages.scrollHeight;
    dom.jumpNewest.hidden = true;
  }

  let toastTimer = null;
  function toast(text) {
    dom.toast.textContent = text;
    dom.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { dom.toast.hidden = true; }, 5000);
  }

  /** Handle the failures every caller treats alike; return true when handled. */
  function handleAuthError(err) {
    if (err && (err.status === 401 || err.code === 'pending_approval')) {
      redirectToLogin();
      return true;
    }
    return false;
  }

  function logUnexpected(err) {
    if (err && err.name !== 'AbortError' && err.name !== 'ApiError') console.error(err); // eslint-disable-line no-console
  }

  /** Abort the current poll and every backoff wait, so everything retries now. */
  function wake() {
    const old = state.wake;
    state.wake = new AbortController();
    old.abort();
    if (state.pollAbort) state.pollAbort.abort();
  }

  // ---- Sidebar: rooms and direct messages ---------------------------------

  function unreadBadge(count) {
    return el('span', {
      className: 'unread',
      text: count > 99 ? '99+' : String(count || 0),
      hidden: !count,
      'aria-label': `${count || 0} unread`,
    });
  }

  function roomItem(room) {
    const active = room.slug === state.current;
    const icon = room.kind === 'dm'
      ? ui.avatar(roomTitle(room), (otherDmUser(room) || {}).id)
      : el('span', { className: `room-icon${room.is_private ? ' private' : ''}`, text: '#', 'aria-hidden': 'true' });
    return el('li', {
      className: `room-item${active ? ' active' : ''}${room.is_member === false ? ' not-member' : ''}`,
      dataset: { slug: room.slug },
    }, [
      el('a', { className: 'room-link', href: roomUrl(room.slug), 'aria-current': active ? 'page' : null }, [
        icon,
        el('span', { className: 'room-name', text: roomTitle(room) }),
        room.is_private && room.kind !== 'dm' ? el('span', { className: 'visually-hidden', text: ' (private)' }) : null,
        unreadBadge(room.unread_count),
      ]),
    ]);
  }

  function renderSidebar() {
    const shown = [...state.rooms.values()].filter((r) => r.is_member !== false || r.slug === state.current);
    const rooms = shown.filter((r) => r.kind !== 'dm')
      .sort((a, b) => roomTitle(a).localeCompare(roomTitle(b)));
    const dms = shown.filter((r) => r.kind === 'dm')
      .sort((a, b) => (b.last_message_id || 0) - (a.last_message_id || 0) || roomTitle(a).localeCompare(roomTitle(b)));
    dom.roomList.replaceChildren(...rooms.map(roomItem));
    dom.dmList.replaceChildren(...dms.map(roomItem));
    if (!rooms.length) dom.roomList.append(el('li', { className: 'empty', text: 'No rooms yet.' }));
    if (!dms.length) dom.dmList.append(el('li', { className: 'empty', text: 'No conversations yet.' }));
    updateTitle();
  }

  /** Update one room's badge in place (cheaper than redrawing the sidebar). */
  function updateUnread(slug) {
    const room = state.rooms.get(slug);
    const count = room ? room.unread_count || 0 : 0;
    const selector = `[data-slug="${CSS.escape(slug)}"] .unread`;
    for (const badge of document.querySelectorAll(`#room-list ${selector}, #dm-list ${selector}`)) {
      badge.replaceWith(unreadBadge(count));
    }
    updateTitle();
  }

  function updateTitle() {
    let total = 0;
    for (const room of state.rooms.values()) {
      if (room.is_member !== false) total += room.unread_count || 0;
    }
    document.title = total ? `(${total}) Parley` : 'Parley';
  }

  async function loadRooms(signal) {
    const data = await api.get('rooms', null, { signal });
    const rooms = new Map();
    for (const room of data.rooms || []) rooms.set(room.slug, room);
    // A room opened by URL but not listed (should not happen) keeps its header data.
    const view = state.view;
    if (view && view.room && !rooms.has(view.slug)) rooms.set(view.slug, view.room);
    state.rooms = rooms;
    renderSidebar();
    scheduleRead(); // the open room, if read, should not show the server's older count
  }

  const refreshRooms = ui.debounce(() => {
    loadRooms().catch((err) => { handleAuthError(err); logUnexpected(err); });
  }, 400);

  function onSidebarClick(event) {
    const link = event.target.closest('a.room-link');
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const slug = link.closest('[data-slug]').dataset.slug;
    if (slug !== state.current || !state.view) openRoom(slug, { push: true });
    closePanels();
  }

  function togglePanel(name, open) {
    const cls = `${name}-open`;
    const isOpen = open === undefined ? !dom.app.classList.contains(cls) : open;
    dom.app.classList.toggle(cls, isOpen);
    if (name === 'sidebar') dom.sidebarToggle.setAttribute('aria-expanded', String(isOpen));
    if (name === 'members') dom.membersToggle.setAttribute('aria-expanded', String(isOpen));
    dom.backdrop.hidden = !dom.app.classList.contains('sidebar-open') && !dom.app.classList.contains('members-open');
  }

  function closePanels() {
    togglePanel('sidebar', false);
    togglePanel('members', false);
  }

  // ---- The open room --------------------------------------------------------

  function newView(slug) {
    return {
      slug,
      room: state.rooms.get(slug) || null,
      members: new Map(), // user id -> member (user + presence + last_read_message_id)
      messages: new Map(), // id -> message
      elements: new Map(), // id -> li, so redraws reuse nodes
      minId: null,
      maxId: null,
      historyLoaded: false,
      hasMore: false,
      loadingOlder: false,
      typing: new Map(), // user id -> {name, timer}
      lastTypingSent: 0,
    };
  }

  /**
   * Show a room: reset the pane, then load its details and newest messages.
   * Resolves after the first load attempt; failures that may pass (network,
   * 5xx, 429) are retried in the background while the room stays open.
   */
  function openRoom(slug, { push = false, replace = false, focusId = null } = {}) {
    const state_ = { room: slug, message: focusId };
    if (push) history.pushState(state_, '', roomUrl(slug, focusId));
    else if (replace) history.replaceState(state_, '', roomUrl(slug, focusId));

    for (const entry of state.view ? state.view.typing.values() : []) clearTimeout(entry.timer);
    state.current = slug;
    const view = newView(slug);
    state.view = view;

    dom.messages.replaceChildren(el('li', { className: 'history-note', text: 'Loading messages…' }));
    dom.typing.textContent = '';
    dom.jumpNewest.hidden = true;
    dom.members.replaceChildren();
    dom.inviteResults.replaceChildren();
    dom.inviteSearch.value = '';
    setNotice(null);
    renderHeader(view);
    renderComposerState(view);
    renderSidebar();
    renderSearchActive();
    return loadView(view, focusId, new Backoff());
  }

  async function loadView(view, focusId, backoff) {
    try {
      const [detail, page] = await Promise.all([
        api.get(roomPath(view.slug)),
        api.get(roomPath(view.slug, '/messages'), { limit: HISTORY_PAGE }),
      ]);
      if (state.view !== view) return;
      applyRoomDetail(view, detail);
      view.historyLoaded = true;
      view.hasMore = Boolean(page.has_more);
      for (const msg of page.messages || []) addToView(view, msg);
      redrawMessages(view);
      scrollToBottom();
      if (focusId) await revealMessage(view, focusId);
      await fillViewport(view);
      markRead();
    } catch (err) {
      if (state.view !== view || err.name === 'AbortError' || handleAuthError(err)) return;
      logUnexpected(err);
      if (err.retryable) {
        setNotice('Could not load this room. Retrying…', 'warning');
        sleep(backoff.next(err.retryAfter), state.wake.signal)
          .then(() => { if (state.view === view) loadView(view, focusId, backoff); });
        return;
      }
      dom.messages.replaceChildren();
      setNotice(err.status === 404 || err.status === 403
        ? 'This room does not exist, or you cannot see it.'
        : err.message, 'error');
      renderComposerState(view, false);
    }
  }

  function applyRoomDetail(view, { room, members }) {
    view.members = new Map();
    for (const member of members || []) {
      const live = state.presence.get(member.id);
      view.members.set(member.id, live ? { ...member, ...live } : member);
    }
    const known = state.rooms.get(room.slug);
    const isMember = typeof room.is_member === 'boolean' ? room.is_member : view.members.has(me.id);
    view.room = { ...known, ...room, is_member: isMember };
    if (known || isMember) state.rooms.set(room.slug, view.room);

    const mine = view.members.get(me.id);
    if (mine && mine.last_read_message_id) {
      state.lastRead.set(room.slug, Math.max(state.lastRead.get(room.slug) || 0, mine.last_read_message_id));
    }
    setNotice(null);
    renderHeader(view);
    renderMembers(view);
    renderComposerState(view);
    renderInvitation(view);
    renderSidebar();
  }

  const refreshDetail = ui.debounce(async () => {
    const view = state.view;
    if (!view || !view.historyLoaded) return;
    try {
      const detail = await api.get(roomPath(view.slug));
      if (state.view === view) {
        applyRoomDetail(view, detail);
        updateSeenBy(view);
      }
    } catch (err) {
      if (!handleAuthError(err)) logUnexpected(err);
    }
  }, 300);

  function badge(text, kind) {
    return el('span', { className: `badge ${kind}`, text });
  }

  function retentionText(room) {
    if (room.is_ephemeral || !room.retention_messages) return '';
    const n = room.retention_messages;
    let text = `This room keeps the newest ${n} message${n === 1 ? '' : 's'}`;
    if (room.retention_days) {
      const d = room.retention_days;
      text += ` and none older than ${d} day${d === 1 ? '' : 's'}`;
    }
    return `${text}.`;
  }

  function renderHeader(view) {
    const room = view.room;
    dom.roomTitle.textContent = room ? roomTitle(room) : view.slug;
    dom.roomTopic.textContent = room && room.topic ? room.topic : '';
    dom.roomTopic.hidden = !(room && room.topic);
    const badges = [];
    if (room && room.kind === 'dm') badges.push(badge('Direct message', 'dm'));
    if (room && room.kind !== 'dm' && room.is_private) badges.push(badge('Private', 'private'));
    if (room && room.is_ephemeral) badges.push(badge('Ephemeral: messages are not kept', 'ephemeral'));
    dom.roomBadges.replaceChildren(...badges);
    const retention = room ? retentionText(room) : '';
    dom.roomRetention.textContent = retention;
    dom.roomRetention.hidden = !retention;
    dom.leaveRoom.hidden = !(room && room.kind !== 'dm' && room.is_member);
    dom.membersToggle.textContent = room ? `Members (${room.member_count ?? view.members.size})` : 'Members';
    document.body.dataset.roomKind = room ? room.kind : '';
  }

  function setNotice(text, kind = 'info', action = null) {
    dom.roomNotice.replaceChildren();
    dom.roomNotice.hidden = !text;
    dom.roomNotice.className = `room-notice ${kind}`;
    if (text) dom.roomNotice.append(el('span', { text }), action || '');
  }

  function canSend(view) {
    return Boolean(view) && !(view.room && view.room.is_member === false);
  }

  function renderComposerState(view, enabled = canSend(view)) {
    dom.composer.disabled = !enabled;
    dom.send.disabled = !enabled;
    if (view && view.room && view.room.is_member === false && view.room.kind === 'room') {
      const join = el('button', { type: 'button', className: 'button primary small', text: 'Join room' });
      join.addEventListener('click', () => joinRoom(view));
      setNotice('You are not a member of this room.', 'info', join);
    }
  }

  async function joinRoom(view) {
    try {
      const data = await api.post(roomPath(view.slug, '/join'));
      state.rooms.set(data.room.slug, { ...data.room, is_member: true });
      openRoom(view.slug);
    } catch (err) {
      if (!handleAuthError(err)) toast(err.message);
    }
  }

  async function leaveRoom() {
    const view = state.view;
    if (!view || !view.room) return;
    if (!window.confirm(`Leave ${roomTitle(view.room)}?`)) return;
    try {
      await api.post(roomPath(view.slug, '/leave'));
      forgetRoom(view.slug);
    } catch (err) {
      if (!handleAuthError(err)) toast(err.message);
    }
  }

  /** I am no longer in `slug`: drop or demote it, and move away if it is open. */
  function forgetRoom(slug) {
    const room = state.rooms.get(slug);
    if (room && room.kind === 'room' && !room.is_private) room.is_member = false;
    else state.rooms.delete(slug);
    if (state.current === slug) openFirstRoom({ exclude: slug });
    else renderSidebar();
  }

  function openFirstRoom({ exclude = null } = {}) {
    const candidates = [...state.rooms.values()]
      .filter((r) => r.is_member !== false && r.slug !== exclude)
      .sort((a, b) => (a.kind === b.kind ? roomTitle(a).localeCompare(roomTitle(b)) : a.kind === 'room' ? -1 : 1));
    if (candidates.length) {
      openRoom(candidates[0].slug, { replace: true });
      return;
    }
    state.current = null;
    state.view = null;
    dom.roomTitle.textContent = 'Welcome to Parley';
    dom.roomTopic.hidden = true;
    dom.roomBadges.replaceChildren();
    dom.roomRetention.hidden = true;
    dom.leaveRoom.hidden = true;
    dom.messages.replaceChildren();
    dom.members.replaceChildren();
    dom.typing.textContent = '';
    setNotice('You are not in any room yet. Browse the rooms, or message someone from People.', 'info',
      el('a', { className: 'button small', href: dom.app.dataset.roomsUrl, text: 'Browse rooms' }));
    renderComposerState(null, false);
    renderSidebar();
  }

  // ---- An invitation from a stranger ------------------------------------------

  /** In a room someone I share no other room with put me in: "<name> invited you. [Stay] [Leave] [Leave and block]". */
  function renderInvitation(view) {
    const room = view && view.room;
    if (!room || !room.invitation_from_stranger || !room.invited_by || room.is_member === false) return;
    const by = room.invited_by;
    const choice = (text, className, answer) => {
      const button = el('button', { type: 'button', className: `button small ${className}`, text });
      button.addEventListener('click', () => answerInvitation(view, by, answer));
      return button;
    };
    setNotice(`${by.display_name} invited you.`, 'warning', el('span', { className: 'invitation-choices' }, [
      choice('Stay', 'primary', 'stay'),
      choice('Leave', '', 'leave'),
      choice(`Leave and block ${by.display_name}`, 'danger', 'block'),
    ]));
  }

  async function answerInvitation(view, by, answer) {
    for (const button of dom.roomNotice.querySelectorAll('button')) button.disabled = true;
    try {
      if (answer === 'stay') {
        const data = await api.post(roomPath(view.slug, '/join')); // joining accepts the invitation
        const { invited_by: _by, invitation_from_stranger: _stranger, ...room } = { ...view.room, ...data.room };
        view.room = room;
        state.rooms.set(view.slug, room);
        if (state.view === view) setNotice(null);
        return;
      }
      await api.post(roomPath(view.slug, '/leave'));
      forgetRoom(view.slug);
      if (answer === 'block') {
        await api.post('blocks', { user_id: by.id });
        toast(`You blocked ${by.display_name}: they cannot message or invite you, and you will not see what they write.`);
      }
    } catch (err) {
      if (state.view === view) {
        for (const button of dom.roomNotice.querySelectorAll('button')) button.disabled = false;
      }
      if (!handleAuthError(err)) toast(err.message);
    }
  }

  // ---- Members panel --------------------------------------------------------

  function memberItem(member) {
    const live = state.presence.get(member.id) || {};
    const presence = live.presence || member.presence;
    const seen = live.last_seen !== undefined ? live.last_seen : member.last_seen;
    return el('li', { className: 'member', dataset: { userId: member.id } }, [
      ui.presenceDot(presence),
      el('span', { className: 'member-name', text: member.display_name }),
      member.id === me.id ? el('span', { className: 'muted', text: '(you)' }) : null,
      presence === 'online' ? null : el('span', { className: 'last-seen', text: ui.lastSeen(seen) }),
    ]);
  }

  function renderMembers(view) {
    if (!view || state.view !== view) return;
    const members = [...view.members.values()].sort((a, b) => {
      const online = (m) => ((state.presence.get(m.id) || m).presence === 'online' ? 0 : 1);
      return online(a) - online(b) || a.display_name.localeCompare(b.display_name);
    });
    dom.members.replaceChildren(...members.map(memberItem));
    dom.memberCount.textContent = `(${members.length})`;
    const room = view.room;
    dom.inviteForm.hidden = !(room && room.kind === 'room' && room.is_private && room.is_member);
  }

  const searchInvitees = ui.debounce(async () => {
    const view = state.view;
    const q = dom.inviteSearch.value.trim();
    if (!view || !q) {
      dom.inviteResults.replaceChildren();
      return;
    }
    try {
      const data = await api.get('users', { q });
      if (state.view !== view || dom.inviteSearch.value.trim() !== q) return;
      const users = (data.users || []).filter((u) => !view.members.has(u.id)).slice(0, 8);
      dom.inviteResults.replaceChildren(...(users.length
        ? users.map((u) => el('li', {}, [
          el('button', { type: 'button', className: 'invite-choice', dataset: { userId: u.id } }, [
            ui.presenceDot(u.presence),
            el('span', { text: u.display_name }),
          ]),
        ]))
        : [el('li', { className: 'empty', text: 'Nobody else matches.' })]));
    } catch (err) {
      if (!handleAuthError(err)) dom.inviteResults.replaceChildren(el('li', { className: 'empty', text: err.message }));
    }
  }, 250);

  async function invite(userId, name) {
    const view = state.view;
    if (!view) return;
    try {
      await api.post(roomPath(view.slug, '/invite'), { user_id: userId });
      dom.inviteSearch.value = '';
      dom.inviteResults.replaceChildren();
      toast(`${name} was added to the room.`);
      refreshDetail();
    } catch (err) {
      if (!handleAuthError(err)) toast(err.message);
    }
  }

  // ---- Messages -------------------------------------------------------------

  /** Record a message in the view; false if it was already there. */
  function addToView(view, msg) {
    if (view.messages.has(msg.id)) return false;
    view.messages.set(msg.id, msg);
    if (view.minId === null || msg.id < view.minId) view.minId = msg.id;
    if (view.maxId === null || msg.id > view.maxId) view.maxId = msg.id;
    return true;
  }

  function messageNode({ author, body, created_at: createdAt }, className) {
    const when = new Date(createdAt);
    return el('li', { className: `message ${className}`.trim() }, [
      ui.avatar(author.display_name, author.id),
      el('div', { className: 'message-main' }, [
        el('div', { className: 'message-meta' }, [
          el('span', { className: 'author', text: author.display_name }),
          el('time', { className: 'time', datetime: createdAt, title: when.toLocaleString(), text: ui.clock(when) }),
        ]),
        el('div', { className: 'body' }, [ui.linkify(body)]),
      ]),
    ]);
  }

  function messageElement(view, msg) {
    let li = view.elements.get(msg.id);
    if (!li) {
      li = messageNode(msg, msg.author.id === me.id ? 'mine' : '');
      li.dataset.id = msg.id;
      li.dataset.clientId = msg.client_id || '';
      li.dataset.authorId = msg.author.id;
      view.elements.set(msg.id, li);
    }
    return li;
  }

  function daySeparator(iso) {
    return el('li', { className: 'day-separator', role: 'separator' }, [
      el('span', { text: ui.dayLabel(new Date(iso)) }),
    ]);
  }

  /** Whether a message continues the previous one's group (same author and day, soon after). */
  function continues(previous, authorId, iso) {
    if (!previous || previous.authorId !== authorId) return false;
    const gap = Date.parse(iso) - Date.parse(previous.createdAt);
    return gap >= 0 && gap < GROUP_WITHIN_MS && ui.dayKey(new Date(iso)) === ui.dayKey(new Date(previous.createdAt));
  }

  /** The author and time of a message element, for grouping. */
  function groupInfo(li) {
    if (!li || !li.classList.contains('message')) return null;
    const time = li.querySelector('time');
    return { authorId: Number(li.dataset.authorId), createdAt: time ? time.getAttribute('datetime') : '' };
  }

  function pendingFor(slug) {
    return [...state.pending.values()].filter((p) => p.room === slug);
  }

  /** Redraw the list from the view (nodes are reused, so this is cheap). */
  function redrawMessages(view) {
    if (state.view !== view) return;
    const items = [];
    if (view.room && view.room.is_ephemeral) {
      items.push(el('li', { className: 'history-note', text: 'This room is ephemeral: its history is not kept. You see only the messages that arrive while you are here.' }));
    } else if (view.hasMore) {
      items.push(el('li', { className: 'history-note' }, [
        el('button', { type: 'button', className: 'link-button', dataset: { action: 'load-older' }, text: view.loadingOlder ? 'Loading older messages…' : 'Load older messages' }),
      ]));
    } else if (view.historyLoaded) {
      items.push(el('li', { className: 'history-note', text: view.messages.size ? 'This is the beginning of the history.' : 'No messages yet. Say hello!' }));
    }
    let day = null;
    let previous = null;
    const add = (li, authorId, iso) => {
      const key = ui.dayKey(new Date(iso));
      if (key !== day) items.push(daySeparator(iso));
      day = key;
      li.classList.toggle('continued', continues(previous, authorId, iso));
      previous = { authorId, createdAt: iso };
      items.push(li);
    };
    for (const id of [...view.messages.keys()].sort((a, b) => a - b)) {
      const msg = view.messages.get(id);
      add(messageElement(view, msg), msg.author.id, msg.created_at);
    }
    for (const p of pendingFor(view.slug)) add(p.el, me.id, p.createdAt);
    dom.messages.replaceChildren(...items);
    updateSeenBy(view);
  }

  /** Add a live message to the open room, following it if the reader is at the bottom. */
  function showLiveMessage(view, msg) {
    const follow = isAtBottom() || msg.author.id === me.id;
    const top = dom.messages.scrollTop;
    if (!addToView(view, msg)) return;
    const last = dom.messages.lastElementChild;
    const simpleAppend = msg.id === view.maxId && !pendingFor(view.slug).length
      && last && last.classList.contains('message');
    if (simpleAppend) {
      const previous = groupInfo(last);
      if (!previous || ui.dayKey(new Date(previous.createdAt)) !== ui.dayKey(new Date(msg.created_at))) {
        dom.messages.append(daySeparator(msg.created_at));
      }
      const li = messageElement(view, msg);
      li.classList.toggle('continued', continues(previous, msg.author.id, msg.created_at));
      dom.messages.append(li);
      updateSeenBy(view);
    } else {
      redrawMessages(view);
      dom.messages.scrollTop = top;
    }
    if (follow) scrollToBottom();
    else dom.jumpNewest.hidden = false;
    scheduleRead();
  }

  async function loadOlder(view, limit = HISTORY_PAGE) {
    if (view.loadingOlder || !view.hasMore || !view.historyLoaded) return;
    view.loadingOlder = true;
    try {
      const data = await api.get(roomPath(view.slug, '/messages'), { before: view.minId, limit });
      if (state.view !== view) return;
      const fromBottom = dom.messages.scrollHeight - dom.messages.scrollTop;
      for (const msg of data.messages || []) addToView(view, msg);
      view.hasMore = Boolean(data.has_more) && (data.messages || []).length > 0;
      view.loadingOlder = false;
      redrawMessages(view);
      dom.messages.scrollTop = dom.messages.scrollHeight - fromBottom; // keep the reader's place
    } catch (err) {
      if (!handleAuthError(err)) {
        logUnexpected(err);
        toast('Could not load older messages.');
      }
    } finally {
      view.loadingOlder = false;
    }
  }

  /** Load older pages until the list can scroll (so "scroll up for more" works). */
  async function fillViewport(view) {
    for (let i = 0; i < 10 && state.view === view && view.hasMore; i += 1) {
      if (dom.messages.scrollHeight > dom.messages.clientHeight + 8) return;
      await loadOlder(view);
    }
  }

  /** Page back until message `id` is loaded, then scroll to it and flash it. */
  async function revealMessage(view, id) {
    while (!view.messages.has(id) && view.hasMore && state.view === view && (view.minId === null || view.minId > id)) {
      while (view.loadingOlder) await sleep(50); // a scroll already asked for the next page
      const before = view.minId;
      await loadOlder(view, REVEAL_PAGE);
      if (view.minId === before) break; // the page failed; give up rather than loop
    }
    if (state.view !== view) return;
    const li = view.elements.get(id);
    if (!li) {
      toast('That message is no longer available.');
      return;
    }
    li.scrollIntoView({ block: 'center' });
    li.classList.add('highlight');
    setTimeout(() => li.classList.remove('highlight'), 3000);
    if (!isAtBottom()) dom.jumpNewest.hidden = false;
  }

  /** In a DM, say "Seen by <name>" under the newest message once the other person has read it. */
  function updateSeenBy(view) {
    for (const node of dom.messages.querySelectorAll('.seen-by')) node.remove();
    if (!view.room || view.room.kind !== 'dm' || view.maxId === null) return;
    const last = view.messages.get(view.maxId);
    const readers = [...view.members.values()].filter((m) => m.id !== me.id
      && m.id !== last.author.id && (m.last_read_message_id || 0) >= last.id);
    const li = view.elements.get(last.id);
    if (!readers.length || !li) return;
    li.querySelector('.message-main').append(el('div', {
      className: 'seen-by',
      text: `Seen by ${readers.map((m) => m.display_name).join(', ')}`,
    }));
  }

  // ---- Read receipts --------------------------------------------------------

  const scheduleRead = ui.debounce(() => markRead(), READ_DEBOUNCE_MS);

  /** Tell the server what the reader has seen: the newest message, once it is on screen. */
  function markRead() {
    const view = state.view;
    if (!view || !view.historyLoaded || !view.room || view.room.is_member === false) return;
    if (document.visibilityState !== 'visible' || !isAtBottom()) return;
    const room = state.rooms.get(view.slug);
    if (room && room.unread_count) {
      room.unread_count = 0;
      updateUnread(view.slug);
    }
    const newest = view.maxId;
    const previous = state.lastRead.get(view.slug) || 0;
    if (!newest || newest <= previous) return;
    state.lastRead.set(view.slug, newest);
    api.post(roomPath(view.slug, '/read'), { message_id: newest }).catch((err) => {
      if (handleAuthError(err)) return;
      if (state.lastRead.get(view.slug) === newest) state.lastRead.set(view.slug, previous); // try again later
    });
  }

  // ---- Typing -------------------------------------------------------------

  function renderTyping(view) {
    if (state.view !== view) return;
    const names = [...view.typing.values()].map((t) => t.name);
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    dom.typing.textContent = text;
  }

  function clearTyping(slug, userId) {
    const view = state.view;
    if (!view || view.slug !== slug || !view.typing.has(userId)) return;
    clearTimeout(view.typing.get(userId).timer);
    view.typing.delete(userId);
    renderTyping(view);
  }

  function sendTyping() {
    const view = state.view;
    if (!canSend(view) || !dom.composer.value.trim()) return;
    const now = Date.now();
    if (now - view.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    view.lastTypingSent = now;
    state.typingSent = api.post(roomPath(view.slug, '/typing'), undefined, { timeout: TYPING_SEND_EVERY_MS })
      .catch((err) => { handleAuthError(err); });
  }

  // ---- Sending --------------------------------------------------------------

  function charCount(text) {
    return Array.from(text).length;
  }

  function updateComposer() {
    const count = charCount(dom.composer.value.trim());
    dom.charCount.textContent = count ? `${count} / ${MAX_CHARS}` : '';
    dom.charCount.classList.toggle('over', count > MAX_CHARS);
    const lines = dom.composer.value.split('\n').length;
    dom.composer.rows = Math.min(8, Math.max(1, lines));
  }

  function submitComposer() {
    const view = state.view;
    if (!canSend(view)) return;
    const body = dom.composer.value.trim();
    if (!body) return;
    if (charCount(body) > MAX_CHARS) {
      toast(`Messages can be at most ${MAX_CHARS} characters.`);
      return;
    }
    dom.composer.value = '';
    updateComposer();
    view.lastTypingSent = 0;
    sendMessage(view.slug, body);
  }

  function setPendingStatus(p, text, kind) {
    p.el.classList.remove('sending', 'retrying', 'failed');
    p.el.classList.add(kind);
    const status = p.el.querySelector('.status');
    status.replaceChildren(el('span', { text }));
    if (kind === 'failed') {
      const retry = el('button', { type: 'button', className: 'link-button', text: 'Retry' });
      const discard = el('button', { type: 'button', className: 'link-button', text: 'Discard' });
      retry.addEventListener('click', () => {
        setPendingStatus(p, 'Sending…', 'sending');
        queueDelivery(p);
      });
      discard.addEventListener('click', () => {
        state.pending.delete(p.clientId);
        p.el.remove();
      });
      status.append(' ', retry, ' ', discard);
    }
  }

  function sendMessage(slug, body) {
    const p = {
      clientId: newClientId(),
      room: slug,
      body,
      createdAt: new Date().toISOString(),
      el: null,
    };
    p.el = messageNode({ author: me, body, created_at: p.createdAt }, 'mine pending');
    p.el.dataset.clientId = p.clientId;
    p.el.dataset.authorId = me.id;
    p.el.querySelector('.message-main').append(el('div', { className: 'status', role: 'status' }));
    setPendingStatus(p, 'Sending…', 'sending');
    state.pending.set(p.clientId, p);
    if (state.view && state.view.slug === slug) {
      const previous = groupInfo(dom.messages.lastElementChild);
      if (!previous || ui.dayKey(new Date(previous.createdAt)) !== ui.dayKey(new Date(p.createdAt))) {
        dom.messages.append(daySeparator(p.createdAt));
      }
      p.el.classList.toggle('continued', continues(previous, me.id, p.createdAt));
      dom.messages.append(p.el);
      scrollToBottom();
    }
    queueDelivery(p);
  }

  /** Sends go one at a time, so messages keep the order they were written in. */
  function queueDelivery(p) {
    // After the typing notice still in flight, if any: should the message reach the server
    // first, the others would see "… is typing" for seconds after the message itself.
    const typing = state.typingSent;
    state.sendQueue = state.sendQueue.then(() => typing).then(() => deliver(p)).catch(logUnexpected);
  }

  async function deliver(p) {
    const backoff = new Backoff();
    while (state.pending.get(p.clientId) === p) {
      try {
        const data = await api.post(roomPath(p.room, '/messages'), { body: p.body, client_id: p.clientId });
        confirmSent(data.message, p.room);
        return;
      } catch (err) {
        if (state.pending.get(p.clientId) !== p) return; // the event confirmed it meanwhile
        if (handleAuthError(err)) return;
        if (!err.retryable) {
          setPendingStatus(p, `Not sent: ${err.message}`, 'failed');
          return;
        }
        setPendingStatus(p, 'Not sent yet, retrying…', 'retrying');
        await sleep(backoff.next(err.retryAfter), state.wake.signal);
        if (state.pending.get(p.clientId) === p) setPendingStatus(p, 'Sending…', 'sending');
      }
    }
  }

  /** The server has the message: drop the pending copy and show the real one (once). */
  function confirmSent(msg, slug = msg.room) {
    const p = msg.client_id ? state.pending.get(msg.client_id) : null;
    const wasShown = p && p.el.isConnected;
    if (p) {
      state.pending.delete(msg.client_id);
      p.el.remove();
    }
    const view = state.view;
    const room = state.rooms.get(slug);
    if (room) room.last_message_id = Math.max(room.last_message_id || 0, msg.id);
    if (view && view.slug === slug) {
      const top = dom.messages.scrollTop;
      if (addToView(view, msg)) redrawMessages(view);
      dom.messages.scrollTop = top;
      if (wasShown) scrollToBottom();
      scheduleRead();
    }
  }

  // ---- Events -------------------------------------------------------------

  function onMessageEvent(event) {
    const msg = event.message;
    const slug = event.room || msg.room;
    const mine = msg.author.id === me.id;
    const room = state.rooms.get(slug);
    const view = state.view;
    const inView = Boolean(view && view.slug === slug);
    clearTyping(slug, msg.author.id);

    if (mine && msg.client_id && state.pending.has(msg.client_id)) {
      confirmSent(msg, slug);
      return;
    }
    if (!room) refreshRooms(); // a room I just got into
    else room.last_message_id = Math.max(room.last_message_id || 0, msg.id);

    const wasAtBottom = inView && isAtBottom();
    if (inView) showLiveMessage(view, msg);
    if (!mine && room) {
      const seen = inView && wasAtBottom && document.visibilityState === 'visible';
      if (!seen) {
        room.unread_count = (room.unread_count || 0) + 1;
        updateUnread(slug);
      }
      notify(room, msg, inView);
    }
    if (room && room.kind === 'dm') renderSidebar(); // DMs are ordered by recency
  }

  function onTypingEvent(event) {
    const view = state.view;
    if (!event.user || event.user.id === me.id || !view || view.slug !== event.room) return;
    const previous = view.typing.get(event.user.id);
    if (previous) clearTimeout(previous.timer);
    view.typing.set(event.user.id, {
      name: event.user.display_name,
      timer: setTimeout(() => {
        view.typing.delete(event.user.id);
        renderTyping(view);
      }, TYPING_SHOWN_MS),
    });
    renderTyping(view);
  }

  function onPresenceEvent(event) {
    const live = { presence: event.status, last_seen: event.last_seen };
    state.presence.set(event.user.id, live);
    const view = state.view;
    const member = view && view.members.get(event.user.id);
    if (member) {
      Object.assign(member, live);
      renderMembers(view);
    }
  }

  function onReceiptEvent(event) {
    if (event.user.id === me.id) {
      // Read in another tab or device.
      state.lastRead.set(event.room, Math.max(state.lastRead.get(event.room) || 0, event.message_id));
      const room = state.rooms.get(event.room);
      if (room && room.unread_count && (room.last_message_id || 0) <= event.message_id) {
        room.unread_count = 0;
        updateUnread(event.room);
      }
      return;
    }
    const view = state.view;
    if (!view || view.slug !== event.room) return;
    const member = view.members.get(event.user.id);
    if (member) {
      member.last_read_message_id = Math.max(member.last_read_message_id || 0, event.message_id);
      updateSeenBy(view);
    } else {
      refreshDetail();
    }
  }

  function onRoomEvent(event) {
    const data = event.data || {};
    const slug = event.room || data.slug;
    if (!slug) return;
    const aboutMe = Boolean(event.user && event.user.id === me.id);
    const old = state.rooms.get(slug);
    const view = state.view;

    if (aboutMe && event.action === 'left') {
      if (old) forgetRoom(slug);
      refreshRooms();
      return;
    }
    let isMember = old ? old.is_member : data.is_member;
    if (aboutMe && ['joined', 'created', 'invited'].includes(event.action)) isMember = true;
    // Events about a private room or a DM only reach its members.
    if (isMember === undefined && (data.is_private || data.kind === 'dm')) isMember = true;
    const room = {
      ...old,
      ...data,
      unread_count: old ? old.unread_count : data.unread_count || 0,
      is_member: isMember,
    };
    if (isMember || old) state.rooms.set(slug, room);
    renderSidebar();

    if (view && view.slug === slug) {
      view.room = room;
      renderHeader(view);
      renderComposerState(view);
      refreshDetail();
    }
    refreshRooms(); // the server's per-user view (membership, unread) settles any doubt
  }

  const EVENT_HANDLERS = {
    message: onMessageEvent,
    typing: onTypingEvent,
    presence: onPresenceEvent,
    receipt: onReceiptEvent,
    room: onRoomEvent,
  };

  function dispatch(event) {
    const handler = EVENT_HANDLERS[event.type];
    if (!handler) return;
    try {
      handler(event);
    } catch (err) {
      console.error('Parley: could not handle event', event, err); // eslint-disable-line no-console
    }
  }

  // ---- The long poll ------------------------------------------------------

  function setConnected(ok) {
    dom.connection.classList.toggle('reconnecting', !ok);
    dom.connection.setAttribute('aria-hidden', String(ok));
  }

  /** Start from "now": take a cursor, then (re)load the rooms and the open room. */
  async function resync(signal, focusId) {
    const data = await api.get('events', null, { signal });
    await loadRooms(signal);
    state.cursor = data.cursor;
    setConnected(true);
    if (state.current) await openRoom(state.current, { focusId });
    else openFirstRoom();
  }

  async function pollLoop() {
    const backoff = new Backoff();
    let focusId = messageIdFromUrl();
    let expired = 0;
    let failing = false;
    for (;;) {
      const controller = new AbortController();
      state.pollAbort = controller;
      try {
        if (!state.cursor) {
          await resync(controller.signal, focusId);
          focusId = null;
        } else {
          // After a failure, ask with timeout 0 so that the answer (and the end of
          // "Reconnecting…") comes at once instead of after a full long poll.
          const timeout = failing ? 0 : POLL_TIMEOUT_S;
          const data = await api.get('events', { cursor: state.cursor, timeout }, {
            signal: controller.signal,
            timeout: POLL_CLIENT_TIMEOUT_MS,
          });
          state.cursor = data.cursor;
          setConnected(true);
          for (const event of data.events || []) dispatch(event);
        }
        backoff.reset();
        expired = 0;
        failing = false;
      } catch (err) {
        if (err.name === 'AbortError') continue; // woken up: poll again at once
        failing = true;
        if (handleAuthError(err) || err.status === 403) {
          redirectToLogin();
          return;
        }
        logUnexpected(err);
        if (err.status === 410 || err.status === 400) {
          // The cursor is too old (or unusable): start again from now and reload.
          state.cursor = null;
          expired += 1;
          if (expired < 3) continue;
        }
        setConnected(false);
        await sleep(backoff.next(err.retryAfter), state.wake.signal);
      }
    }
  }

  /** Notice the laptop waking up or the network coming back, and poll at once. */
  function watchForWakeUps() {
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

  // ---- Search -------------------------------------------------------------

  let searchSeq = 0;

  function hideSearch() {
    searchSeq += 1;
    dom.searchResults.hidden = true;
    dom.searchList.replaceChildren();
    dom.app.classList.remove('searching');
  }

  async function runSearch() {
    const q = dom.search.value.trim();
    if (!q) {
      hideSearch();
      return;
    }
    const seq = ++searchSeq;
    dom.searchResults.hidden = false;
    dom.app.classList.add('searching');
    dom.searchStatus.textContent = 'Searching…';
    const params = { q };
    if (dom.searchRoomOnly.checked && state.current) params.room = state.current;
    try {
      const data = await api.get('search', params);
      if (seq !== searchSeq) return;
      renderSearchResults(q, data.messages || []);
    } catch (err) {
      if (seq !== searchSeq || handleAuthError(err)) return;
      dom.searchList.replaceChildren();
      dom.searchStatus.textContent = err.message;
    }
  }

  function renderSearchResults(q, messages) {
    const terms = ui.searchTerms(q);
    dom.searchStatus.textContent = messages.length
      ? `${messages.length} result${messages.length === 1 ? '' : 's'}`
      : 'No messages match.';
    dom.searchList.replaceChildren(...messages.map((msg) => {
      const room = state.rooms.get(msg.room);
      const when = new Date(msg.created_at);
      return el('li', { className: 'search-result', dataset: { messageId: msg.id, room: msg.room } }, [
        el('button', { type: 'button', className: 'search-hit' }, [
          el('span', { className: 'result-meta' }, [
            el('span', { className: 'result-room', text: room ? roomTitle(room) : msg.room }),
            el('span', { className: 'author', text: msg.author.display_name }),
            el('time', { className: 'time', datetime: msg.created_at, title: when.toLocaleString(), text: ui.shortDateTime(when) }),
          ]),
          el('span', { className: 'snippet' }, [ui.highlight(ui.snippet(msg.body, terms), terms)]),
        ]),
      ]);
    }));
    renderSearchActive();
  }

  function renderSearchActive() {
    const view = state.view;
    for (const item of dom.searchList.querySelectorAll('.search-result')) {
      item.classList.toggle('active', Boolean(view) && item.dataset.room === view.slug);
    }
  }

  function onSearchResultClick(event) {
    const item = event.target.closest('.search-result');
    if (!item) return;
    const id = Number(item.dataset.messageId);
    const slug = item.dataset.room;
    const view = state.view;
    closePanels();
    if (view && view.slug === slug && view.historyLoaded) {
      history.pushState({ room: slug, message: id }, '', roomUrl(slug, id));
      revealMessage(view, id);
    } else {
      openRoom(slug, { push: true, focusId: id });
    }
  }

  // ---- Notifications -----------------------------------------------------

  function renderNotifyButton() {
    const permission = Notification.permission;
    dom.notifyButton.hidden = false;
    dom.notifyButton.textContent = permission === 'granted' ? 'Notifications on'
      : permission === 'denied' ? 'Notifications blocked' : 'Enable notifications';
    dom.notifyButton.classList.toggle('on', permission === 'granted');
    dom.notifyButton.setAttribute('aria-pressed', String(permission === 'granted'));
    dom.notifyButton.title = permission === 'denied' ? 'Allow notifications for this site in the browser settings.' : '';
  }

  function setUpNotifications() {
    if (!('Notification' in window)) return; // the button stays hidden
    renderNotifyButton();
    dom.notifyButton.addEventListener('click', async () => {
      if (Notification.permission === 'default') {
        try {
          await Notification.requestPermission();
        } catch (err) {
          logUnexpected(err);
        }
      }
      renderNotifyButton();
    });
  }

  function notify(room, msg, inView) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    if (inView && !document.hidden) return;
    try {
      const note = new Notification(roomTitle(room), {
        body: ui.truncate(`${msg.author.display_name}: ${msg.body}`, 140),
        tag: `parley-${room.slug}`,
      });
      note.addEventListener('click', () => {
        window.focus();
        if (state.current !== room.slug) openRoom(room.slug, { push: true });
        note.close();
      });
    } catch (err) {
      // Some browsers (Chrome on Android) allow notifications only from a service worker.
    }
  }

  // ---- Wiring ---------------------------------------------------------------

  function bindEvents() {
    dom.roomList.addEventListener('click', onSidebarClick);
    dom.dmList.addEventListener('click', onSidebarClick);
    dom.sidebarToggle.addEventListener('click', () => togglePanel('sidebar'));
    dom.membersToggle.addEventListener('click', () => togglePanel('members'));
    dom.membersClose.addEventListener('click', () => togglePanel('members', false));
    dom.backdrop.addEventListener('click', closePanels);
    dom.leaveRoom.addEventListener('click', leaveRoom);
    dom.reconnectNow.addEventListener('click', wake);
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closePanels();
    });

    dom.composer.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitComposer();
      }
    });
    dom.composer.addEventListener('input', () => {
      updateComposer();
      sendTyping();
    });
    dom.composerForm.addEventListener('submit', (event) => {
      event.preventDefault();
      submitComposer();
      dom.composer.focus();
    });

    dom.messages.addEventListener('scroll', () => {
      const view = state.view;
      if (!view) return;
      if (dom.messages.scrollTop < 150 && view.hasMore && !view.loadingOlder) loadOlder(view);
      if (isAtBottom()) {
        dom.jumpNewest.hidden = true;
        scheduleRead();
      }
    }, { passive: true });
    dom.messages.addEventListener('click', (event) => {
      if (event.target.closest('[data-action="load-older"]') && state.view) loadOlder(state.view);
    });
    dom.jumpNewest.addEventListener('click', () => {
      scrollToBottom();
      scheduleRead();
    });

    const searchSoon = ui.debounce(runSearch, 300);
    dom.search.addEventListener('input', () => {
      if (dom.search.value.trim()) searchSoon();
      else {
        searchSoon.cancel();
        hideSearch();
      }
    });
    dom.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        dom.search.value = '';
        hideSearch();
      }
    });
    dom.searchForm.addEventListener('submit', (event) => {
      event.preventDefault();
      searchSoon.cancel();
      runSearch();
    });
    dom.searchRoomOnly.addEventListener('change', () => { if (dom.search.value.trim()) runSearch(); });
    dom.searchClose.addEventListener('click', () => {
      dom.search.value = '';
      hideSearch();
    });
    dom.searchList.addEventListener('click', onSearchResultClick);

    dom.inviteSearch.addEventListener('input', searchInvitees);
    dom.inviteForm.addEventListener('submit', (event) => event.preventDefault());
    dom.inviteResults.addEventListener('click', (event) => {
      const choice = event.target.closest('.invite-choice');
      if (choice) invite(Number(choice.dataset.userId), choice.textContent.trim());
    });

    window.addEventListener('popstate', (event) => {
      const slug = (event.state && event.state.room) || slugFromPath(window.location.pathname);
      if (slug) openRoom(slug, { focusId: messageIdFromUrl() });
    });
    window.addEventListener('focus', scheduleRead);

    // Keep "last seen 5 min ago" honest.
    setInterval(() => renderMembers(state.view), 60000);
  }

  function start() {
    history.replaceState({ room: state.current, message: messageIdFromUrl() }, '', window.location.href);
    // Until the first load finishes, typing and sending already work for the page's room.
    if (state.current) state.view = newView(state.current);
    bindEvents();
    setUpNotifications();
    watchForWakeUps();
    updateComposer();
    pollLoop();
  }

  start();
})();
