//! The config's parsing and checks: defaults, every key, every refusal.

use super::*;

fn p() -> &'static Path {
    Path::new("/h/config.toml")
}

#[test]
fn empty_file_gives_defaults() {
    assert_eq!(Config::parse("", p()).unwrap(), Config::default());
}

#[test]
fn missing_file_gives_defaults() {
    let c = Config::load(Path::new("/nonexistent/ddm/config.toml")).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn keys_override_defaults() {
    let c = Config::parse("connections = 16\nstall_timeout_secs = 5\n", p()).unwrap();
    assert_eq!(c.connections, 16);
    assert_eq!(c.stall_timeout_secs, 5);
    assert_eq!(c.retry_budget, Config::default().retry_budget);
}

#[test]
fn max_rate_takes_bytes_or_units() {
    assert_eq!(
        Config::parse("max_rate = \"10M\"\n", p()).unwrap().max_rate,
        Some(10 << 20)
    );
    assert_eq!(
        Config::parse("max_rate = 4096\n", p()).unwrap().max_rate,
        Some(4096)
    );
    assert_eq!(Config::parse("max_rate = 0\n", p()).unwrap().max_rate, None);
    let e = Config::parse("max_rate = \"fast\"\n", p())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not a rate") && e.contains("/h/config.toml"),
        "{e}"
    );
}

#[test]
fn deadlines_are_off_by_default_and_take_seconds_and_rates() {
    let d = Config::default();
    assert_eq!((d.max_time_secs, d.lowest_speed_limit), (0, None));
    let c = Config::parse(
        "max_time_secs = 3600\nlowest_speed_limit = \"10K\"\nlowest_speed_time_secs = 60\n",
        p(),
    )
    .unwrap();
    assert_eq!(c.max_time_secs, 3600);
    assert_eq!(c.lowest_speed_limit, Some(10 << 10));
    assert_eq!(c.lowest_speed_time_secs, 60);
    let e = Config::parse("lowest_speed_time_secs = 0\n", p())
        .unwrap_err()
        .to_string();
    assert!(e.contains("lowest_speed_time_secs"), "{e}");
}

#[test]
fn log_sizes_take_units() {
    let c = Config::parse("log_max_size = \"64K\"\nlog_keep = 0\n", p()).unwrap();
    assert_eq!((c.log_max_size, c.log_keep), (64 << 10, 0));
    for bad in [
        "log_max_size = 10",
        "log_max_size = \"big\"",
        "log_keep = 101",
    ] {
        let e = Config::parse(bad, p()).unwrap_err().to_string();
        assert!(e.contains("log_") && e.contains("/h/config.toml"), "{e}");
    }
}

#[test]
fn free_space_takes_sizes_and_shares() {
    let c = Config::parse("min_free_space = \"1G\"\nlog_max_size = \"64K\"\n", p()).unwrap();
    assert_eq!(c.min_free_space, Some(FreeSpace::Bytes(1 << 30)));
    assert_eq!(c.log_max_size, 64 << 10);
    let c = Config::parse("min_free_space = \"2.5%\"\n", p()).unwrap();
    assert_eq!(FreeSpace::bytes(c.min_free_space, 1000), 25);
    let c = Config::parse("min_free_space = 0\n", p()).unwrap();
    assert_eq!(FreeSpace::bytes(c.min_free_space, 1 << 40), 0);
    // The default: 64 MiB on a big disk, 5% of a small one.
    assert_eq!(FreeSpace::bytes(None, 1 << 40), 64 << 20);
    assert_eq!(FreeSpace::bytes(None, 20 << 20), 1 << 20);
    for bad in [
        "min_free_space = \"lots\"",
        "min_free_space = \"90%\"",
        "log_max_size = 10",
    ] {
        let e = Config::parse(bad, p()).unwrap_err().to_string();
        assert!(e.contains("/h/config.toml"), "{e}");
    }
}

#[test]
fn unknown_key_names_key_and_file() {
    let e = Config::parse("conections = 4\n", p())
        .unwrap_err()
        .to_string();
    assert!(e.contains("conections"), "{e}");
    assert!(e.contains("/h/config.toml"), "{e}");
}

#[test]
fn bad_value_names_key_and_file() {
    let e = Config::parse("connections = 0\n", p())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("connections") && e.contains("/h/config.toml"),
        "{e}"
    );
    let e = Config::parse("connections = \"many\"\n", p())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/h/config.toml"), "{e}");
}
