// The queue: every job (running, the queue in claim order, paused, failed, done), filtered by
// state, several selected for pause / resume / remove, queued jobs reordered by drag or with
// Alt+↑ / Alt+↓ (the runner claims in that order). Rows are kept by GID and only their text
// and widths change, so a redraw five times a second stays cheap.
"use strict";
const queue = {
  filter: "all",
  selected: new Set(),
  rows: new Map(),
  dragging: null,

  // What to do next after a failure, by its kind (the page's words for the CLI's hints).
  HINTS: {
    "probe": "Check the URL and the network; Resume tries again.",
    "auth": "The server wants credentials: add it again from the browser's “Copy as cURL” (its cookies and Authorization come along), or give a fresh URL in its settings.",
    "not-found": "Give the right URL in its settings (progress is kept).",
    "tls": "The server's certificate is not trusted: add it with `ddm add --cacert FILE` on the command line.",
    "transfer": "Resume tries again (progress is kept).",
    "gave-up": "Resume continues (progress is kept).",
    "remote-changed": "The file changed on the server: remove it and add it again for the new version.",
    "storage": "Fix the destination (permissions, mount, size limit), then Resume.",
    "no-space": "Free some space, then Resume.",
    "dir-changed": "Put the directory back, then Resume.",
    "exists": "Move or rename that file, then Resume.",
    "checksum": "Check the expected checksum; remove it and add it again to download again.",
    "store": "Make the job database writable, then Resume.",
    "deadline": "Progress is kept; Resume continues.",
    "internal": "A bug in ddm; Resume tries again.",
  },

  groupOf(state) {
    return { running: 0, queued: 1, paused: 1, waiting: 1, failed: 2, done: 2, removed: 3 }[state] ?? 2;
  },
  shown(job) {
    switch (queue.filter) {
      case "all": return job.state !== "removed";
      case "paused": return job.state === "paused" || job.state === "waiting";
      default: return job.state === queue.filter;
    }
  },
  /** The jobs in the order the runner takes them. */
  ordered(jobs) {
    return [...jobs.values()].sort((a, b) =>
      queue.groupOf(a.state) - queue.groupOf(b.state) ||
      (queue.groupOf(a.state) === 1 ? a.position - b.position : 0) ||
      a.id - b.id);
  },

  init() {
    for (const b of document.querySelectorAll(".filters button")) {
      b.addEventListener("click", () => {
        queue.filter = b.dataset.filter;
        for (const o of document.querySelectorAll(".filters button")) o.classList.toggle("on", o === b);
        app.dirty.queue = true;
      });
    }
    document.getElementById("select-all").addEventListener("change", (e) => {
      for (const job of app.jobs.values()) {
        if (!queue.shown(job)) continue;
        if (e.target.checked) queue.selected.add(job.gid); else queue.selected.delete(job.gid);
      }
      app.dirty.queue = true;
    });
    const act = (id, method, ok) => document.getElementById(id).addEventListener("click", () => {
      const gids = [...queue.selected].filter((g) => app.jobs.has(g) && ok(app.jobs.get(g)));
      Promise.all(gids.map((g) => rpc.call(method, g))).catch(app.fail);
      if (method === "aria2.remove") queue.selected.clear();
      app.dirty.queue = true;
    });
    act("act-pause", "aria2.pause", (j) => ["running", "queued", "waiting"].includes(j.state));
    act("act-resume", "aria2.unpause", (j) => ["paused", "failed", "waiting"].includes(j.state));
    act("act-remove", "aria2.remove", (j) => j.state !== "removed");
  },

  row(job) {
    let li = queue.rows.get(job.gid);
    if (li) return li;
    li = document.createElement("li");
    li.className = "job";
    li.tabIndex = 0;
    li.dataset.gid = job.gid;
    li.innerHTML =
      '<input type="checkbox" class="pick" aria-label="Select">' +
      '<span class="name"></span><span class="grip" title="Drag to reorder (or Alt+↑/↓)" aria-hidden="true">⠿</span>' +
      '<div class="progress"><i></i></div>' +
      '<div class="meta"><span class="state"></span><span class="pct"></span><span class="size"></span>' +
      '<span class="speed"></span><span class="eta"></span><span class="conns"></span><span class="muted jid"></span>' +
      '<button class="pause" type="button">Pause</button><button class="resume" type="button">Resume</button></div>' +
      '<p class="job-error" hidden></p>';
    const gid = job.gid;
    li.querySelector(".pick").addEventListener("click", (e) => {
      e.stopPropagation();
      if (e.target.checked) queue.selected.add(gid); else queue.selected.delete(gid);
      app.dirty.queue = true;
    });
    li.querySelector(".pause").addEventListener("click", (e) => {
      e.stopPropagation();
      rpc.call("aria2.pause", gid).catch(app.fail);
    });
    li.querySelector(".resume").addEventListener("click", (e) => {
      e.stopPropagation();
      rpc.call("aria2.unpause", gid).catch(app.fail);
    });
    li.addEventListener("click", () => app.openJob(gid));
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") app.openJob(gid);
      else if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        queue.move(gid, e.key === "ArrowUp" ? -1 : 1);
      }
    });
    li.addEventListener("dragstart", (e) => {
      queue.dragging = gid;
      li.classList.add("dragging");
      e.dataTransfer.setData("text/plain", gid);
      e.dataTransfer.effectAllowed = "move";
    });
    li.addEventListener("dragend", () => { li.classList.remove("dragging"); queue.dragging = null; });
    li.addEventListener("dragover", (e) => {
      const target = app.jobs.get(gid);
      if (!queue.dragging || queue.dragging === gid || queue.groupOf(target.state) !== 1) return;
      e.preventDefault();
      li.classList.add("drop-before");
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-before"));
    li.addEventListener("drop", (e) => {
      e.preventDefault();
      li.classList.remove("drop-before");
      const from = queue.dragging || e.dataTransfer.getData("text/plain");
      const target = app.jobs.get(gid);
      if (from && target && from !== gid) queue.place(from, target.position);
    });
    queue.rows.set(gid, li);
    return li;
  },

  /** Put job `gid` at place `pos` of the queue. */
  place(gid, pos) {
    rpc.call("aria2.changePosition", gid, pos, "POS_SET").catch(app.fail);
  },
  move(gid, by) {
    const job = app.jobs.get(gid);
    if (job && queue.groupOf(job.state) === 1) {
      rpc.call("aria2.changePosition", gid, by, "POS_CUR").catch(app.fail);
    }
  },

  render() {
    const list = document.getElementById("jobs");
    const jobs = queue.ordered(app.jobs);
    const counts = { all: 0, running: 0, queued: 0, paused: 0, failed: 0, done: 0 };
    for (const j of jobs) {
      if (j.state === "removed") continue;
      counts.all++;
      const k = j.state === "waiting" ? "paused" : j.state;
      if (k in counts) counts[k]++;
    }
    for (const b of document.querySelectorAll(".filters button")) {
      b.querySelector("b").textContent = counts[b.dataset.filter] || "";
    }
    const want = jobs.filter(queue.shown);
    for (const [gid, li] of queue.rows) {
      if (!app.jobs.has(gid)) { li.remove(); queue.rows.delete(gid); queue.selected.delete(gid); }
    }
    let prev = null;
    for (const job of want) {
      const li = queue.row(job);
      queue.fill(li, job);
      const at = prev ? prev.nextSibling : list.firstChild;
      if (at !== li) list.insertBefore(li, at);
      prev = li;
    }
    while (prev ? prev.nextSibling : list.firstChild) (prev ? prev.nextSibling : list.firstChild).remove();
    document.getElementById("empty").hidden = want.length > 0;
    const sel = [...queue.selected].filter((g) => app.jobs.has(g));
    for (const id of ["act-pause", "act-resume", "act-remove"]) document.getElementById(id).disabled = sel.length === 0;
    document.getElementById("selected").textContent = sel.length ? sel.length + " selected" : "";
  },

  fill(li, job) {
    const set = (sel, text) => { const e = li.querySelector(sel); if (e.textContent !== text) e.textContent = text; };
    set(".name", job.name);
    li.title = job.url;
    const st = li.querySelector(".state");
    st.className = "state " + job.state;
    set(".state", job.state);
    const pct = fmt.pct(job);
    li.querySelector(".progress i").style.width = pct.toFixed(1) + "%";
    set(".pct", job.size ? pct.toFixed(1) + "%" : "");
    set(".size", (job.state === "done" ? "" : fmt.bytes(job.done) + " of ") + fmt.bytes(job.size));
    const running = job.state === "running";
    set(".speed", running ? fmt.speed(job.speed) : "");
    const eta = running ? fmt.eta(job) : null;
    set(".eta", eta != null ? "ETA " + fmt.secs(eta) : "");
    set(".conns", running ? job.connections + "/" + job.maxConnections + " conn" : "");
    set(".jid", "#" + job.id);
    li.querySelector(".pick").checked = queue.selected.has(job.gid);
    li.classList.toggle("open", app.open === job.gid);
    const movable = queue.groupOf(job.state) === 1;
    li.draggable = movable;
    li.querySelector(".grip").hidden = !movable;
    li.querySelector(".pause").hidden = !["running", "queued", "waiting"].includes(job.state);
    li.querySelector(".resume").hidden = !["paused", "failed", "waiting"].includes(job.state);
    const err = li.querySelector(".job-error");
    const text = job.error ? job.error.message + " — " + (queue.HINTS[job.error.kind] || "")
      : job.waiting ? "Waiting for a fresh link: " + job.waiting + " — give one in its settings (Set URL)."
      : job.held ? "Held by the schedule (" + job.held + "): it continues when the window ends." : "";
    err.hidden = !text;
    if (err.textContent !== text) err.textContent = text;
  },
};
