//! Many clients at once: every one is answered, and answered right.

use crate::client::*;
use crate::mock::{running, Mock};
use base64::Engine;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn fifty_concurrent_clients_are_all_answered() {
    let s = serve(Mock::with((1..=20).map(running).collect()));
    let addr = s.addr;
    let t = Instant::now();
    let clients: Vec<_> = (0..50)
        .map(|c| {
            std::thread::spawn(move || {
                let mut answered = 0;
                for i in 0..20 {
                    let gid = format!("{:016x}", 1 + (c + i) % 20);
                    match (c + i) % 4 {
                        // AriaNg's poll: the list pages and the global numbers.
                        0 => {
                            let r = ok(addr, "aria2.tellActive", json!([["gid", "status"]]));
                            assert_eq!(r.as_array().unwrap().len(), 20);
                        }
                        1 => {
                            let r = ok(addr, "aria2.tellStatus", json!([gid, ["gid"]]));
                            assert_eq!(r["gid"], gid);
                        }
                        2 => {
                            let p = base64::engine::general_purpose::STANDARD
                                .encode(json!([format!("token:{SECRET}")]).to_string());
                            let q = percent_encoding::utf8_percent_encode(
                                &p,
                                percent_encoding::NON_ALPHANUMERIC,
                            );
                            let r = get(
                                addr,
                                &format!("/jsonrpc?method=aria2.getGlobalStat&id={c}&params={q}"),
                            );
                            assert_eq!(r.json()["id"], c.to_string());
                        }
                        _ => {
                            let mut w = ws(addr, None).unwrap();
                            let a = ws_call(
                                &mut w,
                                &json!({"id": i, "method": "aria2.getServers",
                                "params": [format!("token:{SECRET}"), gid]}),
                                &mut vec![],
                            );
                            assert_eq!(a["result"][0]["servers"].as_array().unwrap().len(), 2);
                        }
                    }
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let total: usize = clients
        .into_iter()
        .map(|c| c.join().expect("a client failed"))
        .sum();
    assert_eq!(total, 50 * 20);
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
}
