//! While a `ddm get` holds the data directory it is the directory's runner: a job `ddm add`ed
//! meanwhile runs there too (it used to wait, silently, for a `ddm run` that the lock
//! refused), and the `get` says so and exits once it is done, with its own job's code. Jobs
//! queued before the `get` started stay for `ddm run`.

use crate::util::*;
use ddm_testserver::{pattern, Resource, Server};
use std::time::Duration;

const MIB: usize = 1 << 20;

#[test]
fn a_job_added_while_get_holds_the_data_directory_runs_there_too() {
    let server = Server::start().unwrap();
    let own = pattern(4 * MIB, 1530);
    server.add("/own.bin", Resource::new(own.clone()).rate(2 << 20));
    let added = pattern(MIB, 1531);
    server.add("/added.bin", Resource::new(added.clone()));
    let backlog = pattern(MIB, 1532);
    server.add("/backlog.bin", Resource::new(backlog));
    let env = Env::new();
    // Queued before the get: not the get's to run.
    env.ok(&["add", &server.url("/backlog.bin")]);
    let mut get = env.spawn(&["get", &server.url("/own.bin"), "-c", "1"]);
    wait_for(Duration::from_secs(10), "the get transferring", || {
        server
            .log()
            .iter()
            .any(|e| e.target == "/own.bin" && matches!(e.status, 200 | 206))
            .then_some(())
    });
    let id = env.ok(&["add", &server.url("/added.bin")]);
    let id: i64 = id.trim().parse().unwrap();
    // `ddm run` still refuses while the get holds the directory, and says who does.
    let o = env.run(&["run"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("ddm add"), "{}", stderr(&o));
    let status = wait_child(&mut get, Duration::from_secs(30));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut get.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_same_file(&env.out().join("own.bin"), &own);
    assert_same_file(&env.out().join("added.bin"), &added);
    assert_eq!(env.job(id)["state"], "done", "{err}");
    assert!(
        err.contains(&format!("job {id}: queued while this `ddm get` works")),
        "the get says it runs the added job: {err}"
    );
    assert_eq!(
        env.job(1)["state"],
        "queued",
        "the backlog is left to `ddm run`"
    );
    assert!(!env.out().join("backlog.bin").exists());
}

#[test]
fn get_exits_with_its_own_jobs_code_after_finishing_what_was_queued_meanwhile() {
    // The get's own file is small; the job added meanwhile takes longer: the get says it
    // goes on, finishes it, and exits 0 for its own job.
    let server = Server::start().unwrap();
    let own = pattern(2 * MIB, 1533);
    server.add("/own.bin", Resource::new(own.clone()).rate(2 << 20));
    let long = pattern(4 * MIB, 1534);
    server.add("/long.bin", Resource::new(long.clone()).rate(2 << 20));
    let env = Env::new();
    let mut get = env.spawn(&["get", &server.url("/own.bin"), "-c", "1"]);
    wait_for(Duration::from_secs(10), "the get transferring", || {
        server
            .log()
            .iter()
            .any(|e| e.target == "/own.bin" && matches!(e.status, 200 | 206))
            .then_some(())
    });
    env.ok(&["add", &server.url("/long.bin"), "-c", "1"]);
    let status = wait_child(&mut get, Duration::from_secs(30));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut get.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_same_file(&env.out().join("own.bin"), &own);
    assert_same_file(&env.out().join("long.bin"), &long);
    assert!(
        err.contains("goes on until the 1 job queued meanwhile is done"),
        "{err}"
    );
}
