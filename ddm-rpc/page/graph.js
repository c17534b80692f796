// Speed graphs drawn on a canvas by our own code: one series or several (a job's total and
// each connection's), the last ten minutes, scaled to the highest point, with the time axis
// in minutes ago. Redrawn only when asked (the app asks on an animation frame).
"use strict";
const graph = {
  WINDOW_MS: 10 * 60 * 1000,
  colors: ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"],

  /** Size the canvas to its box (sharp on high-density screens); its 2D context. */
  fit(canvas) {
    const r = window.devicePixelRatio || 1;
    const w = Math.max(100, canvas.clientWidth);
    const h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
      canvas.width = Math.round(w * r);
      canvas.height = Math.round(h * r);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return { ctx, w, h };
  },

  /** `series`: [{points: [[t, v], …], color, width}], the first drawn last (on top). */
  draw(canvas, series, now) {
    const { ctx, w, h } = graph.fit(canvas);
    const css = getComputedStyle(document.documentElement);
    const line = css.getPropertyValue("--line").trim();
    const muted = css.getPropertyValue("--muted").trim();
    ctx.clearRect(0, 0, w, h);
    const t0 = now - graph.WINDOW_MS;
    let max = 1;
    for (const s of series) for (const [t, v] of s.points) if (t >= t0 && v > max) max = v;
    const pad = { l: 4, r: 4, t: 14, b: 14 };
    const x = (t) => pad.l + ((t - t0) / graph.WINDOW_MS) * (w - pad.l - pad.r);
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
    ctx.strokeStyle = line;
    ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = muted;
    for (let m = 0; m <= 10; m += 2) {
      const xx = x(now - m * 60000);
      ctx.beginPath(); ctx.moveTo(xx, pad.t); ctx.lineTo(xx, h - pad.b); ctx.stroke();
      ctx.fillText(m === 0 ? "now" : "-" + m + " min", Math.min(xx + 2, w - 40), h - 2);
    }
    ctx.fillText(fmt.speed(max), pad.l + 2, 11);
    for (let i = series.length - 1; i >= 0; i--) {
      const s = series[i];
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width || 1;
      ctx.beginPath();
      let started = false;
      for (const [t, v] of s.points) {
        if (t < t0) continue;
        if (started) ctx.lineTo(x(t), y(v)); else { ctx.moveTo(x(t), y(v)); started = true; }
      }
      ctx.stroke();
    }
  },
};
