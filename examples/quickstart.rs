//! Quickstart: pull a catalog, plan local edits against it, review, apply, and report.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! With no configuration it starts the embedded Shopify simulator (1,000 products, 57
//! collections) on loopback, pulls it into a fresh SQLite change store, and plays a
//! merchant's day: price changes, new products, a removed variant, collection membership
//! changes, and one edit made in the Shopify admin that conflicts with a local one. It
//! plans, prints a side-by-side review of a few changes, approves everything but the
//! conflict, applies with a progress bar, and prints the status counts, throughput and
//! throttle statistics.
//!
//! Against a real store (`SHOPIFY_SHOP` and `SHOPIFY_ACCESS_TOKEN`, or `SHOPIFY_ENDPOINT`
//! for a simulator you started yourself) it never invents edits: it pulls, plans from
//! `--local FILE` when given, prints the plan, and writes only with `--apply`.
//!
//! ```text
//! quickstart [--local FILE] [--apply] [--store PATH]
//! ```
//!
//! `--local FILE` is a JSON array of `{"local_id": "...", "shopify_id": "gid://shopify/Product/1"
//! or null, "product": {snapshot}}` (the snapshot's snake_case shape, see
//! `shopify_sync::staging::ProductSnapshot`). The store is `--store PATH`, else
//! `SHOPIFY_SYNC_STORE`, else `shopify-sync.db` (a fresh temporary file for the demo).
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::executor::EventKind;
use shopify_sync::model::{Gid, Money, Product};
use shopify_sync::staging::store::{ChangeStore, SnapshotSide, SqliteStore};
use shopify_sync::staging::{
    ChangeFilter, FieldMask, Plan, ProductSnapshot, Record, Review, Snapshot,
};
use shopify_sync::status::SyncState;
use shopify_sync::sync::{
    ApplyOptions, LocalCatalog, PullMode, PullOptions, PullStage, SyncEngine,
};
use shopify_sync_sim::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;

type Local = BTreeMap<String, Record<ProductSnapshot>>;

/// The command line.
#[derive(Debug, Default)]
pub struct Args {
    local: Option<PathBuf>,
    apply: bool,
    store: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        local: None,
        apply: false,
        store: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--apply" => out.apply = true,
            "--local" => out.local = Some(it.next().ok_or("--local needs a file")?.into()),
            "--store" => out.store = Some(it.next().ok_or("--store needs a path")?.into()),
            "-h" | "--help" => {
                println!("quickstart [--local FILE] [--apply] [--store PATH]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = args()?;
    let real = std::env::var("SHOPIFY_ACCESS_TOKEN").is_ok();
    if real {
        return real_store(args).await;
    }
    if args.local.is_some() || args.apply {
        return Err(
            "--local and --apply are for a real store (set SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN)"
                .into(),
        );
    }
    demo(args).await.map(|_| ())
}

/// The store path: `--store`, `SHOPIFY_SYNC_STORE`, or `default`.
fn store_path(args: &Args, default: PathBuf) -> PathBuf {
    args.store
        .clone()
        .or_else(|| std::env::var_os("SHOPIFY_SYNC_STORE").map(PathBuf::from))
        .unwrap_or(default)
}

/// What the demo did, for its end-to-end test.
#[derive(Debug)]
pub struct Demo {
    /// Changes in the plan, and those with a conflict.
    pub planned: usize,
    pub conflicts: usize,
    /// Changes approved, and the apply's outcome.
    pub approved: usize,
    pub report: shopify_sync::sync::ApplyReport,
    /// Status counts of the local products after the apply.
    pub statuses: BTreeMap<SyncState, usize>,
    /// THROTTLED responses the simulator sent.
    pub throttled: u64,
}

/// The demo against the embedded simulator (see the module docs).
pub async fn demo(args: Args) -> Result<Demo, Box<dyn Error>> {
    let sim = Simulator::start(SimConfig::default()).await?;
    println!(
        "Started the embedded Shopify simulator at {}",
        sim.endpoint()
    );
    let client = ShopifyClient::new(ClientConfig::with_endpoint(
        &sim.endpoint(),
        Some(sim.shop()),
        sim.access_token(),
    )?)?;
    let default =
        std::env::temp_dir().join(format!("shopify-sync-quickstart-{}.db", std::process::id()));
    let path = store_path(&args, default);
    let _ = std::fs::remove_file(&path);
    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(&path)?);
    println!("Change store: {}", path.display());
    let engine = SyncEngine::new(client.clone(), store.clone());
    let mask = FieldMask::ALL;

    // 1. Pull, and adopt the catalog as it is: the merchant's table matches Shopify.
    let (bar, progress) = pull_progress()?;
    let pulled = engine.pull_with(PullMode::Auto, progress).await?;
    bar.finish_and_clear();
    println!(
        "Pulled {} products and {} collections ({:?}, {} memberships) in {:.2} s",
        pulled.products,
        pulled.collections,
        pulled.mode,
        pulled.memberships,
        pulled.elapsed.as_secs_f64()
    );
    let mut local = local_from_store(store.as_ref()).await?;
    engine.baseline(&catalog(&local), mask).await?;

    // 2. A merchant's day of local edits.
    let contested_key = local.keys().nth(7).cloned().ok_or("no product")?;
    let edits = edit(&mut local, &client).await?;
    println!("Local edits: {edits}");
    // ... and an edit in the Shopify admin to a product also edited locally.
    let contested = local[&contested_key].shopify_id.ok_or("no product")?;
    sim.edit_product(
        contested.numeric_id(),
        json!({"title": "Edited in the Shopify admin"})
            .as_object()
            .ok_or("json")?,
    )?;
    let refreshed = engine.pull_incremental().await?;
    println!(
        "Incremental pull: {} product(s) re-read",
        refreshed.products
    );

    // 3. Plan, review, approve all but the conflict.
    let plan = engine.plan(&catalog(&local), mask).await?;
    print_plan(&plan);
    let approved = store
        .approve(
            &ChangeFilter::default().plan(&plan.id),
            &Review::now("quickstart"),
        )
        .await?;
    println!(
        "Approved {} change(s); left for a person: {}",
        approved.changed.len(),
        approved
            .skipped
            .iter()
            .map(|s| format!("{} ({})", s.change_id, s.reason))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 4. Apply with a progress bar.
    let report = apply(&engine, &plan).await?;
    let minutes = report.elapsed.as_secs_f64() / 60.0;
    println!(
        "Applied {} change(s), {} stale, {} failed, {} product(s) created, in {:.2} s ({:.0} changes/min)",
        report.applied,
        report.stale,
        report.failed,
        report.created.len(),
        report.elapsed.as_secs_f64(),
        report.applied as f64 / minutes.max(1e-9),
    );

    // 5. The dashboard's status column.
    let records: Vec<Record<ProductSnapshot>> = local.values().cloned().collect();
    let statuses = engine.statuses(&records, mask).await?;
    let mut counts: BTreeMap<SyncState, usize> = BTreeMap::new();
    for s in &statuses {
        *counts.entry(s.state()).or_default() += 1;
    }
    println!("Status of the {} local products:", records.len());
    for (state, n) in &counts {
        println!("  {:<15} {n}", state.as_str());
    }
    let s = sim.stats();
    println!(
        "Simulator: {} requests, {} THROTTLED; cost requested {} / actual {}",
        s.requests, s.throttled, s.cost_requested, s.cost_actual
    );
    sim.shutdown().await;
    Ok(Demo {
        planned: plan.changes.len(),
        conflicts: plan.summary().conflicts,
        approved: approved.changed.len(),
        report,
        statuses: counts,
        throttled: s.throttled,
    })
}

async fn real_store(args: Args) -> Result<(), Box<dyn Error>> {
    let client = ShopifyClient::from_env()?;
    println!("Shop: {}", client.config().graphql_url());
    let path = store_path(&args, PathBuf::from("shopify-sync.db"));
    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(&path)?);
    println!("Change store: {}", path.display());
    let engine = SyncEngine::new(client.clone(), store.clone());
    let (bar, progress) = pull_progress()?;
    let pulled = engine.pull_incremental_with(progress).await?;
    bar.finish_and_clear();
    println!(
        "Pulled {} products, {} collections, {} deleted ({:?}, incremental: {}) in {:.2} s",
        pulled.products,
        pulled.collections,
        pulled.deleted,
        pulled.mode,
        pulled.incremental,
        pulled.elapsed.as_secs_f64()
    );
    let Some(file) = args.local else {
        println!("No --local FILE: nothing to plan. The remote snapshots are in the store.");
        return Ok(());
    };
    let local = read_local(&file)?;
    let plan = engine.plan(&local, FieldMask::ALL).await?;
    print_plan(&plan);
    if !args.apply {
        println!("Dry run: nothing written. Run again with --apply to approve and apply the changes without conflicts.");
        return Ok(());
    }
    store
        .approve(
            &ChangeFilter::default().plan(&plan.id),
            &Review::now("quickstart"),
        )
        .await?;
    let report = apply(&engine, &plan).await?;
    println!(
        "Applied {}, stale {}, failed {} in {:.2} s",
        report.applied,
        report.stale,
        report.failed,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// A progress bar fed by a pull's progress.
fn pull_progress() -> Result<(ProgressBar, PullOptions), Box<dyn Error>> {
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} products  {msg}",
    )?);
    let b = bar.clone();
    let options = PullOptions::default().on_progress(move |p| {
        b.set_length(p.total_products.unwrap_or(p.products));
        b.set_position(p.products);
        if p.stage == PullStage::Membership {
            b.set_message(format!("{} collection memberships read", p.memberships));
        }
    });
    Ok((bar, options))
}

async fn apply(
    engine: &SyncEngine,
    plan: &Plan,
) -> Result<shopify_sync::sync::ApplyReport, Box<dyn Error>> {
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} jobs  {msg}",
    )?);
    let b = bar.clone();
    let options = ApplyOptions::default().on_event(move |e| match e.kind() {
        EventKind::Progress(p) => {
            b.set_length(p.total());
            b.set_position(p.done() + p.failed() + p.cancelled());
        }
        EventKind::Throttled { wait_ms, .. } => {
            b.set_message(format!("waiting {wait_ms} ms for the rate limit"))
        }
        _ => {}
    });
    let report = engine
        .apply_with(&ChangeFilter::default().plan(&plan.id), options)
        .await?;
    bar.finish_and_clear();
    Ok(report)
}

fn catalog(local: &Local) -> LocalCatalog {
    LocalCatalog {
        products: local.values().cloned().collect(),
        ..LocalCatalog::default()
    }
}

/// The merchant's table as it is after adoption: one row per Shopify product.
async fn local_from_store(store: &dyn ChangeStore) -> Result<Local, Box<dyn Error>> {
    let mut out = Local::new();
    for (key, s) in store.snapshots(SnapshotSide::Remote).await? {
        if let Snapshot::Product(p) = s.snapshot {
            let id: Gid<Product> = Gid::parse(&key)?;
            let local_id = format!("sku-{}", id.numeric_id());
            out.insert(local_id.clone(), Record::synced(local_id, id, p));
        }
    }
    Ok(out)
}

/// Price rises, new products, a removed variant, membership changes, a title edit.
async fn edit(local: &mut Local, client: &ShopifyClient) -> Result<String, Box<dyn Error>> {
    let rise = Decimal::new(105, 2);
    let mut priced = 0;
    for r in local.values_mut().step_by(10) {
        for v in &mut r.snapshot.variants {
            if let Some(p) = v.price {
                v.price = Some(Money::from((p.amount() * rise).round_dp(2)));
            }
        }
        priced += 1;
    }
    let mut trimmed = 0;
    for r in local.values_mut().skip(3).step_by(97) {
        if r.snapshot.variants.len() >= 2 {
            r.snapshot.variants.pop();
            trimmed += 1;
        }
    }
    let contested = local.values_mut().nth(7).ok_or("no product")?;
    contested.snapshot.title = format!("{} (new season)", contested.snapshot.title);
    let custom: Vec<_> = client
        .collections(None)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .filter(|c| !c.is_smart())
        .collect();
    let (join, leave) = (custom.first().ok_or("no custom collection")?, custom.get(1));
    let mut joined = 0;
    for r in local.values_mut().skip(5).step_by(25) {
        if !r.snapshot.collections.contains(&join.id) {
            r.snapshot.collections.push(join.id);
            joined += 1;
        }
    }
    let mut left = 0;
    if let Some(leave) = leave {
        for r in local.values_mut() {
            if left < 10 && r.snapshot.collections.contains(&leave.id) {
                r.snapshot.collections.retain(|c| *c != leave.id);
                left += 1;
            }
        }
    }
    for n in 1..=20 {
        let variants: Vec<Value> = ["S", "M", "L"]
            .iter()
            .map(|s| {
                json!({
                    "price": "49.00", "sku": format!("LIN-{n}-{s}"), "inventory_policy": "deny",
                    "option_values": [{"name": "Size", "value": s}]
                })
            })
            .collect();
        let p: ProductSnapshot = serde_json::from_value(json!({
            "title": format!("Linen shirt no. {n}"),
            "handle": format!("linen-shirt-{n}"),
            "vendor": "In-house", "product_type": "Shirts", "status": "ACTIVE",
            "tags": ["linen", "new"],
            "options": [{"name": "Size", "values": ["S", "M", "L"]}],
            "variants": variants,
            "collections": [join.id.to_string()]
        }))?;
        let id = format!("new-{n}");
        local.insert(id.clone(), Record::new_local(id, p));
    }
    Ok(format!(
        "{priced} price rises, 20 new products, {trimmed} removed variants, {joined} products join {:?}, {left} leave another collection, 1 title",
        join.title
    ))
}

fn print_plan(plan: &Plan) {
    let s = plan.summary();
    println!(
        "Plan {}: {} changes ({} conflicts), {} incoming from Shopify, {} unchanged",
        plan.id, s.changes, s.conflicts, s.incoming, s.unchanged
    );
    for (op, n) in &s.by_operation {
        println!("  {:<24} {n}", op.as_str());
    }
    // A few changes side by side: one of each operation, and every conflict.
    println!(
        "{:<10} {:<44} {:<18} {:<18} {:<18}",
        "change", "path", "base", "local", "remote"
    );
    let mut shown = std::collections::BTreeSet::new();
    for r in plan.review_rows() {
        let conflict = r.row.kind.as_str() == "conflict";
        if !conflict && !shown.insert(r.operation) {
            continue;
        }
        println!(
            "{:<10} {:<44} {:<18} {:<18} {:<18}{}",
            r.operation.as_str(),
            cut(&format!("{} {}", r.target, r.row.path), 44),
            cut(&show(&r.row.base), 18),
            cut(&show(&r.row.local), 18),
            cut(&show(&r.row.remote), 18),
            if conflict { "  <- conflict" } else { "" }
        );
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{head}…")
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalRow {
    local_id: String,
    #[serde(default)]
    shopify_id: Option<Gid<Product>>,
    product: ProductSnapshot,
}

fn read_local(path: &PathBuf) -> Result<LocalCatalog, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let rows: Vec<LocalRow> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON array of local rows: {e}", path.display()))?;
    Ok(LocalCatalog {
        products: rows
            .into_iter()
            .map(|r| Record {
                local_id: Some(r.local_id),
                shopify_id: r.shopify_id,
                updated_at: None,
                snapshot: r.product,
            })
            .collect(),
        ..LocalCatalog::default()
    })
}
