//! # shopify-sync-sim
//!
//! An offline simulator of the Shopify Admin GraphQL API, faithful wherever a client can
//! tell: real HTTP on loopback, documents validated against the real Admin schema, costs
//! computed as Shopify computes them, a leaky-bucket throttle that answers `THROTTLED`
//! exactly when Shopify would, and a deterministic seeded catalog.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use shopify_sync_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await?;
//! println!("{}", sim.env_lines()); // SHOPIFY_ENDPOINT=http://127.0.0.1:PORT ...
//! let stats = sim.stats();
//! assert_eq!(stats.throttled, 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Module map: [`catalog`] (data and the seeded generator), [`store`] (state, writes,
//! userErrors), [`faults`] (injected failures), [`search`] (the `query:` syntax), [`objects`] and [`mutations`] (GraphQL
//! execution over the store), [`bulk`] (bulk operations, staged uploads, downloads), [`validate`] (Shopify-shaped validation errors),
//! [`throttle`] (the cost bucket), [`stats`], and the HTTP server.
pub mod bulk;
pub mod captures;
pub mod catalog;
pub mod clock;
pub mod faults;
pub mod mutations;
pub mod objects;
pub mod search;
mod server;
pub mod stats;
pub mod store;
pub mod throttle;
pub mod validate;

use catalog::{Catalog, CatalogSpec, Product};
use serde_json::{Map, Value};
use stats::{Recorder, Stats};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store;
use throttle::Bucket;

pub use server::INVALID_TOKEN_BODY;

/// Where the simulator's catalog comes from.
#[derive(Debug, Clone)]
pub enum CatalogSource {
    /// Generated from a seed (the default: 1,000 products, 57 collections).
    Generated(CatalogSpec),
    /// Given as data, e.g. read from a `/_sim/dump` JSON file.
    Loaded(Catalog),
}

/// How to run a simulator. Every field has a default that mirrors real Shopify.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The catalog to serve.
    pub catalog: CatalogSource,
    /// The shop's domain (`SHOPIFY_SHOP`).
    pub shop: String,
    /// The one access token accepted (`SHOPIFY_ACCESS_TOKEN`).
    pub access_token: String,
    /// Bucket size in cost points (Shopify: 2,000 on standard plans).
    pub bucket_size: f64,
    /// Points restored per second (Shopify: 100 on standard plans).
    pub restore_rate: f64,
    /// Largest cost a single document may request (Shopify: 1,000).
    pub max_query_cost: u32,
    /// How long membership jobs (`collectionAddProductsV2`, `collectionRemoveProducts`)
    /// take to finish.
    pub job_delay: Duration,
    /// Address to listen on; port 0 picks a free port. Loopback by default.
    pub listen: SocketAddr,
    /// How long a product write takes to reach the search index (0 by default): within
    /// it, `updated_at` filters do not return the product yet, as on Shopify. Incremental
    /// pulls prove their overlap window against it.
    pub index_lag: Duration,
    /// Share of requests that fail with a random fault (0 by default); see [`faults`].
    pub fault_rate: f64,
    /// Seed of the random faults.
    pub fault_seed: u64,
    /// How fast bulk operations write result lines (objects per second; 2,000 by
    /// default, an order of magnitude public reports of large exports suggest: Shopify
    /// publishes no figure). `f64::INFINITY` runs them as fast as the simulator can.
    pub bulk_rows_per_second: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            catalog: CatalogSource::Generated(CatalogSpec::default()),
            shop: "sim-shop.myshopify.com".into(),
            access_token: "shpat_simulator_0000000000000000".into(),
            bucket_size: 2_000.0,
            restore_rate: 100.0,
            max_query_cost: 1_000,
            job_delay: Duration::from_millis(100),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            index_lag: Duration::ZERO,
            fault_rate: 0.0,
            fault_seed: 1,
            bulk_rows_per_second: 2_000.0,
        }
    }
}

/// Mutable state behind one lock: requests execute one at a time, as a consistent
/// snapshot, which is also how the bucket arithmetic stays exact.
pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) bucket: Bucket,
}

pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) faults: Mutex<faults::FaultPlan>,
    pub(crate) state: Mutex<State>,
    pub(crate) stats: Mutex<Recorder>,
    pub(crate) bulk: bulk::BulkOperations,
    requests: AtomicU64,
}

impl Shared {
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-5a5a-4000-8000-{:012x}", std::process::id(), n)
    }

    pub(crate) fn stats_snapshot(&self) -> Stats {
        let rec = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        rec.snapshot(self.config.bucket_size, self.config.restore_rate)
    }
}

/// A running simulator. Dropping it without [`Simulator::shutdown`] stops serving too.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Build the catalog, bind, and serve in the background on the current Tokio
    /// runtime. Returns once the port is bound, so requests can be sent at once.
    pub async fn start(config: SimConfig) -> std::io::Result<Simulator> {
        let catalog = match &config.catalog {
            CatalogSource::Generated(spec) => Catalog::generate(spec),
            CatalogSource::Loaded(c) => c.clone(),
        };
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let store = Store::new(catalog, config.job_delay);
        let bulk = store.bulk().clone();
        bulk.configure(&format!("http://{addr}"), config.bulk_rows_per_second);
        let shared = Arc::new(Shared {
            bulk,
            state: Mutex::new(State {
                store,
                bucket: Bucket::new(config.bucket_size, config.restore_rate, Instant::now()),
            }),
            faults: Mutex::new(faults::FaultPlan::new(config.fault_rate, config.fault_seed)),
            config,
            stats: Mutex::new(Recorder::new()),
            requests: AtomicU64::new(0),
        });
        // Parse the default schema in the background (about 0.1 s in release builds), so
        // that starting takes milliseconds and the first request rarely waits for it.
        std::thread::spawn(|| {
            shopify_sync::schema::admin_schema(shopify_sync::schema::SchemaVersion::V2026_07)
        });
        let app = server::router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        Ok(Simulator {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (`SHOPIFY_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GraphQL URL for an API version.
    pub fn graphql_url(&self, version: &str) -> String {
        format!("{}/admin/api/{version}/graphql.json", self.endpoint())
    }

    /// The shop domain.
    pub fn shop(&self) -> &str {
        &self.shared.config.shop
    }

    /// The access token the simulator accepts.
    pub fn access_token(&self) -> &str {
        &self.shared.config.access_token
    }

    /// `SHOPIFY_ENDPOINT=...`, `SHOPIFY_SHOP=...`, `SHOPIFY_ACCESS_TOKEN=...`, one per
    /// line: usable as an env file for the client.
    pub fn env_lines(&self) -> String {
        format!(
            "SHOPIFY_ENDPOINT={}\nSHOPIFY_SHOP={}\nSHOPIFY_ACCESS_TOKEN={}",
            self.endpoint(),
            self.shop(),
            self.access_token()
        )
    }

    /// Request statistics so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats_snapshot()
    }

    /// The whole catalog as it is now.
    pub fn dump(&self) -> Catalog {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .store
            .dump()
    }

    /// Edit a product out of band, as a merchant in the Shopify admin would (bumps
    /// `updatedAt`). See [`Store::edit_product`] for the accepted fields.
    pub fn edit_product(&self, id: u64, fields: &Map<String, Value>) -> Result<Product, String> {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.store.edit_product(id, fields).cloned()
    }

    /// Queue faults: each of the next GraphQL requests uses one, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = faults::Fault>) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(faults);
    }

    /// The publications a product is published on (`publishablePublish`), as gids.
    pub fn product_publications(&self, product: u64) -> Vec<String> {
        let state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .store
            .product_publications(product)
            .into_iter()
            .map(|n| format!("gid://shopify/Publication/{n}"))
            .collect()
    }

    /// Change the random fault rate from now on (0 turns random faults off; queued
    /// faults are unaffected): set a store up cleanly, then test under faults.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_rate(rate);
    }

    /// Every fault used so far, in order, with whether its request was executed.
    pub fn fault_log(&self) -> Vec<faults::FaultRecord> {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log()
            .to_vec()
    }

    /// Every bulk operation so far, by ascending id.
    pub fn bulk_operations(&self) -> Vec<bulk::BulkOperation> {
        self.shared.bulk.list()
    }

    /// Every request to the bulk storage endpoints (result downloads, staged uploads),
    /// with whether it carried an access token: real Shopify's are other hosts, which
    /// must never see it.
    pub fn bulk_transfers(&self) -> Vec<bulk::Transfer> {
        self.shared.bulk.transfers()
    }

    /// Make the next bulk operation created fail with `code` after writing
    /// `after_objects` lines: it ends `FAILED`, its lines so far at `partialDataUrl`.
    pub fn fail_next_bulk_operation(&self, after_objects: u64, code: bulk::BulkErrorCode) {
        self.shared.bulk.fail_next(after_objects, code);
    }

    /// Expire every finished bulk operation, as seven days do on Shopify: `EXPIRED`, no
    /// URLs, downloads refused.
    pub fn expire_bulk_operations(&self) {
        self.shared.bulk.expire();
    }

    /// Stop serving and wait for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
