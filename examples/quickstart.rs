//! Quickstart: pull a whole catalog and report what it cost.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! With no configuration it starts the embedded simulator (1,000 products, 57
//! collections) on loopback and pulls from it. To pull a real store instead, set
//! `SHOPIFY_SHOP` and `SHOPIFY_ACCESS_TOKEN` (read-only scopes suffice: it only reads).
//!
//! This first version speaks raw GraphQL over HTTP and paces itself from the
//! `throttleStatus` Shopify returns; the typed client and the sync engine replace that
//! plumbing in later versions.
use serde_json::{json, Value};
use shopify_sync_sim::{SimConfig, Simulator};
use std::time::{Duration, Instant};

const PRODUCTS: &str = "query Products($cursor: String) {
  products(first: 250, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes { id title handle status updatedAt tags
      variants(first: 10) { nodes { id sku price compareAtPrice } } }
  }
}";

const COLLECTIONS: &str = "query Collections($cursor: String) {
  collections(first: 250, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes { id title handle ruleSet { appliedDisjunctively } productsCount { count } }
  }
}";

struct Target {
    url: String,
    token: String,
    http: reqwest::Client,
    requests: u32,
    throttled: u32,
}

impl Target {
    /// Send one document; wait first if the last reported bucket cannot cover it.
    async fn send(
        &mut self,
        query: &str,
        variables: Value,
        last_cost: &mut Option<(f64, f64, f64)>,
    ) -> Result<Value, String> {
        loop {
            if let Some((requested, available, restore)) = *last_cost {
                if available < requested && restore > 0.0 {
                    tokio::time::sleep(Duration::from_secs_f64((requested - available) / restore))
                        .await;
                }
            }
            self.requests += 1;
            let resp = self
                .http
                .post(&self.url)
                .header("X-Shopify-Access-Token", &self.token)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status();
            let body: Value = resp
                .json()
                .await
                .map_err(|e| format!("unreadable response ({status}): {e}"))?;
            if let Some(cost) = body.pointer("/extensions/cost") {
                let requested = cost["requestedQueryCost"].as_f64().unwrap_or(0.0);
                let available = cost
                    .pointer("/throttleStatus/currentlyAvailable")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                let restore = cost
                    .pointer("/throttleStatus/restoreRate")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                *last_cost = Some((requested, available, restore));
            }
            let throttled = body["errors"].as_array().is_some_and(|errs| {
                errs.iter()
                    .any(|e| e.pointer("/extensions/code") == Some(&json!("THROTTLED")))
            });
            if throttled {
                self.throttled += 1;
                continue;
            }
            if !status.is_success() || body.get("errors").is_some() {
                return Err(format!("Shopify answered {status}: {}", body));
            }
            return Ok(body["data"].clone());
        }
    }

    /// Every node of a top-level connection, page by page.
    async fn pull_all(&mut self, query: &str, field: &str) -> Result<Vec<Value>, String> {
        let mut nodes = vec![];
        let mut cursor = Value::Null;
        let mut last_cost = None;
        loop {
            let data = self
                .send(query, json!({"cursor": cursor}), &mut last_cost)
                .await?;
            let conn = &data[field];
            nodes.extend(conn["nodes"].as_array().cloned().unwrap_or_default());
            if conn.pointer("/pageInfo/hasNextPage") != Some(&json!(true)) {
                return Ok(nodes);
            }
            cursor = conn
                .pointer("/pageInfo/endCursor")
                .cloned()
                .unwrap_or(Value::Null);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = std::env::var("SHOPIFY_SHOP")
        .ok()
        .zip(std::env::var("SHOPIFY_ACCESS_TOKEN").ok());
    let version = std::env::var("SHOPIFY_API_VERSION")
        .unwrap_or_else(|_| shopify_sync::schema::DEFAULT_API_VERSION.to_string());
    let (sim, url, token) = match real {
        Some((shop, token)) => {
            let host = if shop.contains('.') {
                shop
            } else {
                format!("{shop}.myshopify.com")
            };
            println!("Pulling from the real store {host}");
            (
                None,
                format!("https://{host}/admin/api/{version}/graphql.json"),
                token,
            )
        }
        None => {
            let sim = Simulator::start(SimConfig::default()).await?;
            println!(
                "Started the embedded Shopify simulator at {}",
                sim.endpoint()
            );
            let url = sim.graphql_url(&version);
            let token = sim.access_token().to_string();
            (Some(sim), url, token)
        }
    };
    let mut target = Target {
        url,
        token,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        requests: 0,
        throttled: 0,
    };
    let started = Instant::now();
    let products = target.pull_all(PRODUCTS, "products").await?;
    let collections = target.pull_all(COLLECTIONS, "collections").await?;
    let elapsed = started.elapsed();
    let variants: usize = products
        .iter()
        .map(|p| {
            p.pointer("/variants/nodes")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    let smart = collections
        .iter()
        .filter(|c| !c["ruleSet"].is_null())
        .count();
    println!(
        "Pulled {} products ({} variants) and {} collections ({} smart, {} custom) in {:.2} s",
        products.len(),
        variants,
        collections.len(),
        smart,
        collections.len() - smart,
        elapsed.as_secs_f64()
    );
    println!(
        "Requests: {}, THROTTLED answers: {}, rate: {:.0} products/minute",
        target.requests,
        target.throttled,
        products.len() as f64 / elapsed.as_secs_f64().max(1e-9) * 60.0
    );
    if let Some(sim) = sim {
        let s = sim.stats();
        println!(
            "Simulator: {} requests, {} throttled, cost requested {} / actual {}, lowest bucket level {}",
            s.requests,
            s.throttled,
            s.cost_requested,
            s.cost_actual,
            s.lowest_available.unwrap_or(0)
        );
        sim.shutdown().await;
    }
    Ok(())
}
