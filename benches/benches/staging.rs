//! Staging figures: planning a catalog of 100,000 products with 5 variants each (the
//! target is under 1 s on one core) and the heap it takes at its peak; the SQLite change
//! store's changes written, approved and audited per second.
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench staging
//! cargo bench -p shopify-sync-benches --bench staging -- plan     # one group only
//! ```
//!
//! The catalog: every product has a base, a local and a remote snapshot (title, handle,
//! vendor, type, status, 3 tags, an option with 5 values, 5 variants with id, price, SKU
//! and option value, 1 collection). 2% are edited locally (a price and, for half of them,
//! the title), 1% are edited on Shopify (the vendor), 0.2% conflict (the title on both
//! sides), and 1,000 local products are new: about 4,400 changes in all.
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use serde_json::json;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, SqliteOptions, SqliteStore, Synchronous};
use shopify_sync::staging::{
    ChangeFilter, ChangeState, FieldMask, Plan, PlanInput, Planner, ProductSnapshot, Record, Review,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PRODUCTS: u64 = 100_000;
const VARIANTS: u64 = 5;

fn product(n: u64, title: &str, vendor: &str, price_bump: bool) -> ProductSnapshot {
    let variants: Vec<_> = (0..VARIANTS)
        .map(|v| {
            let price = if price_bump && v == 0 {
                1999
            } else {
                1000 + v * 100
            };
            json!({
                "id": format!("gid://shopify/ProductVariant/{}", n * 10 + v + 1),
                "price": format!("{}.{:02}", price / 100, price % 100),
                "sku": format!("SKU-{n}-{v}"),
                "option_values": [{"name": "Size", "value": format!("S{v}")}],
            })
        })
        .collect();
    serde_json::from_value(json!({
        "title": title,
        "handle": format!("product-{n}"),
        "vendor": vendor,
        "product_type": "Shirts",
        "status": "active",
        "tags": ["cotton", "summer", format!("batch-{}", n % 50)],
        "options": [{"name": "Size", "values": ["S0", "S1", "S2", "S3", "S4"]}],
        "variants": variants,
        "collections": [format!("gid://shopify/Collection/{}", n % 20 + 1)],
    }))
    .expect("a snapshot")
}

fn catalog() -> PlanInput {
    let mut input = PlanInput::default();
    for n in 1..=PRODUCTS {
        let id: Gid<Product> = Gid::from_numeric_id(n).expect("an id");
        let title = format!("Product {n}");
        let base = product(n, &title, "Acme", false);
        let local_edit = n % 50 == 0;
        let remote_edit = n % 100 == 7;
        let conflict = n % 500 == 3;
        let local_title = if (local_edit && n % 100 == 0) || conflict {
            format!("Product {n} (new)")
        } else {
            title.clone()
        };
        let local = product(n, &local_title, "Acme", local_edit);
        let remote_title = if conflict {
            format!("Product {n} (theirs)")
        } else {
            title.clone()
        };
        let remote_vendor = if remote_edit { "Hermes" } else { "Acme" };
        let remote = product(n, &remote_title, remote_vendor, false);
        input
            .products
            .base
            .push(Record::synced(format!("L{n}"), id, base));
        input
            .products
            .local
            .push(Record::synced(format!("L{n}"), id, local));
        input.products.remote.push(Record::remote(id, None, remote));
    }
    for n in 0..1_000u64 {
        let mut p = product(PRODUCTS + n + 1, &format!("New {n}"), "Acme", false);
        for v in &mut p.variants {
            v.id = None;
        }
        input
            .products
            .local
            .push(Record::new_local(format!("N{n}"), p));
    }
    input
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Plan once outside criterion to report the heap: what the input holds, and the peak
/// above it while planning.
fn report_memory() {
    let before = IN_USE.load(Ordering::Relaxed);
    let input = catalog();
    let with_input = IN_USE.load(Ordering::Relaxed);
    PEAK.store(with_input, Ordering::Relaxed);
    let start = Instant::now();
    let plan = Planner::new(FieldMask::ALL).plan(&input);
    let took = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed);
    let after = IN_USE.load(Ordering::Relaxed);
    let s = plan.summary();
    eprintln!(
        "plan: {} products x {VARIANTS} variants in {:.0} ms; {} changes ({} conflicts), {} incoming, {} unchanged",
        PRODUCTS + 1_000,
        took.as_secs_f64() * 1e3,
        s.changes,
        s.conflicts,
        s.incoming,
        s.unchanged
    );
    eprintln!(
        "plan heap: input {:.0} MiB; peak while planning {:.1} MiB above the input; the plan holds {:.1} MiB",
        mb(with_input - before),
        mb(peak - with_input),
        mb(after - with_input)
    );
}

fn plan(c: &mut Criterion) {
    let input = catalog();
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(PRODUCTS + 1_000));
    group.bench_function("100k_products_5_variants", |b| {
        b.iter_with_large_drop(|| Planner::new(FieldMask::ALL).plan(&input))
    });
    group.finish();
}

/// A plan of `n` title changes, each on its own product, numbered from `first`.
fn title_plan(first: u64, n: u64) -> Plan {
    let mut input = PlanInput::default();
    for k in first..first + n {
        let id: Gid<Product> = Gid::from_numeric_id(k).expect("an id");
        let base: ProductSnapshot =
            serde_json::from_value(json!({"title": format!("P{k}")})).expect("a snapshot");
        let local: ProductSnapshot =
            serde_json::from_value(json!({"title": format!("P{k}!")})).expect("a snapshot");
        input
            .products
            .base
            .push(Record::synced(format!("L{k}"), id, base.clone()));
        input.products.remote.push(Record::remote(id, None, base));
        input
            .products
            .local
            .push(Record::synced(format!("L{k}"), id, local));
    }
    Planner::new(FieldMask::ALL).plan(&input)
}

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = std::env::temp_dir().join(format!("shopify-sync-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    const BATCH: u64 = 1_000;
    // A plan of 1,000 changes on products no earlier plan touched (so nothing is
    // superseded: these are the figures of plain writes).
    let next = std::cell::Cell::new(1u64);
    let fresh = || {
        let first = next.get();
        next.set(first + BATCH);
        title_plan(first, BATCH)
    };
    let by = Review::now("bench");

    for (name, sync) in [("full", Synchronous::Full), ("normal", Synchronous::Normal)] {
        let store = SqliteStore::open_with(
            dir.join(format!("{name}.db")),
            &SqliteOptions {
                synchronous: sync,
                ..SqliteOptions::default()
            },
        )
        .expect("the store opens");
        let mut group = c.benchmark_group(format!("sqlite_{name}"));
        group.sample_size(10);

        // Changes written (and audited as planned) per second, 1,000 per transaction.
        group.throughput(Throughput::Elements(BATCH));
        group.bench_function("save_plan_1000", |b| {
            b.iter_batched(
                fresh,
                |p| rt.block_on(store.save_plan(&p, &by)).expect("saved"),
                BatchSize::PerIteration,
            )
        });
        // Changes approved (and audited) per second, 1,000 per transaction.
        group.bench_function("approve_bulk_1000", |b| {
            b.iter_batched(
                || {
                    let p = fresh();
                    rt.block_on(store.save_plan(&p, &by)).expect("saved");
                    p.id
                },
                |id| {
                    let report = rt
                        .block_on(store.approve(&ChangeFilter::default().plan(&id), &by))
                        .expect("approved");
                    assert_eq!(report.changed.len() as u64, BATCH);
                },
                BatchSize::PerIteration,
            )
        });
        // One change at a time, one transaction each: approve, begin, finish (3
        // transitions, 3 audit entries).
        group.throughput(Throughput::Elements(1));
        let mut pool: Vec<shopify_sync::staging::ChangeId> = Vec::new();
        group.bench_function("approve_apply_one", |b| {
            b.iter_batched(
                || {
                    if pool.is_empty() {
                        let p = fresh();
                        rt.block_on(store.save_plan(&p, &by)).expect("saved");
                        pool = p.changes.iter().map(|c| c.id.clone()).collect();
                    }
                    pool.pop().expect("a change")
                },
                |id| {
                    rt.block_on(async {
                        store
                            .transition(&id, ChangeState::Approved, &by)
                            .await
                            .expect("approve");
                        store.begin_apply(&id, &by).await.expect("begin");
                        store
                            .finish_apply(
                                &id,
                                shopify_sync::staging::ApplyResult::applied(None),
                                &by,
                            )
                            .await
                            .expect("finish")
                    })
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, plan, sqlite);

fn main() {
    report_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
