//! Bulk figures, as one-shot measurements (each prints its figures):
//!
//! - `parse`: JSONL parse throughput (MB/s, records/s) and peak memory on a
//!   100,000-product export. The file is made by the simulator's own bulk export (the
//!   real JSONL shape: variants as their own lines after their products, `\/` escapes),
//!   written to a temporary file, then parsed from disk twice: placing records only
//!   (ids and parent ids), and with every line decoded into `Product` /
//!   `ProductVariant`. Peak memory is the process's peak RSS (Linux `VmHWM`, reset
//!   before parsing) minus its RSS before.
//! - `pull`: a full pull of 10,000 products with all their variants via bulk
//!   (`bulk_products`), against a simulator at Shopify's standard 2,000 / 100 bucket and
//!   its default bulk pace (2,000 objects per second), then with an unpaced simulator
//!   (what the client itself costs). The paginated pull of the same catalog is the
//!   `client` bench's `pull` (82 s when last measured).
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench bulk            # both
//! cargo bench -p shopify-sync-benches --bench bulk -- parse   # one
//! ```
use futures::TryStreamExt;
use shopify_sync::client::bulk::{BulkFinishSignal, BulkOptions};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::jsonl::JsonlReader;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Product, ProductVariant};
use shopify_sync_benches::{reset_peak, status_kib};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::io::Write;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn client(sim: &Simulator) -> ShopifyClient {
    let config = ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
        .expect("config");
    ShopifyClient::new(config).expect("client")
}

const EXPORT: &str = "{ products { edges { node {
    id title handle descriptionHtml vendor productType status tags templateSuffix createdAt updatedAt
    seo { title description }
    options { id name position values }
    variants { edges { node {
      id title sku barcode price compareAtPrice inventoryPolicy inventoryQuantity taxable position
      selectedOptions { name value } createdAt updatedAt
    } } }
} } } }";

/// Export 100,000 products with the simulator's bulk query into a file.
fn make_export(path: &std::path::Path) {
    let rt = runtime();
    rt.block_on(async {
        let started = Instant::now();
        let sim = Simulator::start(SimConfig {
            catalog: CatalogSource::Generated(CatalogSpec {
                products: 100_000,
                collections: 57,
                ..CatalogSpec::default()
            }),
            bulk_rows_per_second: f64::INFINITY,
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        let c = client(&sim);
        let options = BulkOptions::default()
            .poll_interval(Duration::from_millis(100), Duration::from_millis(500));
        let result = c.bulk_query(EXPORT, &options).await.expect("export");
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("temp file"));
        let mut records = c.bulk_download(&result).expect("download");
        while let Some(r) = records.try_next().await.expect("record") {
            out.write_all(r.raw().as_bytes()).expect("write");
            out.write_all(b"\n").expect("write");
        }
        out.flush().expect("flush");
        println!(
            "parse/100k_products: export made by the simulator in {:.1} s ({} objects)",
            started.elapsed().as_secs_f64(),
            result.operation().object_count
        );
        sim.shutdown().await;
    });
}

/// Parse `path` in this (fresh) process and print the figures: the child side of
/// `parse_100k`, so that peak RSS measures the parser, not the simulator that made the
/// file (a process's freed heap is reused, not returned, and would hide the parser).
fn parse_file(path: &std::path::Path, typed: bool) {
    let size = std::fs::metadata(path).expect("file").len();
    let peak_ok = reset_peak();
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let reader = JsonlReader::new(std::fs::File::open(path).expect("open"));
    let (mut records, mut products, mut variants, mut children) = (0u64, 0u64, 0u64, 0u64);
    for r in reader {
        let r = r.expect("a valid line");
        records += 1;
        if r.parent_id().is_some() {
            children += 1;
        }
        if typed {
            if r.is::<Product>() {
                let p: Product = r.decode().expect("product");
                products += u64::from(!p.title.is_empty());
            } else if r.is::<ProductVariant>() {
                let v: ProductVariant = r.decode().expect("variant");
                variants += u64::from(v.price.is_some());
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");
    let what = if typed {
        "ids + typed decode of every line"
    } else {
        "ids and parent ids"
    };
    println!(
        "parse/100k_products ({what}): {:.1} MB in {secs:.2} s = {:.0} MB/s, {:.0} records/s ({records} records, {children} children{})",
        size as f64 / 1e6,
        size as f64 / 1e6 / secs,
        records as f64 / secs,
        if typed { format!(", {products} products, {variants} priced variants") } else { String::new() }
    );
    if peak_ok && peak > 0 {
        println!(
            "parse/100k_products ({what}): peak RSS {:.2} MiB above the {:.1} MiB the process held before parsing (file: {:.1} MiB)",
            peak.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0,
            size as f64 / 1048576.0
        );
    } else {
        println!("parse/100k_products: peak RSS not measurable on this system");
    }
}

/// The env var telling a child process which file to parse.
const CHILD: &str = "SHOPIFY_SYNC_BENCH_PARSE_FILE";

fn parse_100k() {
    let path = std::env::temp_dir().join(format!(
        "shopify-sync-bulk-100k-{}.jsonl",
        std::process::id()
    ));
    make_export(&path);
    for typed in ["ids", "typed"] {
        let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
            .env(CHILD, &path)
            .env("SHOPIFY_SYNC_BENCH_PARSE_MODE", typed)
            .status();
        if !status.as_ref().is_ok_and(|s| s.success()) {
            println!("parse/100k_products: the parsing process failed: {status:?}");
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn pull_10k() {
    let rt = runtime();
    rt.block_on(async {
        for (label, rate, webhook) in [
            ("default pace 2,000 objects/s, polling", 2_000.0, false),
            ("default pace 2,000 objects/s, finish webhook", 2_000.0, true),
            ("unpaced simulator, polling", f64::INFINITY, false),
        ] {
            let sim = Simulator::start(SimConfig {
                catalog: CatalogSource::Generated(CatalogSpec {
                    products: 10_000,
                    collections: 57,
                    ..CatalogSpec::default()
                }),
                bulk_rows_per_second: rate,
                ..SimConfig::default()
            })
            .await
            .expect("sim");
            let c = client(&sim);
            let sim = std::sync::Arc::new(sim);
            let mut options = BulkOptions::default();
            let mut watcher = None;
            if webhook {
                // Stands in for the app's bulk_operations/finish webhook handler: it
                // notifies the signal when the simulator reports the operation finished.
                let signal = BulkFinishSignal::new();
                options = options
                    .poll_interval(Duration::from_secs(60), Duration::from_secs(60))
                    .finished_signal(signal.clone());
                let sim = sim.clone();
                watcher = Some(tokio::spawn(async move {
                    loop {
                        let ops = sim.bulk_operations();
                        if !ops.is_empty() && ops.iter().all(|o| !o.status.in_progress()) {
                            signal.notify();
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }));
            }
            let started = Instant::now();
            let (result, products) = c
                .bulk_products(None, &options)
                .await
                .expect("bulk pull");
            let waited = started.elapsed().as_secs_f64();
            let (n, variants) = products
                .try_fold((0usize, 0usize), |(n, v), p| async move {
                    Ok((n + 1, v + p.variants.len()))
                })
                .await
                .expect("products");
            let secs = started.elapsed().as_secs_f64();
            let s = sim.stats();
            println!(
                "pull/10k_products_bulk ({label}): {n} products, {variants} variants in {secs:.1} s ({:.0} products/min); operation done after {waited:.1} s, download + assembly {:.2} s; {} GraphQL requests, {} THROTTLED, {} objects",
                n as f64 / secs * 60.0,
                secs - waited,
                s.requests,
                s.throttled,
                result.operation().object_count
            );
            if let Some(w) = watcher {
                let _ = w.await;
            }
        }
    });
}

fn main() {
    if let Some(path) = std::env::var_os(CHILD) {
        let typed = std::env::var("SHOPIFY_SYNC_BENCH_PARSE_MODE").is_ok_and(|m| m == "typed");
        parse_file(std::path::Path::new(&path), typed);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| filter.is_none_or(|f| name.contains(f.as_str()));
    if wants("parse") {
        parse_100k();
    }
    if wants("pull") {
        pull_10k();
    }
}
