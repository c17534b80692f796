//! Table tests of the retry classifier: every failure class, backoff growth and caps,
//! jitter bounds, Retry-After forms, attempt limits and the budget.

use super::*;

/// 2025-01-01T00:00:00Z.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600)
}

fn http(status: u16) -> Failure {
    Failure::Http {
        status,
        retry_after: None,
    }
}

fn http_after(status: u16, value: &str) -> Failure {
    Failure::Http {
        status,
        retry_after: Some(value.to_string()),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn classification_table() {
    // (failure, retryable, throttle)
    let table: Vec<(Failure, bool, bool)> = vec![
        (Failure::ConnectRefused, true, false),
        (Failure::ConnectTimeout, true, false),
        (Failure::Resolve, true, false),
        (Failure::Reset, true, false),
        (Failure::Timeout, true, false),
        (Failure::Partial, true, false),
        (Failure::Tls(String::new()), false, false),
        (Failure::Proxy("proxy p: 407".into()), false, false),
        (
            Failure::InvalidResponse("bad Content-Range".into()),
            true,
            false,
        ),
        (
            Failure::Storage(crate::storage::StorageError::io(
                "write",
                std::path::Path::new("/x"),
                &std::io::Error::from_raw_os_error(libc::ENOSPC),
            )),
            false,
            false,
        ),
        (Failure::Other("boom".into()), false, false),
        (http(408), true, false),
        (http(429), true, true),
        (http(500), true, false),
        (http(502), true, false),
        (http(503), true, true),
        (http(504), true, false),
        (http(400), false, false),
        (http(401), false, false),
        (http(403), false, false),
        (http(404), false, false),
        (http(405), false, false),
        (http(410), false, false),
        (http(416), false, false),
        (http(451), false, false),
        (http(499), false, false),
        (http(501), false, false),
        (http(505), false, false),
        (http(507), false, false),
        (http(511), false, false),
        (http(599), false, false),
        (http(200), false, false),
        (http(206), false, false),
        (http(304), false, false),
        (http(0), false, false),
        (http(999), false, false),
    ];
    let policy = Policy::default();
    for (f, retryable, throttle) in &table {
        assert_eq!(is_retryable(f), *retryable, "is_retryable({f:?})");
        assert_eq!(is_throttle(f), *throttle, "is_throttle({f:?})");
        let d = decide(f, 1, &policy, 0.0, now());
        if *retryable {
            assert_eq!(d, Decision::Retry(ms(250)), "decide({f:?})");
        } else {
            assert_eq!(d, Decision::GiveUp, "decide({f:?})");
        }
    }
}

#[test]
fn final_failures_give_up_even_with_retry_after() {
    let policy = Policy::default();
    for status in [400, 403, 404, 501] {
        let f = http_after(status, "1");
        assert_eq!(decide(&f, 1, &policy, 0.5, now()), Decision::GiveUp);
    }
}

#[test]
fn backoff_grows_exponentially_then_caps() {
    let policy = Policy::default();
    // jitter 0 gives exactly half the capped backoff.
    let expected = [
        (1, 250),
        (2, 500),
        (3, 1_000),
        (4, 2_000),
        (5, 4_000),
        (6, 8_000),
        (7, 15_000), // 32 s capped at 30 s
        (8, 15_000),
    ];
    for (attempt, want) in expected {
        assert_eq!(
            decide(&Failure::Reset, attempt, &policy, 0.0, now()),
            Decision::Retry(ms(want)),
            "attempt {attempt}"
        );
    }
}

#[test]
fn backoff_saturates_for_huge_attempts() {
    let policy = Policy {
        max_attempts: u32::MAX,
        ..Policy::default()
    };
    for attempt in [31, 32, 33, 64, 1_000, u32::MAX] {
        assert_eq!(
            decide(&Failure::Timeout, attempt, &policy, 0.0, now()),
            Decision::Retry(ms(15_000)),
            "attempt {attempt}"
        );
    }
    // Even with no cap at all, nothing overflows or panics.
    let uncapped = Policy {
        base: Duration::MAX,
        max_delay: Duration::MAX,
        max_attempts: u32::MAX,
        ..Policy::default()
    };
    for jitter in [0.0, 0.5, 0.999_999] {
        match decide(&Failure::Timeout, u32::MAX, &uncapped, jitter, now()) {
            Decision::Retry(d) => assert!(d >= Duration::MAX / 4),
            Decision::GiveUp => panic!("gave up"),
        }
    }
}

#[test]
fn attempt_zero_is_treated_as_first() {
    let policy = Policy::default();
    assert_eq!(
        decide(&Failure::Reset, 0, &policy, 0.0, now()),
        Decision::Retry(ms(250))
    );
}

#[test]
fn jitter_stays_within_half_to_full_backoff() {
    let policy = Policy::default();
    for attempt in 1..=8 {
        let full = policy
            .base
            .saturating_mul(1 << (attempt - 1))
            .min(policy.max_delay);
        for i in 0..100 {
            let jitter = f64::from(i) / 100.0;
            let Decision::Retry(d) = decide(&Failure::Partial, attempt, &policy, jitter, now())
            else {
                panic!("gave up at attempt {attempt}");
            };
            assert!(d >= full / 2, "attempt {attempt} jitter {jitter}: {d:?}");
            assert!(d < full, "attempt {attempt} jitter {jitter}: {d:?}");
            assert!(d <= policy.max_delay);
        }
    }
    // Just below 1: close to the full backoff, never above it.
    let Decision::Retry(d) = decide(&Failure::Partial, 1, &policy, 0.999_999, now()) else {
        panic!("gave up");
    };
    assert!(d > ms(499) && d < ms(500), "{d:?}");
    // Midpoint.
    assert_eq!(
        decide(&Failure::Partial, 2, &policy, 0.5, now()),
        Decision::Retry(ms(750))
    );
}

#[test]
fn out_of_range_jitter_is_clamped() {
    let policy = Policy::default();
    for (jitter, want) in [
        (-1.0, ms(250)),
        (f64::NAN, ms(250)),
        (f64::NEG_INFINITY, ms(250)),
        (1.0, ms(500)),
        (7.0, ms(500)),
        (f64::INFINITY, ms(500)),
    ] {
        assert_eq!(
            decide(&Failure::Reset, 1, &policy, jitter, now()),
            Decision::Retry(want),
            "jitter {jitter}"
        );
    }
}

#[test]
fn attempts_past_max_give_up() {
    let policy = Policy {
        max_attempts: 4,
        ..Policy::default()
    };
    for f in [
        Failure::ConnectRefused,
        Failure::Reset,
        http(503),
        http_after(429, "5"),
    ] {
        for attempt in 1..=4 {
            assert!(
                matches!(decide(&f, attempt, &policy, 0.3, now()), Decision::Retry(_)),
                "{f:?} attempt {attempt}"
            );
        }
        for attempt in [5, 6, 100, u32::MAX] {
            assert_eq!(
                decide(&f, attempt, &policy, 0.3, now()),
                Decision::GiveUp,
                "{f:?} attempt {attempt}"
            );
        }
    }
    let never = Policy {
        max_attempts: 0,
        ..Policy::default()
    };
    assert_eq!(
        decide(&Failure::Reset, 1, &never, 0.0, now()),
        Decision::GiveUp
    );
}

#[test]
fn resolve_and_invalid_response_get_a_few_attempts_only() {
    let policy = Policy::default();
    for f in [Failure::Resolve, Failure::InvalidResponse("x".into())] {
        for attempt in 1..=3 {
            assert!(
                matches!(decide(&f, attempt, &policy, 0.0, now()), Decision::Retry(_)),
                "{f:?} attempt {attempt}"
            );
        }
        assert_eq!(decide(&f, 4, &policy, 0.0, now()), Decision::GiveUp);
    }
    // A stricter policy still wins.
    let strict = Policy {
        max_attempts: 1,
        ..Policy::default()
    };
    assert!(matches!(
        decide(&Failure::Resolve, 1, &strict, 0.0, now()),
        Decision::Retry(_)
    ));
    assert_eq!(
        decide(&Failure::Resolve, 2, &strict, 0.0, now()),
        Decision::GiveUp
    );
}

#[test]
fn retry_after_wins_over_backoff() {
    let policy = Policy::default();
    for status in [408, 429, 500, 502, 503, 504] {
        // Longer than the backoff, and on a late attempt shorter than it;
        // jitter does not apply.
        assert_eq!(
            decide(&http_after(status, "7"), 1, &policy, 0.9, now()),
            Decision::Retry(Duration::from_secs(7)),
            "status {status}"
        );
        assert_eq!(
            decide(&http_after(status, "1"), 8, &policy, 0.9, now()),
            Decision::Retry(Duration::from_secs(1)),
            "status {status}"
        );
    }
    // Retry-After: 0 means right away.
    assert_eq!(
        decide(&http_after(503, "0"), 3, &policy, 0.9, now()),
        Decision::Retry(Duration::ZERO)
    );
    // As an HTTP-date.
    assert_eq!(
        decide(
            &http_after(429, "Wed, 01 Jan 2025 00:00:42 GMT"),
            1,
            &policy,
            0.0,
            now()
        ),
        Decision::Retry(Duration::from_secs(42))
    );
}

#[test]
fn retry_after_is_capped() {
    let policy = Policy::default();
    for value in [
        "301",
        "86400",
        "18446744073709551615",
        "99999999999999999999999999",
        "Thu, 01 Jan 2026 00:00:00 GMT",
    ] {
        assert_eq!(
            decide(&http_after(503, value), 1, &policy, 0.0, now()),
            Decision::Retry(policy.max_retry_after),
            "{value}"
        );
    }
    assert_eq!(
        decide(&http_after(503, "300"), 1, &policy, 0.0, now()),
        Decision::Retry(Duration::from_secs(300))
    );
}

#[test]
fn unusable_retry_after_falls_back_to_backoff() {
    let policy = Policy::default();
    for value in ["", "soon", "-1", "1.5", "+5"] {
        assert_eq!(
            decide(&http_after(503, value), 2, &policy, 0.0, now()),
            Decision::Retry(ms(500)),
            "{value:?}"
        );
    }
}

#[test]
fn parse_retry_after_delta_seconds() {
    let n = now();
    let table: &[(&str, Option<Duration>)] = &[
        ("0", Some(Duration::ZERO)),
        ("1", Some(Duration::from_secs(1))),
        ("120", Some(Duration::from_secs(120))),
        ("007", Some(Duration::from_secs(7))),
        ("  30 ", Some(Duration::from_secs(30))),
        ("\t5", Some(Duration::from_secs(5))),
        ("18446744073709551615", Some(Duration::from_secs(u64::MAX))),
        ("18446744073709551616", Some(Duration::from_secs(u64::MAX))),
        (
            "99999999999999999999999999999999",
            Some(Duration::from_secs(u64::MAX)),
        ),
        ("", None),
        ("   ", None),
        ("-1", None),
        ("+5", None),
        ("1.5", None),
        ("1e3", None),
        ("5 s", None),
        ("0x10", None),
        ("soon", None),
        ("١٢", None), // non-ASCII digits
    ];
    for (value, want) in table {
        assert_eq!(parse_retry_after(value, n), *want, "{value:?}");
    }
}

#[test]
fn parse_retry_after_http_dates() {
    let n = now(); // Wed, 01 Jan 2025 00:00:00 GMT
    let table: &[(&str, Option<Duration>)] = &[
        // IMF-fixdate.
        (
            "Wed, 01 Jan 2025 00:00:10 GMT",
            Some(Duration::from_secs(10)),
        ),
        (
            "Wed, 01 Jan 2025 01:02:03 GMT",
            Some(Duration::from_secs(3_723)),
        ),
        (
            "  Thu, 02 Jan 2025 00:00:00 GMT  ",
            Some(Duration::from_secs(86_400)),
        ),
        // Obsolete RFC 850 form.
        (
            "Wednesday, 01-Jan-25 00:00:10 GMT",
            Some(Duration::from_secs(10)),
        ),
        // Obsolete asctime form.
        ("Wed Jan  1 00:00:10 2025", Some(Duration::from_secs(10))),
        // Exactly now, and in the past: retry right away.
        ("Wed, 01 Jan 2025 00:00:00 GMT", Some(Duration::ZERO)),
        ("Tue, 31 Dec 2024 23:59:59 GMT", Some(Duration::ZERO)),
        ("Sat, 01 Jan 2000 00:00:00 GMT", Some(Duration::ZERO)),
        ("Sunday, 06-Nov-94 08:49:37 GMT", Some(Duration::ZERO)),
        ("Sun Nov  6 08:49:37 1994", Some(Duration::ZERO)),
        // Garbage and near misses.
        ("Wed, 01 Jan 2025 00:00:10", None),
        ("Wed, 01 Jan 2025 25:00:00 GMT", None),
        ("Wed, 32 Jan 2025 00:00:00 GMT", None),
        ("2025-01-01T00:00:10Z", None),
        ("tomorrow", None),
    ];
    for (value, want) in table {
        assert_eq!(parse_retry_after(value, n), *want, "{value:?}");
    }
}

#[test]
fn default_policy() {
    let p = Policy::default();
    assert_eq!(p.base, ms(500));
    assert_eq!(p.max_delay, Duration::from_secs(30));
    assert_eq!(p.max_retry_after, Duration::from_secs(300));
    assert_eq!(p.max_attempts, 8);
}

#[test]
fn budget_counts_down_and_stops() {
    let mut b = Budget::new(3);
    assert_eq!(b.remaining(), 3);
    assert!(b.take());
    assert!(b.take());
    assert_eq!(b.remaining(), 1);
    assert!(b.take());
    assert_eq!(b.remaining(), 0);
    assert!(!b.take());
    assert!(!b.take());
    assert_eq!(b.remaining(), 0);

    let mut empty = Budget::new(0);
    assert!(!empty.take());
    assert_eq!(empty.remaining(), 0);

    // Clones are independent.
    let mut a = Budget::new(1);
    let mut c = a.clone();
    assert!(a.take());
    assert_eq!(c.remaining(), 1);
    assert!(c.take());
    assert!(!a.take());
}

#[test]
fn failures_of_one_burst_take_one_retry() {
    let t0 = Instant::now();
    let mut b = Budget::new(2);
    // 64 connections broken by one outage: one retry.
    for i in 0..64 {
        assert!(b.take_at(t0 + Duration::from_millis(i)));
    }
    assert_eq!(b.remaining(), 1);
    // The next wave, after the backoff: another.
    assert!(b.take_at(t0 + Duration::from_millis(1500)));
    assert!(b.take_at(t0 + Duration::from_millis(2400)));
    assert_eq!(b.remaining(), 0);
    // Spent: a failure after the burst gets nothing.
    assert!(!b.take_at(t0 + Duration::from_millis(2600)));
    assert!(!b.take_at(t0 + Duration::from_secs(60)));
}

#[test]
fn only_broken_connections_coalesce() {
    let t0 = Instant::now();
    let mut b = Budget::new(3);
    assert!(b.take_for(&Failure::Reset, t0));
    assert!(b.take_for(&Failure::ConnectRefused, t0 + Duration::from_millis(10)));
    assert_eq!(b.remaining(), 2);
    // An answer counts each time, in the same second too.
    let five_hundred = Failure::Http {
        status: 500,
        retry_after: None,
    };
    assert!(b.take_for(&five_hundred, t0 + Duration::from_millis(20)));
    assert!(b.take_for(&five_hundred, t0 + Duration::from_millis(30)));
    assert_eq!(b.remaining(), 0);
}
