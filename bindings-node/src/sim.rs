//! `Simulator`: the offline Shopify simulator, served in-process over loopback HTTP on
//! the binding's runtime, for users' own tests (`await Simulator.start()`, then point a
//! client at `sim.endpoint`).
use crate::abort::{spawn, Abort};
use crate::convert::Input;
use crate::errors::{guard, invalid, Json, Outcome, Settled};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shopify_sync::error::{Error, ErrorKind};
use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator as CoreSimulator};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `Simulator.start(options)`: camelCase keys, unknown keys refused.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimOptions {
    products: Option<usize>,
    collections: Option<usize>,
    seed: Option<u64>,
    catalog: Option<Value>,
    shop: Option<String>,
    access_token: Option<String>,
    bucket_size: Option<f64>,
    restore_rate: Option<f64>,
    max_query_cost: Option<u32>,
    job_delay_ms: Option<f64>,
    index_lag_ms: Option<f64>,
    bulk_rows_per_second: Option<f64>,
    fault_rate: Option<f64>,
    fault_seed: Option<u64>,
}

impl SimOptions {
    fn config(self) -> Outcome<SimConfig> {
        let catalog = match self.catalog {
            Some(c) if !c.is_null() => {
                if self.products.is_some() || self.collections.is_some() || self.seed.is_some() {
                    return Err(invalid(
                        "Simulator options",
                        "pass either catalog or products/collections/seed, not both",
                    ));
                }
                CatalogSource::Loaded(
                    serde_json::from_value::<Catalog>(c).map_err(|e| invalid("catalog", e))?,
                )
            }
            _ => {
                let mut spec = CatalogSpec::default();
                if let Some(n) = self.products {
                    spec.products = n;
                }
                if let Some(n) = self.collections {
                    spec.collections = n;
                }
                if let Some(s) = self.seed {
                    spec.seed = s;
                }
                CatalogSource::Generated(spec)
            }
        };
        let mut config = SimConfig {
            catalog,
            ..SimConfig::default()
        };
        if let Some(s) = self.shop {
            config.shop = s;
        }
        if let Some(t) = self.access_token {
            config.access_token = t;
        }
        if let Some(v) = self.bucket_size {
            config.bucket_size = v;
        }
        if let Some(v) = self.restore_rate {
            config.restore_rate = v;
        }
        if let Some(v) = self.max_query_cost {
            config.max_query_cost = v;
        }
        let millis = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v / 1000.0).map_err(|e| invalid(name, e))
        };
        if let Some(v) = self.job_delay_ms {
            config.job_delay = millis("jobDelayMs", v)?;
        }
        if let Some(v) = self.index_lag_ms {
            config.index_lag = millis("indexLagMs", v)?;
        }
        if let Some(v) = self.bulk_rows_per_second {
            config.bulk_rows_per_second = v;
        }
        if let Some(v) = self.fault_rate {
            config.fault_rate = v;
        }
        if let Some(v) = self.fault_seed {
            config.fault_seed = v;
        }
        Ok(config)
    }
}

/// The environment a client needs to reach a simulator.
#[derive(Serialize)]
struct SimEnv<'a> {
    #[serde(rename = "SHOPIFY_ENDPOINT")]
    endpoint: &'a str,
    #[serde(rename = "SHOPIFY_SHOP")]
    shop: &'a str,
    #[serde(rename = "SHOPIFY_ACCESS_TOKEN")]
    access_token: &'a str,
}

/// A running simulator of the Shopify Admin GraphQL API: real HTTP on loopback, the real
/// schema, cost and throttling. Call `stop()` when done.
#[napi]
pub struct Simulator {
    sim: Arc<Mutex<Option<CoreSimulator>>>,
    endpoint: String,
    shop: String,
    access_token: String,
}

impl Simulator {
    fn with<T>(&self, f: impl FnOnce(&CoreSimulator) -> Outcome<T>) -> Outcome<T> {
        let slot = self.sim.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(sim) => f(sim),
            None => Err(Error::new(ErrorKind::InvalidInput, "the simulator is stopped").into()),
        }
    }
}

#[napi]
impl Simulator {
    /// Start a simulator on a free loopback port; resolves once it accepts requests.
    ///
    /// The catalog is generated from `seed` (`products` products, `collections`
    /// collections; default 1,000 and 57), or given as `catalog` (the shape `dump()`
    /// returns).
    #[napi(
        ts_args_type = "options?: SimulatorOptions | null",
        ts_return_type = "Promise<Simulator>"
    )]
    pub fn start<'e>(
        env: &'e Env,
        options: Option<Input<SimOptions>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Simulator>>> {
        let config = options.map(|o| o.get("Simulator options"));
        spawn(env, Abort::none(), async move {
            let config = config.transpose()?.unwrap_or_default().config()?;
            let sim = CoreSimulator::start(config).await.map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("cannot start the simulator: {e}"),
                )
                .with_retryable(false)
                .with_source(e)
            })?;
            Ok(Simulator {
                endpoint: sim.endpoint(),
                shop: sim.shop().to_string(),
                access_token: sim.access_token().to_string(),
                sim: Arc::new(Mutex::new(Some(sim))),
            })
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (what `SHOPIFY_ENDPOINT` takes, and
    /// `new ShopifyClient({ endpoint })`).
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The shop domain.
    #[napi(getter)]
    pub fn shop(&self) -> String {
        self.shop.clone()
    }

    /// The one access token the simulator accepts.
    #[napi(getter)]
    pub fn access_token(&self) -> String {
        self.access_token.clone()
    }

    /// Whether it is still serving.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.sim.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// The environment a client needs to reach it: `SHOPIFY_ENDPOINT`, `SHOPIFY_SHOP`,
    /// `SHOPIFY_ACCESS_TOKEN` (spread it into `process.env` for `ShopifyClient.fromEnv()`).
    #[napi(
        ts_return_type = "{ SHOPIFY_ENDPOINT: string; SHOPIFY_SHOP: string; SHOPIFY_ACCESS_TOKEN: string }"
    )]
    pub fn env(&self) -> Settled<Json<Value>> {
        guard(|| {
            let env = SimEnv {
                endpoint: &self.endpoint,
                shop: &self.shop,
                access_token: &self.access_token,
            };
            Ok(Json(
                serde_json::to_value(env).map_err(|e| invalid("env", e))?,
            ))
        })
    }

    /// Request statistics so far (the JSON of `GET /_sim/stats`, camelCase keys).
    #[napi(ts_return_type = "SimStats")]
    pub fn stats(&self) -> Settled<Json<Value>> {
        guard(|| {
            self.with(|sim| {
                serde_json::to_value(sim.stats())
                    .map(Json)
                    .map_err(|e| invalid("stats", e))
            })
        })
    }

    /// The whole catalog as it is now (the JSON of `GET /_sim/dump`; accepted back by
    /// `Simulator.start({ catalog })`).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn dump(&self) -> Settled<Json<Value>> {
        guard(|| {
            self.with(|sim| {
                serde_json::to_value(sim.dump())
                    .map(Json)
                    .map_err(|e| invalid("dump", e))
            })
        })
    }

    /// Edit a product out of band, as a merchant in the Shopify admin would (`fields`
    /// in the Admin API's camelCase shape); returns the product as stored.
    #[napi(
        ts_args_type = "id: number, fields: Record<string, unknown>",
        ts_return_type = "Product"
    )]
    pub fn edit_product(&self, id: f64, fields: Input<Map<String, Value>>) -> Settled<Json<Value>> {
        guard(|| {
            let fields = fields.get("fields")?;
            if id < 1.0 || id.fract() != 0.0 {
                return Err(invalid("id", format!("{id} is not a numeric product id")));
            }
            self.with(|sim| {
                let p = sim
                    .edit_product(id as u64, &fields)
                    .map_err(Error::invalid_input)?;
                serde_json::to_value(p)
                    .map(Json)
                    .map_err(|e| invalid("product", e))
            })
        })
    }

    /// Stop serving and wait for in-flight requests. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Settled<()>>> {
        let sim = self.sim.lock().unwrap_or_else(|e| e.into_inner()).take();
        spawn(env, Abort::none(), async move {
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            Ok(())
        })
    }
}
