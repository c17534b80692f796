// The connection to ddm serve: one WebSocket to /jsonrpc on the page's own origin, calls
// with the token as their first parameter, answers matched by id, and `ddm.onUpdate`
// pushed by the server (after `ddm.subscribe`). Reconnects with a growing pause. The token
// comes from the URL's fragment (#token=…, which ddm serve prints; never sent to a server)
// or the browser's local storage, where it is kept once it worked.
"use strict";
const rpc = {
  token: null,
  ws: null,
  next: 1,
  pending: new Map(),
  handlers: { update: () => {}, open: () => {}, closed: () => {} },
  retry: 500,

  /** The token from the fragment (then removed from the address bar) or local storage. */
  loadToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      this.token = decodeURIComponent(m[1]);
      history.replaceState(null, "", location.pathname + location.search);
    } else {
      this.token = localStorage.getItem("ddm.token");
    }
    return this.token;
  },
  keepToken() { localStorage.setItem("ddm.token", this.token); },
  forgetToken() { localStorage.removeItem("ddm.token"); this.token = null; },

  connect() {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/jsonrpc";
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => { this.retry = 500; this.handlers.open(); };
    ws.onmessage = (e) => this.message(e.data);
    ws.onclose = () => {
      for (const p of this.pending.values()) p.reject(new Error("the connection to ddm serve closed"));
      this.pending.clear();
      if (this.ws !== ws) return;
      this.handlers.closed();
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  },

  message(text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    if (m.method === "ddm.onUpdate") { this.handlers.update(m.params[0]); return; }
    if (m.method) return; // aria2's notifications: the updates carry the same
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  },

  /** Call `method` with the token and `params`; resolves with the result. */
  call(method, ...params) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected to ddm serve (it may have stopped); retrying"));
        return;
      }
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: ["token:" + this.token, ...params] }));
    });
  },
};
