// Parcelry Help Center, /portal: the customer's tickets, from /api/v1.
// Sign-in: the magic link lands on /portal#access_token=<JWT>&...; the token is kept
// in sessionStorage (never in the URL) and sent as a bearer token. Routes are hashes:
// (none) the list, #ticket/<id> a ticket, #new a new ticket.

const TOKEN_KEY = 'hc_token';
const $ = (id) => document.getElementById(id);
const root = $('portal');

const els = {
  signedOut: $('signed-out'),
  signedIn: $('signed-in'),
  who: $('who'),
  signOut: $('sign-out'),
  error: $('portal-error'),
  list: $('ticket-list'),
  empty: $('ticket-empty'),
  view: $('ticket-view'),
  title: $('ticket-title'),
  meta: $('ticket-meta'),
  timeline: $('timeline'),
  replyForm: $('reply-form'),
  replyBody: $('reply-body'),
  newPanel: $('new-ticket'),
  newForm: $('new-form'),
  newSubject: $('new-subject'),
  newBody: $('new-body'),
  suggested: $('new-suggestions'),
};
const grid = root && root.querySelector('.portal-grid');
const available = root && root.dataset.ticketsAvailable !== 'false';

let token = null;
let claims = null;
let cursor = null;
let current = null;
let viewSeq = 0;
// Bumped by every list load and by sign-out: only the latest load may fill the list.
let listSeq = 0;
// The ticket the reply box was last opened for.
let openedId = null;

// ---- helpers ----

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

const label = (s) => String(s || '').replace(/_/g, ' ');
const cap = (s) => { const t = label(s); return t ? t[0].toUpperCase() + t.slice(1) : t; };

function badge(status) {
  return el('span', `badge ${String(status).replace(/[^a-z_]/g, '')}`, cap(status));
}

function time(iso, withTime) {
  const d = new Date(iso);
  const t = el('time', '', Number.isNaN(d.getTime()) ? String(iso || '') : d.toLocaleString(undefined,
    withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }));
  t.dateTime = iso || '';
  return t;
}

const store = {
  get() { try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; } },
  set(v) { try { sessionStorage.setItem(TOKEN_KEY, v); } catch { /* storage off */ } },
  clear() { try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ } },
};

/** The JWT's claims (base64url JSON), only to show the email and drop an expired token. */
function decode(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '='));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const value = JSON.parse(json);
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function debounce(fn, ms) {
  let t = 0;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/** A JSON request to the API as the signed-in customer; throws ApiError. */
async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  // The tab's insights pseudonym (site.js keeps it): a ticket links to the searches
  // that came before it, and suggestions while writing count as searches.
  try {
    const sid = sessionStorage.getItem('hc_sid');
    if (sid) h['X-HC-Session'] = sid;
  } catch { /* storage off */ }
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers: h, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, "We couldn't reach the help center. Check your connection and try again.");
  }
  if (res.ok) return res.status === 204 ? null : res.json();
  let detail = '';
  try {
    const problem = await res.json();
    if (problem && typeof problem.detail === 'string') detail = problem.detail;
  } catch { /* not JSON */ }
  throw new ApiError(res.status, detail);
}

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = !text;
}

/** What the customer sees of a failed request: never a raw error. */
function fail(err) {
  if (!err || err.name === 'AbortError') return;
  if (err.status === 401) {
    signOut('Your sign-in link has expired. Please request a new one to see your tickets.');
  } else if (err.status === 503) {
    showError('Tickets are temporarily unavailable; try again in a minute.');
  } else if ((err.status >= 400 && err.status < 500) || err.status === 0) {
    showError(err.detail || 'That did not work. Please check and try again.');
  } else {
    showError('Something went wrong on our side. Please try again in a minute.');
  }
}

function busy(form, on, text) {
  const button = form.querySelector('button[type="submit"]');
  if (!button) return;
  if (on) {
    button.dataset.label = button.textContent;
    button.textContent = text;
  } else if (button.dataset.label) {
    button.textContent = button.dataset.label;
  }
  button.disabled = on;
}

/** A link from an API reply, only if it stays on this site (else the home page). */
function sameOrigin(url) {
  try {
    const target = new URL(url, location.origin);
    return target.origin === location.origin ? target.href : '/';
  } catch {
    return '/';
  }
}

// ---- sign-in ----

let signedOutNote = null;

function signOut(message) {
  // A token that was signed out, refused or expired signs the pages out too.
  if (token || message) signOutPages();
  store.clear();
  token = null;
  claims = null;
  current = null;
  viewSeq++;
  listSeq++;
  cursor = null;
  els.replyBody.value = '';
  els.list.replaceChildren();
  els.timeline.replaceChildren();
  showError('');
  els.signedIn.hidden = true;
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  if (!signedOutNote) {
    signedOutNote = el('p', 'notice');
    signedOutNote.setAttribute('role', 'status');
    els.signedOut.append(signedOutNote);
  }
  signedOutNote.textContent = message || '';
  signedOutNote.hidden = !message;
  // While tickets are unavailable the page's own notice says enough.
  els.signedOut.hidden = !available && !message;
}

/** Takes the token from a magic link's #access_token=…, leaving none in the URL. */
function takeToken() {
  const hash = location.hash.slice(1);
  if (!/(^|&)(access_token|error)=/.test(hash)) return '';
  const params = new URLSearchParams(hash);
  history.replaceState(null, '', location.pathname + location.search);
  const fresh = params.get('access_token');
  if (fresh) {
    store.set(fresh);
    return '';
  }
  // Supabase sends #error=…&error_description=… for a used or expired link.
  return 'That sign-in link is invalid or has expired. Please request a new one.';
}

function signIn() {
  const problem = takeToken();
  token = store.get();
  claims = token ? decode(token) : null;
  if (token && !claims) {
    signOut('That sign-in link is not valid. Please request a new one.');
    return false;
  }
  if (claims && typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    signOut('Your sign-in link has expired. Please request a new one to see your tickets.');
    return false;
  }
  if (!token) {
    signOut(problem);
    return false;
  }
  els.who.textContent = typeof claims.email === 'string' && claims.email ? claims.email : 'your account';
  els.signedOut.hidden = true;
  els.signedIn.hidden = false;
  signInPages(token);
  return true;
}

/** The help center's pages read the signed-in reader from an HttpOnly cookie that only
 * the server sets, from this bearer token: then search and articles show what this
 * reader may read. A convenience: the portal works without it. */
function signInPages(bearer) {
  fetch('/api/v1/auth/session', { method: 'POST', headers: { Authorization: `Bearer ${bearer}` } })
    .catch(() => { /* the pages stay anonymous */ });
}

/** Signs the pages out too (the cookie is HttpOnly: only the server can remove it),
 * and gives the tab a fresh insights pseudonym: whoever uses it next does not continue
 * this person's session. */
function signOutPages() {
  fetch('/api/v1/auth/session', { method: 'DELETE' }).catch(() => { /* nothing to undo */ });
  try {
    const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem('hc_sid', id);
    document.cookie = `hc_sid=${id}; Path=/; SameSite=Lax`;
  } catch { /* storage off: nothing is recorded */ }
}

// ---- the list ----

const more = el('button', 'secondary load-more', 'Load more');
more.type = 'button';
more.hidden = true;

function ticketItem(t) {
  const li = el('li');
  const a = el('a');
  a.href = `#ticket/${encodeURIComponent(t.id)}`;
  a.dataset.id = t.id;
  const info = el('span', 'info');
  const updated = el('span');
  updated.append('Updated ', time(t.updated_at));
  info.append(badge(t.status), updated);
  a.append(el('span', 'subject', t.subject), info);
  li.append(a);
  return li;
}

function markCurrent() {
  const id = routeTicket();
  for (const a of document.querySelectorAll('#ticket-list a, #copied-list a')) {
    if (a.dataset.id === id) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
}

async function loadList(append) {
  const seq = ++listSeq;
  const params = new URLSearchParams({ limit: '25' });
  if (append && cursor) params.set('cursor', cursor);
  const page = await api(`/api/v1/tickets?${params}`);
  if (seq !== listSeq) return;
  const items = (page.tickets || []).map(ticketItem);
  if (append) els.list.append(...items);
  else els.list.replaceChildren(...items);
  cursor = page.next_cursor || null;
  more.hidden = !cursor;
  els.empty.hidden = els.list.children.length > 0;
  if (!append) {
    // Tickets a colleague copied this customer on.
    const copied = await api('/api/v1/tickets?cc=me&limit=25').catch(() => ({ tickets: [] }));
    if (seq !== listSeq) return;
    $('copied-list').replaceChildren(...(copied.tickets || []).map(ticketItem));
    $('copied').hidden = !(copied.tickets || []).length;
  }
  markCurrent();
}

more.addEventListener('click', async () => {
  more.disabled = true;
  try { await loadList(true); } catch (e) { fail(e); }
  more.disabled = false;
});

// ---- a ticket ----

function entry(e) {
  const li = el('li');
  if (e.type === 'followup') {
    li.className = 'event';
    const a = el('a', '', e.subject);
    a.href = `#ticket/${encodeURIComponent(e.ticket_id)}`;
    li.append(e.relation === 'source' ? 'Follow-up of ' : 'Followed up in ', a, ' · ', time(e.created_at, true));
    return li;
  }
  if (e.type === 'status_change') {
    li.className = 'event';
    li.append(`Status changed from ${label(e.from_status)} to ${label(e.to_status)} · `, time(e.created_at, true));
    return li;
  }
  const mine = Boolean(claims && e.author_id && e.author_id === claims.sub);
  li.className = mine ? 'message mine' : 'message';
  const head = el('div', 'message-head');
  head.append(el('strong', '', mine ? 'You' : e.author_name || 'Support team'), time(e.created_at, true));
  li.append(head, el('p', 'body', e.body));
  if (e.attachments && e.attachments.length) li.append(attachmentList(e.attachments));
  return li;
}

// ---- attachments ----

const kb = (n) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB` : `${(n / 1048576).toFixed(1)} MB`);

/** An attachment's bytes as a blob: URL (downloads need the bearer token). */
async function fileUrl(f, inline) {
  const res = await fetch(`/api/v1/tickets/${encodeURIComponent(openedId)}/attachments/${encodeURIComponent(f.id)}${inline ? '?inline=true' : ''}`,
    { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new ApiError(res.status, 'That file could not be downloaded.');
  return URL.createObjectURL(await res.blob());
}

function attachmentList(files) {
  const ul = el('ul', 'attachments');
  for (const f of files) {
    const li = el('li');
    const b = el('button', 'link', `${f.file_name} (${kb(f.size)})`);
    b.type = 'button';
    b.addEventListener('click', () => fileUrl(f).then((url) => {
      const a = el('a');
      a.href = url;
      a.download = f.file_name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }).catch(fail));
    li.append(b);
    if (/^image\//.test(f.content_type)) {
      const img = el('img');
      img.alt = f.file_name;
      fileUrl(f, true).then((url) => { img.src = url; }).catch(() => img.remove());
      li.append(img);
    }
    ul.append(li);
  }
  return ul;
}

/** Sends one file to /api/v1/uploads with progress; its upload token. */
function sendFile(file, bar) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/uploads?filename=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201 && body) resolve(body.token);
      else reject(new ApiError(xhr.status, body && body.detail));
    };
    xhr.onerror = () => reject(new ApiError(0, 'The file could not be sent. Check your connection and try again.'));
    xhr.send(file);
  });
}

/** A form's files: picked or dropped, each uploaded at once with a progress bar. */
function filePicker(form, input) {
  const list = form.querySelector('.file-list');
  let items = [];
  const add = (files) => {
    for (const file of files) {
      const li = el('li', '', `${file.name} (${kb(file.size)}) `);
      const bar = el('progress');
      bar.max = 100;
      bar.value = 0;
      const remove = el('button', 'link', 'Remove');
      remove.type = 'button';
      li.append(bar, ' ', remove);
      list.append(li);
      const item = { li };
      item.done = sendFile(file, bar).then((t) => { item.token = t; li.classList.add('uploaded'); }, (err) => {
        li.classList.add('failed');
        li.append(el('span', 'error', ` ${err.detail || 'Upload failed'}`));
        throw err;
      });
      item.done.catch(() => { /* shown in the list */ });
      remove.addEventListener('click', () => { items = items.filter((i) => i !== item); li.remove(); });
      items.push(item);
    }
  };
  input.addEventListener('change', () => { add(input.files); input.value = ''; });
  form.addEventListener('dragover', (e) => { e.preventDefault(); form.classList.add('dragging'); });
  form.addEventListener('dragleave', () => form.classList.remove('dragging'));
  form.addEventListener('drop', (e) => {
    e.preventDefault();
    form.classList.remove('dragging');
    add(e.dataTransfer.files);
  });
  return {
    async tokens() {
      await Promise.all(items.map((i) => i.done));
      return items.map((i) => i.token);
    },
    clear() { items = []; list.replaceChildren(); },
  };
}

const replyFiles = filePicker(els.replyForm, $('reply-files'));
const newFiles = filePicker(els.newForm, $('new-files'));

// ---- CCs and the rating ----

function reload() {
  if (current) openTicket(current.id);
}

function showCcs(t) {
  const box = $('ticket-ccs');
  box.replaceChildren();
  const mine = claims && t.requester_id === claims.sub && t.status !== 'closed';
  const ccs = t.ccs || [];
  if (ccs.length) {
    const ul = el('ul', 'cc-list');
    for (const c of ccs) {
      const li = el('li', '', c.email || c.display_name);
      if (mine) {
        const x = el('button', 'link', 'Remove');
        x.type = 'button';
        x.addEventListener('click', () => api(`/api/v1/tickets/${encodeURIComponent(t.id)}/ccs/${encodeURIComponent(c.user_id)}`, { method: 'DELETE' }).then(reload, fail));
        li.append(' ', x);
      }
      ul.append(li);
    }
    box.append(el('span', 'meta', 'Copied: '), ul);
  }
  if (!mine) return;
  const form = el('form', 'cc-form');
  const input = el('input');
  input.type = 'email';
  input.required = true;
  input.placeholder = 'colleague@example.com';
  input.setAttribute('aria-label', 'Copy a colleague by email');
  const b = el('button', 'secondary', 'Copy');
  b.type = 'submit';
  form.append(el('span', 'meta', 'Copy a colleague:'), input, b);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api(`/api/v1/tickets/${encodeURIComponent(t.id)}/ccs`, { method: 'POST', body: { email: input.value } }).then(reload, fail);
  });
  box.append(form);
}

const REASONS = { not_solved: 'My problem is not solved', too_slow: 'It took too long', unhelpful: 'The answer did not help', impolite: 'The tone was not right', other: 'Something else' };

function showRating(t) {
  const box = $('ticket-rating');
  box.replaceChildren();
  const r = t.satisfaction;
  const said = r ? `You rated this answer ${r.score}${r.reason ? ` (${REASONS[r.reason] || label(r.reason)})` : ''}.` : '';
  if (t.status !== 'solved' || !claims || t.requester_id !== claims.sub) {
    if (r) box.append(el('p', 'meta', said));
    return;
  }
  const form = el('form', 'stack rating-form');
  form.append(el('h3', '', 'How did we do?'));
  if (r) form.append(el('p', 'meta', `${said} You can change it until the ticket closes.`));
  const reason = el('select');
  reason.setAttribute('aria-label', 'What went wrong?');
  reason.append(el('option', '', 'What went wrong? (optional)'));
  reason.firstChild.value = '';
  for (const [k, v] of Object.entries(REASONS)) { const o = el('option', '', v); o.value = k; reason.append(o); }
  const comment = el('textarea');
  comment.rows = 2;
  comment.maxLength = 2000;
  comment.setAttribute('aria-label', 'Comment (optional)');
  const row = el('div', 'rating-buttons');
  for (const score of ['good', 'bad']) {
    const b = el('button', score === 'good' ? '' : 'secondary', score === 'good' ? 'Good, I\'m satisfied' : 'Bad, I\'m not satisfied');
    b.type = 'submit';
    b.value = score;
    row.append(b);
  }
  form.append(row, reason, comment);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const score = e.submitter ? e.submitter.value : 'good';
    const body = { score };
    if (score === 'bad' && reason.value) body.reason = reason.value;
    if (comment.value.trim()) body.comment = comment.value;
    api(`/api/v1/tickets/${encodeURIComponent(t.id)}/satisfaction`, { method: 'PUT', body }).then(reload, fail);
  });
  box.append(form);
}

// A follow-up of a closed ticket, opened from its closed note.
let followupOf = null;

async function loadTimeline(id) {
  const entries = [];
  let next = null;
  // Oldest first: fetch every page so that the latest messages show.
  for (let i = 0; i < 20; i++) {
    const params = new URLSearchParams({ limit: '100' });
    if (next) params.set('cursor', next);
    const page = await api(`/api/v1/tickets/${encodeURIComponent(id)}/timeline?${params}`);
    entries.push(...(page.entries || []));
    next = page.next_cursor;
    if (!next) break;
  }
  return entries;
}

let closedNote = null;

function showTicket(t) {
  current = t;
  els.title.textContent = t.subject;
  const meta = [badge(t.status), ` ${cap(t.priority)} priority · Opened `, time(t.created_at)];
  els.meta.replaceChildren(...meta);
  const closed = t.status === 'closed';
  els.replyForm.hidden = closed;
  if (!closedNote) {
    closedNote = el('p', 'closed-note', 'This ticket is closed. Still need help? ');
    const a = el('a', 'button', 'Open a follow-up');
    a.href = '#new';
    a.id = 'open-followup';
    a.addEventListener('click', () => { followupOf = current && { id: current.id, subject: current.subject }; });
    closedNote.append(a);
    els.replyForm.after(closedNote);
  }
  closedNote.hidden = !closed;
  showCcs(t);
  showRating(t);
}

async function openTicket(id, focus) {
  const seq = ++viewSeq;
  // A draft belongs to the ticket it was written for.
  if (openedId !== id) els.replyBody.value = '';
  openedId = id;
  current = null;
  els.title.textContent = 'Loading…';
  els.meta.replaceChildren();
  els.timeline.replaceChildren();
  els.replyForm.hidden = true;
  if (closedNote) closedNote.hidden = true;
  $('ticket-ccs').replaceChildren();
  $('ticket-rating').replaceChildren();
  try {
    const [t, entries] = await Promise.all([
      api(`/api/v1/tickets/${encodeURIComponent(id)}`),
      loadTimeline(id),
    ]);
    if (seq !== viewSeq) return;
    showTicket(t);
    els.timeline.replaceChildren(...entries.map(entry));
    if (focus) els.title.focus();
  } catch (e) {
    if (seq !== viewSeq) return;
    els.title.textContent = e.status === 404 ? 'Ticket not found' : 'This ticket could not be loaded';
    if (e.status !== 404) fail(e);
  }
}

els.replyForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!current) return;
  const body = els.replyBody.value;
  if (!body.trim()) { els.replyBody.focus(); return; }
  const id = current.id;
  showError('');
  busy(els.replyForm, true, 'Sending…');
  try {
    const uploads = await replyFiles.tokens();
    await api(`/api/v1/tickets/${encodeURIComponent(id)}/messages`, { method: 'POST', body: { body, uploads } });
    replyFiles.clear();
    if (current && current.id === id) els.replyBody.value = '';
    const [t, entries] = await Promise.all([api(`/api/v1/tickets/${encodeURIComponent(id)}`), loadTimeline(id)]);
    if (current && current.id === id) {
      showTicket(t);
      els.timeline.replaceChildren(...entries.map(entry));
    }
    loadList(false).catch(fail);
  } catch (err) {
    fail(err);
  } finally {
    busy(els.replyForm, false);
  }
});

// ---- a new ticket ----

let suggestRequest = null;
let idempotencyKey = null;

async function suggest() {
  const subject = els.newSubject.value.trim();
  const body = els.newBody.value.trim().slice(0, 2000);
  if (suggestRequest) suggestRequest.abort();
  const ul = els.suggested.querySelector('ul');
  if (!subject && !body) {
    els.suggested.hidden = true;
    ul.replaceChildren();
    return;
  }
  const mine = (suggestRequest = new AbortController());
  try {
    const params = new URLSearchParams({ subject: subject.slice(0, 200), body });
    const res = await fetch(`/api/v1/suggestions?${params}`, { signal: mine.signal, headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`suggestions answered ${res.status}`);
    const data = await res.json();
    if (suggestRequest !== mine) return;
    const articles = (data.articles || []).slice(0, 5);
    ul.replaceChildren(...articles.map((hit) => {
      const li = el('li');
      const a = el('a', '', hit.title);
      a.href = sameOrigin(hit.url);
      li.append(a);
      if (hit.summary) li.append(el('span', '', hit.summary));
      return li;
    }));
    els.suggested.hidden = articles.length === 0;
  } catch (err) {
    // Suggestions only help: a failure leaves the form as it is.
    if (err.name !== 'AbortError' && suggestRequest === mine) els.suggested.hidden = true;
  }
}

const suggestSoon = debounce(suggest, 200);
const edited = () => { idempotencyKey = null; suggestSoon(); };
els.newSubject.addEventListener('input', edited);
els.newBody.addEventListener('input', edited);

els.newForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const subject = els.newSubject.value.trim();
  const body = els.newBody.value;
  if (!subject) { els.newSubject.focus(); return; }
  if (!body.trim()) { els.newBody.focus(); return; }
  // The same key for retries of the same ticket: a lost answer never makes two.
  idempotencyKey = idempotencyKey || uuid();
  showError('');
  busy(els.newForm, true, 'Creating…');
  try {
    const uploads = await newFiles.tokens();
    const fields = { subject, body, uploads };
    if (followupOf) fields.via_followup_source_id = followupOf.id;
    const t = await api('/api/v1/tickets', {
      method: 'POST',
      headers: { 'Idempotency-Key': idempotencyKey },
      body: fields,
    });
    idempotencyKey = null;
    followupOf = null;
    newFiles.clear();
    els.newForm.reset();
    els.suggested.hidden = true;
    els.suggested.querySelector('ul').replaceChildren();
    await loadList(false).catch(fail);
    location.hash = `#ticket/${t.id}`;
  } catch (err) {
    fail(err);
  } finally {
    busy(els.newForm, false);
  }
});

// ---- routing ----

function routeTicket() {
  const m = /^#ticket\/([0-9a-fA-F-]{1,64})$/.exec(location.hash);
  return m ? m[1] : null;
}

function route(focus) {
  if (!token || !available) return;
  const id = routeTicket();
  const isNew = location.hash === '#new';
  showError('');
  els.view.hidden = !id;
  els.newPanel.hidden = !isNew;
  grid.classList.toggle('has-panel', Boolean(id) || isNew);
  markCurrent();
  if (id) {
    if (!current || current.id !== id) openTicket(id, focus);
  } else {
    current = null;
    viewSeq++;
  }
  const note = $('followup-of');
  if (!isNew) followupOf = null;
  note.hidden = !followupOf;
  note.textContent = followupOf ? `Follow-up of “${followupOf.subject}”` : '';
  if (isNew && focus) els.newSubject.focus();
}

function backLink() {
  const a = el('a', 'back', '← All tickets');
  a.href = location.pathname;
  a.addEventListener('click', (e) => {
    e.preventDefault();
    history.pushState(null, '', location.pathname + location.search);
    route(false);
    els.list.focus({ preventScroll: true });
  });
  return a;
}

// ---- start ----

if (root && grid) {
  els.signOut.addEventListener('click', () => signOut(''));
  els.list.after(more);
  els.list.tabIndex = -1;
  els.title.tabIndex = -1;
  els.view.prepend(backLink());
  els.newPanel.prepend(backLink());
  const start = () => {
    if (!signIn()) return;
    if (!available) {
      // The page says tickets are unavailable: no API calls, sign-out still works.
      grid.hidden = true;
      return;
    }
    current = null;
    showError('');
    route(false);
    loadList(false).catch(fail);
  };
  // A sign-in link opened in a tab that is already on the portal changes the hash only.
  addEventListener('hashchange', () => (/(^#|&)(access_token|error)=/.test(location.hash) ? start() : route(true)));
  start();
}
