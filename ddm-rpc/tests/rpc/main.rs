//! ddm-rpc's protocol tests: a front on 127.0.0.1 (a free port) in front of a mock service
//! that records what reaches it, driven over real HTTP and WebSocket with exactly what
//! aria2's clients send (`quirks`), every method's translation (`methods`), the security
//! rules (`security`), WebSocket sessions and notifications (`websocket`), the long lists
//! front-ends poll (`lists`), and many clients at once (`load`).

mod client;
mod lists;
mod load;
mod methods;
mod mock;
mod own;
mod quirks;
mod security;
mod websocket;
