//! A job row: the columns every job query selects ([`JOB_COLUMNS`]) and how a row becomes a
//! [`Job`]. Columns are named, and each name is turned into its place in [`COLUMNS`] when
//! ddm is compiled (`col!`): a name that is not selected does not compile, and reading a row
//! costs no search through the column names (which made `status` of 100,000 jobs spend half
//! its time comparing strings).

use super::{Job, JobSettings, JobState, Result, StoreError};
use crate::storage::FileId;
use rusqlite::types::ValueRef;
use rusqlite::Row;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// The columns of a job row, in the order [`JOB_COLUMNS`] selects them.
const COLUMNS: [&str; 38] = [
    "id",
    "url",
    "final_url",
    "dest_dir",
    "file_name",
    "name_fixed",
    "size",
    "etag",
    "last_modified",
    "ranges",
    "piece_size",
    "bitmap",
    "state",
    "error",
    "error_kind",
    "settings",
    "bytes_done",
    "created_at",
    "updated_at",
    "speed",
    "conns",
    "part_dev",
    "part_ino",
    "part_born",
    "protocol",
    "dir_dev",
    "dir_ino",
    "dir_born",
    "waiting",
    "link_gen",
    "position",
    "partial",
    "priority",
    "not_before",
    "after_job",
    "rule",
    "held",
    "base_dir",
];

pub(super) const JOB_COLUMNS: &str =
    "id, url, final_url, dest_dir, file_name, name_fixed, size, etag, \
     last_modified, ranges, piece_size, bitmap, state, error, error_kind, settings, bytes_done, \
     created_at, updated_at, speed, conns, part_dev, part_ino, part_born, protocol, dir_dev, \
     dir_ino, dir_born, waiting, link_gen, position, partial, priority, not_before, after_job, \
     rule, held, base_dir";

/// [`JOB_COLUMNS`] for showing many jobs (`status`, `top`): the same columns in the same
/// places, without what only a run needs (NULL in their place: validators, piece size,
/// bitmap, partial ranges, file and directory identities, the directory a routed job was
/// added for), and in the settings' place only
/// the job's own connection count (a number, or NULL; which the ceiling shown needs).
/// Reading 100,000 jobs this way parses no settings document and copies no bitmap.
pub(super) const SHOWN_COLUMNS: &str =
    "id, url, final_url, dest_dir, file_name, name_fixed, size, NULL, \
     NULL, ranges, NULL, NULL, state, error, error_kind, \
     json_extract(settings, '$.connections'), bytes_done, \
     created_at, updated_at, speed, conns, NULL, NULL, NULL, protocol, NULL, \
     NULL, NULL, waiting, link_gen, position, NULL, priority, not_before, after_job, \
     rule, held, NULL";

/// The place of column `name` in [`COLUMNS`]; a name that is not there fails the build.
const fn index(name: &str) -> usize {
    let mut i = 0;
    while i < COLUMNS.len() {
        let (a, b) = (COLUMNS[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a job column")
}

/// The place of a column, decided at compile time.
macro_rules! col {
    ($name:literal) => {
        const { index($name) }
    };
}

/// A path stored as bytes (new rows) or text (rows written before migration 0002).
fn path_column(r: &Row, i: usize) -> rusqlite::Result<PathBuf> {
    Ok(match r.get_ref(i)? {
        ValueRef::Blob(b) => PathBuf::from(OsString::from_vec(b.to_vec())),
        ValueRef::Text(t) => PathBuf::from(OsString::from_vec(t.to_vec())),
        _ => PathBuf::new(),
    })
}

/// `partial` as stored: (start, end) pairs of little-endian u64.
pub(super) fn encode_ranges(rs: &[std::ops::Range<u64>]) -> Vec<u8> {
    rs.iter()
        .flat_map(|r| r.start.to_le_bytes().into_iter().chain(r.end.to_le_bytes()))
        .collect()
}

fn decode_ranges(b: &[u8]) -> Vec<std::ops::Range<u64>> {
    let u = |c: &[u8]| u64::from_le_bytes(c.try_into().expect("8 bytes"));
    b.chunks_exact(16)
        .map(|c| u(&c[..8])..u(&c[8..]))
        .filter(|r| r.start < r.end)
        .collect()
}

/// A file or directory identity stored as `{what}_dev`, `_ino`, `_born` at `dev`, `dev + 1`,
/// `dev + 2`.
fn file_id(r: &Row, dev: usize) -> rusqlite::Result<Option<FileId>> {
    Ok(
        match (
            r.get::<_, Option<i64>>(dev)?,
            r.get::<_, Option<i64>>(dev + 1)?,
        ) {
            (Some(dev_v), Some(ino)) => Some(FileId {
                dev: dev_v as u64,
                ino: ino as u64,
                born: r.get(dev + 2)?,
            }),
            _ => None,
        },
    )
}

/// A row of [`JOB_COLUMNS`] as a job; stored settings this ddm cannot read are the job's
/// error (the outer error is SQLite's).
pub(super) fn row_to_job(r: &Row) -> rusqlite::Result<Result<Job>> {
    let id: i64 = r.get(col!("id"))?;
    let waiting: Option<String> = r.get(col!("waiting"))?;
    let state = JobState::from_db(
        r.get_ref(col!("state"))?.as_str()?,
        r.get(col!("error"))?,
        r.get(col!("error_kind"))?,
        waiting.clone(),
    );
    let settings = match r.get_ref(col!("settings"))? {
        // A shown row ([`SHOWN_COLUMNS`]) carries only the job's connection count.
        ValueRef::Null => JobSettings::default(),
        ValueRef::Integer(n) => JobSettings {
            connections: u32::try_from(n).ok(),
            ..JobSettings::default()
        },
        v => match serde_json::from_str(v.as_str()?) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Err(StoreError::Settings {
                    id,
                    msg: e.to_string(),
                }))
            }
        },
    };
    const _: () = assert!(index("part_ino") == index("part_dev") + 1);
    const _: () = assert!(index("part_born") == index("part_dev") + 2);
    const _: () = assert!(index("dir_ino") == index("dir_dev") + 1);
    const _: () = assert!(index("dir_born") == index("dir_dev") + 2);
    let partial = match r.get_ref(col!("partial"))? {
        ValueRef::Blob(b) => decode_ranges(b),
        _ => Vec::new(),
    };
    Ok(Ok(Job {
        id,
        url: r.get(col!("url"))?,
        final_url: r.get(col!("final_url"))?,
        dest_dir: path_column(r, col!("dest_dir"))?,
        file_name: r.get(col!("file_name"))?,
        name_fixed: r.get(col!("name_fixed"))?,
        size: r.get::<_, Option<i64>>(col!("size"))?.map(|v| v as u64),
        etag: r.get(col!("etag"))?,
        last_modified: r.get(col!("last_modified"))?,
        ranges: r.get(col!("ranges"))?,
        piece_size: r
            .get::<_, Option<i64>>(col!("piece_size"))?
            .map(|v| v as u64),
        bitmap: r
            .get::<_, Option<Vec<u8>>>(col!("bitmap"))?
            .unwrap_or_default(),
        state,
        settings,
        bytes_done: r.get::<_, i64>(col!("bytes_done"))? as u64,
        created_at: r.get(col!("created_at"))?,
        updated_at: r.get(col!("updated_at"))?,
        speed: r.get::<_, Option<i64>>(col!("speed"))?.map(|v| v as u64),
        conns: r.get::<_, Option<i64>>(col!("conns"))?.map(|v| v as u32),
        part_id: file_id(r, col!("part_dev"))?,
        dir_id: file_id(r, col!("dir_dev"))?,
        protocol: r.get(col!("protocol"))?,
        waiting,
        link_gen: r.get(col!("link_gen"))?,
        position: r.get::<_, Option<i64>>(col!("position"))?.unwrap_or(id),
        partial,
        priority: r.get(col!("priority"))?,
        not_before: r.get(col!("not_before"))?,
        after: r.get(col!("after_job"))?,
        rule: r
            .get::<_, Option<String>>(col!("rule"))?
            .map(|t| crate::rules::Applied::from_column(&t)),
        held: r.get(col!("held"))?,
        base_dir: match r.get_ref(col!("base_dir"))? {
            ValueRef::Null => None,
            _ => Some(path_column(r, col!("base_dir"))?),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_list_and_the_selected_columns_are_one_list() {
        let selected: Vec<&str> = JOB_COLUMNS.split(',').map(str::trim).collect();
        assert_eq!(selected, COLUMNS);
        // The shown columns differ only where they leave something out.
        let shown: Vec<String> = split_top(SHOWN_COLUMNS);
        assert_eq!(shown.len(), COLUMNS.len());
        for (s, c) in shown.iter().zip(COLUMNS) {
            match c {
                "etag" | "last_modified" | "piece_size" | "bitmap" | "partial" | "base_dir" => {
                    assert_eq!(s, "NULL")
                }
                c if c.starts_with("part_") || c.starts_with("dir_") => assert_eq!(s, "NULL"),
                "settings" => assert_eq!(s, "json_extract(settings, '$.connections')"),
                _ => assert_eq!(s, c),
            }
        }
    }

    /// `a, f(b, c), d` split at the commas outside parentheses.
    fn split_top(s: &str) -> Vec<String> {
        let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
        for ch in s.chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(cur.trim().to_string());
                    cur.clear();
                    continue;
                }
                _ => {}
            }
            cur.push(ch);
        }
        out.push(cur.trim().to_string());
        out
    }

    #[test]
    fn a_shown_job_is_the_job_without_its_run_state() {
        use crate::store::{JobSettings, NewJob, Store};
        let mut s = Store::open_in_memory().unwrap();
        let mut settings = JobSettings {
            connections: Some(3),
            ..JobSettings::default()
        };
        settings.headers.push(crate::model::Header::new("X-A", "1"));
        let id = s
            .add(&NewJob {
                url: "http://h/a".into(),
                dest_dir: "/tmp".into(),
                file_name: None,
                settings,
                queue: Default::default(),
            })
            .unwrap();
        s.checkpoint(
            id,
            &[0xff, 1],
            &[std::ops::Range { start: 5, end: 9 }],
            4,
            None,
            None,
        )
        .unwrap();
        let full = s.get(id).unwrap();
        let shown = s.list_shown(None).unwrap().remove(0);
        assert_eq!(shown.settings.connections, Some(3));
        assert!(shown.settings.headers.is_empty() && shown.bitmap.is_empty());
        let same = crate::store::Job {
            settings: full.settings.clone(),
            bitmap: full.bitmap.clone(),
            partial: full.partial.clone(),
            etag: full.etag.clone(),
            last_modified: full.last_modified.clone(),
            piece_size: full.piece_size,
            part_id: full.part_id,
            dir_id: full.dir_id,
            ..shown
        };
        assert_eq!(same, full);
    }
}
