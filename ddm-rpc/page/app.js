// The page's state and its one render loop: the jobs (by GID), the job opened and what the
// page keeps of it (its lanes, speed history, events), the runner. Everything arrives over
// the WebSocket: a first read (`ddm.listJobs`, `ddm.getJob`, `ddm.getRunner`), then the
// server's batched `ddm.onUpdate` (at most five a second). Changes only mark what is dirty;
// drawing happens once per animation frame, and only what changed is drawn again. Errors
// from the server are shown in the banner, never swallowed.
"use strict";
const app = {
  jobs: new Map(),
  open: null,
  detail: { connections: null, history: [], events: [] },
  runner: null,
  runnerHistory: [],
  showRunner: false,
  dirty: { queue: true, detail: true, runner: true },
  frame: 0,
  ready: false,

  start() {
    app.theme(localStorage.getItem("ddm.theme"));
    queue.init();
    job.init();
    runner.init();
    add.init();
    app.keys();
    document.getElementById("error-close").addEventListener("click", () => { document.getElementById("error").hidden = true; });
    document.getElementById("theme").addEventListener("click", () => app.theme(app.isDark() ? "light" : "dark"));
    document.getElementById("logout").addEventListener("click", () => { rpc.forgetToken(); location.reload(); });
    document.getElementById("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      rpc.token = document.getElementById("login-token").value.trim();
      document.getElementById("login").close();
      app.begin();
    });
    rpc.handlers.update = app.update;
    rpc.handlers.open = () => { app.link(true); if (rpc.token) app.begin(); else app.login(""); };
    rpc.handlers.closed = () => app.link(false);
    rpc.loadToken();
    rpc.connect();
    window.addEventListener("resize", () => app.draw());
  },

  link(on) {
    const l = document.getElementById("link");
    l.className = "link " + (on ? "on" : "off");
    l.textContent = on ? "live" : "offline";
  },

  login(why) {
    const p = document.getElementById("login-error");
    p.textContent = why;
    p.hidden = !why;
    const d = document.getElementById("login");
    if (!d.open) d.showModal();
  },

  /** The first read, then the updates. A refused token asks for another. */
  begin() {
    Promise.all([rpc.call("ddm.listJobs"), rpc.call("ddm.getRunner")]).then(([jobs, r]) => {
      rpc.keepToken();
      app.ready = true;
      app.jobs = new Map(jobs.map((j) => [j.gid, j]));
      app.runner = r;
      app.runnerHistory = r.history || [];
      runner.fillForm();
      app.dirty = { queue: true, detail: true, runner: true };
      app.draw();
      return rpc.call("ddm.subscribe", { job: app.open });
    }).then(() => { if (app.open) app.openJob(app.open); }).catch((e) => {
      if (e.message === "Unauthorized") {
        rpc.forgetToken();
        app.login("The token was refused (Unauthorized): give the one ddm serve printed, or the one in its secret file.");
      } else app.fail(e);
    });
  },

  update(u) {
    if (u.resync) { app.begin(); return; }
    for (const j of u.jobs || []) app.jobs.set(j.gid, j);
    for (const g of u.gone || []) app.jobs.delete(g);
    if (u.runner) {
      app.runner = Object.assign(app.runner || {}, u.runner);
      app.point(app.runnerHistory, [Date.now(), u.runner.speed]);
      app.dirty.runner = true;
    }
    if (u.connections && u.connections.gid === app.open) {
      app.detail.connections = u.connections;
      const j = app.jobs.get(app.open);
      if (j) app.point(app.detail.history, [Date.now(), j.speed, u.connections.lanes.map((l) => [l.id, l.speed])]);
    }
    if (u.events && app.open && app.jobs.get(app.open) && app.jobs.get(app.open).id === u.eventsOf) {
      const last = app.detail.events.length ? app.detail.events[app.detail.events.length - 1].seq : 0;
      for (const e of u.events) if (e.seq > last) app.detail.events.push(e);
      if (app.detail.events.length > 200) app.detail.events.splice(0, app.detail.events.length - 200);
    }
    app.dirty.queue = true;
    app.dirty.detail = true;
    app.draw();
  },

  /** Keep one point a second, ten minutes of them. */
  point(list, p) {
    const last = list[list.length - 1];
    if (last && p[0] - last[0] < 1000) return;
    list.push(p);
    while (list.length && list[0][0] < p[0] - graph.WINDOW_MS) list.shift();
  },

  openJob(gid) {
    app.open = gid;
    app.showRunner = false;
    app.detail = { connections: null, history: [], events: [] };
    job.lanes.forEach((r) => r.remove());
    job.lanes.clear();
    document.querySelector("main").classList.toggle("detail-open", !!gid);
    app.dirty.queue = app.dirty.detail = true;
    app.draw();
    if (!app.ready) return;
    rpc.call("ddm.subscribe", { job: gid }).catch(app.fail);
    if (!gid) return;
    job.opened(app.jobs.get(gid) || { settings: {}, url: "" });
    rpc.call("ddm.getJob", gid).then((r) => {
      if (app.open !== gid) return;
      app.jobs.set(gid, r.job);
      app.detail.connections = r.connections;
      app.detail.history = r.track.history;
      app.detail.events = r.track.events;
      job.opened(r.job);
      app.dirty.detail = true;
      app.draw();
    }).catch(app.fail);
  },

  openRunner(on) {
    app.showRunner = on;
    if (on) { app.open = null; runner.fillForm(); }
    document.querySelector("main").classList.toggle("detail-open", on);
    app.dirty.runner = app.dirty.queue = true;
    app.draw();
  },

  /** Draw on the next animation frame (once, however many updates came). */
  draw() {
    if (app.frame) return;
    app.frame = requestAnimationFrame(() => {
      app.frame = 0;
      const now = Date.now();
      if (app.dirty.queue) queue.render();
      const j = app.open && app.jobs.get(app.open);
      document.getElementById("detail").hidden = !j;
      document.getElementById("runner").hidden = !app.showRunner;
      if (j && app.dirty.detail) job.render(j, app.detail, now);
      if (app.showRunner && app.dirty.runner) runner.render(now);
      const total = document.getElementById("total");
      const t = app.runner ? "↓ " + fmt.speed(app.runner.speed) : "–";
      if (total.textContent !== t) total.textContent = t;
      app.dirty = { queue: false, detail: false, runner: false };
    });
  },

  fail(e) {
    document.getElementById("error-text").textContent = e && e.message ? e.message : String(e);
    document.getElementById("error").hidden = false;
  },
  say(text) {
    document.getElementById("error").hidden = true;
    document.title = "ddm — " + text;
    setTimeout(() => { document.title = "ddm"; }, 3000);
  },

  isDark() {
    const t = document.documentElement.dataset.theme;
    return t ? t === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  },
  theme(t) {
    if (t !== "light" && t !== "dark") t = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    document.documentElement.dataset.theme = t;
    localStorage.setItem("ddm.theme", t);
    app.dirty = { queue: true, detail: true, runner: true };
    app.draw();
  },

  keys() {
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "a") { e.preventDefault(); add.open(); }
      else if (e.key === "r") app.openRunner(!app.showRunner);
      else if (e.key === "t") app.theme(app.isDark() ? "light" : "dark");
      else if (e.key === "Escape") { app.openJob(null); app.openRunner(false); }
    });
  },
};

app.start();
