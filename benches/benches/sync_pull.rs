//! Sync-engine pull figures, as one-shot measurements (each prints its figures):
//!
//! - `pull`: [`SyncEngine::pull`] of 10,000 products (57 collections) into a fresh
//!   `SqliteStore`, with [`PullMode::Paginated`] and with [`PullMode::Bulk`], against a
//!   simulator at Shopify's standard 2,000 / 100 bucket and its default bulk pace (2,000
//!   objects per second): wall time, GraphQL requests, THROTTLED answers.
//! - `memory`: the peak RSS (Linux `VmHWM`) of the process that pulls 100,000 products
//!   into a `SqliteStore`: a full pull into an empty store, a second full pull over the
//!   filled store, then an incremental pull after 1,000 edits, 100 deletions and 500
//!   membership additions. Each pull runs in a fresh child process (this bench run
//!   again), so the figure is the pull's alone: the simulator runs in this parent
//!   process, unthrottled and unpaced (the pace changes the time, not what is held).
//!   Both full-pull modes are measured: `Auto` (a bulk query from 25,000 products on,
//!   the default) and `Paginated`.
//!
//! - `statuses`: [`SyncEngine::statuses`] and [`SyncEngine::plan`] (nothing to change)
//!   over 100,000 stored products, adopted as the base, in a child process: time, and
//!   how much the call adds to the peak RSS of a process holding the records.
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench sync_pull             # all
//! cargo bench -p shopify-sync-benches --bench sync_pull -- statuses
//! cargo bench -p shopify-sync-benches --bench sync_pull -- pull     # one
//! cargo bench -p shopify-sync-benches --bench sync_pull -- memory
//! ```
use serde_json::{json, Map};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, SnapshotSide, SqliteStore};
use shopify_sync::staging::{FieldMask, Record, Snapshot};
use shopify_sync::sync::{LocalCatalog, PullMode, PullReport, SyncConfig, SyncEngine};
use shopify_sync_benches::{mib, reset_peak, status_kib};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn client(endpoint: &str, shop: &str, token: &str) -> ShopifyClient {
    let config = ClientConfig::with_endpoint(endpoint, Some(shop), token).expect("config");
    ShopifyClient::new(config).expect("client")
}

fn sim_client(sim: &Simulator) -> ShopifyClient {
    client(&sim.endpoint(), sim.shop(), sim.access_token())
}

/// A fresh directory for one store.
fn store_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "shopify-sync-bench-pull-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// The size of a store: its file plus its WAL.
fn store_size(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn describe(r: &PullReport) -> String {
    format!(
        "{} products, {} collections, {} memberships, {} deleted, {} membership changes written",
        r.products, r.collections, r.memberships, r.deleted, r.membership_changes
    )
}

// ----- pull: 10,000 products at 2,000 / 100 --------------------------------------------

fn pull_10k() {
    let rt = runtime();
    rt.block_on(async {
        for mode in [PullMode::Paginated, PullMode::Bulk] {
            let sim = Simulator::start(SimConfig {
                catalog: CatalogSource::Generated(CatalogSpec {
                    products: 10_000,
                    collections: 57,
                    ..CatalogSpec::default()
                }),
                bucket_size: 2_000.0,
                restore_rate: 100.0,
                ..SimConfig::default()
            })
            .await
            .expect("sim");
            let dir = store_dir(&format!("10k-{mode:?}"));
            let store = Arc::new(SqliteStore::open(dir.join("store.db")).expect("store"));
            let engine = SyncEngine::new(sim_client(&sim), store.clone());
            let started = Instant::now();
            let report = engine.pull(mode).await.expect("pull");
            let secs = started.elapsed().as_secs_f64();
            let s = sim.stats();
            println!(
                "pull/10k_products ({mode:?}, SqliteStore): {} in {secs:.1} s ({:.0} products/min); {} GraphQL requests, {} THROTTLED, cost requested {} actual {}; store {:.1} MiB",
                describe(&report),
                report.products as f64 / secs * 60.0,
                s.requests,
                s.throttled,
                s.cost_requested,
                s.cost_actual,
                store_size(&dir.join("store.db")) as f64 / 1048576.0,
            );
            drop(engine);
            drop(store);
            sim.shutdown().await;
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
}

// ----- memory: 100,000 products, each pull in its own process ----------------------------

/// The env var telling a child process which pull to run (`full-auto`,
/// `full-paginated`, `incremental`), with the store in `SHOPIFY_SYNC_STORE` and the
/// simulator in `SHOPIFY_ENDPOINT`, `SHOPIFY_SHOP` and `SHOPIFY_ACCESS_TOKEN`.
const CHILD: &str = "SHOPIFY_SYNC_BENCH_PULL";

/// The child side: one pull, then its figures. Peak RSS is the whole process's
/// (`VmHWM`), runtime and connection included.
fn pull_child(step: &str) {
    let var = |k: &str| std::env::var(k).expect(k);
    let rt = runtime();
    rt.block_on(async {
        let store = SqliteStore::open_default().expect("store");
        let path = store.path().to_path_buf();
        let store: Arc<dyn ChangeStore> = Arc::new(store);
        let client = client(
            &var("SHOPIFY_ENDPOINT"),
            &var("SHOPIFY_SHOP"),
            &var("SHOPIFY_ACCESS_TOKEN"),
        );
        let engine = SyncEngine::new(client, store).with_config(SyncConfig::default());
        let before = status_kib("VmRSS:");
        let started = Instant::now();
        let report = match step {
            "full-auto" => engine.pull(PullMode::Auto).await,
            "full-paginated" => engine.pull(PullMode::Paginated).await,
            "incremental" => engine.pull_incremental().await,
            other => panic!("unknown step {other}"),
        }
        .expect("pull");
        let secs = started.elapsed().as_secs_f64();
        let (peak, end) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
        println!(
            "    {} pull ({:?}): {} in {secs:.1} s; peak RSS {:.1} MiB (RSS {:.1} MiB before the pull, {:.1} MiB after); store {:.0} MiB",
            if report.incremental { "incremental" } else { "full" },
            report.mode,
            describe(&report),
            mib(peak),
            mib(before),
            mib(end),
            store_size(&path) as f64 / 1048576.0,
        );
    });
}

/// The child side of `statuses`: the merchant's 100,000 records (the stored remote
/// products, adopted as the base), then `statuses` and a `plan` with nothing to change.
/// Each is measured from a reset peak (`/proc/self/clear_refs`), so the figure is what
/// the call adds to a process that already holds the records.
fn statuses_child() {
    let rt = runtime();
    rt.block_on(async {
        let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open_default().expect("store"));
        let var = |k: &str| std::env::var(k).expect(k);
        let client = client(
            &var("SHOPIFY_ENDPOINT"),
            &var("SHOPIFY_SHOP"),
            &var("SHOPIFY_ACCESS_TOKEN"),
        );
        let engine = SyncEngine::new(client, store.clone());
        let mut catalog = LocalCatalog::default();
        for (key, s) in store.snapshots(SnapshotSide::Remote).await.expect("snapshots") {
            if let Snapshot::Product(p) = s.snapshot {
                let id: Gid<Product> = Gid::parse(&key).expect("gid");
                catalog.products.push(Record::synced(format!("L{}", id.numeric_id()), id, p));
            }
        }
        engine.baseline(&catalog, FieldMask::ALL).await.expect("baseline");
        let measure = |what: &str, started: Instant, before: u64| {
            println!(
                "    {what} of {} products: {:.2} s; RSS grew by at most {:.1} MiB over the {:.1} MiB the process held (records included)",
                catalog.products.len(),
                started.elapsed().as_secs_f64(),
                mib(status_kib("VmHWM:").saturating_sub(before)),
                mib(before),
            );
        };
        let reset = || {
            reset_peak();
            status_kib("VmRSS:")
        };
        let before = reset();
        let started = Instant::now();
        let statuses = engine
            .statuses(&catalog.products, FieldMask::ALL)
            .await
            .expect("statuses");
        measure("statuses", started, before);
        drop(statuses);
        let before = reset();
        let started = Instant::now();
        let plan = engine.plan(&catalog, FieldMask::ALL).await.expect("plan");
        measure("plan (nothing to change)", started, before);
        assert!(plan.changes.is_empty());
    });
}

fn run_child(sim: &Simulator, store: &Path, step: &str) {
    let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .env(CHILD, step)
        .env("SHOPIFY_SYNC_STORE", store)
        .env("SHOPIFY_ENDPOINT", sim.endpoint())
        .env("SHOPIFY_SHOP", sim.shop())
        .env("SHOPIFY_ACCESS_TOKEN", sim.access_token())
        .status();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        println!("    the pulling process failed: {status:?}");
    }
}

/// Edits between the second full pull and the incremental one: 1,000 products edited,
/// 100 deleted, 500 added to a custom collection.
async fn churn(sim: &Simulator, round: u64) {
    let c = sim_client(sim);
    let ids: Vec<u64> = sim.dump().products.iter().map(|p| p.id).collect();
    let mut fields = Map::new();
    fields.insert("vendor".into(), json!(format!("Bench Vendor {round}")));
    for id in ids.iter().step_by(97).take(1_000) {
        sim.edit_product(*id, &fields).expect("edit");
    }
    for id in ids.iter().skip(50).step_by(991).take(100) {
        let gid: Gid<Product> = Gid::from_numeric_id(*id).expect("gid");
        c.product_delete(gid).await.expect("delete");
    }
    let collections: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(c.collections(None))
        .await
        .expect("collections");
    let custom = collections
        .iter()
        .find(|c| !c.is_smart())
        .expect("a custom collection");
    let add: Vec<Gid<Product>> = ids
        .iter()
        .skip(7)
        .step_by(199)
        .take(500)
        .map(|id| Gid::from_numeric_id(*id).expect("gid"))
        .collect();
    for chunk in add.chunks(250) {
        c.collection_add_products(custom.id, chunk)
            .await
            .expect("membership");
    }
}

fn memory_100k() {
    let rt = runtime();
    rt.block_on(async {
        let started = Instant::now();
        let sim = Simulator::start(SimConfig {
            catalog: CatalogSource::Generated(CatalogSpec {
                products: 100_000,
                collections: 57,
                ..CatalogSpec::default()
            }),
            // Unthrottled and unpaced: the pace changes the time, not what is held.
            bucket_size: 1_000_000.0,
            restore_rate: 1_000_000.0,
            bulk_rows_per_second: f64::INFINITY,
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        println!(
            "memory/100k_products: simulator with {} products started in {:.1} s (in the parent process; each pull runs in a child)",
            sim.dump().products.len(),
            started.elapsed().as_secs_f64()
        );
        for (round, (label, full)) in [
            ("Auto (bulk from 25,000 products)", "full-auto"),
            ("Paginated", "full-paginated"),
        ]
        .into_iter()
        .enumerate()
        {
            println!("memory/100k_products, full pulls {label}:");
            let dir = store_dir(full);
            let path = dir.join("store.db");
            run_child(&sim, &path, full); // into an empty store
            run_child(&sim, &path, full); // over the filled store
            churn(&sim, round as u64).await;
            run_child(&sim, &path, "incremental");
            let _ = std::fs::remove_dir_all(&dir);
        }
        sim.shutdown().await;
    });
}

/// `statuses` and `plan` over 100,000 stored products, in a child process.
fn statuses_100k() {
    let rt = runtime();
    rt.block_on(async {
        let sim = Simulator::start(SimConfig {
            catalog: CatalogSource::Generated(CatalogSpec {
                products: 100_000,
                collections: 57,
                ..CatalogSpec::default()
            }),
            bucket_size: 1_000_000.0,
            restore_rate: 1_000_000.0,
            bulk_rows_per_second: f64::INFINITY,
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        println!("statuses/100k_products:");
        let dir = store_dir("statuses");
        let path = dir.join("store.db");
        run_child(&sim, &path, "full-auto");
        run_child(&sim, &path, "statuses");
        let _ = std::fs::remove_dir_all(&dir);
        sim.shutdown().await;
    });
}

fn main() {
    if let Ok(step) = std::env::var(CHILD) {
        if step == "statuses" {
            statuses_child();
        } else {
            pull_child(&step);
        }
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| filter.is_none_or(|f| name.contains(f.as_str()));
    if wants("pull") {
        pull_10k();
    }
    if wants("memory") {
        memory_100k();
    }
    if wants("statuses") {
        statuses_100k();
    }
}
