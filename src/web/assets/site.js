// Parcelry Help Center, every page: articles suggested as you type in the search box
// (an ARIA combobox), and "Was this article helpful?". The pages work without it.

const TOKEN_KEY = 'hc_token';

/** The portal's token, if the reader signed in there (sessionStorage may be off). */
function token() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

/** This tab's pseudonym for search insights: a random id kept in the tab's session
 * storage (never derived from the reader), mirrored in a cookie so that page
 * navigations carry it. `null` when storage is off: nothing is recorded then. */
const SESSION = (() => {
  try {
    let id = sessionStorage.getItem('hc_sid');
    if (!id) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
      sessionStorage.setItem('hc_sid', id);
    }
    document.cookie = `hc_sid=${id}; Path=/; SameSite=Lax`;
    return id;
  } catch {
    return null;
  }
})();

/** Tells the insights which result of `query` was opened (a beacon: it survives the
 * navigation it comes with). */
function recordClick(query, slug, position) {
  if (!SESSION || !query || !slug || !navigator.sendBeacon) return;
  const body = JSON.stringify({ session: SESSION, query: query.slice(0, 512), slug, position });
  navigator.sendBeacon('/api/v1/insights/clicks', new Blob([body], { type: 'application/json' }));
}

/** `returns-and-refunds` -> `Returns and refunds`, as the server names categories. */
function categoryName(path) {
  const words = String(path || '').split('/').pop().replace(/[-_]/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'General';
}

/** The search box's suggestions: debounced, one request at a time, keyboard first. */
function combobox(input) {
  const list = document.getElementById(input.getAttribute('aria-controls'));
  if (!list) return;
  const form = input.form;
  let hits = [];
  let active = -1;
  let timer = 0;
  let blurTimer = 0;
  let request = null;
  // Escape dismisses the list until the next keystroke, even if a reply is in flight.
  let dismissed = false;

  const options = () => list.children;
  const go = (hit) => {
    recordClick(input.value.trim(), hit.slug, Math.max(0, hits.indexOf(hit)));
    close();
    location.assign(sameOrigin(hit.url));
  };

  function setActive(i) {
    active = i;
    [...options()].forEach((li, n) => li.setAttribute('aria-selected', String(n === i)));
    if (i >= 0) {
      input.setAttribute('aria-activedescendant', options()[i].id);
      options()[i].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function show(open) {
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (!open) setActive(-1);
  }

  function close() { show(false); }

  function render(found) {
    hits = found;
    active = -1;
    input.removeAttribute('aria-activedescendant');
    list.replaceChildren(...found.map((hit, n) => {
      const li = document.createElement('li');
      li.id = `${input.id}-opt-${n}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      const title = document.createElement('span');
      title.className = 'title';
      title.textContent = hit.title;
      const cat = document.createElement('span');
      cat.className = 'cat';
      cat.textContent = categoryName(hit.category);
      li.append(title, cat);
      li.addEventListener('click', () => go(hit));
      return li;
    }));
    show(found.length > 0 && document.activeElement === input && !dismissed);
  }

  async function suggest() {
    const text = input.value.trim();
    if (request) request.abort();
    request = null;
    if (!text) { render([]); return; }
    const mine = (request = new AbortController());
    const params = new URLSearchParams({ q: text, limit: '6' });
    const category = form && form.elements.namedItem('category');
    if (category && category.value) params.set('category', category.value);
    try {
      const headers = { Accept: 'application/json' };
      if (SESSION) headers['X-HC-Session'] = SESSION;
      const bearer = token();
      if (bearer) headers.Authorization = `Bearer ${bearer}`;
      let res = await fetch(`/api/v1/search?${params}`, { signal: mine.signal, headers });
      if (res.status === 401 && bearer) {
        // An expired portal sign-in: suggest what everyone may read.
        delete headers.Authorization;
        res = await fetch(`/api/v1/search?${params}`, { signal: mine.signal, headers });
      }
      if (!res.ok) throw new Error(`search answered ${res.status}`);
      const data = await res.json();
      if (request === mine) render(Array.isArray(data.hits) ? data.hits : []);
    } catch (e) {
      // Suggestions are a convenience: on any failure the form still searches.
      if (e.name !== 'AbortError' && request === mine) render([]);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    dismissed = false;
    setActive(-1);
    timer = setTimeout(() => { timer = 0; suggest(); }, 120);
  });

  input.addEventListener('keydown', (e) => {
    const n = options().length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!n) return;
      e.preventDefault();
      if (list.hidden) show(true);
      const down = e.key === 'ArrowDown';
      setActive(down ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1));
    } else if (e.key === 'Enter') {
      if (!list.hidden && active >= 0 && hits[active]) {
        e.preventDefault();
        go(hits[active]);
      }
    } else if (e.key === 'Escape') {
      // Escape dismisses the suggestions, shown or still coming; only when there are
      // none does it keep the search field's own meaning (clear the text).
      const pending = !list.hidden || request !== null || timer !== 0;
      clearTimeout(timer);
      timer = 0;
      if (request) request.abort();
      request = null;
      dismissed = true;
      if (pending) {
        e.preventDefault();
        close();
      }
    }
  });

  // A press on an option must not blur the input before the click lands.
  list.addEventListener('mousedown', (e) => e.preventDefault());
  input.addEventListener('blur', () => { blurTimer = setTimeout(close, 150); });
  input.addEventListener('focus', () => {
    clearTimeout(blurTimer);
    if (hits.length && input.value.trim()) show(true);
  });
  // Coming back with the Back button: no stale list.
  addEventListener('pageshow', close);
}

/** "Was this article helpful?": one vote, then thanks. */
function feedback(box) {
  const slug = box.dataset.feedback;
  const status = box.querySelector('.feedback-status');
  const buttons = [...box.querySelectorAll('button')];
  if (!slug || !status || !buttons.length) return;
  box.hidden = false;
  const path = `/api/v1/articles/${slug.split('/').map(encodeURIComponent).join('/')}/feedback`;

  const why = box.querySelector('form.feedback-why');
  const send = (vote, bearer) => {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    return fetch(path, { method: 'POST', headers, body: JSON.stringify(vote) });
  };

  async function submit(vote, button) {
      buttons.forEach((b) => { b.disabled = true; });
      button.setAttribute('aria-pressed', 'true');
      status.textContent = 'Sending…';
      let done = false;
      try {
        const bearer = token();
        let res = await send(vote, bearer);
        if (res.status === 401 && bearer) {
          // An expired portal sign-in: vote anonymously instead.
          try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
          res = await send(vote, null);
        }
        if (res.ok) {
          status.textContent = 'Thanks for your feedback!';
          done = true;
        } else if (res.status === 429) {
          status.textContent = "You've already sent a lot of feedback, thanks!";
          done = true;
        } else {
          status.textContent = "Sorry, we couldn't record your feedback. Please try again later.";
        }
      } catch {
        status.textContent = "Sorry, we couldn't reach the help center. Check your connection and try again.";
      }
      if (!done) {
        buttons.forEach((b) => { b.disabled = false; });
        button.removeAttribute('aria-pressed');
      } else if (why) {
        why.hidden = true;
      }
  }

  for (const button of buttons) {
    button.addEventListener('click', () => {
      if (button.value === 'false' && why) {
        // "No": ask why first (optional), then send one vote.
        buttons.forEach((b) => { b.disabled = true; });
        button.setAttribute('aria-pressed', 'true');
        why.hidden = false;
        why.querySelector('select, textarea')?.focus();
        return;
      }
      submit({ helpful: button.value === 'true' }, button);
    });
  }
  if (why) {
    why.addEventListener('submit', (e) => {
      e.preventDefault();
      const reason = why.elements.namedItem('reason').value;
      const comment = why.elements.namedItem('comment').value.trim();
      const vote = { helpful: false };
      if (reason) vote.reason = reason;
      if (comment) vote.comment = comment;
      submit(vote, buttons.find((b) => b.value === 'false'));
    });
  }
}

/** Search-page results tell the insights which one was opened. */
function recordResultClicks(list) {
  const query = new URLSearchParams(location.search).get('q') || '';
  const offset = list.dataset.offset ? Number(list.dataset.offset) : 0;
  [...list.querySelectorAll(':scope > li')].forEach((li, i) => {
    for (const a of li.querySelectorAll('a[data-slug]')) {
      a.addEventListener('click', () => recordClick(query.trim(), a.dataset.slug, offset + i));
    }
  });
}

/** A link from an API reply, only if it stays on this site (else the home page). */
export function sameOrigin(url) {
  try {
    const target = new URL(url, location.origin);
    return target.origin === location.origin ? target.href : '/';
  } catch {
    return '/';
  }
}

/** The pages read who is signed in from a cookie the server sets from the portal's
 * token. A tab signed in on the portal whose page was rendered for an anonymous reader
 * asks the server for that cookie once per token, then reloads to show this reader's
 * articles. */
async function signInPages() {
  const bearer = token();
  const reader = document.querySelector('meta[name="hc-reader"]');
  if (!bearer || !reader || reader.content !== 'anonymous') return;
  const SENT_KEY = 'hc_session_sent';
  try {
    if (sessionStorage.getItem(SENT_KEY) === bearer) return;
    sessionStorage.setItem(SENT_KEY, bearer);
  } catch { return; }
  try {
    const res = await fetch('/api/v1/auth/session', {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}` },
    });
    if (res.status === 204) location.reload();
    else if (res.status === 401) sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* the page stays as it is */ }
}

signInPages();
for (const input of document.querySelectorAll('input[data-suggest]')) combobox(input);
for (const box of document.querySelectorAll('section[data-feedback]')) feedback(box);
for (const list of document.querySelectorAll('ol.hits')) recordResultClicks(list);

// The "temporarily unavailable" page promises to reload itself once the index is ready.
if (document.body.hasAttribute('data-reload')) setTimeout(() => location.reload(), 5000);
