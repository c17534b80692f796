// Adding: URLs (one per line, each its own download), a browser's "Copy as cURL" command
// (read by ddm's own parser, `ddm.addCurl`, as `ddm add --curl` reads it), or a HAR file
// dropped here (picked by `ddm import-har`'s rules, `ddm.addHar`; its response bodies are
// left out before sending: ddm never uses them). The common options go with each.
"use strict";
const add = {
  tab: "urls",
  har: null,

  init() {
    const dlg = document.getElementById("add");
    document.getElementById("add-open").addEventListener("click", () => add.open());
    document.getElementById("add-cancel").addEventListener("click", () => dlg.close());
    for (const b of document.querySelectorAll("#add .tabs button")) {
      b.addEventListener("click", () => add.show(b.dataset.tab));
    }
    document.getElementById("add-form").addEventListener("submit", (e) => { e.preventDefault(); add.submit(); });
    const drop = document.getElementById("add-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files[0]) add.readHar(e.dataTransfer.files[0]);
    });
    document.getElementById("add-har").addEventListener("change", (e) => { if (e.target.files[0]) add.readHar(e.target.files[0]); });
  },

  open() {
    add.error("");
    document.getElementById("add").showModal();
    document.getElementById(add.tab === "urls" ? "add-urls" : add.tab === "curl" ? "add-curl" : "add-drop").focus();
  },

  show(tab) {
    add.tab = tab;
    for (const b of document.querySelectorAll("#add .tabs button")) b.classList.toggle("on", b.dataset.tab === tab);
    for (const p of document.querySelectorAll("#add [data-pane]")) p.hidden = p.dataset.pane !== tab;
  },

  readHar(file) {
    file.text().then((text) => {
      let har;
      try { har = JSON.parse(text); } catch (e) { add.error("that file is not JSON: is it a HAR export?"); return; }
      for (const e of (har.log && har.log.entries) || []) {
        if (e.response && e.response.content) delete e.response.content.text;
        if (e.request && e.request.postData) delete e.request.postData.text;
      }
      add.har = JSON.stringify(har);
      document.getElementById("add-har-name").textContent = file.name + " (" + ((har.log && har.log.entries) || []).length + " requests)";
      add.error("");
    });
  },

  error(text) {
    const p = document.getElementById("add-error");
    p.textContent = text;
    p.hidden = !text;
  },

  /** aria2's options from the form (and ddm's secret-header); throws on a bad value. */
  options() {
    const v = (id) => document.getElementById(id).value.trim();
    const o = {};
    if (v("add-dir")) o.dir = v("add-dir");
    if (v("add-out")) o.out = v("add-out");
    if (v("add-conns")) o.split = v("add-conns");
    if (v("add-rate")) {
      const r = fmt.rate(v("add-rate"));
      if (Number.isNaN(r)) throw new Error("rate cap: write bytes per second, e.g. 500K or 2M");
      o["max-download-limit"] = String(r || 0);
    }
    if (v("add-sum")) {
      const m = /^(sha256|sha512|sha1|md5)\s*[:=]\s*([0-9a-fA-F]+)$/i.exec(v("add-sum").replace(/^sha-/i, "sha"));
      if (!m) throw new Error("checksum: write ALGO:HEX, e.g. sha256:9f86d0…");
      o.checksum = m[1].toLowerCase().replace(/^sha(\d)/, "sha-$1") + "=" + m[2];
    }
    const headers = v("add-headers").split("\n").map((l) => l.trim()).filter(Boolean);
    if (headers.length) o.header = headers;
    const secret = v("add-secret").split(/[\s,]+/).filter(Boolean);
    if (secret.length) o["secret-header"] = secret;
    return o;
  },

  submit() {
    let o;
    try { o = add.options(); } catch (e) { add.error(e.message); return; }
    let calls;
    if (add.tab === "urls") {
      const urls = document.getElementById("add-urls").value.split("\n").map((l) => l.trim()).filter(Boolean);
      if (!urls.length) { add.error("give at least one URL"); return; }
      if (urls.length > 1 && o.out) { add.error("a file name names one file: leave it empty for several URLs"); return; }
      calls = urls.map((u) => rpc.call("aria2.addUri", [u], o));
    } else if (add.tab === "curl") {
      const text = document.getElementById("add-curl").value.trim();
      if (!text) { add.error("paste the command the browser copied"); return; }
      calls = [rpc.call("ddm.addCurl", text, o)];
    } else {
      if (!add.har) { add.error("drop a HAR file first"); return; }
      calls = [rpc.call("ddm.addHar", add.har, o, {
        allowCookies: document.getElementById("add-har-cookies").checked,
        match: document.getElementById("add-har-match").value.trim(),
      })];
    }
    Promise.allSettled(calls).then((rs) => {
      const bad = rs.filter((r) => r.status === "rejected");
      const ok = rs.length - bad.length;
      if (bad.length) {
        add.error(bad.map((r) => r.reason.message).join("; ") + (ok ? " (" + ok + " added)" : ""));
        return;
      }
      for (const id of ["add-urls", "add-curl", "add-out"]) document.getElementById(id).value = "";
      add.har = null;
      document.getElementById("add-har-name").textContent = "";
      document.getElementById("add").close();
      app.say(ok + " added");
    });
  },
};
