//! Full and incremental pulls against the simulator over real HTTP, into a
//! `MemoryStore` and a `SqliteStore`: the remote snapshots equal what the client reads
//! directly, membership is each custom collection's product list, deletions are
//! reconciled, the overlap window covers the search-index lag, and an interrupted
//! incremental pull resumes from the cursor it committed.
use futures::future::BoxFuture;
use futures::TryStreamExt;
use serde_json::{json, Map, Value};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::products::ProductQuery;
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::{Error, ErrorKind, Result};
use shopify_sync::model::{Collection, Gid, Product};
use shopify_sync::staging::store::{
    ChangeStore, MemoryStore, SavedPlan, SnapshotBatch, SnapshotSide, SqliteStore, StoredSnapshot,
};
use shopify_sync::staging::{
    ApplyResult, AuditEntry, AuditQuery, Change, ChangeFilter, ChangeId, ChangeState,
    CollectionSnapshot, FieldMask, Plan, PlanId, ProductSnapshot, Rejections, Review, ReviewAction,
    ReviewReport, Snapshot, Take,
};
use shopify_sync::sync::{checkpoints, PullMode, SyncConfig, SyncEngine};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

async fn sim(products: usize, collections: usize, index_lag: Duration) -> Simulator {
    Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections,
            ..CatalogSpec::default()
        }),
        index_lag,
        job_delay: Duration::from_millis(10),
        bulk_rows_per_second: f64::INFINITY,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &Simulator) -> ShopifyClient {
    let config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token()).unwrap();
    ShopifyClient::new(config).unwrap()
}

fn engine(sim: &Simulator, store: Arc<dyn ChangeStore>, config: SyncConfig) -> SyncEngine {
    SyncEngine::new(client(sim), store).with_config(config)
}

fn config(overlap: Duration) -> SyncConfig {
    SyncConfig {
        overlap,
        ..SyncConfig::default()
    }
}

fn sqlite(name: &str) -> Arc<SqliteStore> {
    let dir = std::env::temp_dir().join(format!(
        "shopify-sync-pull-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join("store.db");
    Arc::new(SqliteStore::open(path).unwrap())
}

fn remote(snapshot: Snapshot, updated_at: Option<chrono::DateTime<chrono::Utc>>) -> StoredSnapshot {
    StoredSnapshot {
        fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
        snapshot,
        updated_at,
        local_id: None,
    }
}

/// The store as the client reads it directly, keyed like the remote snapshots, and the
/// custom-collection membership it was built from.
struct Truth {
    snapshots: BTreeMap<String, StoredSnapshot>,
    collections: Vec<Collection>,
    members: HashMap<Gid<Collection>, Vec<Gid<Product>>>,
}

async fn truth(c: &ShopifyClient) -> Truth {
    let collections: Vec<Collection> = c.collections(None).try_collect().await.unwrap();
    let mut members = HashMap::new();
    let mut of_product: HashMap<Gid<Product>, Vec<Gid<Collection>>> = HashMap::new();
    for coll in &collections {
        let ids: Vec<Gid<Product>> = c
            .collection_product_ids(coll.id)
            .try_collect()
            .await
            .unwrap();
        if !coll.is_smart() {
            for p in &ids {
                of_product.entry(*p).or_default().push(coll.id);
            }
        }
        members.insert(coll.id, ids);
    }
    let products: Vec<Product> = c
        .products(ProductQuery::default())
        .try_collect()
        .await
        .unwrap();
    let mut snapshots = BTreeMap::new();
    for p in &products {
        let snap = ProductSnapshot::from_product(p)
            .with_collections(of_product.get(&p.id).cloned().unwrap_or_default());
        snapshots.insert(
            p.id.to_string(),
            remote(Snapshot::Product(snap), p.updated_at),
        );
    }
    for coll in &collections {
        let snap = CollectionSnapshot::from_collection(coll);
        snapshots.insert(
            coll.id.to_string(),
            remote(Snapshot::Collection(snap), coll.updated_at),
        );
    }
    Truth {
        snapshots,
        collections,
        members,
    }
}

async fn stored(store: &dyn ChangeStore) -> BTreeMap<String, StoredSnapshot> {
    store
        .snapshots(SnapshotSide::Remote)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Assert the remote snapshots equal the truth, naming the first differences.
fn assert_same(
    actual: &BTreeMap<String, StoredSnapshot>,
    expected: &BTreeMap<String, StoredSnapshot>,
) {
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let differ: Vec<&String> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "missing {missing:?}, extra {extra:?}, differ {:?}",
        differ
            .iter()
            .map(|k| (&actual[*k], &expected[*k]))
            .collect::<Vec<_>>()
    );
}

fn product_of(s: &StoredSnapshot) -> &ProductSnapshot {
    match &s.snapshot {
        Snapshot::Product(p) => p,
        other => panic!("not a product: {other:?}"),
    }
}

async fn cursor(store: &dyn ChangeStore) -> Option<String> {
    store
        .checkpoint(checkpoints::PRODUCTS_UPDATED_AT)
        .await
        .unwrap()
}

/// Sleep until the wall clock reaches `t` plus `extra`.
async fn sleep_until(t: chrono::DateTime<chrono::Utc>, extra: Duration) {
    let target = SystemTime::from(t) + extra;
    if let Ok(wait) = target.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
}

#[tokio::test]
async fn full_pull_matches_what_the_client_reads() {
    let sim = sim(300, 16, Duration::ZERO).await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&sim, store.clone(), SyncConfig::default());
    let report = engine.pull(PullMode::Paginated).await.unwrap();
    let truth = truth(engine.client()).await;

    assert_eq!(report.mode, PullMode::Paginated);
    assert!(!report.incremental);
    assert_eq!(report.products, 300);
    assert_eq!(report.collections, truth.collections.len() as u64);
    assert_eq!(report.deleted, 0);
    let custom_pairs: usize = truth
        .collections
        .iter()
        .filter(|c| !c.is_smart())
        .map(|c| truth.members[&c.id].len())
        .sum();
    assert_eq!(report.memberships, custom_pairs as u64);
    assert!(custom_pairs > 0, "the catalog has custom memberships");

    let actual = stored(&*store).await;
    assert_same(&actual, &truth.snapshots);

    // Membership is exactly each custom collection's product list; smart collections
    // (which do have members) never appear in a product's snapshot.
    let smart: Vec<&Collection> = truth.collections.iter().filter(|c| c.is_smart()).collect();
    assert!(!smart.is_empty());
    assert!(smart.iter().any(|c| !truth.members[&c.id].is_empty()));
    for c in &truth.collections {
        for (key, s) in &actual {
            let Snapshot::Product(p) = &s.snapshot else {
                continue;
            };
            let id: Gid<Product> = Gid::parse(key).unwrap();
            let listed = truth.members[&c.id].contains(&id);
            assert_eq!(
                p.collections.contains(&c.id),
                listed && !c.is_smart(),
                "{key} in {} (smart: {})",
                c.id,
                c.is_smart()
            );
        }
    }

    // Checkpoints: a complete full pull, and the cursor at the latest updatedAt seen
    // (the generated catalog's times are all in the past).
    assert!(store
        .checkpoint(checkpoints::FULL_PULL_AT)
        .await
        .unwrap()
        .is_some());
    let latest = actual
        .values()
        .filter(|s| matches!(s.snapshot, Snapshot::Product(_)))
        .filter_map(|s| s.updated_at)
        .max()
        .unwrap();
    assert_eq!(report.cursor, Some(latest));
    let saved: chrono::DateTime<chrono::Utc> = cursor(&*store).await.unwrap().parse().unwrap();
    assert_eq!(saved, latest);
}

#[tokio::test]
async fn bulk_pull_gives_the_same_snapshots_as_paginated() {
    let sim = sim(200, 10, Duration::ZERO).await;
    let paginated = Arc::new(MemoryStore::new());
    let report = engine(&sim, paginated.clone(), SyncConfig::default())
        .pull(PullMode::Paginated)
        .await
        .unwrap();
    assert_eq!(report.mode, PullMode::Paginated);

    let bulk = sqlite("bulk");
    let report = engine(&sim, bulk.clone(), SyncConfig::default())
        .pull(PullMode::Bulk)
        .await
        .unwrap();
    assert_eq!(report.mode, PullMode::Bulk);
    assert_eq!(report.products, 200);
    assert_eq!(sim.bulk_operations().len(), 1, "one bulk query");
    assert_same(&stored(&*bulk).await, &stored(&*paginated).await);

    // Auto: paginated below the threshold, bulk from it on.
    let auto = Arc::new(MemoryStore::new());
    let below = engine(&sim, auto.clone(), SyncConfig::default())
        .pull(PullMode::Auto)
        .await
        .unwrap();
    assert_eq!(below.mode, PullMode::Paginated);
    let at = engine(
        &sim,
        auto.clone(),
        SyncConfig {
            bulk_pull_threshold: 200,
            ..SyncConfig::default()
        },
    )
    .pull(PullMode::Auto)
    .await
    .unwrap();
    assert_eq!(at.mode, PullMode::Bulk);
    assert_same(&stored(&*auto).await, &stored(&*paginated).await);
}

#[tokio::test]
async fn full_pull_deletes_the_snapshot_of_a_deleted_product() {
    let sim = sim(60, 6, Duration::ZERO).await;
    let store = sqlite("delete");
    let engine = engine(&sim, store.clone(), SyncConfig::default());
    engine.pull(PullMode::Paginated).await.unwrap();
    let victim: Gid<Product> = Gid::from_numeric_id(sim.dump().products[7].id).unwrap();
    let key = victim.to_string();
    assert!(store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .is_some());

    engine.client().product_delete(victim).await.unwrap();
    let report = engine.pull(PullMode::Paginated).await.unwrap();
    assert_eq!(report.deleted, 1);
    assert_eq!(report.products, 59);
    assert!(store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .is_none());
    assert_same(
        &stored(&*store).await,
        &truth(engine.client()).await.snapshots,
    );
}

/// More stored snapshots than the pull lists per page (1,000): deletions and membership
/// changes on every page are found, and nothing is listed twice or missed.
#[tokio::test]
async fn pulls_over_a_store_of_several_listing_pages() {
    let sim = Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 2_500,
            collections: 8,
            ..CatalogSpec::default()
        }),
        restore_rate: 100_000.0,
        job_delay: Duration::from_millis(10),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for (name, store) in [
        (
            "memory",
            Arc::new(MemoryStore::new()) as Arc<dyn ChangeStore>,
        ),
        ("sqlite", sqlite("pages") as Arc<dyn ChangeStore>),
    ] {
        let engine = engine(&sim, store.clone(), config(Duration::ZERO));
        let first = engine.pull(PullMode::Paginated).await.unwrap();
        let c = engine.client();
        let all: Vec<Gid<Product>> = sim
            .dump()
            .products
            .iter()
            .map(|p| Gid::from_numeric_id(p.id).unwrap())
            .collect();
        assert!(all.len() > 2_000, "{name}");

        // A full pull over the filled store finds deletions on every page.
        let gone: Vec<Gid<Product>> = [10, all.len() / 2, all.len() - 10]
            .iter()
            .map(|&i| all[i])
            .collect();
        for id in &gone {
            c.product_delete(*id).await.unwrap();
        }
        let second = engine.pull(PullMode::Paginated).await.unwrap();
        assert_eq!(second.deleted, 3, "{name}: {second:?}");
        assert_eq!(second.products, first.products - 3, "{name}");
        assert_same(&stored(&*store).await, &truth(c).await.snapshots);

        // An incremental pull finds membership changes and deletions on every page.
        let before = truth(c).await;
        let grow = before
            .collections
            .iter()
            .find(|c| !c.is_smart())
            .expect("a custom collection")
            .id;
        let live: Vec<Gid<Product>> = all.iter().filter(|p| !gone.contains(p)).copied().collect();
        let joiners: Vec<Gid<Product>> = [5, live.len() / 2 + 5, live.len() - 5]
            .iter()
            .map(|&i| live[i])
            .filter(|p| !before.members[&grow].contains(p))
            .collect();
        assert!(!joiners.is_empty());
        c.collection_add_products(grow, &joiners).await.unwrap();
        let doomed = [live[20], live[live.len() - 20]];
        for id in &doomed {
            c.product_delete(*id).await.unwrap();
        }
        let report = engine.pull_incremental().await.unwrap();
        assert!(report.incremental, "{name}");
        assert_eq!(report.deleted, 2, "{name}: {report:?}");
        let since = second.cursor.unwrap();
        let reread =
            |p: &Gid<Product>| before.snapshots[&p.to_string()].updated_at.unwrap() >= since;
        let moved = joiners.iter().filter(|p| !reread(p)).count();
        assert_eq!(
            report.membership_changes, moved as u64,
            "{name}: {report:?}"
        );
        assert_same(&stored(&*store).await, &truth(c).await.snapshots);

        // Restore the catalog's membership for the next store: only deletions remain.
        c.collection_remove_products(grow, &joiners).await.unwrap();
    }
}

#[tokio::test]
async fn incremental_without_checkpoints_is_a_full_pull() {
    let sim = sim(40, 4, Duration::ZERO).await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&sim, store.clone(), SyncConfig::default());
    let first = engine.pull_incremental().await.unwrap();
    assert!(!first.incremental);
    assert_eq!(first.products, 40);
    let second = engine.pull_incremental().await.unwrap();
    assert!(second.incremental);
    assert_eq!(second.mode, PullMode::Paginated);
    assert_eq!(second.deleted, 0);
    assert_eq!(second.membership_changes, 0);
    assert_eq!(second.collections, 0, "nothing changed");
    assert_eq!(second.cursor, first.cursor);
    assert_same(
        &stored(&*store).await,
        &truth(engine.client()).await.snapshots,
    );
}

/// An edit written just before an incremental pull is not searchable yet (index lag):
/// that pull misses it and leaves the cursor behind it; once the lag has passed, the
/// next pull reads it.
#[tokio::test]
async fn incremental_pull_reads_an_unindexed_edit_once_the_lag_passes() {
    let lag = Duration::from_secs(2);
    let sim = sim(50, 4, lag).await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&sim, store.clone(), config(lag + Duration::from_secs(1)));
    engine.pull(PullMode::Paginated).await.unwrap();

    let target: Gid<Product> = Gid::from_numeric_id(sim.dump().products[3].id).unwrap();
    let key = target.to_string();
    let edited = engine
        .client()
        .product_update(json!({"id": key, "title": "Edited Just Now"}))
        .await
        .unwrap();
    let written = edited.updated_at.unwrap();

    let early = engine.pull_incremental().await.unwrap();
    assert!(early.incremental);
    let snap = store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        product_of(&snap).title,
        "Edited Just Now",
        "not indexed yet"
    );
    assert!(
        early.cursor.unwrap() < written,
        "the cursor stays behind it"
    );

    sleep_until(written, lag + Duration::from_millis(100)).await;
    let late = engine.pull_incremental().await.unwrap();
    let snap = store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(product_of(&snap).title, "Edited Just Now");
    assert_eq!(snap.updated_at, Some(written));
    assert_eq!(late.cursor, Some(written));
    assert_same(
        &stored(&*store).await,
        &truth(engine.client()).await.snapshots,
    );
}

/// Shopify indexes writes out of order: a later write can be searchable, and move the
/// cursor, before an earlier one is. The simulator's lag is the same for every write,
/// so the test puts the cursor where such a later write would: a second past an edit
/// that is not indexed yet. Without an overlap the edit is missed for good; an overlap
/// of at least the lag reads it.
#[tokio::test]
async fn the_overlap_reads_an_edit_indexed_behind_the_cursor() {
    let lag = Duration::from_secs(2);
    let sim = sim(50, 4, lag).await;
    let store = Arc::new(MemoryStore::new());
    let no_overlap = engine(&sim, store.clone(), config(Duration::ZERO));
    no_overlap.pull(PullMode::Paginated).await.unwrap();

    let target: Gid<Product> = Gid::from_numeric_id(sim.dump().products[5].id).unwrap();
    let key = target.to_string();
    let edited = no_overlap
        .client()
        .product_update(json!({"id": key, "title": "Indexed Late"}))
        .await
        .unwrap();
    let written = edited.updated_at.unwrap();
    let ahead = written + chrono::Duration::seconds(1);
    store
        .set_checkpoint(checkpoints::PRODUCTS_UPDATED_AT, &ahead.to_rfc3339())
        .await
        .unwrap();

    // Even once the edit is searchable, a pull from the cursor does not find it.
    sleep_until(written, lag + Duration::from_millis(100)).await;
    let missed = no_overlap.pull_incremental().await.unwrap();
    assert_eq!(missed.products, 0);
    let snap = store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        product_of(&snap).title,
        "Indexed Late",
        "missed without an overlap"
    );

    let with_overlap = engine(&sim, store.clone(), config(lag));
    let found = with_overlap.pull_incremental().await.unwrap();
    assert_eq!(found.products, 1);
    let snap = store
        .snapshot(SnapshotSide::Remote, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(product_of(&snap).title, "Indexed Late");
    assert_eq!(found.cursor, Some(ahead), "the cursor never moves back");
}

#[tokio::test]
async fn incremental_pull_reads_membership_changes_creations_and_deletions() {
    let sim = sim(80, 12, Duration::ZERO).await;
    let store = sqlite("incremental");
    let engine = engine(&sim, store.clone(), SyncConfig::default());
    let full = engine.pull(PullMode::Paginated).await.unwrap();
    let before = truth(engine.client()).await;
    let c = engine.client();

    let custom: Vec<&Collection> = before
        .collections
        .iter()
        .filter(|c| !c.is_smart())
        .collect();
    let (grow, shrink, doomed) = (custom[0].id, custom[1].id, custom[2].id);
    let all: Vec<Gid<Product>> = sim
        .dump()
        .products
        .iter()
        .map(|p| Gid::from_numeric_id(p.id).unwrap())
        .collect();
    let joiner = *all
        .iter()
        .find(|p| !before.members[&grow].contains(p))
        .unwrap();
    let leaver = *before.members[&shrink]
        .first()
        .expect("the collection has members");
    let deleted = *all
        .iter()
        .rev()
        .find(|p| **p != joiner && **p != leaver)
        .unwrap();
    c.collection_add_products(grow, &[joiner]).await.unwrap();
    c.collection_remove_products(shrink, &[leaver])
        .await
        .unwrap();
    c.product_delete(deleted).await.unwrap();
    let doomed_members = before.members[&doomed].clone();
    c.collection_delete(doomed).await.unwrap();
    let created = c
        .product_create(json!({"title": "Brand New Thing"}))
        .await
        .unwrap();

    let report = engine.pull_incremental().await.unwrap();
    assert!(report.incremental);
    assert_eq!(report.deleted, 2, "one product and one collection");
    // Rewritten for membership alone: the products whose membership moved, except the
    // deleted one and those the pull read anyway (updated within the overlap).
    let since =
        full.cursor.unwrap() - chrono::Duration::from_std(SyncConfig::default().overlap).unwrap();
    let reread = |p: &Gid<Product>| before.snapshots[&p.to_string()].updated_at.unwrap() >= since;
    let mut moved: Vec<Gid<Product>> = doomed_members.clone();
    moved.extend([joiner, leaver]);
    moved.sort();
    moved.dedup();
    moved.retain(|p| *p != deleted && !reread(p));
    assert_eq!(report.membership_changes, moved.len() as u64, "{report:?}");

    let get = |id: String| {
        let store = store.clone();
        async move { store.snapshot(SnapshotSide::Remote, &id).await.unwrap() }
    };
    let j = get(joiner.to_string()).await.unwrap();
    assert!(product_of(&j).collections.contains(&grow));
    let l = get(leaver.to_string()).await.unwrap();
    assert!(!product_of(&l).collections.contains(&shrink));
    assert!(get(deleted.to_string()).await.is_none());
    assert!(get(doomed.to_string()).await.is_none());
    let n = get(created.id.to_string()).await.unwrap();
    assert_eq!(product_of(&n).title, "Brand New Thing");
    for p in doomed_members {
        if let Some(s) = get(p.to_string()).await {
            assert!(!product_of(&s).collections.contains(&doomed));
        }
    }
    assert_same(
        &stored(&*store).await,
        &truth(engine.client()).await.snapshots,
    );
}

#[tokio::test]
async fn incremental_pull_lists_ids_by_bulk_query_from_the_threshold() {
    let sim = sim(30, 3, Duration::ZERO).await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(
        &sim,
        store.clone(),
        SyncConfig {
            bulk_pull_threshold: 10,
            ..SyncConfig::default()
        },
    );
    engine.pull(PullMode::Paginated).await.unwrap();
    assert!(sim.bulk_operations().is_empty());
    let victim: Gid<Product> = Gid::from_numeric_id(sim.dump().products[0].id).unwrap();
    engine.client().product_delete(victim).await.unwrap();
    let report = engine.pull_incremental().await.unwrap();
    assert!(report.incremental);
    assert_eq!(report.deleted, 1);
    assert_eq!(
        sim.bulk_operations().len(),
        1,
        "the ids came from a bulk query"
    );
    assert_same(
        &stored(&*store).await,
        &truth(engine.client()).await.snapshots,
    );
}

// ----- an interrupted incremental pull ----------------------------------------------

/// A memory store whose n-th `write_snapshots` fails, as a crash at that point would
/// leave it: nothing of that batch written.
struct CrashingStore {
    inner: MemoryStore,
    writes: AtomicUsize,
    fail_at: AtomicUsize,
}

impl ChangeStore for CrashingStore {
    fn save_plan<'a>(&'a self, plan: &'a Plan, by: &'a Review) -> BoxFuture<'a, Result<SavedPlan>> {
        self.inner.save_plan(plan, by)
    }
    fn plan<'a>(&'a self, id: &'a PlanId) -> BoxFuture<'a, Result<Option<Plan>>> {
        self.inner.plan(id)
    }
    fn change<'a>(&'a self, id: &'a ChangeId) -> BoxFuture<'a, Result<Option<Change>>> {
        self.inner.change(id)
    }
    fn changes<'a>(&'a self, filter: &'a ChangeFilter) -> BoxFuture<'a, Result<Vec<Change>>> {
        self.inner.changes(filter)
    }
    fn review<'a>(
        &'a self,
        action: ReviewAction,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        self.inner.review(action, filter, by)
    }
    fn resolve<'a>(
        &'a self,
        id: &'a ChangeId,
        path: Option<&'a str>,
        take: Take,
        value: Option<Value>,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.inner.resolve(id, path, take, value, by)
    }
    fn transition<'a>(
        &'a self,
        id: &'a ChangeId,
        to: ChangeState,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.inner.transition(id, to, by)
    }
    fn finish_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        result: ApplyResult,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.inner.finish_apply(id, result, by)
    }
    fn audit<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>>> {
        self.inner.audit(query)
    }
    fn rejections(&self) -> BoxFuture<'_, Result<Rejections>> {
        self.inner.rejections()
    }
    fn write_snapshots<'a>(&'a self, batch: &'a SnapshotBatch) -> BoxFuture<'a, Result<()>> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Box::pin(async {
                Err(Error::new(ErrorKind::Transport, "the process died here"))
            });
        }
        self.inner.write_snapshots(batch)
    }
    fn snapshots(
        &self,
        side: SnapshotSide,
    ) -> BoxFuture<'_, Result<Vec<(String, StoredSnapshot)>>> {
        self.inner.snapshots(side)
    }
    fn snapshots_page<'a>(
        &'a self,
        side: SnapshotSide,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, StoredSnapshot)>>> {
        self.inner.snapshots_page(side, after, limit)
    }
    fn snapshot<'a>(
        &'a self,
        side: SnapshotSide,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>>> {
        self.inner.snapshot(side, key)
    }
    fn set_checkpoint<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<()>> {
        self.inner.set_checkpoint(name, value)
    }
    fn checkpoint<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        self.inner.checkpoint(name)
    }
}

#[tokio::test]
async fn an_interrupted_incremental_pull_resumes_from_its_committed_cursor() {
    let sim = sim(300, 6, Duration::ZERO).await;
    let store = Arc::new(CrashingStore {
        inner: MemoryStore::new(),
        writes: AtomicUsize::new(0),
        fail_at: AtomicUsize::new(0),
    });
    let engine = engine(&sim, store.clone(), config(Duration::ZERO));
    engine.pull(PullMode::Paginated).await.unwrap();
    let full_cursor = cursor(&*store).await.unwrap();

    // 280 edits, over two seconds of updatedAt: more than one batch of 250.
    let ids: Vec<u64> = sim.dump().products.iter().map(|p| p.id).collect();
    let mut fields = Map::new();
    fields.insert("vendor".into(), json!("Resumed Vendor"));
    for (i, id) in ids.iter().take(280).enumerate() {
        if i == 140 {
            tokio::time::sleep(Duration::from_millis(1_050)).await;
        }
        sim.edit_product(*id, &fields).unwrap();
    }

    // The second write of the pull (its second batch) dies.
    store
        .fail_at
        .store(store.writes.load(Ordering::SeqCst) + 2, Ordering::SeqCst);
    let e = engine.pull_incremental().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);

    // The first batch landed with its cursor, and the cursor is not ahead of the data:
    // every product updated before it is stored as edited.
    let committed = cursor(&*store).await.unwrap();
    assert_ne!(committed, full_cursor, "the first batch moved the cursor");
    let committed: chrono::DateTime<chrono::Utc> = committed.parse().unwrap();
    let snaps = stored(&store.inner).await;
    let edited = snaps
        .values()
        .filter(|s| matches!(&s.snapshot, Snapshot::Product(p) if p.vendor == "Resumed Vendor"))
        .count();
    assert_eq!(edited, 250, "one batch of 250 written");
    let truth_now = truth(engine.client()).await;
    for (key, s) in &truth_now.snapshots {
        if let Snapshot::Product(p) = &s.snapshot {
            if p.vendor == "Resumed Vendor" && s.updated_at.unwrap() < committed {
                assert_eq!(
                    product_of(&snaps[key]).vendor,
                    "Resumed Vendor",
                    "{key} is behind the cursor but not stored"
                );
            }
        }
    }

    // Resume: reads from the committed cursor and completes.
    let resumed = engine.pull_incremental().await.unwrap();
    assert!(resumed.incremental);
    assert!(
        resumed.products < 280,
        "resumed, not restarted: {resumed:?}"
    );
    assert_same(&stored(&store.inner).await, &truth_now.snapshots);
}

#[tokio::test]
async fn pulls_report_their_progress_stage_by_stage() {
    use shopify_sync::sync::{PullOptions, PullProgress, PullStage};
    use std::sync::Mutex;

    let sim = sim(250, 6, Duration::ZERO).await;
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&sim, store.clone(), SyncConfig::default());
    let seen: Arc<Mutex<Vec<PullProgress>>> = Arc::default();
    let sink = seen.clone();
    let options = PullOptions::default().on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let report = engine
        .pull_with(PullMode::Paginated, options)
        .await
        .unwrap();
    let full = std::mem::take(&mut *seen.lock().unwrap());

    let stages: Vec<PullStage> = full.iter().map(|p| p.stage).collect();
    use PullStage::*;
    assert_eq!(
        stages,
        [
            Collections,
            Membership,
            Products,
            Products,
            Products,
            Reconciled,
            Done
        ],
        "{full:?}"
    );
    assert_eq!(full[0].collections, report.collections);
    assert_eq!(full[1].memberships, report.memberships);
    let counts: Vec<u64> = full[2..5].iter().map(|p| p.products).collect();
    assert_eq!(counts, [100, 200, 250]);
    assert!(full
        .iter()
        .all(|p| p.total_products == Some(250) && !p.incremental));
    assert!(full.windows(2).all(|w| w[0].elapsed_ms <= w[1].elapsed_ms));
    let done = full.last().unwrap();
    assert_eq!(
        (done.products, done.collections, done.deleted),
        (report.products, report.collections, report.deleted)
    );

    // An incremental pull has no total, and ends the same way.
    let sink = seen.clone();
    let options = PullOptions::default().on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let report = engine.pull_incremental_with(options).await.unwrap();
    assert!(report.incremental);
    let incremental = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(incremental.first().unwrap().stage, Collections);
    let done = incremental.last().unwrap();
    assert_eq!(done.stage, Done);
    assert!(done.incremental && done.total_products.is_none());
    assert_eq!(done.products, report.products);
    let json = serde_json::to_value(done).unwrap();
    assert_eq!(json["stage"], "done");
    assert_eq!(json["total_products"], Value::Null);
}
