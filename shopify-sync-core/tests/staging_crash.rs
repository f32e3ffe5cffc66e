//! The SQLite change store under process death and under two competing processes.
//!
//! - `killed_writers_leave_a_consistent_store`: a child process (this test binary,
//!   running `crash_writer_child`) plans, approves, applies and audits in a loop; the
//!   parent kills it (SIGKILL) at a random moment, many times, reopens the store each
//!   time and checks it: integrity, every change's state equal to the last state its
//!   audit trail records, every change audited as planned, nothing lost since the last
//!   check, and the changes left `applying` listed for reconciliation.
//! - `two_processes_cannot_both_win`: two child processes (`race_child`) approve and then
//!   take for applying the same 150 changes at the same moment (one forwards, one
//!   backwards, so that they meet); each change is approved once and taken once, by
//!   exactly one of them.

use serde_json::json;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, SqliteStore};
use shopify_sync::staging::{
    ApplyResult, AuditAction, AuditQuery, ChangeFilter, ChangeId, ChangeState, FieldMask, PlanId,
    PlanInput, Planner, ProductSnapshot, Record, Review,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WRITER_ENV: &str = "SHOPIFY_SYNC_TEST_CRASH_WRITER";
const RACE_ENV: &str = "SHOPIFY_SYNC_TEST_RACE";
const RACE_START_ENV: &str = "SHOPIFY_SYNC_TEST_RACE_START_MS";
const RACE_ROLE_ENV: &str = "SHOPIFY_SYNC_TEST_RACE_ROLE";

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "shopify-sync-crash-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir.join("store.db")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// xorshift: deterministic per seed, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A plan editing the titles of `n` products, numbered from `first`.
fn title_plan(id: &str, first: u64, n: u64, edit: &str) -> shopify_sync::staging::Plan {
    let mut input = PlanInput::default();
    for k in first..first + n {
        let gid: Gid<Product> = Gid::from_numeric_id(k).expect("a gid");
        let base: ProductSnapshot =
            serde_json::from_value(json!({"title": format!("P{k}")})).expect("a snapshot");
        let local: ProductSnapshot =
            serde_json::from_value(json!({"title": format!("P{k} {edit}")})).expect("a snapshot");
        input
            .products
            .base
            .push(Record::synced(format!("L{k}"), gid, base.clone()));
        input.products.remote.push(Record::remote(gid, None, base));
        input
            .products
            .local
            .push(Record::synced(format!("L{k}"), gid, local));
    }
    Planner::new(FieldMask::ALL)
        .id(PlanId::from(id))
        .plan(&input)
}

/// The child: write forever (until killed).
#[tokio::test]
async fn crash_writer_child() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return; // only runs as a child of the crash test
    };
    let path = PathBuf::from(path);
    let store = SqliteStore::open(&path).expect("the store opens");
    // What this writer saw committed, one line each, for the parent to look for.
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(committed_log(&path))
        .expect("the log opens");
    let mut note = |line: String| {
        use std::io::Write;
        log.write_all(format!("{line}\n").as_bytes())
            .expect("the log is written");
    };
    let me = std::process::id();
    let by = || Review::now(format!("writer-{me}"));
    // Reconcile what an earlier writer left applying.
    for id in store.recovered() {
        store
            .finish_apply(id, ApplyResult::failed("reconciled after a crash"), &by())
            .await
            .expect("reconcile");
    }
    for round in 0u64.. {
        let plan = title_plan(
            &format!("w{me}-{round}"),
            (round % 7) * 10 + 1,
            10,
            &format!("{me}-{round}"),
        );
        store.save_plan(&plan, &by()).await.expect("save");
        note(format!("saved {}", plan.id));
        store
            .approve(&ChangeFilter::default().plan(&plan.id), &by())
            .await
            .expect("approve");
        for (i, c) in plan.changes.iter().enumerate() {
            store.begin_apply(&c.id, &by()).await.expect("begin");
            let result = if i % 4 == 3 {
                ApplyResult::failed("simulated")
            } else {
                ApplyResult::applied(None)
            };
            let done = store
                .finish_apply(&c.id, result, &by())
                .await
                .expect("finish");
            note(format!("{} {}", done.state, c.id));
        }
        store
            .set_checkpoint("round", &round.to_string())
            .await
            .expect("checkpoint");
    }
}

fn committed_log(db: &Path) -> PathBuf {
    db.with_extension("committed")
}

struct Checked {
    audit: usize,
    changes: usize,
}

async fn check_store(path: &Path, before: &Checked) -> Checked {
    let store = SqliteStore::open(path).expect("the store reopens after a kill");
    store.check_integrity().expect("integrity");
    let changes = store
        .changes(&ChangeFilter::default())
        .await
        .expect("changes");
    let audit = store.audit(&AuditQuery::default()).await.expect("audit");
    assert!(audit.len() >= before.audit, "audit entries were lost");
    assert!(changes.len() >= before.changes, "changes were lost");
    assert!(audit.windows(2).all(|w| w[0].seq < w[1].seq));
    // The state each change's trail ends in, and which changes were audited as planned.
    let mut last_state: BTreeMap<&ChangeId, String> = BTreeMap::new();
    let mut planned: BTreeSet<&ChangeId> = BTreeSet::new();
    for e in &audit {
        let Some(id) = &e.change_id else { continue };
        if e.action == AuditAction::Planned {
            planned.insert(id);
        }
        if let Some(state) = e.after.get("state").and_then(|s| s.as_str()) {
            last_state.insert(id, state.to_owned());
        }
    }
    let mut applying = Vec::new();
    for c in &changes {
        assert!(
            planned.contains(&c.id),
            "{} was never audited as planned",
            c.id
        );
        assert_eq!(
            last_state.get(&c.id).map(String::as_str),
            Some(c.state.as_str()),
            "{}: the change and its audit trail disagree",
            c.id
        );
        if c.state == ChangeState::Applying {
            applying.push(c.id.clone());
        }
    }
    assert_eq!(
        planned.len(),
        changes.len(),
        "audited changes that do not exist"
    );
    // Nothing a writer saw committed is lost (a line cut by the kill is ignored).
    let log = std::fs::read_to_string(committed_log(path)).unwrap_or_default();
    let by_id: BTreeMap<&str, ChangeState> =
        changes.iter().map(|c| (c.id.as_str(), c.state)).collect();
    let plans: BTreeSet<&str> = changes.iter().map(|c| c.plan_id.as_str()).collect();
    let complete = log.rfind('\n').map_or("", |end| &log[..end]);
    let mut noted = 0;
    for line in complete.lines() {
        noted += 1;
        match line.split_once(' ') {
            Some(("saved", plan)) => assert!(plans.contains(plan), "plan {plan} was lost"),
            Some((state, id)) => {
                // Applied is final; a failed change may since have been superseded by a
                // newer plan of its product.
                let now = by_id.get(id).copied();
                let ok = match state {
                    "failed" => matches!(now, Some(ChangeState::Failed | ChangeState::Superseded)),
                    _ => now.map(ChangeState::as_str) == Some(state),
                };
                assert!(ok, "change {id} lost its {state} state (now {now:?})");
            }
            None => panic!("a log line without a space: {line:?}"),
        }
    }
    assert!(noted > 0 || changes.is_empty());
    // Every plan is whole: 10 changes each.
    let mut per_plan: BTreeMap<&PlanId, usize> = BTreeMap::new();
    for c in &changes {
        *per_plan.entry(&c.plan_id).or_default() += 1;
    }
    assert!(
        per_plan.values().all(|n| *n == 10),
        "a plan was saved in part"
    );
    // What was left applying is listed for reconciliation.
    assert_eq!(store.recovered(), applying.as_slice());
    Checked {
        audit: audit.len(),
        changes: changes.len(),
    }
}

#[tokio::test]
async fn killed_writers_leave_a_consistent_store() {
    let path = temp_db("kill");
    let exe = std::env::current_exe().expect("the test binary");
    let mut rng = Rng(now_ms() | 1);
    let mut checked = Checked {
        audit: 0,
        changes: 0,
    };
    let mut recovered_seen = 0;
    let kills = 30;
    for _ in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the writer");
        let wait = 100 + rng.next() % 500;
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().expect("kill the writer");
        let _ = child.wait();
        checked = check_store(&path, &checked).await;
        if !SqliteStore::open(&path).unwrap().recovered().is_empty() {
            recovered_seen += 1;
        }
    }
    assert!(checked.changes > 0, "the writers never wrote anything");
    eprintln!(
        "{kills} kills: {} changes, {} audit entries; {recovered_seen} reopenings found changes applying",
        checked.changes, checked.audit
    );
}

/// The child: race the other one.
#[tokio::test]
async fn race_child() {
    let Some(path) = std::env::var_os(RACE_ENV) else {
        return; // only runs as a child of the race test
    };
    let start: u64 = std::env::var(RACE_START_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let store = SqliteStore::open(PathBuf::from(path)).expect("the store opens");
    let mut ids: Vec<ChangeId> = store
        .changes(&ChangeFilter::default())
        .await
        .expect("changes")
        .into_iter()
        .map(|c| c.id)
        .collect();
    // The second racer goes through the changes backwards: the two meet in the middle,
    // and each change there is taken by both at about the same moment.
    if std::env::var(RACE_ROLE_ENV).as_deref() == Ok("1") {
        ids.reverse();
    }
    let me = format!("racer-{}", std::process::id());
    let wait = start.saturating_sub(now_ms());
    std::thread::sleep(Duration::from_millis(wait));
    let mut approved = Vec::new();
    for id in &ids {
        let report = store
            .approve(&ChangeFilter::default().change(id), &Review::now(&me))
            .await
            .expect("approve runs");
        approved.extend(report.changed.iter().map(|c| c.to_string()));
        // A worker does other things between store calls (Shopify requests): leave the
        // other process room to take the write lock.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut applying = Vec::new();
    for id in &ids {
        match store.begin_apply(id, &Review::now(&me)).await {
            Ok(_) => {
                applying.push(id.to_string());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err(e) => assert!(
                e.to_string()
                    .contains("cannot go from applying to applying"),
                "{e}"
            ),
        }
    }
    println!(
        "RACE {}",
        json!({"approved": approved, "applying": applying})
    );
}

#[tokio::test]
async fn two_processes_cannot_both_win() {
    let path = temp_db("race");
    let store = SqliteStore::open(&path).unwrap();
    let plan = title_plan("race", 1, 150, "raced");
    store
        .save_plan(&plan, &Review::now("planner"))
        .await
        .unwrap();
    let all: BTreeSet<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    let exe = std::env::current_exe().unwrap();
    let start = now_ms() + 3_000;
    let children: Vec<_> = (0..2)
        .map(|role| {
            Command::new(&exe)
                .args(["--exact", "race_child", "--nocapture", "--test-threads=1"])
                .env(RACE_ENV, &path)
                .env(RACE_START_ENV, start.to_string())
                .env(RACE_ROLE_ENV, role.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut approved: Vec<BTreeSet<String>> = Vec::new();
    let mut applying: Vec<BTreeSet<String>> = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a racer failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.find("RACE {").map(|i| &l[i + 5..]))
            .expect("the racer's report");
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        let set = |key: &str| -> BTreeSet<String> {
            report[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        approved.push(set("approved"));
        applying.push(set("applying"));
    }
    for (what, sets) in [("approved", &approved), ("applying", &applying)] {
        assert!(
            sets[0].is_disjoint(&sets[1]),
            "both processes {what} the same change"
        );
        let union: BTreeSet<String> = sets[0].union(&sets[1]).cloned().collect();
        assert_eq!(union, all, "every change {what} exactly once");
    }
    eprintln!(
        "approvals won {} / {}, applies won {} / {}",
        approved[0].len(),
        approved[1].len(),
        applying[0].len(),
        applying[1].len()
    );
    // The trail agrees: one approval and one apply start per change.
    let audit = store.audit(&AuditQuery::default()).await.unwrap();
    for action in [AuditAction::Approved, AuditAction::Applying] {
        let n = audit.iter().filter(|e| e.action == action).count();
        assert_eq!(n, all.len(), "{action} entries");
    }
}
