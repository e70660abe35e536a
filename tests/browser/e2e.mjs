// End-to-end tests of the help center's pages in headless Chromium (playwright-core),
// against a running server. Run by scripts/browser-tests.sh, which starts the server
// on a fresh database and passes, as environment variables:
//   BASE_URL         the server, e.g. http://127.0.0.1:18111
//   HELPCENTER_BIN   the helpcenter binary, to mint customer tokens (`token --sub --email`)
//                    with HELPCENTER_TOKEN_KEY, the ES256 key whose JWKS the server reads
//   SCREENSHOTS_DIR  where the screenshots go (default: a new temporary folder)
//   PLAYWRIGHT_CORE  the playwright-core package folder (default: resolved from here)
//   CHROMIUM         the browser (default /usr/bin/chromium)
// Prints one line per story and "N passed, N failed"; exits 1 on any failure.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ? resolve(process.env.PLAYWRIGHT_CORE) : 'playwright-core');

const BASE = (process.env.BASE_URL || '').replace(/\/$/, '');
const BIN = process.env.HELPCENTER_BIN;
if (!BASE || !BIN) {
  console.error('e2e: set BASE_URL and HELPCENTER_BIN (see scripts/browser-tests.sh)');
  process.exit(2);
}
const SHOTS = resolve(process.env.SCREENSHOTS_DIR || mkdtempSync(join(tmpdir(), 'helpcenter-screenshots-')));
mkdirSync(SHOTS, { recursive: true });

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const TIMEOUT = 10_000;

class Failure extends Error {}

/** A URL or text with any JWT blanked out, for failure messages. */
function redact(text) {
  return String(text).replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<token>');
}
function check(condition, message) {
  if (!condition) throw new Failure(message);
}

/** The sign-in link `helpcenter token --url` prints for a customer. */
function signInLink(sub, email) {
  return execFileSync(BIN, ['token', '--sub', sub, '--email', email, '--ttl', '1h', '--url', BASE], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** The sign-in link of a customer in these segments (`app_metadata.segments`). */
function signInLinkWithSegments(sub, email, segments) {
  const args = ['token', '--sub', sub, '--email', email, '--ttl', '1h', '--url', BASE];
  for (const s of segments) args.push('--segment', s);
  return execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Polls `condition` (async) until it holds, failing with `message` after TIMEOUT. */
async function until(condition, message) {
  const deadline = Date.now() + TIMEOUT;
  for (let pause = 20; !(await condition()); pause = Math.min(pause * 2, 250)) {
    if (Date.now() > deadline) throw new Failure(message);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** A customer's token, minted by the server's own binary. */
function mint(sub, email) {
  return execFileSync(BIN, ['token', '--sub', sub, '--email', email, '--ttl', '1h'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** A new page in a new context; `problems` collects console errors and page errors. */
async function open(options = DESKTOP) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') {
      problems.push(`console: ${m.text()} (${m.location().url})`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

function noProblems(problems, where) {
  check(problems.length === 0, `${where}: console errors or CSP violations:\n    ${problems.join('\n    ')}`);
}

function checkCsp(response, where) {
  const csp = response && response.headers()['content-security-policy'];
  check(csp && csp.includes("script-src 'self'") && csp.includes("style-src 'self'"),
    `${where}: the Content-Security-Policy header is missing or weak: ${csp}`);
}

/** What the portal story leaves for the screenshots. */
const shared = { tokenA: null, ticketA: null };

/**
 * Runs in the page before its own scripts: counts the fetches and response bodies not
 * yet settled, each counted down one task after it settles, so after the code awaiting
 * it has run. `window.__hcUnsettled === 0` then means the page has handled every reply:
 * a story waits for that instead of sleeping and hoping.
 */
function countUnsettledReplies() {
  window.__hcUnsettled = 0;
  const track = (promise) => {
    window.__hcUnsettled += 1;
    const settled = () => setTimeout(() => { window.__hcUnsettled -= 1; }, 0);
    promise.then(settled, settled);
    return promise;
  };
  const fetch = window.fetch;
  window.fetch = function (...args) { return track(fetch.apply(this, args)); };
  const json = Response.prototype.json;
  Response.prototype.json = function () { return track(json.call(this)); };
}

// ---- a. search as you type, by keyboard, to an article and its table of contents ----
async function storyHomeSearch() {
  const { context, page, problems } = await open();
  try {
    await page.addInitScript(countUnsettledReplies);
    const response = await page.goto(`${BASE}/`);
    check(response.status() === 200, `home page answered ${response.status()}`);
    checkCsp(response, 'home page');

    // Keyboard only: the skip link comes first and shows when focused, then the box.
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => {
      const a = document.activeElement;
      const r = a.getBoundingClientRect();
      return { cls: a.className, visible: r.top >= 0 && r.height > 0 };
    });
    check(skip.cls === 'skip-link' && skip.visible, `the first Tab should show the skip link, got ${JSON.stringify(skip)}`);
    for (let i = 0; i < 8 && (await page.evaluate(() => document.activeElement.id)) !== 'q'; i++) {
      await page.keyboard.press('Tab');
    }
    check(await page.evaluate(() => document.activeElement.id === 'q'), 'Tab never reached the search box #q');

    await page.keyboard.type('downlod invoce', { delay: 40 });
    const first = page.locator('#q-suggestions:not([hidden]) [role="option"]').first();
    await first.waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('no suggestions listbox appeared after typing "downlod invoce"');
    });
    check(await page.getAttribute('#q', 'aria-expanded') === 'true', 'aria-expanded should be "true" with the list open');
    const firstText = await first.textContent();
    check(/Download an invoice/.test(firstText), `the first suggestion should be "Download an invoice", got "${firstText}"`);

    await page.keyboard.press('Escape');
    check(await page.locator('#q-suggestions').isHidden(), 'Escape should close the suggestions');
    check(await page.getAttribute('#q', 'aria-expanded') === 'false', 'aria-expanded should be "false" after Escape');
    check(await page.inputValue('#q') === 'downlod invoce', 'Escape should keep the typed text');

    // Escape wins over a reply still on its way: the list stays closed once it lands.
    // The reply is held back until Escape has been pressed, so it surely is on its way
    // (unheld, it often landed first and Escape merely closed the list).
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    let routed;
    const requested = new Promise((resolve) => { routed = resolve; });
    await page.route((url) => url.pathname === '/api/v1/search', async (route) => {
      routed(route.request());
      await held;
      await route.continue().catch(() => {}); // the page may have aborted it meanwhile
    }, { times: 1 });
    await page.keyboard.type(' ');
    const inFlight = await requested;
    // Until that request finished or failed (aborted), at most 5 s: an aborted request's
    // response() may never settle.
    const settled = (event) => page
      .waitForEvent(event, { predicate: (r) => r === inFlight, timeout: 5000 })
      .catch(() => null);
    const landed = Promise.race([settled('requestfinished'), settled('requestfailed')]);
    await page.keyboard.press('Escape');
    release();
    await landed;
    // ...and the page has handled it: no reply or body left for its code to act on.
    await page.waitForFunction(() => window.__hcUnsettled === 0, null, { timeout: 5000 }).catch(async () => {
      throw new Failure(`the page still had ${await page.evaluate(() => window.__hcUnsettled)} replies to handle 5 s after Escape`);
    });
    check(await page.locator('#q-suggestions').isHidden(), 'a suggestion reply landing after Escape must not reopen the list');
    await page.keyboard.press('Backspace');
    await first.waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('typing again after Escape should bring the suggestions back');
    });

    await page.keyboard.press('ArrowDown');
    check(await page.getAttribute('#q', 'aria-activedescendant') === 'q-opt-0',
      'ArrowDown should make the first option active (aria-activedescendant="q-opt-0")');
    check(await page.getAttribute('#q-opt-0', 'aria-selected') === 'true', 'the active option should have aria-selected="true"');

    await Promise.all([
      page.waitForURL(/\/articles\/billing\/invoices\/download-invoice/),
      page.keyboard.press('Enter'),
    ]).catch(() => { throw new Failure(`Enter on the active option should open the article, at ${page.url()}`); });
    check((await page.textContent('h1')).trim() === 'Download an invoice', 'the article page should have the title "Download an invoice"');

    const links = page.locator('.toc a');
    check(await links.count() > 0, 'the article should have a table of contents with links');
    const link = links.nth(1 < (await links.count()) ? 1 : 0);
    const href = await link.getAttribute('href');
    await link.click();
    await page.waitForURL((url) => url.hash === href).catch(() => {
      throw new Failure(`clicking the TOC link ${href} should set the URL hash, at ${page.url()}`);
    });
    const heading = page.locator(`[id="${href.slice(1)}"]`);
    check(await heading.count() === 1, `the heading ${href} should exist once in the article`);
    check(/^H[2-4]$/.test(await heading.evaluate((h) => h.tagName)), `${href} should be a heading`);
    check(await heading.isVisible(), `the heading ${href} should be visible after the click`);

    // "Was this article helpful?" shows with JavaScript, and thanks the reader.
    const feedback = page.locator('section[data-feedback]');
    check(await feedback.isVisible(), 'the feedback section should be shown');
    await feedback.getByRole('button', { name: 'Yes' }).click();
    await page.locator('.feedback-status', { hasText: 'Thanks for your feedback!' }).waitFor()
      .catch(async () => { throw new Failure(`a vote should thank the reader, got "${await page.textContent('.feedback-status')}"`); });
    check(await feedback.getByRole('button', { name: 'No' }).isDisabled(), 'the vote buttons should be disabled after a vote');

    noProblems(problems, 'home to article');
  } finally {
    await context.close();
  }
}

// ---- b. the search page: facets, and without JavaScript ----
async function storySearchPage() {
  const { context, page, problems } = await open();
  try {
    const response = await page.goto(`${BASE}/search?q=invoice`);
    checkCsp(response, 'search page');
    check(await page.locator('.hit').count() > 0, 'the search page for "invoice" should list results');
    check(await page.locator('.hit .snippet mark').count() > 0, 'the snippets should highlight the matches with <mark>');
    const facet = page.locator('.facets a[href*="category="]').first();
    check(await facet.count() === 1, 'the search page should have category facet links');
    const name = (await facet.textContent()).trim();
    await Promise.all([page.waitForURL(/category=/), facet.click()]).catch(() => {
      throw new Failure(`clicking the facet "${name}" should add category= to the URL, at ${page.url()}`);
    });
    const title = (await page.textContent('#results-title')).trim();
    check(title.includes(name), `the results heading should mention the category "${name}", got "${title}"`);
    check(await page.getAttribute(`.facets a[aria-current]`, 'href').then((h) => h && h.includes('category=')),
      'the chosen facet should be marked aria-current');
    noProblems(problems, 'search page');
  } finally {
    await context.close();
  }

  // Without JavaScript the search form still works: a plain GET to /search.
  const noJs = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  noJs.setDefaultTimeout(TIMEOUT);
  try {
    const page = await noJs.newPage();
    await page.goto(`${BASE}/`);
    await page.fill('#q', 'invoice');
    await Promise.all([page.waitForURL(/\/search\?q=invoice/), page.press('#q', 'Enter')]).catch(() => {
      throw new Failure(`without JavaScript, submitting the home search should open /search?q=invoice, at ${page.url()}`);
    });
    check(await page.locator('.hit').count() > 0, 'without JavaScript, the search page should list results');
    check(await page.locator('#q-suggestions').isHidden(), 'without JavaScript, the suggestions list stays hidden');
  } finally {
    await noJs.close();
  }
}

// ---- c. the portal: sign in by link, a ticket with suggestions, a reply; isolation ----
async function storyPortal() {
  const subA = randomUUID();
  const emailA = `a-${subA.slice(0, 8)}@example.com`;
  const linkA = signInLink(subA, emailA);
  check(linkA.startsWith(`${BASE}/portal#access_token=`), `token --url should print a portal link, got ${redact(linkA)}`);
  const tokenA = new URLSearchParams(linkA.split('#')[1]).get('access_token');
  shared.tokenA = tokenA;
  // The portal signs in on the asymmetric path Supabase uses: an ES256 token with a kid.
  const header = JSON.parse(Buffer.from(tokenA.split('.')[0], 'base64url').toString());
  check(header.alg === 'ES256' && typeof header.kid === 'string', `the sign-in token should be ES256 with a kid, got ${JSON.stringify(header)}`);
  const subject = 'Where can I download my invoice';
  const body = 'I need the PDF of last month\'s invoice for my accountant.\nThe order number is 1042.';
  const reply = 'Thanks! I also need the one from March.';

  const a = await open();
  try {
    const { page, problems } = a;
    const response = await page.goto(linkA);
    checkCsp(response, 'portal');
    await page.locator('#signed-in').waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('with a token in the link, the portal should show #signed-in');
    });
    check(!page.url().includes('access_token') && !page.url().includes(tokenA), `the token should leave the URL, at ${redact(page.url())}`);
    check(await page.evaluate(() => sessionStorage.getItem('hc_token')) === tokenA, 'the token should be kept in sessionStorage hc_token');
    check((await page.textContent('#who')).trim() === emailA, `#who should show ${emailA}`);
    await page.locator('#ticket-empty').waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('a new customer should see "You have no tickets yet."');
    });

    await page.click('#new-link');
    await page.locator('#new-ticket').waitFor({ state: 'visible' });
    await page.locator('#new-subject').pressSequentially(subject, { delay: 25 });
    await page.locator('#new-suggestions:not([hidden]) li a').first().waitFor().catch(() => {
      throw new Failure(`typing the subject "${subject}" should suggest at least one article`);
    });
    const suggested = await page.locator('#new-suggestions li a').allTextContents();
    check(suggested.length >= 1 && suggested.length <= 5, `1 to 5 suggested articles, got ${suggested.length}`);
    await page.fill('#new-body', body);
    await Promise.all([
      page.waitForURL(/#ticket\/[0-9a-f-]{36}$/),
      page.click('#new-form button[type="submit"]'),
    ]).catch(async () => {
      throw new Failure(`creating the ticket should open it, at ${page.url()}; error: ${await page.textContent('#portal-error')}`);
    });
    shared.ticketA = page.url().split('#ticket/')[1];
    await page.locator('#ticket-title', { hasText: subject }).waitFor().catch(async () => {
      throw new Failure(`the ticket view should show the subject, got "${await page.textContent('#ticket-title')}"`);
    });
    const firstMessage = page.locator('#timeline li').first();
    await firstMessage.waitFor();
    check((await firstMessage.textContent()).includes('accountant'), 'the timeline should start with the first message');
    check(await firstMessage.locator('.body').evaluate((p) => p.textContent.includes('\n') && getComputedStyle(p).whiteSpace === 'pre-wrap'),
      'a message keeps its line breaks (white-space: pre-wrap)');
    check((await firstMessage.textContent()).includes('You'), 'the customer\'s own message should be marked "You"');
    check(/new|open/i.test(await page.textContent('#ticket-meta')), 'the ticket meta should show the status');

    await page.fill('#reply-body', reply);
    await page.click('#reply-form button[type="submit"]');
    await page.locator('#timeline li', { hasText: reply }).waitFor().catch(async () => {
      throw new Failure(`the reply should appear in the timeline; error: ${await page.textContent('#portal-error')}`);
    });
    check(await page.inputValue('#reply-body') === '', 'the reply box should be cleared after sending');

    // Back to the list (a fresh page load: the sign-in survives in the tab).
    await Promise.all([page.waitForURL(/\/portal$/), page.click('.site-header a[href="/portal"]')]);
    await page.locator('#ticket-list a', { hasText: subject }).waitFor().catch(() => {
      throw new Failure('the list should show the new ticket after going back');
    });
    check(await page.locator('#ticket-view').isHidden(), 'without a hash the ticket panel is hidden');
    check(await page.locator('#ticket-list .badge').first().isVisible(), 'each ticket shows a status badge');
    noProblems(problems, 'portal (customer A)');
  } finally {
    await a.context.close();
  }

  // Customer B sees none of A's tickets, not even by A's ticket's URL.
  const subB = randomUUID();
  const b = await open();
  try {
    const { page } = b;
    await page.goto(`${BASE}/portal#access_token=${mint(subB, 'b@example.com')}&token_type=bearer`);
    await page.locator('#ticket-empty').waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('customer B should see an empty ticket list');
    });
    check(!(await page.textContent('body')).includes(subject), 'customer B must not see customer A\'s ticket');
    await page.goto(`${BASE}/portal#ticket/${shared.ticketA}`);
    await page.locator('#ticket-title', { hasText: 'not found' }).waitFor().catch(async () => {
      throw new Failure(`B opening A's ticket should read "Ticket not found", got "${await page.textContent('#ticket-title')}"`);
    });
    check(!(await page.textContent('body')).includes(subject), 'customer B must not see customer A\'s ticket by its URL');

    await page.click('#sign-out');
    await page.locator('#signed-out').waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('signing out should show #signed-out');
    });
    check(await page.locator('#signed-in').isHidden(), 'signed out: #signed-in is hidden');
    check(await page.evaluate(() => sessionStorage.getItem('hc_token')) === null, 'signing out should forget the token');
    await page.reload();
    await page.locator('#signed-out').waitFor({ state: 'visible' });

    // A link whose token the server refuses (bad signature): signed out, told why.
    const forged = `${shared.tokenA.slice(0, shared.tokenA.lastIndexOf('.') + 1)}${'A'.repeat(43)}`;
    await page.goto(`${BASE}/portal#access_token=${forged}`);
    await page.locator('#signed-out .notice', { hasText: 'expired' }).waitFor().catch(() => {
      throw new Failure('a refused token should sign out with a message that the link expired');
    });
    check(await page.evaluate(() => sessionStorage.getItem('hc_token')) === null, 'a refused token should be dropped');
  } finally {
    await b.context.close();
  }
}

// ---- e. articles for some readers: signed out they are not there; a business
// customer who signs in on the portal finds theirs on the help center's pages ----
async function storyAudiences() {
  const slug = 'billing/consolidated-monthly-invoice';
  const title = 'Get one consolidated invoice a month';
  const { context, page, problems } = await open();
  const hasSession = async () => (await context.cookies()).some((c) => c.name === 'hc_session');
  try {
    let response = await page.goto(`${BASE}/articles/${slug}`);
    check(response.status() === 404, `signed out, the business article should be a 404, got ${response.status()}`);
    let main = await page.textContent('main');
    check(!main.includes(title) && !main.includes('purchase order'), 'signed out, the 404 shows neither title nor excerpt');
    check(await page.locator('.sign-in-prompt a[href="/portal"]').isVisible(), 'signed out, the 404 offers to sign in');
    await page.goto(`${BASE}/search?q=consolidated+invoice+purchase+order`);
    check(!(await page.textContent('main')).includes(title), 'signed out, search does not show the business article');

    // Sign in on the portal: it sets the pages' session cookie (HttpOnly) as well.
    await page.goto(signInLinkWithSegments(randomUUID(), 'buyer@example.com', ['business']));
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    await until(hasSession, 'signing in on the portal should set the pages\' hc_session cookie');
    const cookie = (await context.cookies()).find((c) => c.name === 'hc_session');
    check(cookie.httpOnly && cookie.sameSite === 'Lax', `the session cookie should be HttpOnly and SameSite=Lax: ${JSON.stringify({ ...cookie, value: '<token>' })}`);
    await page.goto(`${BASE}/search?q=consolidated+invoice+purchase+order`);
    check((await page.textContent('main')).includes(title), 'signed in, search shows the business article');
    response = await page.goto(`${BASE}/articles/${slug}`);
    check(response.status() === 200, `signed in, the business article opens, got ${response.status()}`);
    check(response.headers()['cache-control'].includes('private'), 'a signed-in page is private');
    check((await page.textContent('h1')).includes(title), 'signed in, the article shows its title');

    // A tab whose portal token outlived the cookie: the page asks for the cookie
    // again by itself and reloads as the signed-in reader.
    await context.clearCookies();
    await page.goto(`${BASE}/search?q=consolidated+invoice+purchase+order`);
    await until(async () => (await page.textContent('main')).includes(title),
      'with the portal token in the tab, the page should sign itself in and show the business article');

    // Signing out of the portal signs the pages out.
    await page.goto(`${BASE}/portal`);
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    await page.click('#sign-out');
    await until(async () => !(await hasSession()), 'signing out of the portal should remove the session cookie');
    response = await page.goto(`${BASE}/articles/${slug}`);
    check(response.status() === 404, `signed out again, the business article is a 404, got ${response.status()}`);
    main = await page.textContent('main');
    check(!main.includes(title), 'signed out again, no title');
    // The 404 documents themselves are the only console errors expected.
    noProblems(problems.filter((p) => !p.includes('404')), 'audiences');
  } finally {
    await context.close();
  }
}

// ---- f. search insights: a reader's search that finds nothing shows on the agents'
// page, drawn as SVG; a signed-out reader is asked to sign in ----
async function storyInsights() {
  const { context, page, problems } = await open();
  try {
    const query = `xqzvw ${randomUUID().slice(0, 8)}`;
    // The first page gives the tab its pseudonym (site.js); the search page after it
    // is recorded with it.
    await page.goto(`${BASE}/`);
    await page.goto(`${BASE}/search?q=${encodeURIComponent(query)}`);
    check((await page.textContent('h1')).includes('No results'), `"${query}" should find nothing`);
    let response = await page.goto(`${BASE}/insights`);
    check(response.status() === 401, `signed out, /insights should be 401, got ${response.status()}`);
    check(await page.locator('.sign-in-prompt a[href="/portal"]').isVisible(), 'signed out, /insights offers to sign in');

    // An agent signs in on the portal, then opens the insights.
    const sub = randomUUID();
    execFileSync(BIN, ['users', 'set-role', sub, 'agent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await page.goto(signInLink(sub, 'agent@example.com'));
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    await until(async () => (await context.cookies()).some((c) => c.name === 'hc_session'),
      'signing in on the portal should set the pages\' session cookie');
    await until(async () => {
      response = await page.goto(`${BASE}/insights`);
      return response.status() === 200 && (await page.textContent('main')).includes(query);
    }, `the agent's page should list "${query}" among the queries that found nothing`);
    checkCsp(response, 'insights');
    check(await page.locator('h1', { hasText: 'Search insights' }).isVisible(), 'the page has its title');
    check(await page.locator('svg polyline').count() >= 2, 'the daily and deflection charts are SVG polylines');
    // The signed-out 401 document is the only console error expected.
    noProblems(problems.filter((p) => !p.includes('status of 401')), 'insights');
  } finally {
    await context.close();
  }
}

// ---- g. the portal a Zendesk user expects: a file, a colleague copied, a rating, a
// follow-up of the closed ticket ----
const PNG_1PX = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

async function storyPortalFeatures() {
  const sub = randomUUID();
  const colleagueSub = randomUUID();
  const colleagueEmail = `c-${colleagueSub.slice(0, 8)}@example.com`;
  const colleague = mint(colleagueSub, colleagueEmail);
  const asUser = (bearer, path, method = 'GET', body) => fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  check((await asUser(colleague, '/api/v1/tickets')).ok, 'the colleague\'s first request makes their profile');
  const agentSub = randomUUID();
  execFileSync(BIN, ['users', 'set-role', agentSub, 'agent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const agent = mint(agentSub, 'agent-g@example.com');
  const subject = 'Label printer prints blank pages';
  const { context, page, problems } = await open();
  try {
    await page.goto(signInLink(sub, `g-${sub.slice(0, 8)}@example.com`));
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    await page.click('#new-link');
    await page.fill('#new-subject', subject);
    await page.fill('#new-body', 'A screenshot is attached.');
    await page.setInputFiles('#new-files', { name: 'screen.png', mimeType: 'image/png', buffer: PNG_1PX });
    await page.locator('#new-form .file-list li.uploaded').waitFor().catch(async () => {
      throw new Failure(`the picked file should upload, list: ${await page.textContent('#new-form .file-list')}`);
    });
    await Promise.all([page.waitForURL(/#ticket\/[0-9a-f-]{36}$/), page.click('#new-form button[type="submit"]')]);
    const id = page.url().split('#ticket/')[1];
    await page.locator('#timeline .attachments button', { hasText: 'screen.png' }).waitFor().catch(() => {
      throw new Failure('the first message should list its attachment');
    });
    await until(async () => ((await page.locator('#timeline .attachments img').getAttribute('src')) || '').startsWith('blob:'),
      'the attached image should show in the timeline');

    await page.fill('#ticket-ccs input', colleagueEmail);
    await page.click('#ticket-ccs button[type="submit"]');
    await page.locator('#ticket-ccs li', { hasText: colleagueEmail }).waitFor().catch(async () => {
      throw new Failure(`the colleague should be listed as copied; error: ${await page.textContent('#portal-error')}`);
    });
    check((await asUser(colleague, `/api/v1/tickets/${id}`)).status === 200, 'the copied colleague reads the ticket');
    const other = await open();
    try {
      await other.page.goto(`${BASE}/portal#access_token=${colleague}&token_type=bearer`);
      await other.page.locator('#copied-list a', { hasText: subject }).waitFor().catch(() => {
        throw new Failure('the colleague\'s portal should list the ticket under "Copied on"');
      });
      check(await other.page.locator('#ticket-empty').isVisible(), 'the colleague has no tickets of their own');
      noProblems(other.problems, 'portal (copied colleague)');
    } finally {
      await other.context.close();
    }

    check((await asUser(agent, `/api/v1/tickets/${id}`, 'PATCH', { status: 'solved' })).ok, 'the agent solves the ticket');
    await page.reload();
    await page.locator('#ticket-rating form').waitFor().catch(() => {
      throw new Failure('a solved ticket asks its requester for a rating');
    });
    await page.click('#ticket-rating button[value="good"]');
    await page.locator('#ticket-rating', { hasText: 'You rated this answer good' }).waitFor().catch(() => {
      throw new Failure('the rating should be shown once given');
    });

    check((await asUser(agent, `/api/v1/tickets/${id}`, 'PATCH', { status: 'closed' })).ok, 'the agent closes the ticket');
    await page.reload();
    await page.locator('#open-followup').waitFor({ state: 'visible' }).catch(() => {
      throw new Failure('a closed ticket offers a follow-up');
    });
    check(await page.locator('#reply-form').isHidden(), 'a closed ticket takes no reply');
    await page.click('#open-followup');
    await page.locator('#followup-of', { hasText: subject }).waitFor();
    await page.fill('#new-subject', 'Blank pages again');
    await page.fill('#new-body', 'The problem is back.');
    await Promise.all([
      page.waitForURL((u) => /#ticket\//.test(u.toString()) && !u.toString().includes(id)),
      page.click('#new-form button[type="submit"]'),
    ]);
    await page.locator('#timeline li.event', { hasText: 'Follow-up of' }).waitFor().catch(() => {
      throw new Failure('the follow-up\'s timeline should link to its source');
    });
    await page.click('#timeline li.event a');
    await page.locator('#timeline li.event', { hasText: 'Followed up in' }).waitFor().catch(() => {
      throw new Failure('the source\'s timeline should link to its follow-up');
    });
    noProblems(problems, 'portal features');
  } finally {
    await context.close();
  }
}

// ---- d. screenshots at phone and desktop widths ----
async function storyScreenshots() {
  const shots = [];
  for (const [suffix, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const { context, page, problems } = await open(options);
    try {
      const take = async (name) => {
        const file = join(SHOTS, `${name}-${suffix}.png`);
        await page.screenshot({ path: file, fullPage: process.env.FULL_PAGE === '1' });
        shots.push(file);
      };
      await page.goto(`${BASE}/`);
      await take('home');
      await page.goto(`${BASE}/search?q=invoice`);
      await take('search');
      await page.goto(`${BASE}/articles/billing/invoices/download-invoice`);
      await page.locator('section[data-feedback]').waitFor({ state: 'visible' });
      await take('article');
      if (shared.tokenA) {
        await page.goto(`${BASE}/portal#access_token=${shared.tokenA}&token_type=bearer`);
        await page.locator('#ticket-list li').first().waitFor();
        if (shared.ticketA) await page.evaluate((id) => { location.hash = `#ticket/${id}`; }, shared.ticketA);
        await page.locator(shared.ticketA ? '#timeline li' : '#ticket-list li').first().waitFor();
        await page.evaluate(() => document.activeElement && document.activeElement.blur());
        await take('portal');
      }
      noProblems(problems, `screenshots (${suffix})`);
    } finally {
      await context.close();
    }
  }
  check(shots.length === 8, `8 screenshots expected, took ${shots.length}`);
  return `${shots.length} in ${SHOTS}`;
}

const stories = [
  ['a. home search by keyboard, article TOC', storyHomeSearch],
  ['b. search page facets, no-JS search', storySearchPage],
  ['c. portal tickets, suggestions, reply, isolation, sign-out', storyPortal],
  ['d. screenshots', storyScreenshots],
  ['e. articles for some readers: signed out, signed in on the portal, signed out', storyAudiences],
  ['f. search insights: a missed search on the agents\' page', storyInsights],
  ['g. the portal: a file, a colleague copied, a rating, a follow-up', storyPortalFeatures],
];
let passed = 0;
let failed = 0;
// A story that hangs fails instead of holding CI: each has at most this long.
const STORY_LIMIT_MS = 90_000;
function limited(story, name) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`${name} took longer than ${STORY_LIMIT_MS / 1000} s`)), STORY_LIMIT_MS);
  });
  return Promise.race([story(), expired]).finally(() => clearTimeout(timer));
}

for (const [name, story] of stories) {
  const started = Date.now();
  try {
    const note = await limited(story, name);
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)${note ? `: ${note}` : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof Failure ? e.message : e.stack || e}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
