//! The job queue, on SQLite and (when available) PostgreSQL: one job per key, no job held by
//! two workers, leases that run out, retries that back off, dead jobs that keep their error,
//! and a queue that outlives the process that filled it.

use enishi_store::repo::jobs::{self, Failed, Job, JobState, NewJob};
use enishi_store::{testing, Store, StoreError};
use std::collections::BTreeSet;

fn each(f: impl Fn(&Store)) {
    for db in testing::all() {
        eprintln!("backend: {:?}", db.store.backend());
        f(&db.store);
    }
}

fn new_job<'a>(key: &'a str, run_after: i64) -> NewJob<'a> {
    NewJob { kind: "test.send", idempotency_key: key, payload: r#"{"n": 1}"#, run_after, max_attempts: 3 }
}

fn enqueue(s: &Store, key: &str, run_after: i64) -> (i64, bool) {
    s.write(|c| jobs::enqueue(c, &new_job(key, run_after), 0)).unwrap()
}

fn claim(s: &Store, worker: &str, now: i64, lease: i64, limit: i64) -> Vec<Job> {
    s.write(|c| jobs::claim(c, &["test.send"], worker, now, now + lease, limit)).unwrap()
}

fn get(s: &Store, id: i64) -> Job {
    s.read(|c| jobs::get(c, id)).unwrap().expect("job")
}

#[test]
fn enqueueing_the_same_key_twice_makes_one_job_even_at_once() {
    each(|s| {
        let (id, created) = enqueue(s, "welcome:7", 100);
        assert!(created);
        let again = s
            .write(|c| {
                let other = NewJob { payload: r#"{"n": 2}"#, run_after: 5, ..new_job("welcome:7", 0) };
                jobs::enqueue(c, &other, 0)
            })
            .unwrap();
        assert_eq!(again, (id, false), "the first job stands");
        assert_eq!((get(s, id).payload.as_str(), get(s, id).run_after), (r#"{"n": 1}"#, 100));
        // Eight enqueuers race with one key: one job, and every one of them is told its id.
        let ids: Vec<(i64, bool)> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8).map(|_| scope.spawn(|| enqueue(s, "raced", 0))).collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(ids.iter().filter(|(_, created)| *created).count(), 1, "{ids:?}");
        assert!(ids.iter().all(|(i, _)| *i == ids[0].0), "{ids:?}");
        let queued = s.read(|c| jobs::list(c, Some("test.send"), JobState::Queued, 100)).unwrap();
        assert_eq!(queued.len(), 2);
        let refused = s.write(|c| jobs::enqueue(c, &NewJob { max_attempts: 0, ..new_job("none", 0) }, 0));
        assert!(matches!(refused, Err(StoreError::OutOfRange(_))), "{refused:?}");
    });
}

#[test]
fn workers_never_hold_the_same_job() {
    each(|s| {
        for i in 0..240 {
            enqueue(s, &format!("job:{i}"), i % 7);
        }
        // Four workers claim small batches at once until the queue is empty.
        let taken: Vec<Vec<i64>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|w| {
                    scope.spawn(move || {
                        let name = format!("worker-{w}");
                        let mut mine = Vec::new();
                        loop {
                            let batch = claim(s, &name, 10, 600, 7);
                            if batch.is_empty() {
                                return mine;
                            }
                            for j in batch {
                                assert_eq!(j.claimed_by.as_deref(), Some(name.as_str()));
                                assert!(s.write(|c| jobs::complete(c, j.id, &name, 11)).unwrap());
                                mine.push(j.id);
                            }
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let all: Vec<i64> = taken.iter().flatten().copied().collect();
        let distinct: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!((all.len(), distinct.len()), (240, 240), "each job exactly once");
        assert_eq!(s.read(|c| jobs::counts(c)).unwrap(), [0, 0, 240, 0]);
    });
}

#[test]
fn jobs_wait_for_their_time_and_come_oldest_due_first() {
    each(|s| {
        let (late, _) = enqueue(s, "late", 500);
        let (early, _) = enqueue(s, "early", 100);
        let (middle, _) = enqueue(s, "middle", 300);
        assert!(claim(s, "w", 99, 60, 10).is_empty(), "nothing is due before 100");
        let due: Vec<i64> = claim(s, "w", 300, 10_000, 10).iter().map(|j| j.id).collect();
        assert_eq!(due, [early, middle], "due at exactly run_after, oldest first");
        assert_eq!(claim(s, "w", 500, 10_000, 10).iter().map(|j| j.id).collect::<Vec<_>>(), [late]);
        let other_kind = s.write(|c| jobs::claim(c, &["other"], "w", 10_000, 10_060, 10)).unwrap();
        assert!(other_kind.is_empty(), "workers claim only the kinds they ask for");
    });
}

#[test]
fn a_dead_workers_job_is_claimed_again_once_its_lease_runs_out() {
    each(|s| {
        let (id, _) = enqueue(s, "k", 0);
        let first = claim(s, "a", 1_000, 60, 1);
        assert_eq!((first[0].id, first[0].attempts, first[0].lease_until), (id, 1, Some(1_060)));
        // "a" stops answering. Before its lease ends nobody else gets the job; at the end, "b" does.
        assert!(claim(s, "b", 1_059, 60, 1).is_empty());
        assert!(s.write(|c| jobs::extend(c, id, "a", 1_059, 1_090)).unwrap(), "a live holder may extend");
        assert!(claim(s, "b", 1_089, 60, 1).is_empty());
        let second = claim(s, "b", 1_090, 60, 1);
        assert_eq!((second[0].id, second[0].attempts), (id, 2), "the lost attempt counts");
        // "a" comes back: it no longer holds the job and cannot finish, fail or extend it.
        assert!(!s.write(|c| jobs::complete(c, id, "a", 1_100)).unwrap());
        assert_eq!(s.write(|c| jobs::fail(c, id, "a", "late", 1_100)).unwrap(), Failed::NotHeld);
        assert!(!s.write(|c| jobs::extend(c, id, "a", 1_100, 2_000)).unwrap());
        assert!(s.write(|c| jobs::complete(c, id, "b", 1_101)).unwrap());
        let done = get(s, id);
        assert_eq!((done.state, done.finished_at, done.claimed_by), (JobState::Done, Some(1_101), None));
        assert!(claim(s, "c", 99_999, 60, 1).is_empty(), "a done job is never claimed");
    });
}

#[test]
fn failures_back_off_and_the_last_leaves_the_job_dead_with_its_error() {
    each(|s| {
        let (id, _) = enqueue(s, "flaky", 0);
        claim(s, "w", 1_000, 60, 1);
        assert_eq!(s.write(|c| jobs::fail(c, id, "w", "smtp 451", 1_010)).unwrap(), Failed::RetryAt(1_040));
        assert_eq!(get(s, id).last_error.as_deref(), Some("smtp 451"));
        assert!(claim(s, "w", 1_039, 60, 1).is_empty(), "30 s after the first failure");
        claim(s, "w", 1_040, 60, 1);
        assert_eq!(s.write(|c| jobs::fail(c, id, "w", "smtp 451", 1_050)).unwrap(), Failed::RetryAt(1_110));
        assert!(claim(s, "w", 1_109, 60, 1).is_empty(), "60 s after the second");
        claim(s, "w", 1_110, 60, 1);
        assert_eq!(s.write(|c| jobs::fail(c, id, "w", "mailbox full", 1_120)).unwrap(), Failed::Dead);
        let dead = s.read(|c| jobs::list(c, None, JobState::Dead, 10)).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].attempts, dead[0].last_error.as_deref()), (3, Some("mailbox full")));
        assert!(claim(s, "w", 99_999, 60, 1).is_empty(), "a dead job is not claimed");
        // Retried by hand, it gets its attempts back.
        assert!(s.write(|c| jobs::retry_dead(c, id, 100_000)).unwrap());
        assert!(!s.write(|c| jobs::retry_dead(c, id, 100_000)).unwrap(), "only dead jobs");
        assert_eq!(claim(s, "w", 100_000, 60, 1)[0].attempts, 1);
        assert!(s.write(|c| jobs::complete(c, id, "w", 100_001)).unwrap());
        // A worker that dies on the last attempt leaves the job dead once its lease runs out.
        let (lost, _) = s.write(|c| jobs::enqueue(c, &NewJob { max_attempts: 1, ..new_job("lost", 0) }, 0)).unwrap();
        assert_eq!(claim(s, "w", 200_000, 60, 5).iter().map(|j| j.id).collect::<Vec<_>>(), [lost]);
        assert!(claim(s, "v", 200_060, 60, 5).iter().all(|j| j.id != lost));
        let lost = get(s, lost);
        assert_eq!(lost.state, JobState::Dead);
        assert!(lost.last_error.unwrap().contains("lease ran out"));
    });
}

#[test]
fn retries_wait_longer_each_time_up_to_six_hours() {
    let delays: Vec<i64> = (1..=12).map(jobs::retry_delay).collect();
    assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1_920, 3_840, 7_680, 15_360, 21_600, 21_600]);
    assert_eq!(jobs::retry_delay(i64::MAX), 21_600, "never overflows");
    assert_eq!(jobs::retry_delay(0), 30);
}

#[test]
fn the_queue_outlives_the_store_that_filled_it() {
    for db in testing::all() {
        let (id, _) = enqueue(&db.store, "kept", 0);
        // Another store on the same database, as after a restart.
        let reopened = Store::open(&db.url).unwrap();
        let claimed = claim(&reopened, "after-restart", 10, 60, 5);
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
        assert_eq!(claimed[0].payload, r#"{"n": 1}"#);
    }
}

#[test]
fn the_loyalty_outbox_becomes_jobs_when_the_queue_arrives() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut earlier: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() < "0012")
        .collect();
    earlier.sort();
    let db = rusqlite::Connection::open_in_memory().unwrap();
    for script in &earlier {
        db.execute_batch(&std::fs::read_to_string(script).unwrap()).unwrap();
    }
    db.execute_batch(
        "INSERT INTO outbox (topic, payload, created_at, delivered_at) VALUES \
         ('loyalty.promotion_started', '{\"promotion_id\": \"a\"}', 100, NULL), \
         ('loyalty.promotion_started', '{\"promotion_id\": \"b\"}', 200, 250)",
    )
    .unwrap();
    db.execute_batch(&std::fs::read_to_string(dir.join("0012_jobs.sql")).unwrap()).unwrap();
    let rows: Vec<(String, String, String, i64)> = db
        .prepare("SELECT kind, idempotency_key, state, run_after FROM jobs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let kind = "loyalty.promotion_started".to_string();
    assert_eq!(
        rows,
        [(kind.clone(), "outbox:1".into(), "queued".into(), 100), (kind, "outbox:2".into(), "done".into(), 200)],
        "undelivered messages wait as queued jobs, delivered ones are kept as done"
    );
}
