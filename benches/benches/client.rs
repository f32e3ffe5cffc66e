//! Client figures: the static cost estimate per document (criterion), and one full pull
//! of 10,000 products from the simulator at Shopify's standard 2,000 / 100 bucket
//! (a one-shot measurement: it takes about a minute and a half by design).
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench client            # both
//! cargo bench -p shopify-sync-benches --bench client -- cost    # the estimate only
//! ```
use criterion::{criterion_group, Criterion};
use futures::TryStreamExt;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::cost::requested_cost;
use shopify_sync::client::products::{self, ProductQuery};
use shopify_sync::client::ShopifyClient;
use shopify_sync::schema::{admin_schema, SchemaVersion};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::time::Instant;

fn cost_estimate(c: &mut Criterion) {
    let schema = admin_schema(SchemaVersion::V2026_07);
    let docs = products::documents();
    let (_, list) = docs
        .iter()
        .find(|(n, _)| *n == "products")
        .expect("the listing document");
    let doc = apollo_compiler::ExecutableDocument::parse_and_validate(schema, list, "q.graphql")
        .expect("valid");
    let vars = serde_json::json!({"first": 250, "variants": 100, "query": "status:active"});
    let vars = vars.as_object().expect("an object").clone();
    c.bench_function("cost/requested_cost_products_listing", |b| {
        b.iter(|| requested_cost(schema, &doc, None, &vars).expect("a cost"))
    });
}

criterion_group!(benches, cost_estimate);

fn pull_10k() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let spec = CatalogSpec {
            products: 10_000,
            collections: 57,
            ..CatalogSpec::default()
        };
        let sim = Simulator::start(SimConfig {
            catalog: CatalogSource::Generated(spec),
            ..SimConfig::default()
        })
        .await
        .expect("sim");
        let config =
            ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
                .expect("config");
        let client = ShopifyClient::new(config).expect("client");
        let started = Instant::now();
        let n = client
            .products(ProductQuery::default())
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
            .await
            .expect("pull");
        let elapsed = started.elapsed().as_secs_f64();
        let s = sim.stats();
        let final_level = client.bucket().available();
        // Points Shopify kept beyond the initial full bucket, over what it restored meanwhile.
        let restored_used = s.cost_actual as f64 - (2_000.0 - final_level);
        let utilisation = restored_used / (100.0 * elapsed);
        println!(
            "pull/10k_products: {n} products in {elapsed:.1} s ({:.0} products/min)",
            n as f64 / elapsed * 60.0
        );
        println!(
            "pull/10k_products: {} requests, {} THROTTLED, cost requested {} actual {}",
            s.requests, s.throttled, s.cost_requested, s.cost_actual
        );
        println!(
            "pull/10k_products: restore-rate utilisation after the initial burst: {:.1}%",
            utilisation * 100.0
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_none_or(|f| "pull".contains(f.as_str()) || f.contains("pull")) {
        pull_10k();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
