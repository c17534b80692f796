//! Store unit tests: in-memory for the logic, temp files for open/permission/corruption.

use super::*;
use crate::model::{ErrorKind, JobError};
use crate::storage::FileId;
use std::os::unix::fs::PermissionsExt;

fn new_job(url: &str) -> NewJob {
    NewJob {
        url: url.into(),
        dest_dir: PathBuf::from("/tmp/dl"),
        file_name: None,
        settings: JobSettings::default(),
        queue: Default::default(),
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
    let boom = JobError::new(ErrorKind::GaveUp, "boom");
    assert!(
        !s.end_run(a, &JobState::Failed(boom.clone())).unwrap(),
        "only a running job's run can end"
    );
    assert_eq!(s.claim(a).unwrap().state, JobState::Running);
    assert!(s.end_run(a, &JobState::Failed(boom.clone())).unwrap());
    assert_eq!(s.get(a).unwrap().state.error(), Some(&boom));
    assert_eq!(s.ids_in(&[StateKind::Failed]).unwrap(), vec![a]);
    assert_eq!(s.resume(&[a]).unwrap(), vec![a]);
    assert_eq!(s.get(a).unwrap().state, JobState::Queued);
    assert!(s.complete(a, "x", 1).unwrap());
    assert!(s.resume(&[a]).unwrap().is_empty(), "done jobs stay done");
    assert!(s.pause(&[a]).unwrap().is_empty(), "done jobs stay done");
}

#[test]
fn recover_running_requeues() {
    let mut s = Store::open_in_memory().unwrap();
    s.add(&new_job("http://a/1")).unwrap();
    let j = s.claim_next().unwrap().unwrap();
    assert_eq!(s.recover_running().unwrap(), 1);
    assert_eq!(s.state(j.id).unwrap(), Some(JobState::Queued));
}

fn meta() -> RemoteMeta {
    RemoteMeta {
        final_url: "http://b/1".into(),
        file_name: "1.bin".into(),
        size: Some(10 << 20),
        etag: Some("\"e\"".into()),
        last_modified: None,
        ranges: true,
        piece_size: 1 << 20,
        protocol: Some("HTTP/2".into()),
    }
}

#[test]
fn remote_meta_checkpoint_and_reset() {
    let mut s = Store::open_in_memory().unwrap();
    let id = s.add(&new_job("http://a/1")).unwrap();
    let fid = FileId {
        dev: 7,
        ino: u64::MAX - 3,
        born: Some(1_700_000_000_123_456_789),
    };
    let tx = s.begin().unwrap();
    let did = FileId {
        dev: 7,
        ino: 2,
        born: None,
    };
    tx.save_remote(id, &meta(), &[0, 0], Some(fid), Some(did))
        .unwrap();
    tx.commit().unwrap();
    s.checkpoint(id, &[0b1010_0000, 0], &[], 2 << 20, Some(5), Some(3))
        .unwrap();
    let j = s.get(id).unwrap();
    assert_eq!(j.final_url.as_deref(), Some("http://b/1"));
    assert_eq!(j.protocol.as_deref(), Some("HTTP/2"));
    assert_eq!(j.size, Some(10 << 20));
    assert_eq!(j.ranges, Some(true));
    assert_eq!(j.bitmap, vec![0b1010_0000, 0]);
    assert_eq!(j.bytes_done, 2 << 20);
    assert_eq!(j.speed, Some(5));
    assert_eq!(j.conns, Some(3));
    assert_eq!(j.part_id, Some(fid), "identities survive the i64 column");
    assert_eq!(j.part_id.unwrap().born, fid.born);
    assert_eq!(j.dir_id, Some(did));
    assert_eq!(j.path(), Some(PathBuf::from("/tmp/dl/1.bin")));
    assert_eq!(j.percent(), Some(20.0));
    s.pause(&[id]).unwrap();
    assert!(s.complete(id, "1 (1).bin", 10 << 20).unwrap());
    let j = s.get(id).unwrap();
    assert_eq!(
        j.state,
        JobState::Done,
        "a pause during finalize does not undo it"
    );
    assert_eq!(
        (j.file_name.as_deref(), j.bytes_done),
        (Some("1 (1).bin"), 10 << 20)
    );
    let tx = s.begin().unwrap();
    tx.reset_progress(id).unwrap();
    tx.commit().unwrap();
    let j = s.get(id).unwrap();
    assert_eq!((j.size, j.bytes_done, j.bitmap.len()), (None, 0, 0));
    assert_eq!(j.file_name, None, "a chosen-by-server name is re-chosen");
    assert_eq!((j.part_id, j.dir_id), (None, None));
}

#[test]
fn names_in_use_exclude_self_done_and_other_directories() {
    let mut s = Store::open_in_memory().unwrap();
    let mut a = new_job("http://a/1");
    a.file_name = Some("x".into());
    let mut b = new_job("http://a/2");
    b.file_name = Some("y".into());
    let mut c = new_job("http://a/3");
    c.file_name = Some("z".into());
    c.dest_dir = PathBuf::from("/elsewhere");
    let ids = s.add_many(&[a, b, c]).unwrap();
    let tx = s.begin().unwrap();
    let names = tx.names_in_use(Path::new("/tmp/dl"), ids[0]).unwrap();
    assert_eq!(names, ["y".to_string()].into_iter().collect());
    tx.commit().unwrap();
    s.complete(ids[1], "y", 1).unwrap();
    let tx = s.begin().unwrap();
    assert!(tx
        .names_in_use(Path::new("/tmp/dl"), ids[0])
        .unwrap()
        .is_empty());
}

#[test]
fn add_many_is_all_or_nothing() {
    let mut s = Store::open_in_memory().unwrap();
    s.conn
        .execute_batch(
            "CREATE TRIGGER no_third BEFORE INSERT ON jobs WHEN NEW.url = 'http://a/3' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let jobs: Vec<_> = (1..=5).map(|i| new_job(&format!("http://a/{i}"))).collect();
    assert!(s.add_many(&jobs).is_err());
    assert!(
        s.list().unwrap().is_empty(),
        "nothing of a failed add is kept"
    );
    let ids = s.add_many(&jobs[..2]).unwrap();
    assert_eq!(ids.len(), 2);
}

#[test]
fn non_utf8_directories_are_kept_byte_exact() {
    use std::os::unix::ffi::OsStrExt;
    let mut s = Store::open_in_memory().unwrap();
    let mut j = new_job("http://a/1");
    j.dest_dir = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9"));
    let id = s.add(&j).unwrap();
    assert_eq!(s.get(id).unwrap().dest_dir, j.dest_dir);
}

#[test]
fn a_version_1_database_is_migrated_and_keeps_its_jobs() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.execute_batch(
            "INSERT INTO jobs (url, dest_dir, file_name, state, error, created_at, updated_at) \
             VALUES ('http://a/old', '/tmp/dl', 'old.bin', 'failed', 'boom', 1, 1);",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    let j = s.get(1).unwrap();
    assert_eq!(j.dest_dir, PathBuf::from("/tmp/dl"));
    assert_eq!(j.path(), Some(PathBuf::from("/tmp/dl/old.bin")));
    assert_eq!(j.state.error().map(|e| e.message.as_str()), Some("boom"));
    assert_eq!(j.part_id, None);
    let tx = s.begin().unwrap();
    let names = tx.names_in_use(Path::new("/tmp/dl"), 99).unwrap();
    assert!(
        names.contains("old.bin"),
        "old text directories still match"
    );
}

#[test]
fn claims_and_transitions_hold_across_connections() {
    // Two connections to one file: what each sees must never be a stale read that it then
    // writes over (the SQLITE_BUSY_SNAPSHOT trap of deferred transactions).
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    let mut a = Store::open(&path).unwrap();
    let mut b = Store::open(&path).unwrap();
    let ids = a
        .add_many(
            &(0..50)
                .map(|i| new_job(&format!("http://a/{i}")))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let claimed: Vec<i64> = std::thread::scope(|s| {
        let ha = s.spawn(|| {
            let mut got = Vec::new();
            while let Some(j) = a.claim_next().unwrap() {
                got.push(j.id);
            }
            got
        });
        let hb = s.spawn(|| {
            let mut got = Vec::new();
            while let Some(j) = b.claim_next().unwrap() {
                got.push(j.id);
            }
            got
        });
        let mut all = ha.join().unwrap();
        all.extend(hb.join().unwrap());
        all
    });
    let mut sorted = claimed.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "every job claimed exactly once");
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

#[test]
fn a_completed_job_forgets_its_credentials_and_keeps_the_rest() {
    let mut s = Store::open_in_memory().unwrap();
    let mut j = new_job("http://u:pw@a/x.bin");
    j.settings.headers = vec![
        Header::new("Authorization", "Bearer t"),
        Header {
            secret: true,
            ..Header::new("X-Key", "k")
        },
        Header::new("X-Trace", "1"),
    ];
    j.settings.user = Some(crate::model::Credentials {
        user: "me".into(),
        password: "pw2".into(),
    });
    j.settings.network.proxy = Some("http://p:pw3@proxy:3128".into());
    j.settings.mirrors = vec!["http://m:pw4@b/x.bin".into()];
    j.settings.connections = Some(3);
    let id = s.add(&j).unwrap();
    assert!(s.complete(id, "x.bin", 5).unwrap());
    let got = s.get(id).unwrap();
    assert_eq!(got.state, JobState::Done);
    assert_eq!(got.url, "http://u:***@a/x.bin");
    assert_eq!(got.settings.headers, vec![Header::new("X-Trace", "1")]);
    assert_eq!(got.settings.user, None);
    assert_eq!(
        got.settings.network.proxy.as_deref(),
        Some("http://p:***@proxy:3128")
    );
    assert_eq!(got.settings.mirrors, ["http://m:***@b/x.bin"]);
    assert_eq!(got.settings.connections, Some(3));
    // A job removed meanwhile is not done.
    s.remove(id).unwrap();
    assert!(!s.complete(id, "x.bin", 5).unwrap());
}

#[test]
fn a_job_waiting_for_a_fresh_link_stays_its_runners_then_rests_and_is_queued_by_a_new_link() {
    let mut s = Store::open_in_memory().unwrap();
    let id = s.add(&new_job("http://a/1")).unwrap();
    let job = s.claim_next().unwrap().unwrap();
    assert_eq!((job.shown(), job.link_gen), (StateKind::Running, 0));
    // Held by its runner: still running in the store, shown as waiting, with why.
    s.set_waiting(id, Some("refused")).unwrap();
    let j = s.get(id).unwrap();
    assert_eq!(j.state, JobState::Running);
    assert_eq!(j.shown(), StateKind::Waiting);
    assert_eq!(j.waits_for_link(), Some("refused"));
    assert_eq!(s.new_link(id, 0).unwrap(), None);
    // A new link for a held job: it stays the runner's, which sees the generation move.
    let tx = s.begin().unwrap();
    tx.set_url(id, "http://b/1", Some("http://b/1"), Some("\"e\""), None)
        .unwrap();
    tx.commit().unwrap();
    let j = s.get(id).unwrap();
    assert_eq!((j.state.kind(), j.link_gen), (StateKind::Running, 1));
    let l = s.new_link(id, 0).unwrap().expect("a new link");
    assert_eq!((l.gen, l.url.as_str()), (1, "http://b/1"));
    assert_eq!(s.new_link(id, 1).unwrap(), None);
    // It rests waiting: not claimed by a runner; a new link queues it again.
    assert!(s
        .end_run(id, &JobState::Waiting("no link came".into()))
        .unwrap());
    let j = s.get(id).unwrap();
    assert_eq!(j.state, JobState::Waiting("no link came".into()));
    assert_eq!(j.waits_for_link(), Some("no link came"));
    assert!(s.claim_next().unwrap().is_none());
    assert_eq!(s.ids_in(&[StateKind::Waiting]).unwrap(), vec![id]);
    let tx = s.begin().unwrap();
    tx.set_url(id, "http://c/1", None, None, None).unwrap();
    tx.commit().unwrap();
    let j = s.get(id).unwrap();
    assert_eq!(
        (j.state.clone(), j.waiting.clone()),
        (JobState::Queued, None)
    );
    // Pause and resume take waiting jobs too.
    let j = s.claim_next().unwrap().unwrap();
    s.end_run(j.id, &JobState::Waiting("again".into())).unwrap();
    assert_eq!(s.pause(&[id]).unwrap(), vec![id]);
    assert_eq!(s.get(id).unwrap().waiting, None);
    s.claim(id).unwrap();
    s.end_run(id, &JobState::Waiting("again".into())).unwrap();
    assert_eq!(s.resume(&[id]).unwrap(), vec![id]);
}

#[test]
fn the_waiting_migration_keeps_every_job_and_never_reuses_an_id() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("jobs.db");
    // A database as the version before 0007 left it: job 1 paused, job 2 removed.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for m in &MIGRATIONS[..6] {
            c.execute_batch(m).unwrap();
        }
        c.execute_batch(
            "INSERT INTO jobs (url, dest_dir, file_name, state, created_at, updated_at, \
             bytes_done, conns, dir_born) VALUES ('http://a/1', '/tmp/dl', 'one.bin', 'paused', \
             1, 1, 7, NULL, 42);
             INSERT INTO jobs (url, dest_dir, state, created_at, updated_at) \
             VALUES ('http://a/2', '/tmp/dl', 'queued', 1, 1);
             DELETE FROM jobs WHERE id = 2;",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 6).unwrap();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    let old = s.get(1).unwrap();
    assert_eq!((old.state.clone(), old.link_gen), (JobState::Paused, 0));
    assert_eq!(
        (old.url.as_str(), old.file_name.as_deref(), old.bytes_done),
        ("http://a/1", Some("one.bin"), 7)
    );
    assert_eq!(old.dir_id, None, "a birth time alone is no identity");
    let id = s.add(&new_job("http://a/3")).unwrap();
    assert_eq!(
        id, 3,
        "id 2 was removed before the migration: never given again"
    );
    s.claim(id).unwrap();
    assert!(s.end_run(id, &JobState::Waiting("w".into())).unwrap());
    assert_eq!(s.get(id).unwrap().state, JobState::Waiting("w".into()));
}
