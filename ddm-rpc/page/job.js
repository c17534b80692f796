// One job, opened: a lane per open connection (its range in the file, how far it got, its
// speed, time to first byte and source), the completion map of the whole file (pieces done,
// received since the last checkpoint, in flight, missing), the speed graph of the last ten
// minutes (the job's total and each connection's), the log of steals, races, replacements
// and retries, and its settings (rate cap and URL editable live).
"use strict";
const job = {
  lanes: new Map(),

  init() {
    document.getElementById("detail-close").addEventListener("click", () => app.openJob(null));
    document.getElementById("d-settings").addEventListener("submit", (e) => {
      e.preventDefault();
      const rate = fmt.rate(document.getElementById("d-rate").value);
      if (Number.isNaN(rate)) { app.fail(new Error("rate cap: write bytes per second, e.g. 500K or 2M (empty: unlimited)")); return; }
      rpc.call("aria2.changeOption", app.open, { "max-download-limit": String(rate || 0) })
        .then(() => app.say("rate cap set")).catch(app.fail);
    });
    document.getElementById("d-seturl").addEventListener("submit", (e) => {
      e.preventDefault();
      rpc.call("ddm.setUrl", app.open, document.getElementById("d-url").value)
        .then(() => app.say("URL set")).catch(app.fail);
    });
  },

  /** Fill the fields that change only when another job is opened. */
  opened(j) {
    document.getElementById("d-rate").value = j.settings.rate ? String(j.settings.rate) : "";
    document.getElementById("d-url").value = j.url;
    for (const li of job.lanes.values()) li.remove();
    job.lanes.clear();
  },

  render(j, d, now) {
    if (!j) return;
    const set = (id, text) => { const e = document.getElementById(id); if (e.textContent !== text) e.textContent = text; };
    set("d-name", j.name);
    const st = document.getElementById("d-state");
    st.className = "state " + j.state;
    set("d-state", j.state);
    const err = document.getElementById("d-error");
    const text = j.error ? j.error.message + " — " + (queue.HINTS[j.error.kind] || "")
      : j.held ? "Held by the schedule (" + j.held + "): it continues when the window ends."
      : j.waiting || "";
    err.hidden = !text;
    err.textContent = text;
    const eta = j.state === "running" ? fmt.eta(j) : null;
    job.list("d-numbers", [
      ["progress", fmt.pct(j).toFixed(1) + "% · " + fmt.bytes(j.done) + " of " + fmt.bytes(j.size)],
      ["speed", j.state === "running" ? fmt.speed(j.speed) : "–"],
      ["ETA", eta != null ? fmt.secs(eta) : "–"],
      ["connections", j.connections + " open, up to " + j.maxConnections],
    ]);
    const c = d.connections;
    const lanes = c && j.state === "running" ? c.lanes : [];
    set("d-conns", lanes.length ? lanes.length + " open" : "none open");
    job.drawLanes(lanes, c ? c.size : j.size);
    job.drawMap(c, j);
    job.drawGraph(d.history, now);
    job.drawEvents(d.events);
    const s = j.settings;
    job.list("d-fixed", [
      ["directory", j.dir],
      ["rule", j.rule ? (j.rule.name || "rule " + j.rule.index) + ": " + j.rule.why : "none"],
      ["priority", j.priority > 0 ? "high (" + j.priority + ")" : j.priority < 0 ? "low (" + j.priority + ")" : "normal"],
      ["mirrors", j.mirrors.join(" ") || "none"],
      ["connections", s.connections ? "at most " + s.connections : "chosen by ddm"],
      ["checksum", s.checksum || "none"],
      ["login", s.user ? s.user + " / ***" : "none"],
      ["cookies", s.cookies ? s.cookies + " from a file (not shown)" : "none"],
      ...s.headers.map((h) => ["header", h.name + ": " + h.value]),
    ]);
  },

  list(id, pairs) {
    const dl = document.getElementById(id);
    const html = pairs.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("");
    if (dl.dataset.html !== html) { dl.innerHTML = html; dl.dataset.html = html; }
  },

  drawLanes(lanes, size) {
    const box = document.getElementById("d-lanes");
    const seen = new Set();
    lanes.forEach((l, i) => {
      seen.add(l.id);
      let row = job.lanes.get(l.id);
      if (!row) {
        row = document.createElement("div");
        row.className = "lane";
        row.setAttribute("role", "listitem");
        row.innerHTML = '<span class="lid"></span><div class="track"><div class="span"></div><div class="got"></div></div>' +
          '<span class="lspeed"></span><span class="ttfb"></span><span class="src"></span>';
        job.lanes.set(l.id, row);
      }
      row.dataset.from = l.from; row.dataset.to = l.to; row.dataset.pos = l.pos;
      const pc = (v) => (size ? (v * 100) / size : 0).toFixed(3) + "%";
      const span = row.querySelector(".span");
      span.style.left = pc(l.from); span.style.width = pc(l.to - l.from);
      const got = row.querySelector(".got");
      got.style.left = pc(l.from); got.style.width = pc(l.pos - l.from);
      row.querySelector(".lid").textContent = "#" + l.id;
      row.querySelector(".lspeed").textContent = fmt.speed(l.speed);
      row.querySelector(".ttfb").textContent = l.ttfbMs != null ? "ttfb " + l.ttfbMs + " ms" : "ttfb –";
      row.querySelector(".src").textContent =
        fmt.bytes(l.from) + " – " + fmt.bytes(l.to) + " (" + (l.to > l.from ? Math.floor(((l.pos - l.from) * 100) / (l.to - l.from)) : 100) + "%) from " + l.url;
      if (box.children[i] !== row) box.insertBefore(row, box.children[i] || null);
    });
    for (const [id, row] of job.lanes) if (!seen.has(id)) { row.remove(); job.lanes.delete(id); }
  },

  /** Pieces done (bitfield), then over them what each lane received and what it has in flight. */
  drawMap(c, j) {
    const canvas = document.getElementById("d-map");
    const { ctx, w, h } = graph.fit(canvas);
    const css = getComputedStyle(document.documentElement);
    const color = (n) => css.getPropertyValue(n).trim();
    ctx.fillStyle = color("--miss");
    ctx.fillRect(0, 0, w, h);
    const size = (c && c.size) || j.size;
    if (j.state === "done") { ctx.fillStyle = color("--done"); ctx.fillRect(0, 0, w, h); return; }
    if (!c || !size) return;
    const x = (b) => (b / size) * w;
    if (c.bitfield && c.numPieces) {
      ctx.fillStyle = color("--done");
      const per = c.pieceLength;
      for (let i = 0; i < c.numPieces; i++) {
        const byte = parseInt(c.bitfield.substr((i >> 3) * 2, 2), 16);
        if (byte & (0x80 >> (i & 7))) {
          const a = x(i * per), b = x(Math.min(size, (i + 1) * per));
          ctx.fillRect(a, 0, Math.max(b - a, 0.5), h);
        }
      }
    }
    for (const l of c.lanes) {
      ctx.fillStyle = color("--flight");
      ctx.fillRect(x(l.pos), 0, Math.max(x(l.to) - x(l.pos), 0.5), h);
      ctx.fillStyle = color("--recv");
      ctx.fillRect(x(l.from), 0, Math.max(x(l.pos) - x(l.from), 0), h);
    }
  },

  drawGraph(history, now) {
    const lanes = new Map();
    const total = [];
    for (const [t, s, ls] of history) {
      total.push([t, s]);
      for (const [id, v] of ls) {
        if (!lanes.has(id)) lanes.set(id, []);
        lanes.get(id).push([t, v]);
      }
    }
    const series = [{ points: total, color: graph.colors[0], width: 2 }];
    let i = 1;
    for (const pts of lanes.values()) series.push({ points: pts, color: graph.colors[i++ % graph.colors.length] + "99", width: 1 });
    graph.draw(document.getElementById("d-graph"), series, now);
  },

  drawEvents(events) {
    const ol = document.getElementById("d-events");
    if (ol.dataset.count === String(events.length) && ol.dataset.last === String(events.length && events[events.length - 1].seq)) return;
    ol.dataset.count = events.length;
    ol.dataset.last = events.length && events[events.length - 1].seq;
    ol.innerHTML = "";
    if (!events.length) { ol.innerHTML = '<li class="muted">nothing yet: steals, races, replacements and retries appear here</li>'; return; }
    for (const e of events.slice(-100).reverse()) {
      const li = document.createElement("li");
      li.dataset.kind = e.kind;
      const time = document.createElement("time");
      time.textContent = fmt.clock(e.t);
      li.append(time, document.createTextNode(job.say(e)));
      ol.append(li);
    }
  },

  say(e) {
    const b = fmt.bytes;
    switch (e.kind) {
      case "steal": return "steal: an idle connection took " + b(e.at) + " – " + b(e.end) + " from the range at " + b(e.from);
      case "race": return "race: a second request for the slow tail " + b(e.from) + " – " + b(e.to);
      case "race-ended": return "race " + (e.won ? "won by the second request" : "ended, the owner finished first") + " (" + b(e.from) + " – " + b(e.to) + ")";
      case "replaced": return "replaced a slow connection (" + fmt.speed(e.speed) + ") at " + b(e.from);
      case "retry": return "retry #" + e.attempt + " of the range at " + b(e.from) + " in " + fmt.secs(e.delayMs / 1000) + ": " + e.why;
      default: return e.kind;
    }
  },
};

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
