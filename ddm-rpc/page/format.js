// Numbers as people read them: sizes, speeds, durations, times. No dependencies.
"use strict";
const fmt = {
  bytes(n) {
    if (n == null) return "?";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
  },
  speed(n) { return n ? fmt.bytes(n) + "/s" : "0 B/s"; },
  secs(s) {
    if (s == null || !isFinite(s)) return "–";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  },
  eta(job) {
    if (!job.size || !job.speed) return null;
    return (job.size - job.done) / job.speed;
  },
  pct(job) {
    if (job.state === "done") return 100;
    if (!job.size) return 0;
    return Math.min(100, (job.done * 100) / job.size);
  },
  clock(ms) { return new Date(ms).toLocaleTimeString(); },
  // "2M", "500K", "1048576", "" → bytes per second (null: unlimited); NaN when unreadable.
  rate(text) {
    const t = String(text || "").trim();
    if (t === "" || t === "0") return null;
    const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?B)?(?:\/s)?$/.exec(t);
    if (!m) return NaN;
    const mult = { "": 1, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2].toLowerCase()];
    return Math.round(parseFloat(m[1]) * mult);
  },
  host(url) { try { return new URL(url).host; } catch (e) { return url; } },
};
