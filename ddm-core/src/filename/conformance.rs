//! Conformance test against `tests/data/tc2231.json` (the tc2231 / RFC 6266 test cases
//! plus extra cases from KIO and pyrfc6266, each with an expected result).
//!
//! Every case except the `ambiguous` ones is checked. For `filename-sanitized` cases the
//! expectation applies to `sanitize(from_content_disposition(header))`; for all others it
//! must hold both for the raw parse and after `sanitize` (which `choose` always applies),
//! i.e. sanitizing must leave well-formed names alone. Known deviations are listed in
//! [`DEVIATIONS`]; the list must match the actual deviations exactly.

use crate::filename::{from_content_disposition, sanitize};
use serde_json::Value;

/// Cases where ddm knowingly differs from `expected`, with the reason.
const DEVIATIONS: &[(&str, &str)] = &[(
    "pyrfc6266:fix_issue_001",
    "quoted ext-value `filename*=\"utf-8' '100MB.zip\"`: pyrfc6266 deliberately recovers this \
     broken header, but RFC 6266 forbids quoting ext-values and tc2231's attwithfn2231quot / \
     attwithfn2231quot2 (which ddm passes) require ignoring them; ddm falls back to the URL name",
)];

const VERDICTS: &[&str] = &[
    "filename",
    "filename-sanitized",
    "ignore-header",
    "ignore-param",
    "no-filename",
    "ambiguous",
];

#[test]
fn tc2231_conformance() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/tc2231.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let cases: Vec<Value> = serde_json::from_str(&text).expect("tc2231.json is a JSON array");

    let (mut checked, mut passed, mut deviated) = (0, 0, 0);
    let mut problems = Vec::new();
    for case in &cases {
        let field = |key: &str| {
            case[key]
                .as_str()
                .unwrap_or_else(|| panic!("case without {key}: {case}"))
        };
        let (name, header, verdict) = (field("name"), field("header"), field("verdict"));
        assert!(
            VERDICTS.contains(&verdict),
            "{name}: unknown verdict {verdict:?}"
        );
        if verdict == "ambiguous" {
            continue;
        }
        checked += 1;
        let expected = case["expected"].as_str();
        let raw = from_content_disposition(header);
        let sanitized = raw.as_deref().and_then(sanitize);
        let conforms = match verdict {
            "filename-sanitized" => sanitized.as_deref() == expected,
            _ => raw.as_deref() == expected && sanitized.as_deref() == expected,
        };
        let listed = DEVIATIONS.iter().any(|&(n, _)| n == name);
        match (conforms, listed) {
            (true, false) => passed += 1,
            (false, true) => deviated += 1,
            (false, false) => problems.push(format!(
                "{name} ({verdict}): header {header:?}: expected {expected:?}, got {raw:?}, sanitized {sanitized:?}"
            )),
            (true, true) => problems.push(format!("{name}: listed in DEVIATIONS but conforms")),
        }
    }
    for (name, _) in DEVIATIONS {
        let known = cases
            .iter()
            .any(|c| c["name"] == *name && c["verdict"] != "ambiguous");
        if !known {
            problems.push(format!(
                "DEVIATIONS lists {name}, which is not a checked case"
            ));
        }
    }
    println!("tc2231: {checked} cases checked, {passed} conform, {deviated} listed deviations");
    assert!(
        problems.is_empty(),
        "tc2231 conformance problems:\n{}",
        problems.join("\n")
    );
    assert_eq!(passed + deviated, checked);
    assert!(checked >= 100, "only {checked} cases found in {path}");
}
