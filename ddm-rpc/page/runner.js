// The whole runner: total speed over the last ten minutes, the global rate cap, the
// connection budget (in all and per host) and jobs at once, all editable live, and the
// connections open to each host by all jobs together.
"use strict";
const runner = {
  init() {
    document.getElementById("runner-open").addEventListener("click", () => app.openRunner(true));
    document.getElementById("runner-close").addEventListener("click", () => app.openRunner(false));
    document.getElementById("r-settings").addEventListener("submit", (e) => {
      e.preventDefault();
      const rate = fmt.rate(document.getElementById("r-rate").value);
      if (Number.isNaN(rate)) { app.fail(new Error("global rate cap: write bytes per second, e.g. 10M (empty: unlimited)")); return; }
      const num = (id) => { const v = document.getElementById(id).value; return v === "" ? null : Number(v); };
      rpc.call("ddm.changeRunner", {
        maxRate: rate || 0, maxConnections: num("r-total"), maxPerHost: num("r-host"), maxActive: num("r-active"),
      }).then((r) => { app.runner = Object.assign(app.runner || {}, r); runner.fillForm(); app.say("runner settings applied"); })
        .catch(app.fail);
    });
  },

  fillForm() {
    const r = app.runner;
    if (!r) return;
    document.getElementById("r-rate").value = r.maxRate ? String(r.maxRate) : "";
    document.getElementById("r-total").value = r.maxConnections;
    document.getElementById("r-host").value = r.maxPerHost;
    document.getElementById("r-active").value = r.maxActive;
  },

  render(now) {
    const r = app.runner;
    if (!r) return;
    job.list("r-numbers", [
      ["speed", fmt.speed(r.speed)],
      ["jobs", r.active + " running, " + r.waiting + " waiting, " + r.stopped + " stopped"],
      ["connections", r.inUse + " open of " + r.maxConnections + " (" + r.maxPerHost + " per host)"],
      ["rate cap", r.maxRate ? fmt.speed(r.maxRate) : "unlimited"],
      ["directory", r.dir],
      ["version", r.version],
    ]);
    graph.draw(document.getElementById("r-graph"), [{ points: app.runnerHistory, color: graph.colors[0], width: 2 }], now);
    const rows = r.hosts.map((h) => "<tr><td>" + esc(h.host) + "</td><td>" + h.open + "</td><td>" + (h.cap ?? "–") + "</td></tr>").join("");
    const body = document.getElementById("r-hosts");
    const html = rows || '<tr><td colspan="3" class="muted">no connection open</td></tr>';
    if (body.dataset.html !== html) { body.innerHTML = html; body.dataset.html = html; }
  },
};
