//! JSON-RPC 2.0 messages as aria2 reads and writes them: one call (an object) or a batch (an
//! array), over HTTP or WebSocket alike.
//!
//! Accepted as real clients send it: `"jsonrpc"` unchecked (a number `2.0`, the key
//! `"json-rpc"`, or absent), `params` omitted or `null`. `id` is required (any JSON value,
//! `null` included); named params are refused (-32602). Answers: `{"id", "jsonrpc": "2.0",
//! "result"}` or `{"id", "jsonrpc": "2.0", "error": {"code", "message"}}`; a method's error is
//! code 1. The HTTP status of a single call: 200, or 400 for code 1 and -32600, 404 for
//! -32601, 500 otherwise (aria2's); a batch is always 200.
//!
//! Answers are written as text on the thread that ran the call (a front-end polls lists of a
//! thousand jobs several times a second: none of that work lands on the connections' threads),
//! and a method may hand its result over as text already ([`Json::Text`]).

use crate::methods::{self, Ctx, Via};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// An error answer: a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub code: i64,
    pub message: String,
}

impl Fault {
    /// A method's error (code 1).
    pub(crate) fn method(message: impl Into<String>) -> Fault {
        Fault {
            code: 1,
            message: message.into(),
        }
    }
    pub(crate) fn parse_error() -> Fault {
        Fault {
            code: -32700,
            message: "Parse error.".into(),
        }
    }
    pub(crate) fn invalid_request() -> Fault {
        Fault {
            code: -32600,
            message: "Invalid Request.".into(),
        }
    }
    fn invalid_params() -> Fault {
        Fault {
            code: -32602,
            message: "Invalid params.".into(),
        }
    }
    fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
    /// The HTTP status of a single call that failed with this.
    fn http_status(&self) -> u16 {
        match self.code {
            1 | -32600 => 400,
            -32601 => 404,
            _ => 500,
        }
    }
}

/// A method's result: a value, or JSON text written already (the job lists, serialized
/// straight from the jobs without a `Value` tree).
#[derive(Debug)]
pub(crate) enum Json {
    Value(Value),
    /// Valid JSON text (shared: a list answer is given to every client that asks the same).
    Text(Arc<str>),
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json::Value(v)
    }
}

impl Json {
    pub(crate) fn push_to(&self, out: &mut String) {
        match self {
            Json::Value(v) => out.push_str(&v.to_string()),
            Json::Text(t) => out.push_str(t),
        }
    }
}

/// What to send back.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The JSON text.
    pub body: String,
    pub status: u16,
    /// A call in it had a wrong or missing token: hold the answer back.
    pub unauthorized: bool,
}

impl Reply {
    pub(crate) fn fault(f: Fault) -> Reply {
        Reply {
            status: f.http_status(),
            body: answer(Value::Null, Err(f)),
            unauthorized: false,
        }
    }
}

/// Answer a message's bytes.
pub(crate) fn reply(ctx: &Ctx, raw: &[u8], via: Via) -> Reply {
    match serde_json::from_slice::<Value>(raw) {
        Ok(v) => reply_value(ctx, v, via),
        Err(_) => Reply::fault(Fault::parse_error()),
    }
}

/// Answer a parsed message: one call or a batch.
pub(crate) fn reply_value(ctx: &Ctx, v: Value, via: Via) -> Reply {
    match v {
        Value::Object(call) => {
            let mut denied = false;
            let (body, fault) = one(ctx, call, &mut denied, via);
            Reply {
                status: fault.map_or(200, |f| f.http_status()),
                body,
                unauthorized: denied,
            }
        }
        Value::Array(calls) => {
            let mut denied = false;
            let mut body = String::from("[");
            for (i, c) in calls.into_iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&match c {
                    Value::Object(call) => one(ctx, call, &mut denied, via).0,
                    _ => answer(Value::Null, Err(Fault::invalid_request())),
                });
            }
            body.push(']');
            Reply {
                body,
                status: 200,
                unauthorized: denied,
            }
        }
        _ => Reply::fault(Fault::invalid_request()),
    }
}

/// One call: its answer, and its fault if it failed.
fn one(
    ctx: &Ctx,
    mut call: Map<String, Value>,
    denied: &mut bool,
    via: Via,
) -> (String, Option<Fault>) {
    let Some(id) = call.remove("id") else {
        let f = Fault::invalid_request();
        return (answer(Value::Null, Err(f.clone())), Some(f));
    };
    let fail = |id, f: Fault| (answer(id, Err(f.clone())), Some(f));
    let Some(Value::String(method)) = call.remove("method") else {
        return fail(id, Fault::invalid_request());
    };
    let params = match call.remove("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(p)) => p,
        Some(_) => return fail(id, Fault::invalid_params()),
    };
    match methods::call(ctx, &method, params, denied, via) {
        Ok(v) => (answer(id, Ok(v)), None),
        Err(f) => fail(id, f),
    }
}

/// `{"id": …, "jsonrpc": "2.0", "result": …}` or `… "error": {"code", "message"}}`.
fn answer(id: Value, r: Result<Json, Fault>) -> String {
    let mut out = String::with_capacity(64);
    out.push_str("{\"id\":");
    out.push_str(&id.to_string());
    out.push_str(",\"jsonrpc\":\"2.0\",");
    match r {
        Ok(v) => {
            out.push_str("\"result\":");
            v.push_to(&mut out);
        }
        Err(f) => {
            out.push_str("\"error\":");
            out.push_str(&f.to_json().to_string());
        }
    }
    out.push('}');
    out
}
