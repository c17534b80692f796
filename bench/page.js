// bench/page.sh's browser side: the page open in headless Chromium for SECS seconds with
// one job's lanes shown, then SECS seconds with the queue alone; for each, the page's CPU
// from Chromium's Performance metrics and what the WebSocket brought. Prints JSON lines.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require(path.join(process.env.PAGE_TOOLS, "node_modules", "playwright-core"));

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ddm-page-bench-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  let frames = 0, bytes = 0;
  page.on("websocket", (ws) => ws.on("framereceived", (f) => { frames++; bytes += Buffer.byteLength(f.payload); }));
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Performance.enable", { timeDomain: "timeTicks" });
  await page.goto(process.env.PAGE_URL + "#token=" + process.env.TOKEN);
  await page.waitForFunction(() => app.ready);
  const secs = Number(process.env.SECS || 60);
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));

  async function measure(what) {
    await page.waitForTimeout(2000);
    const m0 = await metrics();
    const f0 = frames, b0 = bytes, t0 = Date.now();
    await page.waitForTimeout(secs * 1000);
    const m1 = await metrics();
    const wall = (Date.now() - t0) / 1000;
    const d = (k) => m1[k] - m0[k];
    const lanes = await page.evaluate(() => document.querySelectorAll("#d-lanes .lane").length);
    console.log(JSON.stringify({
      view: what, seconds: +wall.toFixed(1), lanes,
      task_ms_per_s: +(d("TaskDuration") * 1000 / wall).toFixed(1),
      script_ms_per_s: +(d("ScriptDuration") * 1000 / wall).toFixed(1),
      layout_ms_per_s: +(d("LayoutDuration") * 1000 / wall).toFixed(1),
      style_ms_per_s: +(d("RecalcStyleDuration") * 1000 / wall).toFixed(1),
      cpu_percent: +(d("TaskDuration") * 100 / wall).toFixed(2),
      ws_messages_per_s: +((frames - f0) / wall).toFixed(2),
      ws_bytes_per_s: Math.round((bytes - b0) / wall),
      heap_mb: +(m1.JSHeapUsedSize / 1048576).toFixed(1),
    }));
  }

  const first = await page.locator("li.job").first().getAttribute("data-gid");
  await page.click(`li.job[data-gid="${first}"]`);
  await page.waitForFunction(() => document.querySelectorAll("#d-lanes .lane").length >= 32, null, { timeout: 60000 });
  await measure("one job open (lanes, map, graph, events)");
  await page.click("#detail-close");
  await measure("queue only");
  console.log(JSON.stringify({ console_errors: errors }));
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
})().catch((e) => { console.error(e); process.exit(1); });
