// Drives an aria2 JSON-RPC server through aria2.js (npm `aria2` 4.1.x), over HTTP or over
// WebSocket, as a web UI or a Node tool would: getVersion, addUri with dir/out, waiting for the
// download (polling tellStatus over HTTP; the onDownloadComplete notification over WebSocket),
// system.multicall, a wrong secret; over WebSocket also pause and unpause of a slow download
// with their notifications.
//
//   NODE_PATH=target/rpc-clients/node_modules node aria2js.js --transport http|ws \
//       --port P --secret S --dir D --url URL [--slow-url URL]
//
// Prints one JSON object per line on stdout, each with a "step"; "paused" and "resumed" are
// printed the moment they happen. Exits 1 with "error: ..." on stderr on any failure.
"use strict";

const Aria2 = require("aria2");

const WAIT_MS = 20000; // any one wait
const HOLD_MS = 1500; // how long a download stays paused (the test samples the HTTP server meanwhile)

function emit(step, fields = {}) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + "\n");
}

function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (!k.startsWith("--") || v === undefined) fail(`bad arguments near ${k}`);
    a[k.slice(2)] = v;
  }
  for (const k of ["transport", "port", "secret", "dir", "url"]) {
    if (!a[k]) fail(`--${k} is required`);
  }
  if (a.transport !== "http" && a.transport !== "ws") fail("--transport is http or ws");
  if (a.transport === "ws" && !a["slow-url"]) fail("--slow-url is required with --transport ws");
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what, check) {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > WAIT_MS) fail(`timed out after ${WAIT_MS / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

function client(a, secret) {
  const c = new Aria2({ host: "127.0.0.1", port: Number(a.port), secure: false, secret, path: "/jsonrpc" });
  c.on("error", (e) => fail(`aria2.js reported an error: ${e && e.message ? e.message : e}`));
  return c;
}

const KEYS = ["gid", "status", "totalLength", "completedLength", "errorCode", "errorMessage", "files"];

async function status(c, gid) {
  const s = await c.call("tellStatus", gid, KEYS);
  if (s.status === "error") fail(`download ${gid} failed: ${s.errorCode} ${s.errorMessage}`);
  return s;
}

function described(s) {
  return {
    gid: s.gid,
    status: s.status,
    totalLength: s.totalLength,
    completedLength: s.completedLength,
    path: s.files && s.files[0] ? s.files[0].path : null,
  };
}

async function multicall(c, gid) {
  const r = await c.multicall([["tellStatus", gid, ["gid", "status", "totalLength"]], ["getGlobalStat"], ["getVersion"]]);
  if (!Array.isArray(r) || r.length !== 3 || !r.every((x) => Array.isArray(x) && x.length === 1)) {
    fail(`system.multicall answered ${JSON.stringify(r)}: want three one-element arrays`);
  }
  const [[st], [stat], [ver]] = r;
  if (st.gid !== gid || st.status !== "complete") fail(`multicall tellStatus answered ${JSON.stringify(st)}`);
  if (typeof stat.numActive !== "string" || typeof stat.numStopped !== "string") {
    fail(`multicall getGlobalStat answered ${JSON.stringify(stat)}: want string numbers`);
  }
  if (typeof ver.version !== "string") fail(`multicall getVersion answered ${JSON.stringify(ver)}`);
  emit("multicall", { status: st.status, totalLength: st.totalLength, numActive: stat.numActive, numStopped: stat.numStopped });
}

async function wrongSecret(a, useWs) {
  const bad = client(a, a.secret + "-wrong");
  if (useWs) await bad.open();
  let message = null;
  try {
    await bad.call("getGlobalStat");
  } catch (e) {
    message = e.message;
  }
  if (useWs) await bad.close();
  if (message !== "Unauthorized") fail(`a wrong secret got ${JSON.stringify(message)}, want "Unauthorized"`);
  emit("unauthorized", { message });
}

async function overHttp(a) {
  const c = client(a, a.secret);
  const v = await c.call("getVersion");
  emit("version", { version: v.version });
  const gid = await c.call("addUri", [a.url], { dir: a.dir, out: "js-http.bin" });
  emit("added", { gid });
  const s = await waitUntil(`download ${gid} to complete`, async () => {
    const s = await status(c, gid);
    return s.status === "complete" && s;
  });
  emit("complete", described(s));
  await multicall(c, gid);
  await wrongSecret(a, false);
}

async function overWs(a) {
  const c = client(a, a.secret);
  const seen = []; // every notification, in arrival order: [event, gid]
  for (const ev of ["onDownloadStart", "onDownloadPause", "onDownloadStop", "onDownloadComplete", "onDownloadError"]) {
    c.on(ev, (params) => {
      const gid = params && params[0] && params[0].gid;
      seen.push([ev, gid]);
      emit("notification", { event: ev, gid });
      if (ev === "onDownloadError") fail(`download ${gid} failed (onDownloadError)`);
    });
  }
  const count = (ev, gid) => seen.filter(([e, g]) => e === ev && g === gid).length;
  const notified = (ev, gid, n = 1) => waitUntil(`${ev} for ${gid}`, () => count(ev, gid) >= n);

  await c.open();
  emit("open");
  const v = await c.call("getVersion");
  emit("version", { version: v.version });

  // A download waited for by its notification alone.
  const gid = await c.call("addUri", [a.url], { dir: a.dir, out: "js-ws.bin" });
  emit("added", { gid });
  await notified("onDownloadComplete", gid);
  emit("complete", described(await status(c, gid)));
  await multicall(c, gid);

  // Pause and unpause a slow one: each step is announced.
  const slow = await c.call("addUri", [a["slow-url"]], { dir: a.dir, out: "js-slow.bin" });
  emit("added", { gid: slow });
  await notified("onDownloadStart", slow);
  await waitUntil(`download ${slow} to receive bytes`, async () => Number((await status(c, slow)).completedLength) > 0);
  const paused = await c.call("pause", slow);
  if (paused !== slow) fail(`pause answered ${JSON.stringify(paused)}, want the gid ${slow}`);
  await notified("onDownloadPause", slow);
  const held = await status(c, slow);
  if (held.status !== "paused") fail(`after onDownloadPause ${slow} is ${held.status}`);
  emit("paused", described(held));
  await sleep(HOLD_MS);
  const still = await status(c, slow);
  if (still.status !== "paused" || still.completedLength !== held.completedLength) {
    fail(`paused download ${slow} moved: ${still.status}, ${held.completedLength} -> ${still.completedLength} bytes`);
  }
  const unpaused = await c.call("unpause", slow);
  if (unpaused !== slow) fail(`unpause answered ${JSON.stringify(unpaused)}, want the gid ${slow}`);
  emit("resumed", { gid: slow });
  await notified("onDownloadStart", slow, 2);
  await notified("onDownloadComplete", slow);
  emit("complete", described(await status(c, slow)));

  await wrongSecret(a, true);
  await c.close();
  emit("closed");
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const timer = setTimeout(() => fail("the whole script took longer than 60 s"), 60000);
  await (a.transport === "ws" ? overWs(a) : overHttp(a));
  clearTimeout(timer);
  emit("ok");
}

main().catch((e) => fail(e && e.message ? `${e.message}${e.code !== undefined ? ` (code ${e.code})` : ""}` : String(e)));
