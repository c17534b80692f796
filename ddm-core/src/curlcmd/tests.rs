//! Commands as the browsers copy them (the formats of Chrome's and Firefox's DevTools).

use super::*;

fn names(j: &CurlJob) -> Vec<(&str, &str)> {
    j.headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect()
}

#[test]
fn chrome_bash() {
    let text = r#"curl 'https://files.example/get/big.iso?sig=abc' \
  -H 'accept: text/html,application/xhtml+xml' \
  -H 'accept-language: en-US,en;q=0.9' \
  -b 'session=s3cr3t; theme=dark' \
  -H 'authorization: Bearer tok' \
  -H 'referer: https://files.example/' \
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \
  -H 'accept-encoding: gzip, deflate, br' \
  -H $'x-note: it\'s' \
  --compressed"#;
    let j = parse(text).unwrap();
    assert_eq!(j.url, "https://files.example/get/big.iso?sig=abc");
    assert_eq!(
        names(&j),
        vec![
            ("accept", "text/html,application/xhtml+xml"),
            ("accept-language", "en-US,en;q=0.9"),
            ("authorization", "Bearer tok"),
            ("referer", "https://files.example/"),
            ("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
            ("x-note", "it's"),
            ("Cookie", "session=s3cr3t; theme=dark"),
        ]
    );
    assert!(j.ignored.contains(&"--compressed".to_string()));
    assert!(j.ignored.contains(&"accept-encoding header".to_string()));
    // Cookie and Authorization are credentials: scoped to the URL's origin by the job.
    assert!(j
        .headers
        .iter()
        .filter(|h| h.name == "Cookie" || h.name == "authorization")
        .all(Header::is_secret));
}

#[test]
fn chrome_cmd() {
    let text = "curl ^\"https://files.example/a.zip?x=1^&y=2^\" ^\n  -H ^\"accept: */*^\" ^\n  -b ^\"sid=abc^\" ^\n  -H ^\"user-agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)^\" ^\n  --compressed";
    let j = parse(text).unwrap();
    assert_eq!(j.url, "https://files.example/a.zip?x=1&y=2");
    assert_eq!(
        names(&j),
        vec![
            ("accept", "*/*"),
            ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            ("Cookie", "sid=abc"),
        ]
    );
}

#[test]
fn firefox_bash_and_cmd() {
    let bash = "curl 'http://127.0.0.1:8080/f.bin' -H 'User-Agent: Mozilla/5.0 Firefox/128.0' -H 'Accept: */*' -H 'Connection: keep-alive' -H 'Cookie: a=1; b=2' -H 'Sec-Fetch-Mode: navigate' -H 'Priority: u=0, i'";
    let j = parse(bash).unwrap();
    assert_eq!(j.url, "http://127.0.0.1:8080/f.bin");
    assert_eq!(
        names(&j),
        vec![
            ("User-Agent", "Mozilla/5.0 Firefox/128.0"),
            ("Accept", "*/*"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Priority", "u=0, i"),
            ("Cookie", "a=1; b=2"),
        ]
    );
    let cmd = "curl ^\"http://127.0.0.1:8080/f.bin^\" ^\n -H ^\"Cookie: a=1; b=2^\" ^\n -H ^\"Authorization: Basic dTpw^\"";
    let j = parse(cmd).unwrap();
    assert_eq!(
        names(&j),
        vec![("Authorization", "Basic dTpw"), ("Cookie", "a=1; b=2")]
    );
}

#[test]
fn logins_and_options() {
    let j = parse("curl -u 'me:pa ss' -k --http1.1 -o out.bin -A agent -e https://r/ https://h/x")
        .unwrap();
    assert_eq!(
        j.user
            .as_ref()
            .map(|u| (u.user.as_str(), u.password.as_str())),
        Some(("me", "pa ss"))
    );
    assert!(j.insecure && j.http1);
    assert_eq!(j.output.as_deref(), Some("out.bin"));
    assert_eq!(
        names(&j),
        vec![("User-Agent", "agent"), ("Referer", "https://r/")]
    );
    // The Debug form never shows a credential.
    let shown = format!("{j:?}");
    assert!(!shown.contains("pa ss"), "{shown}");
}

#[test]
fn refusals_say_what_to_do() {
    for (text, says) in [
        ("wget https://h/x", "not a curl command"),
        ("curl", "no URL"),
        ("curl https://h/x --data-raw 'a=1'", "sends a body"),
        ("curl -X POST https://h/x", "sends POST"),
        ("curl https://h/x https://h/y", "more than one URL"),
        ("curl ftp://h/x", "http"),
        ("curl https://h/x -b cookies.txt", "--load-cookies"),
        ("curl https://h/x --proxy http://p:1", "--proxy"),
        ("curl 'https://h/x", "not closed"),
    ] {
        let e = parse(text).unwrap_err();
        assert!(e.contains(says), "{text}: {e}");
    }
    // A broken secret header is refused without repeating it.
    let e = parse("curl https://h/x -H 'Authorization Bearer SECRET'").unwrap_err();
    assert!(!e.contains("SECRET"), "{e}");
}
