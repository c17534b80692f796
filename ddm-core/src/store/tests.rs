//! Store unit tests: in-memory for the logic, temp files for open/permission/corruption.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn new_job(url: &str) -> NewJob {
    NewJob {
        url: url.into(),
        dest_dir: PathBuf::from("/tmp/dl"),
        file_name: None,
        settings: JobSettings::default(),
    }
}

#[test]
fn add_get_list_round_trip() {
    let mut s = Store::open_in_memory().unwrap();
    let mut j = new_job("http://a/x.bin");
    j.settings.headers.push(Header::new("X-A", "1"));
    j.settings.connections = Some(4);
    let id = s.add(&j).unwrap();
    let got = s.get(id).unwrap();
    assert_eq!(got.url, "http://a/x.bin");
    assert_eq!(got.state, JobState::Queued);
    assert_eq!(got.settings, j.settings);
    assert_eq!(got.size, None);
    assert!(!got.name_fixed);
    let id2 = s.add(&new_job("http://b/y")).unwrap();
    assert!(id2 > id);
    let all = s.list().unwrap();
    assert_eq!(all.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id, id2]);
}

#[test]
fn unknown_id_is_not_found() {
    let mut s = Store::open_in_memory().unwrap();
    assert!(matches!(s.get(42), Err(StoreError::NotFound(42))));
    assert!(matches!(s.remove(42), Err(StoreError::NotFound(42))));
    assert!(matches!(s.pause(&[42]), Err(StoreError::NotFound(42))));
    assert_eq!(s.state(42).unwrap(), None);
}

#[test]
fn claim_next_takes_oldest_queued_once() {
    let mut s = Store::open_in_memory().unwrap();
    let a = s.add(&new_job("http://a/1")).unwrap();
    let b = s.add(&new_job("http://a/2")).unwrap();
    s.pause(&[a]).unwrap();
    let c = s.claim_next().unwrap().unwrap();
    assert_eq!(c.id, b);
    assert_eq!(c.state, JobState::Running);
    assert!(s.claim_next().unwrap().is_none());
}

#[test]
fn pause_resume_transitions() {
    let mut s = Store::open_in_memory().unwrap();
    let a = s.add(&new_job("http://a/1")).unwrap();
    assert_eq!(s.pause(&[a]).unwrap(), vec![a]);
    assert_eq!(s.state(a).unwrap(), Some(JobState::Paused));
    assert_eq!(s.pause(&[a]).unwrap(), Vec::<i64>::new());
    assert_eq!(s.resume(&[a]).unwrap(), vec![a]);
    assert_eq!(s.state(a).unwrap(), Some(JobState::Queued));
    s.set_state(
        a,
        &JobState::Failed {
            error: "boom".into(),
        },
    )
    .unwrap();
    assert_eq!(s.get(a).unwrap().state.error(), Some("boom"));
    assert_eq!(s.resume(&[a]).unwrap(), vec![a]);
    assert_eq!(s.get(a).unwrap().state, JobState::Queued);
    s.set_state(a, &JobState::Done).unwrap();
    assert!(s.resume(&[a]).unwrap().is_empty(), "done jobs stay done");
}

#[test]
fn recover_running_requeues() {
    let mut s = Store::open_in_memory().unwrap();
    s.add(&new_job("http://a/1")).unwrap();
    let j = s.claim_next().unwrap().unwrap();
    assert_eq!(s.recover_running().unwrap(), 1);
    assert_eq!(s.state(j.id).unwrap(), Some(JobState::Queued));
}

#[test]
fn remote_meta_checkpoint_and_reset() {
    let mut s = Store::open_in_memory().unwrap();
    let id = s.add(&new_job("http://a/1")).unwrap();
    let m = RemoteMeta {
        final_url: "http://b/1".into(),
        file_name: "1.bin".into(),
        size: Some(10 << 20),
        etag: Some("\"e\"".into()),
        last_modified: None,
        ranges: true,
        piece_size: 1 << 20,
    };
    s.save_remote(id, &m, &[0, 0]).unwrap();
    s.checkpoint(id, &[0b1010_0000, 0], 2 << 20, Some(5))
        .unwrap();
    let j = s.get(id).unwrap();
    assert_eq!(j.final_url.as_deref(), Some("http://b/1"));
    assert_eq!(j.size, Some(10 << 20));
    assert_eq!(j.ranges, Some(true));
    assert_eq!(j.bitmap, vec![0b1010_0000, 0]);
    assert_eq!(j.bytes_done, 2 << 20);
    assert_eq!(j.speed, Some(5));
    assert_eq!(j.path(), Some(PathBuf::from("/tmp/dl/1.bin")));
    assert_eq!(j.percent(), Some(20.0));
    s.finish(id, "1 (1).bin", 10 << 20).unwrap();
    let j = s.get(id).unwrap();
    assert_eq!(
        (j.file_name.as_deref(), j.bytes_done),
        (Some("1 (1).bin"), 10 << 20)
    );
    assert_eq!(
        j.bitmap,
        vec![0b1010_0000, 0],
        "the bitmap is left as it was"
    );
    s.reset_progress(id).unwrap();
    let j = s.get(id).unwrap();
    assert_eq!((j.size, j.bytes_done, j.bitmap.len()), (None, 0, 0));
    assert_eq!(j.file_name, None, "a chosen-by-server name is re-chosen");
}

#[test]
fn claimed_paths_exclude_self_and_done() {
    let mut s = Store::open_in_memory().unwrap();
    let mut a = new_job("http://a/1");
    a.file_name = Some("x".into());
    let a = s.add(&a).unwrap();
    let mut b = new_job("http://a/2");
    b.file_name = Some("y".into());
    let b = s.add(&b).unwrap();
    assert_eq!(
        s.claimed_paths(a).unwrap(),
        vec![PathBuf::from("/tmp/dl/y")]
    );
    s.set_state(b, &JobState::Done).unwrap();
    assert!(s.claimed_paths(a).unwrap().is_empty());
}

#[test]
fn host_policy_round_trip() {
    let mut s = Store::open_in_memory().unwrap();
    let url = url::Url::parse("https://example.org/a").unwrap();
    let key = host_key(&url);
    assert_eq!(key, "https://example.org:443");
    assert_eq!(s.host_policy(&key).unwrap(), HostPolicy::default());
    s.set_host_cap(&key, 6).unwrap();
    s.set_host_recommended(&key, 4).unwrap();
    s.set_host_cap(&key, 3).unwrap();
    let p = s.host_policy(&key).unwrap();
    assert_eq!(p.max_connections, Some(3));
    assert_eq!(p.recommended, Some(4));
}

#[test]
fn file_database_is_private_and_reopens() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    let id = {
        let mut s = Store::open(&path).unwrap();
        s.add(&new_job("http://a/1")).unwrap()
    };
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.get(id).unwrap().url, "http://a/1");
}

#[test]
fn corrupt_database_is_refused_and_untouched() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    let junk = b"this is not sqlite at all, but it is long enough to look like a header....";
    std::fs::write(&path, junk.repeat(100)).unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("not a ddm database") || err.contains("damaged"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), junk.repeat(100));
}

#[test]
fn foreign_sqlite_database_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me');")
            .unwrap();
    }
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("not a ddm job database"), "{err}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let kept: String = c
        .query_row("SELECT x FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "keep me");
}

#[test]
fn newer_schema_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("newer"), "{err}");
}
