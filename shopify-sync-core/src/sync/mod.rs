//! The sync engine: pull the store, plan against the merchant's records, apply the
//! approved changes, and keep everything in the [change store](crate::staging::store).
//!
//! It joins the [`client`](crate::client), the [`staging`](crate::staging) model and the
//! [`executor`](crate::executor) into the workflow a catalog dashboard needs:
//!
//! 1. [`pull`](SyncEngine::pull): read Shopify into *remote* snapshots. A full pull reads
//!    everything (paginated, or a bulk query for large catalogs), reconciles deletions
//!    by the set of ids and membership from each custom collection's product list; an
//!    incremental pull reads the products updated since a checkpointed cursor, minus an
//!    overlap window for Shopify's search-index lag.
//! 2. [`plan`](SyncEngine::plan): diff the caller's local records three ways against
//!    the *base* (what was last synced) and the remote snapshots, and save the plan's
//!    changes, `staged`, for review ([`ChangeStore::approve`] and friends).
//! 3. [`apply`](SyncEngine::apply): write the approved changes through the executor,
//!    journaled in the store (`applying` before a write is sent), each re-checked against
//!    Shopify just before writing (the stale guard); new base snapshots after success.
//! 4. [`refresh`](SyncEngine::refresh): a verified webhook marks an entity dirty and
//!    re-reads it through GraphQL.
//!
//! Beside them, [`requests`] runs your own GraphQL documents through the same executor
//! and shared budget.
//!
//! What it owns: the order of those steps, the checkpoints, the mapping from changes to
//! mutations, and the journal's recovery ([`reconcile`](SyncEngine::reconcile)). What it
//! must not own: HTTP and throttling (the client's), diff and state rules (staging's),
//! scheduling (the executor's), and any language binding.
//!
//! Store keys: snapshots are keyed by the entity's gid (`gid://shopify/Product/1`).
//!
//! ```no_run
//! # async fn demo() -> shopify_sync::error::Result<()> {
//! use std::sync::Arc;
//! use shopify_sync::client::ShopifyClient;
//! use shopify_sync::staging::store::{ChangeStore, SqliteStore};
//! use shopify_sync::staging::{ChangeFilter, FieldMask, Review};
//! use shopify_sync::sync::{LocalCatalog, PullMode, SyncEngine};
//!
//! let client = ShopifyClient::from_env()?;
//! let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open("sync.db")?);
//! let engine = SyncEngine::new(client, store.clone());
//! engine.pull(PullMode::Auto).await?;
//! let plan = engine.plan(&LocalCatalog::default(), FieldMask::ALL).await?;
//! store.approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana")).await?;
//! let report = engine.apply(&ChangeFilter::default().plan(&plan.id)).await?;
//! println!("{} applied, {} stale, {} failed", report.applied, report.stale, report.failed);
//! # Ok(()) }
//! ```

pub mod apply;
mod config;
mod plan;
pub mod pull;
mod read;
pub mod refresh;
pub mod requests;
mod status;

pub use apply::{ApplyOptions, ApplyReport, CancelApply};
pub use config::{CreateIdentifier, PullMode, SyncConfig, WriteMode};
pub use plan::LocalCatalog;
pub use pull::{PullOptions, PullProgress, PullReport, PullStage};
pub use refresh::{
    Dirty, Mark, Outcome, Received, RefreshReport, WebhookQueue, DEFAULT_WATERMARKS, REFRESH_BATCH,
};

use crate::client::ShopifyClient;
use crate::error::Result;
use crate::staging::change::Review;
use crate::staging::store::{ChangeStore, SnapshotSide, StoredSnapshot};
use std::fmt;
use std::sync::Arc;

/// Every GraphQL document the engine sends (beyond the client's own), for validation
/// tests.
pub fn documents() -> Vec<(&'static str, String)> {
    let mut docs = read::documents();
    docs.extend(apply::documents());
    docs.extend(pull::documents());
    docs
}

/// How the reports serialize their times: durations as whole milliseconds (the field
/// gets a `_ms` suffix), instants as RFC 3339 with milliseconds.
pub(crate) mod report_json {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;
    use std::time::Duration;

    pub fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => s.serialize_none(),
        }
    }
}

/// Checkpoint names the engine keeps in the store.
pub mod checkpoints {
    /// The `updatedAt` cursor of incremental pulls (RFC 3339).
    pub const PRODUCTS_UPDATED_AT: &str = "sync.products.updated_at";
    /// When the last complete full pull finished (RFC 3339): the remote snapshots cover
    /// the whole store from then on.
    pub const FULL_PULL_AT: &str = "sync.full_pull.at";
}

/// Pull, plan and apply against one shop and one change store. Cheap to clone.
#[derive(Clone)]
pub struct SyncEngine {
    client: ShopifyClient,
    store: Arc<dyn ChangeStore>,
    config: SyncConfig,
    /// Set once the custom-id metafield definition is known to exist.
    custom_id_defined: Arc<tokio::sync::OnceCell<()>>,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("shop", &self.client.config().shop())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// An engine with the default [`SyncConfig`].
    pub fn new(client: ShopifyClient, store: Arc<dyn ChangeStore>) -> SyncEngine {
        SyncEngine {
            client,
            store,
            config: SyncConfig::default(),
            custom_id_defined: Arc::default(),
        }
    }

    /// The same engine with this configuration.
    #[must_use]
    pub fn with_config(mut self, config: SyncConfig) -> SyncEngine {
        self.config = config;
        self.custom_id_defined = Arc::default();
        self
    }

    /// The client.
    pub fn client(&self) -> &ShopifyClient {
        &self.client
    }

    /// The change store.
    pub fn store(&self) -> &Arc<dyn ChangeStore> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The review the engine signs its own transitions with.
    fn actor(&self) -> Review {
        Review::now(self.config.actor.clone())
    }

    /// Every stored snapshot of `side`, in key order, handed to `f` a page of
    /// [`SCAN_PAGE`] at a time: what a whole side is reduced through, so that it is
    /// never held in memory at once.
    async fn scan(
        &self,
        side: SnapshotSide,
        mut f: impl FnMut(String, StoredSnapshot) + Send,
    ) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .snapshots_page(side, after.as_deref(), SCAN_PAGE)
                .await?;
            let last = page.len() < SCAN_PAGE;
            after = page.last().map(|(key, _)| key.clone()).or(after);
            for (key, stored) in page {
                f(key, stored);
            }
            if last {
                return Ok(());
            }
        }
    }
}

/// Stored snapshots read per [`ChangeStore::snapshots_page`] when a whole side is
/// scanned: about 2.5 MB of whole snapshots at a time.
const SCAN_PAGE: usize = 1_000;
