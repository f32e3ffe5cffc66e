//! The change store behaviour suite, run against both stores (memory and SQLite): plans,
//! review, conflicts, rejections, supersession, apply results, the audit trail,
//! snapshots and checkpoints; then what only SQLite has (reopening, migrations,
//! recovery of changes left applying, refusal of newer or foreign files); and the paged
//! snapshot listing, in both stores and in the trait's default implementation.

use futures::future::BoxFuture;
use serde_json::json;
use shopify_sync::error::{ErrorKind, Result};
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{
    ChangeStore, MemoryStore, SavedPlan, SnapshotBatch, SnapshotSide, SqliteStore, StoredSnapshot,
    SCHEMA_VERSION,
};
use shopify_sync::staging::{
    ApplyResult, AuditAction, AuditEntry, AuditQuery, Change, ChangeFilter, ChangeId, ChangeState,
    Field, FieldMask, IdMapping, Operation, Plan, PlanId, PlanInput, Planner, ProductSnapshot,
    Record, Rejections, Review, ReviewAction, ReviewReport, Snapshot, Take,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

fn snap(v: serde_json::Value) -> ProductSnapshot {
    serde_json::from_value(v).expect("a product snapshot")
}

fn gid(n: u64) -> Gid<Product> {
    Gid::from_numeric_id(n).expect("a gid")
}

fn at(minute: u32) -> chrono::DateTime<chrono::Utc> {
    format!("2026-07-01T10:{minute:02}:00Z")
        .parse()
        .expect("a time")
}

fn by(actor: &str, minute: u32) -> Review {
    Review::new(actor, at(minute))
}

/// Product `n` synced as `{"title": "T<n>", "vendor": "V"}`, locally edited as `local`,
/// remotely as `remote`.
fn input(items: &[(u64, serde_json::Value, serde_json::Value)]) -> PlanInput {
    let mut input = PlanInput::default();
    for (n, local, remote) in items {
        let base = snap(json!({"title": format!("T{n}"), "vendor": "V"}));
        input
            .products
            .base
            .push(Record::synced(format!("L{n}"), gid(*n), base));
        input.products.local.push(Record::synced(
            format!("L{n}"),
            gid(*n),
            snap(local.clone()),
        ));
        input
            .products
            .remote
            .push(Record::remote(gid(*n), Some(at(0)), snap(remote.clone())));
    }
    input
}

fn plan(
    id: &str,
    minute: u32,
    input: &PlanInput,
    store_rejections: shopify_sync::staging::Rejections,
) -> Plan {
    Planner::new(FieldMask::ALL)
        .id(PlanId::from(id))
        .at(at(minute))
        .rejections(store_rejections)
        .plan(input)
}

static DIRS: AtomicU32 = AtomicU32::new(0);

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "shopify-sync-store-test-{}-{}-{name}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir.join("store.db")
}

async fn behaviour(store: &dyn ChangeStore) {
    // Product 1: local title edit. Product 2: both sides edited the title differently.
    // Product 3: local vendor edit.
    let first = input(&[
        (
            1,
            json!({"title": "T1 new", "vendor": "V"}),
            json!({"title": "T1", "vendor": "V"}),
        ),
        (
            2,
            json!({"title": "T2 local", "vendor": "V"}),
            json!({"title": "T2 remote", "vendor": "V"}),
        ),
        (
            3,
            json!({"title": "T3", "vendor": "W"}),
            json!({"title": "T3", "vendor": "V"}),
        ),
    ]);
    let p1 = plan("p1", 1, &first, store.rejections().await.unwrap());
    assert_eq!(p1.changes.len(), 3);
    let saved = store.save_plan(&p1, &by("planner", 1)).await.unwrap();
    assert_eq!(saved.changes, 3);
    assert!(saved.superseded.is_empty());
    // Saving twice, or a reviewed plan, is refused.
    let e = store.save_plan(&p1, &by("planner", 1)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let mut reviewed = plan("p1b", 1, &first, Default::default());
    reviewed.approve(&ChangeFilter::default(), &by("x", 1));
    assert!(store.save_plan(&reviewed, &by("x", 1)).await.is_err());
    assert!(store.plan(&PlanId::from("p1b")).await.unwrap().is_none());

    let stored = store.plan(&p1.id).await.unwrap().expect("saved");
    assert_eq!(stored, p1);

    // Bulk approve everything: the conflict is skipped and said why.
    let report = store
        .approve(&ChangeFilter::default().plan(&p1.id), &by("ana", 2))
        .await
        .unwrap();
    assert_eq!(report.changed.len(), 2);
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].reason.contains("unresolved conflict"));
    let conflict = report.skipped[0].change_id.clone();
    // Approving again changes nothing (only staged changes are reviewed).
    let again = store
        .approve(&ChangeFilter::default(), &by("ana", 2))
        .await
        .unwrap();
    assert!(again.changed.is_empty());

    // Resolve the conflict with a given value, then approve that one change.
    assert!(store
        .resolve(
            &conflict,
            Some("title"),
            Take::Value,
            Some(json!(42)),
            &by("ana", 3)
        )
        .await
        .is_err());
    let resolved = store
        .resolve(
            &conflict,
            Some("title"),
            Take::Value,
            Some(json!("T2 agreed")),
            &by("ana", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        resolved.writes().collect::<Vec<_>>(),
        [("title", &json!("T2 agreed"))]
    );
    let report = store
        .approve(&ChangeFilter::default().change(&conflict), &by("ana", 4))
        .await
        .unwrap();
    assert_eq!(report.changed, std::slice::from_ref(&conflict));

    // Apply: one worker wins, the other is told both states.
    let id1 = p1.changes[0].id.clone();
    store.begin_apply(&id1, &by("worker-a", 5)).await.unwrap();
    let e = store
        .begin_apply(&id1, &by("worker-b", 5))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains("cannot go from applying to applying"),
        "{e}"
    );
    assert_eq!(store.in_flight().await.unwrap().len(), 1);
    let ids = IdMapping {
        local_id: Some("L1".into()),
        shopify_id: "gid://shopify/Product/1".into(),
        variants: vec![],
    };
    let done = store
        .finish_apply(
            &id1,
            ApplyResult::applied(Some(ids.clone())),
            &by("worker-a", 6),
        )
        .await
        .unwrap();
    assert_eq!(done.state, ChangeState::Applied);
    assert_eq!(done.result.unwrap().ids, Some(ids));
    assert!(store.in_flight().await.unwrap().is_empty());
    // Applied is final.
    let e = store
        .transition(&id1, ChangeState::Staged, &by("ana", 6))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot go from applied to staged"),
        "{e}"
    );
    // A stale apply returns to review.
    store
        .begin_apply(&conflict, &by("worker-a", 7))
        .await
        .unwrap();
    let stale = store
        .finish_apply(
            &conflict,
            ApplyResult::stale("remote moved"),
            &by("worker-a", 7),
        )
        .await
        .unwrap();
    assert_eq!(stale.state, ChangeState::Stale);
    store
        .transition(&conflict, ChangeState::Staged, &by("ana", 8))
        .await
        .unwrap();
    assert!(store
        .transition(
            &PlanId::from("nope").change(1),
            ChangeState::Approved,
            &by("ana", 8)
        )
        .await
        .is_err());

    // Reject product 3's vendor change: it is remembered.
    let p3 = p1.changes[2].id.clone();
    store
        .transition(&p3, ChangeState::Applying, &by("w", 8))
        .await
        .unwrap(); // it was approved above
    store
        .finish_apply(&p3, ApplyResult::failed("boom"), &by("w", 8))
        .await
        .unwrap();
    store
        .transition(&p3, ChangeState::Staged, &by("ana", 9))
        .await
        .unwrap();
    let report = store
        .reject(&ChangeFilter::default().target("L3"), &by("ana", 9))
        .await
        .unwrap();
    assert_eq!(report.changed, std::slice::from_ref(&p3));
    let rejections = store.rejections().await.unwrap();
    assert!(!rejections.is_empty());

    // Plan again: product 3's rejected vendor is not proposed again; product 2's
    // staged change is superseded by the new plan's; product 1's applied change stays.
    let p2 = plan("p2", 10, &first, store.rejections().await.unwrap());
    let targets: Vec<&str> = p2
        .changes
        .iter()
        .filter_map(|c| c.target.local_id.as_deref())
        .collect();
    assert_eq!(targets, ["L1", "L2"]);
    let saved = store.save_plan(&p2, &by("planner", 10)).await.unwrap();
    assert_eq!(saved.superseded, std::slice::from_ref(&conflict));
    assert_eq!(
        store.change(&conflict).await.unwrap().unwrap().state,
        ChangeState::Superseded
    );
    assert_eq!(
        store.change(&id1).await.unwrap().unwrap().state,
        ChangeState::Applied
    );
    // A different local value is a new proposal.
    let edited = input(&[(
        3,
        json!({"title": "T3", "vendor": "X"}),
        json!({"title": "T3", "vendor": "V"}),
    )]);
    let p3plan = plan("p3", 11, &edited, store.rejections().await.unwrap());
    assert_eq!(p3plan.changes.len(), 1);
    assert_eq!(p3plan.changes[0].field, Some(Field::Vendor));

    // The audit trail: by product, by change, by time, as JSONL.
    let trail = store
        .audit(&AuditQuery::default().target("gid://shopify/Product/2"))
        .await
        .unwrap();
    let actions: Vec<AuditAction> = trail.iter().map(|e| e.action).collect();
    use AuditAction::*;
    assert_eq!(
        actions,
        [
            Planned,
            Resolved,
            Approved,
            Applying,
            Stale,
            ReturnedToReview,
            Superseded,
            Planned
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(trail[6].comment.as_deref(), Some("superseded by plan p2"));
    assert_eq!(trail[2].before, json!({"state": "staged"}));
    assert_eq!(trail[2].after, json!({"state": "approved"}));
    let by_change = store
        .audit(&AuditQuery::default().change(&id1))
        .await
        .unwrap();
    assert_eq!(by_change.len(), 4);
    assert_eq!(
        by_change[3].after["result"]["ids"]["shopify_id"],
        "gid://shopify/Product/1"
    );
    let window = AuditQuery::default().since(at(5)).until(at(7));
    let in_window = store.audit(&window).await.unwrap();
    assert!(!in_window.is_empty());
    assert!(in_window.iter().all(|e| e.at >= at(5) && e.at < at(7)));
    let jsonl = store
        .export_audit_jsonl(&AuditQuery::default())
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(
        lines.len(),
        store.audit(&AuditQuery::default()).await.unwrap().len()
    );
    assert_eq!(lines[0]["action"], "planned");
    assert_eq!(lines[0]["seq"], 1);
    let limited = AuditQuery {
        after_seq: Some(2),
        limit: Some(3),
        ..AuditQuery::default()
    };
    let page: Vec<u64> = store
        .audit(&limited)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(page, [3, 4, 5]);

    // Queries by filter.
    let approved = store
        .changes(&ChangeFilter::default().state(ChangeState::Applied))
        .await
        .unwrap();
    assert_eq!(approved.len(), 1);
    let updates = store
        .changes(
            &ChangeFilter::default()
                .operation(Operation::Update)
                .field(Field::Title),
        )
        .await
        .unwrap();
    assert_eq!(updates.len(), 4);

    // Snapshots and checkpoints.
    let stored = StoredSnapshot {
        snapshot: Snapshot::Product(snap(json!({"title": "T1 new"}))),
        fingerprint: Some(snap(json!({"title": "T1 new"})).fingerprint(FieldMask::ALL)),
        updated_at: Some(at(6)),
        local_id: Some("sku-1".into()),
    };
    store
        .put_snapshots(
            SnapshotSide::Base,
            &[("gid://shopify/Product/1".into(), stored.clone())],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .snapshot(SnapshotSide::Base, "gid://shopify/Product/1")
            .await
            .unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        store
            .snapshot(SnapshotSide::Remote, "gid://shopify/Product/1")
            .await
            .unwrap(),
        None
    );
    store.set_checkpoint("pull", "cursor-1").await.unwrap();
    store.set_checkpoint("pull", "cursor-2").await.unwrap();
    assert_eq!(
        store.checkpoint("pull").await.unwrap().as_deref(),
        Some("cursor-2")
    );
    assert_eq!(store.checkpoint("other").await.unwrap(), None);

    // A batch puts, deletes and moves a cursor together; listing is by key.
    let mut two = stored.clone();
    two.local_id = None;
    let batch = SnapshotBatch {
        put: vec![
            (
                SnapshotSide::Remote,
                "gid://shopify/Product/2".into(),
                two.clone(),
            ),
            (
                SnapshotSide::Remote,
                "gid://shopify/Product/10".into(),
                two.clone(),
            ),
        ],
        delete: vec![
            (SnapshotSide::Base, "gid://shopify/Product/1".into()),
            (SnapshotSide::Base, "gid://shopify/Product/404".into()),
        ],
        checkpoints: vec![("pull".into(), "cursor-3".into())],
    };
    store.write_snapshots(&batch).await.unwrap();
    assert!(store
        .snapshots(SnapshotSide::Base)
        .await
        .unwrap()
        .is_empty());
    let keys: Vec<String> = store
        .snapshots(SnapshotSide::Remote)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, s)| {
            assert_eq!(s, two);
            k
        })
        .collect();
    assert_eq!(
        keys,
        ["gid://shopify/Product/10", "gid://shopify/Product/2"]
    );
    assert_eq!(
        store.checkpoint("pull").await.unwrap().as_deref(),
        Some("cursor-3")
    );
}

#[tokio::test]
async fn memory_store_behaviour() {
    behaviour(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_behaviour() {
    let path = temp_db("behaviour");
    let store = SqliteStore::open(&path).unwrap();
    behaviour(&store).await;
    store.check_integrity().unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let audit_len = store.audit(&AuditQuery::default()).await.unwrap().len();
    drop(store);
    // Everything is still there after reopening.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.audit(&AuditQuery::default()).await.unwrap().len(),
        audit_len
    );
    assert_eq!(
        store.checkpoint("pull").await.unwrap().as_deref(),
        Some("cursor-3")
    );
    assert!(store.recovered().is_empty());
    // The audit trail is append-only, even to SQL.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let e = conn
        .execute("UPDATE audit SET json = '{}'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert!(conn.execute("DELETE FROM audit", []).is_err());
}

#[tokio::test]
async fn sqlite_lists_changes_left_applying_on_reopen() {
    let path = temp_db("recover");
    let store = SqliteStore::open(&path).unwrap();
    let p = plan(
        "p",
        1,
        &input(&[(
            1,
            json!({"title": "new", "vendor": "V"}),
            json!({"title": "T1", "vendor": "V"}),
        )]),
        Default::default(),
    );
    store.save_plan(&p, &by("planner", 1)).await.unwrap();
    let id = p.changes[0].id.clone();
    store
        .approve(&ChangeFilter::default(), &by("ana", 2))
        .await
        .unwrap();
    store.begin_apply(&id, &by("worker", 3)).await.unwrap();
    drop(store); // as if the process died here
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.recovered(), std::slice::from_ref(&id));
    let in_flight = store.in_flight().await.unwrap();
    assert_eq!(in_flight.len(), 1);
    // Reconciled: Shopify has the new title.
    store
        .finish_apply(&id, ApplyResult::applied(None), &by("reconciler", 4))
        .await
        .unwrap();
    drop(store);
    assert!(SqliteStore::open(&path).unwrap().recovered().is_empty());
}

#[test]
fn sqlite_refuses_newer_schemas_and_foreign_files() {
    let path = temp_db("newer");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let e = SqliteStore::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("newer version"), "{e}");

    let junk = temp_db("junk");
    std::fs::write(
        &junk,
        b"this is not a database, not even close; 0123456789abcdef".repeat(100),
    )
    .unwrap();
    let e = SqliteStore::open(&junk).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");

    let missing_dir = temp_db("missing").with_file_name("no/such/dir/store.db");
    assert!(SqliteStore::open(&missing_dir).is_err());
}

#[test]
fn sqlite_works_outside_a_runtime() {
    let path = temp_db("blocking");
    let store = SqliteStore::open(&path).unwrap();
    futures::executor::block_on(store.set_checkpoint("a", "b")).unwrap();
    assert_eq!(
        futures::executor::block_on(store.checkpoint("a"))
            .unwrap()
            .as_deref(),
        Some("b")
    );
}

#[test]
fn open_default_reads_the_environment() {
    let path = temp_db("env");
    // Only this test sets the variable in this process.
    std::env::set_var(SqliteStore::ENV, &path);
    let store = SqliteStore::open_default().unwrap();
    assert_eq!(store.path(), path);
    std::env::remove_var(SqliteStore::ENV);
}

#[tokio::test]
async fn damaged_or_newer_plan_files_are_refused_and_nothing_is_saved() {
    let path = temp_db("planfile");
    let file = path.with_file_name("plan.json");
    let store = SqliteStore::open(&path).unwrap();
    let p = plan(
        "filed",
        1,
        &input(&[(
            1,
            json!({"title": "new", "vendor": "V"}),
            json!({"title": "T1", "vendor": "V"}),
        )]),
        Default::default(),
    );
    p.write_file(&file).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let damaged = [
        (
            "truncated",
            text[..text.len() * 2 / 3].to_owned(),
            "not valid JSON",
        ),
        (
            "edited value",
            text.replace("\"new\"", "\"newer\""),
            "digest does not match",
        ),
        (
            "newer version",
            text.replacen("\"version\": 1", "\"version\": 2", 1),
            "newer version",
        ),
        (
            "unknown key",
            text.replacen("\"priority\"", "\"prio\"", 1),
            "plan.changes[0]",
        ),
        ("not a plan", "{\"hello\": 1}".to_owned(), "not a plan file"),
        ("binary", "\u{0}\u{1}garbage".to_owned(), "not valid JSON"),
    ];
    for (what, bad, expect) in damaged {
        std::fs::write(&file, &bad).unwrap();
        let e = Plan::read_file(&file).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}");
        assert!(e.to_string().contains(expect), "{what}: {e}");
    }
    assert!(store
        .changes(&ChangeFilter::default())
        .await
        .unwrap()
        .is_empty());
    // The intact file loads and saves.
    std::fs::write(&file, &text).unwrap();
    let read = Plan::read_file(&file).unwrap();
    assert_eq!(read, p);
    store.save_plan(&read, &by("planner", 2)).await.unwrap();
    assert_eq!(
        store.changes(&ChangeFilter::default()).await.unwrap().len(),
        1
    );
    assert!(Plan::read_file(path.with_file_name("missing.json")).is_err());
}

// ----- paged snapshot listing ---------------------------------------------------------

fn titled(title: &str) -> StoredSnapshot {
    StoredSnapshot {
        snapshot: Snapshot::Product(snap(json!({ "title": title }))),
        fingerprint: None,
        updated_at: None,
        local_id: None,
    }
}

/// Every page of one side from `after` on, `limit` at a time, checking that no page is
/// longer than `limit`.
async fn all_pages(
    store: &dyn ChangeStore,
    side: SnapshotSide,
    limit: usize,
) -> (Vec<(String, StoredSnapshot)>, usize) {
    let (mut out, mut pages) = (Vec::new(), 0);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .snapshots_page(side, after.as_deref(), limit)
            .await
            .unwrap();
        pages += 1;
        if let Some(after) = &after {
            assert!(
                page.iter().all(|(k, _)| k > after),
                "a page starts at or before {after:?}"
            );
        }
        assert!(
            page.len() <= limit,
            "a page of {} at limit {limit}",
            page.len()
        );
        let last = page.len() < limit;
        if let Some((key, _)) = page.last() {
            after = Some(key.clone());
        }
        out.extend(page);
        if last {
            return (out, pages);
        }
    }
}

async fn paging(store: &dyn ChangeStore) {
    // An empty side has one empty page.
    assert!(store
        .snapshots_page(SnapshotSide::Remote, None, 10)
        .await
        .unwrap()
        .is_empty());

    // 1,234 products (whose keys do not sort numerically: /10 comes before /2), an
    // empty key and one after every gid, on the remote side; 50 more on the base side.
    let mut expected: BTreeMap<String, StoredSnapshot> = (1..=1_234u64)
        .map(|n| (gid(n).to_string(), titled(&format!("T{n}"))))
        .collect();
    expected.insert(String::new(), titled("empty key"));
    expected.insert("zz-not-a-gid".into(), titled("last"));
    let batch = SnapshotBatch {
        put: expected
            .iter()
            .map(|(k, s)| (SnapshotSide::Remote, k.clone(), s.clone()))
            .chain((1..=50u64).map(|n| {
                (
                    SnapshotSide::Base,
                    format!("{}-base", gid(n)),
                    titled(&format!("B{n}")),
                )
            }))
            .collect(),
        ..SnapshotBatch::default()
    };
    store.write_snapshots(&batch).await.unwrap();
    let expected: Vec<(String, StoredSnapshot)> = expected.into_iter().collect();
    let n = expected.len();
    assert_eq!(n, 1_236);
    assert_eq!(
        store.snapshots(SnapshotSide::Remote).await.unwrap(),
        expected
    );

    // Whatever the page size, the pages cover the side exactly once, in key order, and
    // a page shorter than the limit is the last.
    for limit in [1, 7, 500, n - 1, n, n + 1, 10_000] {
        let (listed, pages) = all_pages(store, SnapshotSide::Remote, limit).await;
        assert_eq!(listed.len(), n, "limit {limit}");
        assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "limit {limit}");
        assert_eq!(listed, expected, "limit {limit}");
        assert_eq!(pages, n / limit + 1, "limit {limit}");
    }
    let (base, _) = all_pages(store, SnapshotSide::Base, 16).await;
    assert_eq!(base.len(), 50);
    assert!(base.iter().all(|(k, s)| k.ends_with("-base")
        && matches!(&s.snapshot, Snapshot::Product(p) if p.title.starts_with('B'))));

    // `after` need not be a stored key; the page starts strictly after it.
    let p5 = gid(5).to_string();
    let between = format!("{}5!", gid(12)); // not stored: between /125 and /1250
    for after in [
        "",
        p5.as_str(),
        between.as_str(),
        "gid://",
        "zz-not-a-gid",
        "~",
    ] {
        for limit in [0, 1, 3, 2_000] {
            let page = store
                .snapshots_page(SnapshotSide::Remote, Some(after), limit)
                .await
                .unwrap();
            let want: Vec<(String, StoredSnapshot)> = expected
                .iter()
                .filter(|(k, _)| k.as_str() > after)
                .take(limit)
                .cloned()
                .collect();
            assert_eq!(page, want, "after {after:?}, limit {limit}");
        }
    }
    let first = store
        .snapshots_page(SnapshotSide::Remote, None, 2)
        .await
        .unwrap();
    assert_eq!(first[0].0, "", "the empty key is first");
    assert_eq!(first[1].0, gid(1).to_string());

    // Writes between pages: keys present throughout are listed once; a key deleted
    // ahead of the cursor is not listed, one inserted ahead of it is; a key inserted
    // behind the cursor is not.
    let page = store
        .snapshots_page(SnapshotSide::Remote, None, 100)
        .await
        .unwrap();
    let cursor = page.last().unwrap().0.clone();
    let behind = format!("{}a", page[10].0);
    let ahead = format!("{cursor}a");
    let gone = expected[200].0.clone();
    store
        .write_snapshots(&SnapshotBatch {
            put: vec![
                (SnapshotSide::Remote, behind.clone(), titled("behind")),
                (SnapshotSide::Remote, ahead.clone(), titled("ahead")),
            ],
            delete: vec![(SnapshotSide::Remote, gone.clone())],
            ..SnapshotBatch::default()
        })
        .await
        .unwrap();
    let mut rest = Vec::new();
    let mut after = cursor;
    loop {
        let page = store
            .snapshots_page(SnapshotSide::Remote, Some(&after), 100)
            .await
            .unwrap();
        let last = page.len() < 100;
        if let Some((k, _)) = page.last() {
            after = k.clone();
        }
        rest.extend(page.into_iter().map(|(k, _)| k));
        if last {
            break;
        }
    }
    let mut want: Vec<String> = expected[100..]
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| *k != gone)
        .collect();
    want.push(ahead);
    want.sort();
    assert_eq!(rest, want);
    assert!(!rest.contains(&behind));
}

#[tokio::test]
async fn memory_store_pages_snapshots() {
    paging(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_pages_snapshots() {
    let store = SqliteStore::open(temp_db("paging")).unwrap();
    paging(&store).await;
    store.check_integrity().unwrap();
}

/// A store that implements only what `ChangeStore` requires: the default
/// `snapshots_page` (which filters `snapshots`) follows the same rules.
struct Minimal(MemoryStore);

impl ChangeStore for Minimal {
    fn save_plan<'a>(&'a self, plan: &'a Plan, by: &'a Review) -> BoxFuture<'a, Result<SavedPlan>> {
        self.0.save_plan(plan, by)
    }
    fn plan<'a>(&'a self, id: &'a PlanId) -> BoxFuture<'a, Result<Option<Plan>>> {
        self.0.plan(id)
    }
    fn change<'a>(&'a self, id: &'a ChangeId) -> BoxFuture<'a, Result<Option<Change>>> {
        self.0.change(id)
    }
    fn changes<'a>(&'a self, filter: &'a ChangeFilter) -> BoxFuture<'a, Result<Vec<Change>>> {
        self.0.changes(filter)
    }
    fn review<'a>(
        &'a self,
        action: ReviewAction,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        self.0.review(action, filter, by)
    }
    fn resolve<'a>(
        &'a self,
        id: &'a ChangeId,
        path: Option<&'a str>,
        take: Take,
        value: Option<serde_json::Value>,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.0.resolve(id, path, take, value, by)
    }
    fn transition<'a>(
        &'a self,
        id: &'a ChangeId,
        to: ChangeState,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.0.transition(id, to, by)
    }
    fn finish_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        result: ApplyResult,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.0.finish_apply(id, result, by)
    }
    fn audit<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>>> {
        self.0.audit(query)
    }
    fn rejections(&self) -> BoxFuture<'_, Result<Rejections>> {
        self.0.rejections()
    }
    fn write_snapshots<'a>(&'a self, batch: &'a SnapshotBatch) -> BoxFuture<'a, Result<()>> {
        self.0.write_snapshots(batch)
    }
    fn snapshots(
        &self,
        side: SnapshotSide,
    ) -> BoxFuture<'_, Result<Vec<(String, StoredSnapshot)>>> {
        self.0.snapshots(side)
    }
    fn snapshot<'a>(
        &'a self,
        side: SnapshotSide,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>>> {
        self.0.snapshot(side, key)
    }
    fn set_checkpoint<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<()>> {
        self.0.set_checkpoint(name, value)
    }
    fn checkpoint<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        self.0.checkpoint(name)
    }
}

#[tokio::test]
async fn the_default_paged_listing_follows_the_same_rules() {
    paging(&Minimal(MemoryStore::new())).await;
}
