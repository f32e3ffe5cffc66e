//! The sync engine's apply against the simulator at Shopify's standard 2,000 / 100 bucket
//! (one-shot measurements; figures in benches/README.md):
//!
//! - `direct`: 1,000 product updates with direct writes forced: wall time against the
//!   minimum the bucket allows for the points the apply used (stale-guard reads
//!   included), and THROTTLED responses;
//! - `auto`: 10,000 product updates in the automatic mode (a bulk mutation above the
//!   threshold): products per minute against the hand-written sync's 1,000 per minute.
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench sync_apply            # both
//! cargo bench -p shopify-sync-benches --bench sync_apply -- direct  # one
//! ```
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, SnapshotSide, SqliteStore};
use shopify_sync::staging::{ChangeFilter, FieldMask, Record, Review, Snapshot};
use shopify_sync::sync::{LocalCatalog, PullMode, SyncConfig, SyncEngine, WriteMode};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::sync::Arc;
use std::time::Instant;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "shopify-sync-bench-apply-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir.join("store.db")
}

/// Pull `products`, edit every title locally, plan and approve; then apply with
/// `mode` and print the figures.
async fn run(name: &str, products: usize, mode: WriteMode) {
    let sim = Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections: 57,
            ..CatalogSpec::default()
        }),
        bucket_size: 2_000.0,
        restore_rate: 100.0,
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let config = ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
        .expect("config");
    let client = ShopifyClient::new(config).expect("client");
    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(temp_db(name)).expect("a store"));
    let engine = SyncEngine::new(client.clone(), store.clone()).with_config(SyncConfig {
        write_mode: mode,
        ..SyncConfig::default()
    });
    engine.pull(PullMode::Auto).await.expect("pull");
    let mut local = Vec::new();
    for (key, s) in store.snapshots(SnapshotSide::Remote).await.expect("list") {
        if let Snapshot::Product(p) = s.snapshot {
            let id: Gid<Product> = Gid::parse(&key).expect("a gid");
            local.push(Record::synced(format!("L{}", id.numeric_id()), id, p));
        }
    }
    let catalog = |local: &[Record<_>]| LocalCatalog {
        products: local.to_vec(),
        ..LocalCatalog::default()
    };
    engine
        .baseline(&catalog(&local), FieldMask::ALL)
        .await
        .expect("baseline");
    for r in &mut local {
        r.snapshot.title = format!("{} (spring)", r.snapshot.title);
    }
    let plan = engine
        .plan(&catalog(&local), FieldMask::ALL)
        .await
        .expect("plan");
    store
        .approve(
            &ChangeFilter::default().plan(&plan.id),
            &Review::now("bench"),
        )
        .await
        .expect("approve");

    // Let the bucket refill so that every run starts from a full one.
    tokio::time::sleep(std::time::Duration::from_secs(21)).await;
    let level_before = sim.stats();
    let bucket_before = client.bucket().available();
    let started = Instant::now();
    let report = engine
        .apply(&ChangeFilter::default().plan(&plan.id))
        .await
        .expect("apply");
    let elapsed = started.elapsed().as_secs_f64();
    let after = sim.stats();
    let bucket_after = client.bucket().available();
    let used = (after.cost_actual - level_before.cost_actual) as f64;
    // Points that had to be restored during the apply: what it used beyond the drop in
    // the bucket's level. At 100 points per second, that is the shortest possible time.
    let restored = used - (bucket_before - bucket_after);
    let minimum = restored / 100.0;
    println!(
        "apply/{name}: {} applied, {} stale, {} failed in {elapsed:.1} s ({:.0} products/min)",
        report.applied,
        report.stale,
        report.failed,
        report.applied as f64 / elapsed * 60.0
    );
    println!(
        "apply/{name}: {} requests, {} THROTTLED, cost actual {used:.0} (bucket {bucket_before:.0} -> {bucket_after:.0})",
        after.requests - level_before.requests,
        after.throttled - level_before.throttled,
    );
    if mode == WriteMode::Direct && minimum > 0.0 {
        println!(
            "apply/{name}: the bucket allows {minimum:.1} s at least: wall time is {:.1}% of it ({:+.1}%)",
            elapsed / minimum * 100.0,
            (elapsed / minimum - 1.0) * 100.0
        );
    }
    println!(
        "apply/{name}: {:.1}x the hand-written sync's 1,000 products/min",
        report.applied as f64 / elapsed * 60.0 / 1_000.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if wants("direct") {
        rt.block_on(run("direct_1000", 1_000, WriteMode::Direct));
    }
    if wants("auto") {
        rt.block_on(run("auto_10000", 10_000, WriteMode::Auto));
    }
}
