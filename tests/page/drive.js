// Drives ddm's page in headless Chromium (Debian's /usr/bin/chromium through playwright-core,
// installed by tests/page/setup.sh), as a person would: clicks, typing, drag and drop,
// phone and desktop widths, light and dark. One scenario per run, named by argv[2]; its
// parameters come as JSON in $ARGS. It prints one JSON line per checkpoint
// ({"at": NAME, ...}) and waits for a line on stdin before going on, so the Rust test
// checks the server's log, the files and `ddm status` at that moment; then a last line
// {"done": true, ...} or {"error": MESSAGE}. Every console error and uncaught exception of
// the page is reported in "console" (the tests want none).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const readline = require("readline");
const { chromium } = require(path.join(process.env.PAGE_TOOLS, "node_modules", "playwright-core"));

const args = JSON.parse(process.env.ARGS || "{}");
const base = process.env.PAGE_URL; // http://127.0.0.1:PORT/
const token = process.env.TOKEN;
const out = process.env.OUT_DIR;
const consoleErrors = [];
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", () => { const w = waiting.shift(); if (w) w(); });

function say(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }
/** A checkpoint: tell the test, wait until it says go. */
function at(name, extra) {
  return new Promise((resolve) => { waiting.push(resolve); say(Object.assign({ at: name }, extra || {})); });
}

async function open(opts) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ddm-page-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: (opts && opts.viewport) || { width: 1280, height: 860 },
    colorScheme: (opts && opts.colorScheme) || "light",
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push("uncaught: " + e.message));
  page.setDefaultTimeout(60000);
  return { ctx, page, profile };
}

const row = (gid) => `li.job[data-gid="${gid}"]`;
const rowByName = (name) => `li.job:has(.name:text-is("${name}"))`;

async function stateOf(page, sel) { return (await page.locator(sel + " .state").innerText()).trim(); }
async function waitState(page, sel, want) {
  await page.waitForFunction(([s, w]) => {
    const e = document.querySelector(s + " .state");
    return e && w.includes(e.textContent.trim());
  }, [sel, want]);
}

async function shots(page, name) {
  const r = {};
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => app.theme(t), theme);
    await page.waitForTimeout(150);
    r[theme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.screenshot({ path: path.join(out, `${name}-${theme}.png`) });
  }
  await page.evaluate(() => app.theme("light"));
  return r;
}

const scenarios = {
  /** Log in from the fragment, add a URL with the form, watch it reach 100 %. */
  async "add-url"(page) {
    await page.goto(base + "#token=" + encodeURIComponent(token));
    await page.waitForSelector("#link.on");
    await page.waitForFunction(() => app.ready);
    const hash = await page.evaluate(() => location.hash);
    const kept = await page.evaluate(() => localStorage.getItem("ddm.token"));
    await page.keyboard.press("a");
    await page.fill("#add-urls", args.url);
    await page.fill("#add-out", args.name);
    await page.fill("#add-headers", args.header);
    await page.fill("#add-secret", args.secretName);
    await page.click("#add-submit");
    await page.waitForSelector(rowByName(args.name));
    const sel = row(await page.locator(rowByName(args.name)).getAttribute("data-gid"));
    await waitState(page, sel, ["done"]);
    const pct = await page.locator(sel + " .pct").innerText();
    await page.click(sel);
    await page.waitForSelector("#detail:not([hidden])");
    const desktop = await shots(page, "desktop-job");
    await page.click("#detail-close");
    await page.setViewportSize({ width: 390, height: 844 });
    const phone = await shots(page, "phone-queue");
    const body = await page.evaluate(() => document.body.innerText);
    return { hash, kept: kept === token, pct, desktop, phone, body };
  },

  /** Paste a "Copy as cURL" command; the job it makes reaches 100 %. */
  async curl(page) {
    await page.goto(base + "#token=" + encodeURIComponent(token));
    await page.waitForFunction(() => app.ready);
    await page.click("#add-open");
    await page.click('#add .tabs button[data-tab="curl"]');
    await page.fill("#add-curl", args.command);
    await page.fill("#add-out", args.name);
    await page.click("#add-submit");
    await page.waitForSelector(rowByName(args.name));
    const sel = row(await page.locator(rowByName(args.name)).getAttribute("data-gid"));
    // Opened while it runs (a finished job forgets its credentials).
    await page.click(sel);
    await page.waitForFunction(() => document.getElementById("d-fixed").innerText.includes("header"));
    const fixed = await page.locator("#d-fixed").innerText();
    await waitState(page, sel, ["done"]);
    // An error from the server is shown: a URL ddm cannot download.
    await page.fill("#d-url", "ftp://127.0.0.1/x.iso");
    await page.click("#d-seturl button");
    await page.waitForSelector("#error:not([hidden])");
    const banner = await page.locator("#error-text").innerText();
    await page.click("#error-close");
    await page.click("#add-open");
    await page.click('#add .tabs button[data-tab="urls"]');
    await page.fill("#add-urls", "ftp://127.0.0.1/x.iso");
    await page.fill("#add-out", "");
    await page.click("#add-submit");
    await page.waitForSelector("#add-error:not([hidden])");
    const addError = await page.locator("#add-error").innerText();
    const body = await page.evaluate(() => document.body.innerText);
    return { fixed, banner, addError, body };
  },

  /** Reorder two queued jobs by drag, pause and resume the running one by its buttons. */
  async queue(page) {
    await page.goto(base + "#token=" + encodeURIComponent(token));
    await page.waitForFunction(() => app.ready);
    for (const g of [args.a, args.b, args.c]) await page.waitForSelector(row(g));
    await waitState(page, row(args.a), ["running"]);
    await page.dragAndDrop(row(args.c), row(args.b));
    await page.waitForFunction(([b, c]) => {
      const ids = [...document.querySelectorAll("li.job")].map((l) => l.dataset.gid);
      return ids.indexOf(c) >= 0 && ids.indexOf(c) < ids.indexOf(b);
    }, [args.b, args.c]);
    const order = await page.evaluate(() => [...document.querySelectorAll("li.job")].map((l) => l.dataset.gid));
    await at("reordered", { order });
    await page.click(row(args.a) + " button.pause");
    await waitState(page, row(args.a), ["paused"]);
    await at("paused");
    await page.click(row(args.a) + " button.resume");
    await waitState(page, row(args.a), ["queued", "running", "done"]);
    await at("resumed", { state: await stateOf(page, row(args.a)) });
    return {};
  },

  /** Open a job downloading with 8 connections: its lanes, map and graph. */
  async lanes(page) {
    await page.goto(base + "#token=" + encodeURIComponent(token));
    await page.waitForFunction(() => app.ready);
    await page.waitForSelector(row(args.gid));
    await waitState(page, row(args.gid), ["running"]);
    await page.focus(row(args.gid));
    await page.keyboard.press("Enter");
    await page.waitForFunction((n) => document.querySelectorAll("#d-lanes .lane").length === n, args.lanes, { timeout: 30000 });
    // One update's lanes and map together (a connection replaced meanwhile leaves its range
    // to the next one for a moment).
    const c = await (await page.waitForFunction((n) => {
      const c = app.detail.connections;
      return c && c.lanes.length === n && JSON.parse(JSON.stringify(c));
    }, args.lanes, { timeout: 30000 })).jsonValue();
    const texts = await page.evaluate(() => [...document.querySelectorAll("#d-lanes .lane")].map((l) => l.innerText));
    const lanes = c.lanes.map((l, i) => ({ from: l.from, to: l.to, pos: l.pos, text: texts[i] || "" }));
    const fixed = await page.locator("#d-fixed").innerText();
    const body = await page.evaluate(() => document.body.innerText);
    const graphPoints = await page.evaluate(() => app.detail.history.length);
    const mapDrawn = await page.evaluate(() => {
      const cv = document.getElementById("d-map");
      const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
      const colors = new Set();
      for (let i = 0; i < d.length; i += 4 * 7) colors.add(d[i] + "," + d[i + 1] + "," + d[i + 2]);
      return colors.size;
    });
    const desktop = await shots(page, "desktop-lanes");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const phone = await shots(page, "phone-lanes");
    // Steals, races and replacements appear in the log as they happen.
    const ev = '#d-events li[data-kind="steal"], #d-events li[data-kind="race"], #d-events li[data-kind="replaced"]';
    try {
      await page.waitForSelector(ev, { timeout: 90000 });
    } catch (e) {
      const seen = await page.evaluate(() => JSON.stringify({ open: app.open, events: app.detail.events, track: null }));
      const track = await page.evaluate((g) => rpc.call("ddm.getTrack", g), args.gid);
      throw new Error("no event shown; the page had " + seen + "; the service has " + JSON.stringify(track.events));
    }
    const events = await page.evaluate((sel) => [...document.querySelectorAll(sel)].map((l) => ({ kind: l.dataset.kind, text: l.innerText })), ev);
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.locator("#d-events").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(out, "desktop-events.png"), fullPage: true });
    return { events, fixed, body, lanes, size: c.size, bitfield: c.bitfield, pieceLength: c.pieceLength, graphPoints, mapDrawn, desktop, phone };
  },

  /** Drop a HAR capture on the add dialog; the download it shows reaches 100 %. */
  async har(page) {
    await page.goto(base + "#token=" + encodeURIComponent(token));
    await page.waitForFunction(() => app.ready);
    await page.click("#add-open");
    await page.click('#add .tabs button[data-tab="har"]');
    await page.setInputFiles("#add-har", args.file);
    await page.waitForFunction(() => document.getElementById("add-har-name").textContent.includes("1 requests"));
    await page.check("#add-har-cookies");
    await page.click("#add-submit");
    await page.waitForSelector("li.job");
    const sel = row(await page.locator("li.job").first().getAttribute("data-gid"));
    await waitState(page, sel, ["done"]);
    return { name: await page.locator(sel + " .name").innerText() };
  },

  /** A wrong token: the login asks again, saying why; the right one gets in. */
  async login(page) {
    await page.goto(base + "#token=wrong-token");
    await page.waitForSelector("#login[open] #login-error:not([hidden])");
    const error = await page.locator("#login-error").innerText();
    const listed = await page.evaluate(() => document.querySelectorAll("li.job").length);
    await page.fill("#login-token", token);
    await page.click("#login-form button[type=submit]");
    await page.waitForFunction(() => app.ready);
    await page.waitForSelector("li.job");
    const kept = await page.evaluate(() => localStorage.getItem("ddm.token"));
    return { loginError: error, listedBefore: listed, kept: kept === token };
  },
};

(async () => {
  let session;
  try {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    session = await open(args.open);
    const result = await scenarios[process.argv[2]](session.page);
    say(Object.assign({ done: true, console: consoleErrors }, result));
  } catch (e) {
    say({ error: String(e && e.stack || e), console: consoleErrors });
    if (session) await session.page.screenshot({ path: path.join(out, "failure.png") }).catch(() => {});
  } finally {
    if (session) {
      await session.ctx.close().catch(() => {});
      fs.rmSync(session.profile, { recursive: true, force: true });
    }
    lines.close();
    process.exit(0);
  }
})();
