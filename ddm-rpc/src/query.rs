//! JSON-RPC over HTTP GET, AriaNg's GET mode and aria2's JSONP:
//! `/jsonrpc?method=M&id=I&params=<base64 of the JSON params array>[&jsoncallback=F]`.
//! Without `method` and `id`, `params` is the base64 of a whole request (a batch). The `id`
//! is a string, as aria2 makes it. Each value is percent-decoded; base64 is read with or
//! without padding, standard or URL-safe.

use crate::envelope::Fault;
use base64::Engine;
use serde_json::{Map, Value};

/// A GET request: the message, and the JSONP callback if one was asked for.
#[derive(Debug)]
pub(crate) struct GetCall {
    pub message: Value,
    pub callback: Option<String>,
}

pub(crate) fn decode(query: &str) -> Result<GetCall, Fault> {
    let (mut method, mut id, mut params, mut callback) = (None, None, None, None);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .map_err(|_| Fault::parse_error())?
            .into_owned();
        match k {
            "method" if !v.is_empty() => method = Some(v),
            "id" if !v.is_empty() => id = Some(v),
            "params" if !v.is_empty() => params = Some(v),
            "jsoncallback" if !v.is_empty() => callback = Some(v),
            _ => {}
        }
    }
    if let Some(cb) = &callback {
        let ok = cb.len() <= 64
            && cb
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_$.".contains(&b));
        if !ok {
            return Err(Fault::method(
                "jsoncallback must be a JavaScript function name (letters, digits, _ $ .)",
            ));
        }
    }
    let params = params.map(|p| json_of_base64(&p)).transpose()?;
    let message = if method.is_none() && id.is_none() {
        params.ok_or_else(Fault::invalid_request)?
    } else {
        let mut m = Map::new();
        if let Some(method) = method {
            m.insert("method".into(), Value::String(method));
        }
        if let Some(id) = id {
            m.insert("id".into(), Value::String(id));
        }
        if let Some(p) = params {
            m.insert("params".into(), p);
        }
        Value::Object(m)
    };
    Ok(GetCall { message, callback })
}

fn json_of_base64(s: &str) -> Result<Value, Fault> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let std = GeneralPurpose::new(&base64::alphabet::STANDARD, cfg);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg);
    let s = s.trim();
    let bytes = std
        .decode(s)
        .or_else(|_| url.decode(s))
        .map_err(|_| Fault::parse_error())?;
    serde_json::from_slice(&bytes).map_err(|_| Fault::parse_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::STANDARD.encode(v.to_string())
    }

    #[test]
    fn ariang_get_mode_becomes_a_call() {
        let params = b64(&json!(["token:s", "0000000000000001"]));
        let q = format!(
            "jsonrpc=2.0&method=aria2.tellStatus&id=7&params={}",
            percent_encoding::utf8_percent_encode(&params, percent_encoding::NON_ALPHANUMERIC)
        );
        let c = decode(&q).unwrap();
        assert_eq!(
            c.message,
            json!({"method": "aria2.tellStatus", "id": "7", "params": ["token:s", "0000000000000001"]})
        );
        assert_eq!(c.callback, None);
    }

    #[test]
    fn params_alone_are_a_whole_request_and_callbacks_are_names() {
        let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "system.listMethods"}]);
        let c = decode(&format!("params={}&jsoncallback=cb_1", b64(&batch))).unwrap();
        assert_eq!(c.message, batch);
        assert_eq!(c.callback.as_deref(), Some("cb_1"));
        assert!(decode("method=x&id=1&jsoncallback=alert(1)").is_err());
        assert_eq!(decode("method=x&id=1&params=!!").unwrap_err().code, -32700);
    }
}
