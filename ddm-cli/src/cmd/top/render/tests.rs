//! `ddm top`'s screen as text: the essential columns whole at every width, names shortened
//! first, columns dropped in order, the selection kept in view, the bottom lines.

use super::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn row(id: i64, state: StateKind, name: &str) -> JobRow {
    JobRow {
        id,
        state,
        percent: None,
        done: 0,
        size: None,
        speed: None,
        connections: None,
        max_connections: None,
        name: name.into(),
        target: format!("/tmp/{name}"),
        error: None,
        waiting: None,
        rule: None,
        held: None,
    }
}

fn sample() -> Vec<JobRow> {
    let long = "ubuntu-24.04.2-desktop-amd64-with-a-really-long-suffix-for-testing.iso";
    vec![
        JobRow {
            percent: Some(45.3),
            done: 29 << 20,
            size: Some(64 << 20),
            speed: Some(3 << 20),
            connections: Some(8),
            max_connections: Some(16),
            ..row(1, StateKind::Running, long)
        },
        JobRow {
            percent: Some(100.0),
            done: 1 << 30,
            size: Some(1 << 30),
            ..row(2, StateKind::Done, "done.bin")
        },
        row(3, StateKind::Queued, "a.bin"),
        JobRow {
            error: Some("server said 404; check the URL".into()),
            ..row(10, StateKind::Failed, "missing.zip")
        },
        JobRow {
            percent: Some(12.5),
            done: 8 << 20,
            size: Some(64 << 20),
            ..row(11, StateKind::Paused, "paused.tar")
        },
    ]
}

/// Render into a test terminal and return its text, line by line.
fn render(rows: &[JobRow], selected: Option<usize>, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let screen = Screen {
        lanes: None,
        rows,
        selected,
        runner_alive: true,
        footer: Footer::Keys,
        schedule: None,
    };
    term.draw(|f| draw(f, &screen)).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn essential_columns_are_whole_at_every_width() {
    for w in [60u16, 80, 200] {
        let screen = render(&sample(), Some(0), w, 12);
        let header = &screen[1];
        for title in ["ID", "STATE", "DONE", "SPEED", "NAME"] {
            assert!(words(header).contains(&title), "{w}: {header:?}");
        }
        let running = screen[2..].iter().find(|l| l.contains("running")).unwrap();
        let cells = words(running);
        assert_eq!(cells[..3], [">", "1", "running"], "{w}: {running:?}");
        assert!(cells.contains(&"45.3%"), "{w}: {running:?}");
        assert!(running.contains("3.0 MiB/s"), "{w}: {running:?}");
        assert!(
            cells.contains(&"12s"),
            "ETA (35 MiB at 3 MiB/s), {w}: {running:?}"
        );
        let paused = screen[2..].iter().find(|l| l.contains("paused")).unwrap();
        assert!(words(paused).contains(&"12.5%"), "{w}: {paused:?}");
        assert!(
            words(paused).contains(&"--"),
            "no speed, no ETA: {paused:?}"
        );
        for l in &screen {
            assert!(l.width() <= w as usize, "{w}: {l:?}");
        }
    }
}

#[test]
fn long_names_are_shortened_first_then_columns_dropped() {
    let wide = render(&sample(), None, 200, 12);
    let long = "ubuntu-24.04.2-desktop-amd64-with-a-really-long-suffix-for-testing.iso";
    assert!(wide.iter().any(|l| l.contains(long)), "{wide:#?}");
    assert!(words(&wide[1]).contains(&"BYTES") && words(&wide[1]).contains(&"CONN"));

    let at80 = render(&sample(), None, 80, 12);
    let r = at80[2..].iter().find(|l| l.contains("running")).unwrap();
    assert!(r.contains('…') && r.ends_with(".iso"), "{r:?}");
    assert!(!r.contains(long));
    // At 80 columns every column still fits next to a shortened name.
    assert!(words(&at80[1]).contains(&"BYTES"), "{:?}", at80[1]);
    assert!(r.contains("29.0 MiB/64.0 MiB"), "{r:?}");

    let at60 = render(&sample(), None, 60, 12);
    let r = at60[2..].iter().find(|l| l.contains("running")).unwrap();
    assert!(r.contains('…'), "{r:?}");
    // The name keeps its minimum width: the optional columns went instead.
    let name = r.split_whitespace().last().unwrap();
    assert!(name.width() >= NAME_MIN, "{r:?}");
    assert!(!words(&at60[1]).contains(&"CONN"), "{:?}", at60[1]);
}

#[test]
fn rows_keep_id_order_and_the_selection_stays_visible() {
    let rows = sample();
    let screen = render(&rows, Some(4), 80, 12);
    let ids: Vec<&str> = screen[2..]
        .iter()
        .filter_map(|l| l.trim_start_matches('>').split_whitespace().next())
        .filter(|w| w.parse::<i64>().is_ok())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "10", "11"]);
    assert!(screen
        .iter()
        .any(|l| l.starts_with("> ") && l.contains("11")));
    assert!(screen[10].starts_with("11: /tmp/paused.tar"), "{screen:#?}");

    // Five rows, room for two (6 lines of 4 are chrome): the last two, selection last.
    let small = render(&rows, Some(4), 80, 6);
    assert!(
        small[2].contains("10 ") && small[3].starts_with("> 11"),
        "{small:#?}"
    );
}

#[test]
fn errors_and_prompts_show_on_the_bottom_lines() {
    let rows = sample();
    let screen = render(&rows, Some(3), 80, 10);
    assert!(
        screen[8].contains("10: error: server said 404"),
        "{screen:#?}"
    );
    assert!(screen[9].contains("q quit"));

    let mut term = Terminal::new(TestBackend::new(60, 8)).unwrap();
    let s = Screen {
        lanes: None,
        rows: &rows,
        selected: Some(0),
        runner_alive: false,
        footer: Footer::Confirm("remove job 1? [y/n]".into()),
        schedule: None,
    };
    term.draw(|f| draw(f, &s)).unwrap();
    let text: String = term
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("remove job 1? [y/n]"));
    assert!(text.contains("no runner"), "{text}");
}

#[test]
fn empty_queue_and_tiny_terminals() {
    let screen = render(&[], None, 60, 6);
    assert!(screen[2].contains("no jobs"), "{screen:#?}");
    // Nothing panics when the terminal is smaller than the chrome.
    let _ = render(&sample(), Some(2), 20, 2);
    let _ = render(&sample(), Some(2), 1, 1);
}

#[test]
fn fit_shortens_in_the_middle() {
    assert_eq!(fit("short", 10), "short");
    assert_eq!(fit("abcdefghijkl", 8), "abcde…kl");
    assert_eq!(fit("abcdefghijkl", 8).width(), 8);
    assert_eq!(fit("abc", 0), "");
    assert_eq!(fit("abc", 1), "…");
    // Wide characters count double and are never split.
    let f = fit("日本語のファイル名.txt", 10);
    assert!(f.width() <= 10 && f.contains('…'), "{f}");
}

#[test]
fn plain_snapshot_is_the_whole_table() {
    let out = plain(&sample(), true, None);
    assert!(out[0].starts_with("ID  STATE"), "{out:#?}");
    assert!(out.iter().any(|l| l.contains("really-long-suffix")));
    assert!(out.iter().any(|l| l.contains("error: server said 404")));
    assert_eq!(
        plain(&[], false, None),
        ["no jobs (queue one with `ddm add URL`)"]
    );
    let stopped = plain(&[row(1, StateKind::Running, "x")], false, None);
    assert!(stopped.last().unwrap().starts_with("note: no runner"));
}

#[test]
fn a_schedule_window_and_a_held_job_are_shown() {
    let mut rows = vec![row(1, StateKind::Paused, "held.iso")];
    rows[0].held = Some("every day 00:00-24:00, queue held".into());
    let out = plain(&rows, true, Some("schedule window 1: queue held"));
    assert_eq!(out[0], "schedule window 1: queue held", "{out:?}");
    assert!(
        out.iter()
            .any(|l| l.contains("held by the schedule: every day 00:00-24:00, queue held")),
        "{out:?}"
    );
    let mut term = Terminal::new(TestBackend::new(120, 8)).unwrap();
    let s = Screen {
        lanes: None,
        rows: &rows,
        selected: Some(0),
        runner_alive: true,
        footer: Footer::Keys,
        schedule: Some("schedule window 1: queue held".into()),
    };
    term.draw(|f| draw(f, &s)).unwrap();
    let text: String = term
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("schedule window 1: queue held"), "{text}");
    assert!(text.contains("(held by the schedule: every day"), "{text}");
}
