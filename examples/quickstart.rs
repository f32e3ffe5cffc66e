//! Quickstart: pull a whole catalog and report what it cost.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! With no configuration it starts the embedded simulator (1,000 products, 57
//! collections) on loopback and pulls from it. To pull a real store instead, set
//! `SHOPIFY_SHOP` and `SHOPIFY_ACCESS_TOKEN` (read-only scopes suffice: it only reads),
//! or `SHOPIFY_ENDPOINT` to point at a simulator you started yourself.
use futures::TryStreamExt;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::products::ProductQuery;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Collection, Product};
use shopify_sync_sim::{SimConfig, Simulator};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let configured = std::env::var("SHOPIFY_ACCESS_TOKEN").is_ok();
    let (sim, client) = if configured {
        let client = ShopifyClient::from_env()?;
        println!("Pulling from {}", client.config().graphql_url());
        (None, client)
    } else {
        let sim = Simulator::start(SimConfig::default()).await?;
        println!(
            "Started the embedded Shopify simulator at {}",
            sim.endpoint()
        );
        let config =
            ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())?;
        (Some(sim), ShopifyClient::new(config)?)
    };

    let started = Instant::now();
    let products: Vec<Product> = client
        .products(ProductQuery::default())
        .try_collect()
        .await?;
    let collections: Vec<Collection> = client.collections(None).try_collect().await?;
    let elapsed = started.elapsed().as_secs_f64();

    let variants: usize = products.iter().map(|p| p.variants.len()).sum();
    let smart = collections.iter().filter(|c| c.is_smart()).count();
    println!(
        "Pulled {} products ({variants} variants) and {} collections ({smart} smart, {} custom) in {elapsed:.2} s",
        products.len(),
        collections.len(),
        collections.len() - smart,
    );
    println!(
        "Rate: {:.0} products/minute; cost bucket now holds {:.0} points (restores {:.0}/s)",
        products.len() as f64 / elapsed.max(1e-9) * 60.0,
        client.bucket().available(),
        client.bucket().restore_rate(),
    );
    if let Some(sim) = sim {
        let s = sim.stats();
        println!(
            "Simulator saw {} requests, {} THROTTLED; cost requested {} / actual {}",
            s.requests, s.throttled, s.cost_requested, s.cost_actual
        );
        sim.shutdown().await;
    }
    Ok(())
}
