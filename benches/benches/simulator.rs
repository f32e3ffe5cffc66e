//! Simulator speed: start-up, simple queries over loopback HTTP, a full page of products.
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench simulator
//! ```
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
use shopify_sync_sim::{SimConfig, Simulator};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A bucket that never throttles, so the figures measure the simulator, not the limit.
fn unthrottled() -> SimConfig {
    SimConfig {
        bucket_size: 1e12,
        restore_rate: 1e12,
        ..SimConfig::default()
    }
}

fn startup(c: &mut Criterion) {
    let rt = runtime();
    // Parse the schema once, as a long-running process would have.
    shopify_sync::schema::admin_schema(shopify_sync::schema::SchemaVersion::V2026_07);
    let mut g = c.benchmark_group("startup");
    g.bench_function("start_default_1000_products", |b| {
        b.iter(|| {
            rt.block_on(async {
                Simulator::start(SimConfig::default())
                    .await
                    .unwrap()
                    .shutdown()
                    .await
            })
        })
    });
    g.bench_function("generate_catalog_100000_products", |b| {
        b.iter(|| {
            Catalog::generate(&CatalogSpec {
                products: 100_000,
                collections: 57,
                ..CatalogSpec::default()
            })
        })
    });
    g.sample_size(10);
    g.finish();
}

fn queries(c: &mut Criterion) {
    let rt = runtime();
    let sim = rt.block_on(Simulator::start(unthrottled())).unwrap();
    let http = reqwest::Client::new();
    let url = sim.graphql_url("2026-07");
    let token = sim.access_token().to_string();
    let send = |query: &'static str| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let resp = http
                .post(&url)
                .header("X-Shopify-Access-Token", &token)
                .json(&json!({"query": query}))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            resp.bytes().await.unwrap()
        }
    };
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("simple_query_sequential", |b| {
        b.iter(|| rt.block_on(send("{ shop { name } productsCount { count } }")))
    });
    g.throughput(Throughput::Elements(16));
    g.bench_function("simple_query_16_concurrent", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..16)
                    .map(|_| tokio::spawn(send("{ shop { name } productsCount { count } }")))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    g.throughput(Throughput::Elements(250));
    g.bench_function("page_of_250_products_with_variants", |b| {
        b.iter(|| rt.block_on(send("{ products(first: 250) { nodes { id title handle tags updatedAt variants(first: 10) { nodes { id sku price } } } } }")))
    });
    g.finish();
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, startup, queries);
criterion_main!(benches);
