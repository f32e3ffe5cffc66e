//! Pulling Shopify into *remote* snapshots (never the base side): full pulls and
//! incremental pulls.
//!
//! # Full pull ([`SyncEngine::pull`])
//!
//! One pass over the store, in this order, with bounded memory:
//!
//! 1. **What is stored.** The remote snapshots already in the change store are listed
//!    once, a page at a time, and reduced to their ids: the candidates for deletion.
//!    Only entities stored *before* the pull began can be deleted by it, so a snapshot
//!    another writer adds meanwhile (an apply creating a product) is never taken for a
//!    deleted one.
//! 2. **Collections** (paginated; a shop has few) and then **membership**: the product
//!    ids of every *custom* collection, folded into a map product -> custom collections.
//!    Smart collections are left out: Shopify decides their members from their rules.
//!    The map holds ids only (8 bytes each), a few megabytes for 100,000 products.
//! 3. **Products**, streamed, paginated by id or as one bulk query
//!    ([`PullMode::Auto`] asks `productsCount` and compares it to
//!    [`SyncConfig::bulk_pull_threshold`](super::SyncConfig::bulk_pull_threshold)).
//!    Each product becomes its snapshot at once, with its membership from the map, and
//!    the snapshots are written in batches of 500 ([`ChangeStore::write_snapshots`]);
//!    no more than a page of full product models is ever held. Reading the membership
//!    *before* the products is what makes one pass enough: no snapshot is written
//!    twice.
//! 4. **Deletions and checkpoints.** Candidates that were not seen are deleted, in the
//!    same transaction as the last batch, which also sets
//!    [`FULL_PULL_AT`](super::checkpoints::FULL_PULL_AT) (now) and the incremental
//!    cursor. A pull that fails midway (including a bulk export that fails and only
//!    leaves partial data) deletes nothing and sets no checkpoint.
//!
//! # Incremental pull ([`SyncEngine::pull_incremental`])
//!
//! Without a cursor or a complete full pull, it is a full pull. Otherwise:
//!
//! 1. Collections and custom-collection membership are read again, as above: a
//!    membership change moves no product's `updatedAt`, so no cursor can find it.
//! 2. The products with `updated_at >= cursor - overlap`, sorted by `UPDATED_AT`
//!    ascending, are written with their membership. Every batch is committed *with* the
//!    cursor it reaches, in one transaction: an interrupted pull resumes where it
//!    stopped, and a cursor is never ahead of the data.
//! 3. The stored remote snapshots are listed (a page at a time, reduced to ids and
//!    membership), and reconciled: products Shopify no longer lists (an ids-only
//!    listing: paginated, or a bulk query from the bulk threshold on) are deleted;
//!    products whose custom-collection membership changed are rewritten with it;
//!    collections are upserted (only the changed ones) and the vanished ones deleted.
//!
//! # The cursor
//!
//! The cursor is the largest product `updatedAt` *seen*, in Shopify's clock, never the
//! time of the pull in ours: an incremental pull's products come sorted by `updatedAt`,
//! so everything before its last product has been read, whatever the clocks say. A full
//! pull reads by id, so a product edited on a page it already passed is not seen again;
//! its cursor is therefore capped at the time the pull started (read before any
//! request), and a full pull only ever moves an existing cursor forward.
//!
//! The overlap ([`SyncConfig::overlap`](super::SyncConfig::overlap), 5 minutes by
//! default) covers Shopify's search-index lag: `updated_at` filters only find a product
//! once the index has caught up with its write, and Shopify indexes products out of
//! order, so a product written *before* the cursor can become searchable *after* the
//! pull that set it. Reading again from `cursor - overlap` finds it, as long as the lag
//! is shorter than the overlap. It also absorbs clock skew between this machine and
//! Shopify (which only the full pull's cap depends on).
//!
//! # Progress
//!
//! [`SyncEngine::pull_with`] and [`SyncEngine::pull_incremental_with`] take
//! [`PullOptions::on_progress`]: a [`PullProgress`] after the collections, after the
//! membership, every 100 products, after reconciling and at the end, with the counts so
//! far and (full pulls) the expected number of products.
//!
//! # Memory
//!
//! Everything a pull holds is ids (the membership map, the sets of ids seen, the stored
//! products with their stored membership), one page of products, one batch of 500
//! snapshots, or one page of 1,000 stored snapshots: what is stored is listed page by
//! page ([`ChangeStore::snapshots_page`]) and each page is reduced to ids and membership
//! before the next is read. A pull of 100,000 products into a `SqliteStore` peaks at
//! 40 to 60 MB of RSS, into an empty store or over a filled one, full or incremental
//! (`cargo bench -p shopify-sync-benches --bench sync_pull -- memory`).

use super::{checkpoints, PullMode, SyncEngine};
use crate::client::bulk::BulkOptions;
use crate::client::pagination::{paginate, Connection};
use crate::client::products::{ProductQuery, ProductSort};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Collection, Gid, Product};
use crate::staging::store::{ChangeStore, SnapshotBatch, SnapshotSide, StoredSnapshot};
use crate::staging::{CollectionSnapshot, FieldMask, ProductSnapshot, Snapshot};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Snapshots written per [`ChangeStore::write_snapshots`] transaction.
const WRITE_BATCH: usize = 500;

/// Product snapshots committed with their cursor per transaction by incremental pulls
/// (about a page of the `updated_at` listing).
const INCREMENTAL_BATCH: usize = 250;

/// Custom collections whose members are read at the same time.
const MEMBERSHIP_CONCURRENCY: usize = 4;

/// Every product id, ids only: what an incremental pull reconciles deletions with.
const PRODUCT_IDS: &str = "query SyncProductIds($first: Int!, $after: String) {
  products(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } }
}";

/// The same listing as a bulk query, for catalogs from the bulk threshold on.
const BULK_PRODUCT_IDS: &str = "{ products { edges { node { id } } } }";

/// The documents this module sends, for validation tests.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("sync_product_ids", PRODUCT_IDS.to_string()),
        ("sync_bulk_product_ids", BULK_PRODUCT_IDS.to_string()),
    ]
}

/// What a pull did. Serializes to snake_case JSON with `cursor` in RFC 3339 and the
/// wall time as `elapsed_ms` (the shape the bindings hand over).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PullReport {
    /// How the products were read: [`PullMode::Paginated`] or [`PullMode::Bulk`]
    /// (incremental pulls read paginated).
    pub mode: PullMode,
    /// Whether it was an incremental pull.
    pub incremental: bool,
    /// Product snapshots written (an incremental pull counts the updated products and
    /// those rewritten for a membership change).
    pub products: u64,
    /// Collection snapshots written (an incremental pull writes only changed ones).
    pub collections: u64,
    /// Remote snapshots removed because the entity is gone from Shopify.
    pub deleted: u64,
    /// (collection, product) membership pairs read.
    pub memberships: u64,
    /// Products rewritten only because their custom-collection membership changed
    /// (incremental pulls; a full pull rewrites every product anyway).
    pub membership_changes: u64,
    /// The incremental cursor after the pull.
    #[serde(serialize_with = "super::report_json::time")]
    pub cursor: Option<DateTime<Utc>>,
    /// Wall time.
    #[serde(rename = "elapsed_ms", serialize_with = "super::report_json::ms")]
    pub elapsed: Duration,
}

impl PullReport {
    fn new(mode: PullMode, incremental: bool) -> PullReport {
        PullReport {
            mode,
            incremental,
            products: 0,
            collections: 0,
            deleted: 0,
            memberships: 0,
            membership_changes: 0,
            cursor: None,
            elapsed: Duration::ZERO,
        }
    }
}

/// Where a pull is, as [`PullProgress::stage`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullStage {
    /// Collections listed.
    Collections,
    /// Custom-collection membership read.
    Membership,
    /// Products being read and written (every 100 products, and once when done).
    Products,
    /// Deletions and membership changes reconciled.
    Reconciled,
    /// The pull finished; the counts are the report's.
    Done,
}

/// A pull's progress, handed to [`PullOptions::on_progress`]. Serializes to one JSON
/// object with snake_case keys (the shape the bindings hand over).
///
/// ```
/// use shopify_sync::sync::pull::{PullProgress, PullStage};
/// let p = PullProgress { stage: PullStage::Products, incremental: false, products: 100,
///     total_products: Some(1_000), collections: 57, memberships: 2_000, deleted: 0,
///     elapsed_ms: 1_250 };
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["stage"], "products");
/// assert_eq!(json["total_products"], 1_000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullProgress {
    /// Where the pull is.
    pub stage: PullStage,
    /// Whether it is an incremental pull.
    pub incremental: bool,
    /// Product snapshots written so far.
    pub products: u64,
    /// How many products a full pull expects (`productsCount` at its start); `None` for
    /// incremental pulls.
    pub total_products: Option<u64>,
    /// Collection snapshots written so far.
    pub collections: u64,
    /// (collection, product) membership pairs read.
    pub memberships: u64,
    /// Remote snapshots removed so far.
    pub deleted: u64,
    /// Milliseconds since the pull started.
    pub elapsed_ms: u64,
}

type ProgressFn = Box<dyn FnMut(&PullProgress) + Send>;

/// Options of one pull: [`SyncEngine::pull_with`], [`SyncEngine::pull_incremental_with`].
#[derive(Default)]
pub struct PullOptions {
    on_progress: Option<ProgressFn>,
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

impl PullOptions {
    /// Call `f` as the pull moves on (see [`PullStage`]). It runs inside the pull: keep
    /// it quick (hand the progress to a channel or a UI), or it slows the pull down.
    /// A full pull with a callback asks `productsCount` once, for `total_products`.
    #[must_use]
    pub fn on_progress(mut self, f: impl FnMut(&PullProgress) + Send + 'static) -> PullOptions {
        self.on_progress = Some(Box::new(f));
        self
    }
}

/// Products between two [`PullStage::Products`] progress calls.
const PROGRESS_EVERY: u64 = 100;

/// Calls the progress callback, if any, from the report's counts.
struct Tracker {
    on_progress: Option<ProgressFn>,
    total_products: Option<u64>,
    started: Instant,
}

impl Tracker {
    fn new(options: PullOptions, started: Instant) -> Tracker {
        Tracker {
            on_progress: options.on_progress,
            total_products: None,
            started,
        }
    }

    fn wanted(&self) -> bool {
        self.on_progress.is_some()
    }

    fn emit(&mut self, stage: PullStage, report: &PullReport) {
        if let Some(f) = &mut self.on_progress {
            f(&PullProgress {
                stage,
                incremental: report.incremental,
                products: report.products,
                total_products: self.total_products,
                collections: report.collections,
                memberships: report.memberships,
                deleted: report.deleted,
                elapsed_ms: self.started.elapsed().as_millis() as u64,
            });
        }
    }

    /// After each product: every [`PROGRESS_EVERY`] products.
    fn product(&mut self, report: &PullReport) {
        if report.products % PROGRESS_EVERY == 0 {
            self.emit(PullStage::Products, report);
        }
    }
}

/// Product -> the custom collections it belongs to (sorted, deduplicated).
type Membership = HashMap<Gid<Product>, Vec<Gid<Collection>>>;

/// Custom-collection membership as read from Shopify.
struct RemoteMembership {
    members: Membership,
    /// Collections listed, then gone before their members could be read.
    vanished: HashSet<Gid<Collection>>,
    /// (collection, product) pairs read.
    pairs: u64,
}

/// The remote snapshots in the store, reduced to what reconciling needs.
#[derive(Default)]
struct StoredRemote {
    /// Stored products and their stored membership (sorted; left empty when not asked
    /// for).
    products: HashMap<Gid<Product>, Vec<Gid<Collection>>>,
    /// Stored collections (a shop has few), whole.
    collections: HashMap<Gid<Collection>, StoredSnapshot>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: Gid<Product>,
}

/// Snapshot writes collected into batches.
struct Batcher<'a> {
    store: &'a dyn ChangeStore,
    batch: SnapshotBatch,
}

impl<'a> Batcher<'a> {
    fn new(store: &'a dyn ChangeStore) -> Batcher<'a> {
        Batcher {
            store,
            batch: SnapshotBatch::default(),
        }
    }

    fn len(&self) -> usize {
        self.batch.put.len() + self.batch.delete.len()
    }

    fn put(&mut self, key: String, snapshot: StoredSnapshot) {
        self.batch.put.push((SnapshotSide::Remote, key, snapshot));
    }

    fn delete(&mut self, key: String) {
        self.batch.delete.push((SnapshotSide::Remote, key));
    }

    fn checkpoint(&mut self, name: &str, value: String) {
        self.batch.checkpoints.retain(|(n, _)| n != name);
        self.batch.checkpoints.push((name.to_owned(), value));
    }

    /// Write the batch if it holds `at_least` writes.
    async fn flush_at(&mut self, at_least: usize) -> Result<()> {
        if self.len() >= at_least.max(1) {
            self.flush().await?;
        }
        Ok(())
    }

    /// Write whatever the batch holds, in one transaction.
    async fn flush(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.store.write_snapshots(&batch).await?;
        }
        Ok(())
    }
}

/// A remote snapshot as stored: fingerprint over every field, no local id.
fn remote(snapshot: Snapshot, updated_at: Option<DateTime<Utc>>) -> StoredSnapshot {
    StoredSnapshot {
        fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
        snapshot,
        updated_at,
        local_id: None,
    }
}

fn product_snapshot(product: &Product, membership: &Membership) -> StoredSnapshot {
    let collections = membership.get(&product.id).cloned().unwrap_or_default();
    let snapshot = ProductSnapshot::from_product(product).with_collections(collections);
    remote(Snapshot::Product(snapshot), product.updated_at)
}

fn collection_snapshot(collection: &Collection) -> StoredSnapshot {
    remote(
        Snapshot::Collection(CollectionSnapshot::from_collection(collection)),
        collection.updated_at,
    )
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn sorted(mut ids: Vec<Gid<Collection>>) -> Vec<Gid<Collection>> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl SyncEngine {
    /// A full pull: every product, collection and custom-collection membership into the
    /// remote snapshots, deleting the snapshots of entities gone from Shopify, then the
    /// checkpoints [`FULL_PULL_AT`](checkpoints::FULL_PULL_AT) and
    /// [`PRODUCTS_UPDATED_AT`](checkpoints::PRODUCTS_UPDATED_AT).
    ///
    /// Membership (each custom collection's product ids) is read first, then products
    /// are streamed (paginated, or one bulk query: [`PullMode::Auto`] compares
    /// `productsCount` with [`SyncConfig::bulk_pull_threshold`](super::SyncConfig))
    /// and written in batches of 500, each with its membership. Only snapshots stored
    /// before the pull began can be deleted by it. The cursor becomes the latest
    /// `updatedAt` seen, capped at the pull's start (a product edited on a page already
    /// read is not seen again), and never moves back. A pull that fails, including a
    /// bulk export that ends with partial data, deletes nothing and sets no checkpoint.
    pub async fn pull(&self, mode: PullMode) -> Result<PullReport> {
        self.pull_with(mode, PullOptions::default()).await
    }

    /// [`SyncEngine::pull`] with options (progress).
    pub async fn pull_with(&self, mode: PullMode, options: PullOptions) -> Result<PullReport> {
        let started = Instant::now();
        let start_time = Utc::now();
        let mut progress = Tracker::new(options, started);
        let (mode, count) = self.resolve_mode(mode, progress.wanted()).await?;
        progress.total_products = count;
        let mut report = PullReport::new(mode, false);

        // Only what was stored before reading can be found deleted.
        let stored = self.stored_remote(false).await?;
        let (stored_products, stored_collections) = (
            stored.products.into_keys().collect::<Vec<_>>(),
            stored.collections.into_keys().collect::<Vec<_>>(),
        );

        let collections: Vec<Collection> = self.client.collections(None).try_collect().await?;
        report.collections = collections.len() as u64;
        progress.emit(PullStage::Collections, &report);
        let membership = self.read_membership(&collections).await?;
        report.memberships = membership.pairs;
        progress.emit(PullStage::Membership, &report);

        let mut out = Batcher::new(&*self.store);
        let mut seen_collections = HashSet::with_capacity(collections.len());
        for c in collections
            .iter()
            .filter(|c| !membership.vanished.contains(&c.id))
        {
            seen_collections.insert(c.id);
            out.put(c.id.to_string(), collection_snapshot(c));
            out.flush_at(WRITE_BATCH).await?;
        }
        report.collections = seen_collections.len() as u64;
        drop(collections);

        let (mut products, partial): (BoxStream<'_, Result<Product>>, Option<String>) = match mode {
            PullMode::Bulk => {
                let (result, products) = self
                    .client
                    .bulk_products(None, &BulkOptions::default())
                    .await?;
                let partial = result
                    .is_partial()
                    .then(|| result.error_code().unwrap_or("unknown").to_owned());
                (products.boxed(), partial)
            }
            _ => (self.client.products(ProductQuery::default()).boxed(), None),
        };
        let mut seen_products = HashSet::with_capacity(stored_products.len());
        let mut max_updated: Option<DateTime<Utc>> = None;
        while let Some(p) = products.try_next().await? {
            max_updated = max_updated.max(p.updated_at);
            seen_products.insert(p.id);
            out.put(p.id.to_string(), product_snapshot(&p, &membership.members));
            report.products += 1;
            out.flush_at(WRITE_BATCH).await?;
            progress.product(&report);
        }
        drop(products);
        drop(membership);
        progress.emit(PullStage::Products, &report);
        if let Some(code) = partial {
            // What was read is true and is kept; the rest of the store is unknown.
            out.flush().await?;
            return Err(Error::new(
                ErrorKind::Server,
                format!(
                    "the bulk export of products failed midway ({code}); its {} products were \
                     written, but nothing was deleted and no checkpoint was set: pull again",
                    report.products
                ),
            )
            .with_retryable(true));
        }

        for id in stored_products
            .into_iter()
            .filter(|id| !seen_products.contains(id))
        {
            out.delete(id.to_string());
            report.deleted += 1;
            out.flush_at(WRITE_BATCH).await?;
        }
        for id in stored_collections
            .into_iter()
            .filter(|id| !seen_collections.contains(id))
        {
            out.delete(id.to_string());
            report.deleted += 1;
            out.flush_at(WRITE_BATCH).await?;
        }

        // A product edited on a page already read is not seen again: the cursor stops
        // at the start. An empty store has seen nothing: the start, too.
        let reached = max_updated.unwrap_or(start_time).min(start_time);
        let cursor = match self.cursor().await? {
            Some(existing) if existing >= reached => existing,
            _ => {
                out.checkpoint(checkpoints::PRODUCTS_UPDATED_AT, rfc3339(reached));
                reached
            }
        };
        out.checkpoint(checkpoints::FULL_PULL_AT, rfc3339(Utc::now()));
        out.flush().await?;
        progress.emit(PullStage::Reconciled, &report);

        report.cursor = Some(cursor);
        report.elapsed = started.elapsed();
        progress.emit(PullStage::Done, &report);
        tracing::info!(
            mode = ?report.mode,
            products = report.products,
            collections = report.collections,
            deleted = report.deleted,
            memberships = report.memberships,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "full pull done"
        );
        Ok(report)
    }

    /// An incremental pull: the products updated since the cursor minus
    /// [`SyncConfig::overlap`](super::SyncConfig::overlap), every collection and
    /// custom-collection membership (a membership change moves no product's
    /// `updatedAt`), and deletions reconciled against an ids-only listing (a bulk query
    /// from the bulk threshold on). Without a cursor or a complete full pull it is a
    /// full pull ([`SyncConfig::pull_mode`](super::SyncConfig::pull_mode)), and the
    /// report says `incremental: false`.
    ///
    /// Products are read by `updatedAt` ascending and committed in batches of 250
    /// together with the cursor they reach (the latest `updatedAt` seen), so an
    /// interrupted pull resumes where it stopped. The overlap covers Shopify's
    /// search-index lag: a product written before the cursor may only become
    /// searchable after it, since Shopify indexes out of order.
    pub async fn pull_incremental(&self) -> Result<PullReport> {
        self.pull_incremental_with(PullOptions::default()).await
    }

    /// [`SyncEngine::pull_incremental`] with options (progress).
    pub async fn pull_incremental_with(&self, options: PullOptions) -> Result<PullReport> {
        let started = Instant::now();
        let full = self.store.checkpoint(checkpoints::FULL_PULL_AT).await?;
        let (Some(cursor), Some(_)) = (self.cursor().await?, full) else {
            return self.pull_with(self.config.pull_mode, options).await;
        };
        let mut progress = Tracker::new(options, started);
        let mut report = PullReport::new(PullMode::Paginated, true);
        let since = chrono::Duration::from_std(self.config.overlap)
            .ok()
            .and_then(|overlap| cursor.checked_sub_signed(overlap))
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);

        let collections: Vec<Collection> = self.client.collections(None).try_collect().await?;
        progress.emit(PullStage::Collections, &report);
        let membership = self.read_membership(&collections).await?;
        report.memberships = membership.pairs;
        progress.emit(PullStage::Membership, &report);

        // Updated products, each batch committed with the cursor it reaches.
        let mut out = Batcher::new(&*self.store);
        let mut reached = cursor;
        let query = ProductQuery::default()
            .updated_after(since)
            .sort(ProductSort::UpdatedAt);
        let mut products = self.client.products(query).boxed();
        while let Some(p) = products.try_next().await? {
            if let Some(u) = p.updated_at {
                reached = reached.max(u);
            }
            out.put(p.id.to_string(), product_snapshot(&p, &membership.members));
            report.products += 1;
            if out.len() >= INCREMENTAL_BATCH {
                out.checkpoint(checkpoints::PRODUCTS_UPDATED_AT, rfc3339(reached));
                out.flush().await?;
            }
            progress.product(&report);
        }
        drop(products);
        if reached > cursor {
            out.checkpoint(checkpoints::PRODUCTS_UPDATED_AT, rfc3339(reached));
        }
        out.flush().await?;
        report.cursor = Some(reached);
        progress.emit(PullStage::Products, &report);

        // Reconcile what is stored (including what was just written) with Shopify.
        let stored = self.stored_remote(true).await?;
        let live = self.product_ids(stored.products.len()).await?;
        let mut changed = Vec::new();
        for (id, old) in &stored.products {
            if !live.contains(id) {
                out.delete(id.to_string());
                report.deleted += 1;
                out.flush_at(WRITE_BATCH).await?;
                continue;
            }
            let new = membership.members.get(id).map_or(&[][..], Vec::as_slice);
            if new != old.as_slice() {
                changed.push(*id);
            }
        }
        drop(live);
        for id in changed {
            let key = id.to_string();
            // Read again: only the membership is replaced.
            let Some(mut stored) = self.store.snapshot(SnapshotSide::Remote, &key).await? else {
                continue;
            };
            let Snapshot::Product(p) = &mut stored.snapshot else {
                continue;
            };
            p.collections = membership.members.get(&id).cloned().unwrap_or_default();
            stored.fingerprint = Some(stored.snapshot.fingerprint(FieldMask::ALL));
            out.put(key, stored);
            report.products += 1;
            report.membership_changes += 1;
            out.flush_at(WRITE_BATCH).await?;
        }

        let mut listed = HashSet::with_capacity(collections.len());
        for c in collections
            .iter()
            .filter(|c| !membership.vanished.contains(&c.id))
        {
            listed.insert(c.id);
            let snapshot = collection_snapshot(c);
            if stored.collections.get(&c.id) != Some(&snapshot) {
                out.put(c.id.to_string(), snapshot);
                report.collections += 1;
                out.flush_at(WRITE_BATCH).await?;
            }
        }
        for id in stored.collections.keys().filter(|id| !listed.contains(id)) {
            out.delete(id.to_string());
            report.deleted += 1;
            out.flush_at(WRITE_BATCH).await?;
        }
        out.flush().await?;
        progress.emit(PullStage::Reconciled, &report);

        report.elapsed = started.elapsed();
        progress.emit(PullStage::Done, &report);
        tracing::info!(
            products = report.products,
            collections = report.collections,
            deleted = report.deleted,
            membership_changes = report.membership_changes,
            cursor = %rfc3339(reached),
            elapsed_ms = report.elapsed.as_millis() as u64,
            "incremental pull done"
        );
        Ok(report)
    }

    /// [`PullMode::Auto`] decided by `productsCount`, with the count when it was read
    /// (always when `count` is asked for).
    async fn resolve_mode(&self, mode: PullMode, count: bool) -> Result<(PullMode, Option<u64>)> {
        if mode != PullMode::Auto && !count {
            return Ok((mode, None));
        }
        let n = self.client.products_count(None).await?;
        let mode = match mode {
            PullMode::Auto if n >= self.config.bulk_pull_threshold => PullMode::Bulk,
            PullMode::Auto => PullMode::Paginated,
            other => other,
        };
        Ok((mode, Some(n)))
    }

    /// The stored incremental cursor; an unreadable one counts as none (a full pull
    /// sets it again).
    async fn cursor(&self) -> Result<Option<DateTime<Utc>>> {
        let Some(value) = self
            .store
            .checkpoint(checkpoints::PRODUCTS_UPDATED_AT)
            .await?
        else {
            return Ok(None);
        };
        match DateTime::parse_from_rfc3339(&value) {
            Ok(t) => Ok(Some(t.with_timezone(&Utc))),
            Err(e) => {
                tracing::warn!(value, error = %e, "the stored pull cursor is not RFC 3339; ignoring it");
                Ok(None)
            }
        }
    }

    /// The stored remote snapshots, reduced to product ids (with their membership when
    /// `membership` is set: empty otherwise) and the collections, scanned a page at a
    /// time so that no more than a page of whole snapshots is ever held. Keys that are
    /// not gids of their kind are left alone.
    async fn stored_remote(&self, membership: bool) -> Result<StoredRemote> {
        let mut out = StoredRemote::default();
        self.scan(SnapshotSide::Remote, |key, stored| match &stored.snapshot {
            Snapshot::Product(p) => {
                if let Ok(id) = Gid::<Product>::parse(&key) {
                    let collections = if membership {
                        sorted(p.collections.clone())
                    } else {
                        Vec::new()
                    };
                    out.products.insert(id, collections);
                }
            }
            Snapshot::Collection(_) => {
                if let Ok(id) = Gid::<Collection>::parse(&key) {
                    out.collections.insert(id, stored);
                }
            }
        })
        .await?;
        out.products.shrink_to_fit();
        Ok(out)
    }

    /// The members of every custom collection among `collections`.
    async fn read_membership(&self, collections: &[Collection]) -> Result<RemoteMembership> {
        let mut out = RemoteMembership {
            members: HashMap::new(),
            vanished: HashSet::new(),
            pairs: 0,
        };
        // Owned ids and a cloned client: a stream borrowing `collections` or `self`
        // would make the future not `Send` for every lifetime (not spawnable).
        let custom: Vec<Gid<Collection>> = collections
            .iter()
            .filter(|c| !c.is_smart())
            .map(|c| c.id)
            .collect();
        let client = self.client.clone();
        let mut reads = stream::iter(custom)
            .map(move |id| {
                let client = client.clone();
                async move {
                    let ids: Result<Vec<Gid<Product>>> =
                        client.collection_product_ids(id).try_collect().await;
                    (id, ids)
                }
            })
            .buffer_unordered(MEMBERSHIP_CONCURRENCY);
        while let Some((collection, ids)) = reads.next().await {
            match ids {
                Ok(ids) => {
                    for product in ids {
                        out.members.entry(product).or_default().push(collection);
                        out.pairs += 1;
                    }
                }
                // Deleted since it was listed.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    out.vanished.insert(collection);
                }
                Err(e) => return Err(e),
            }
        }
        for v in out.members.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        Ok(out)
    }

    /// Every product id on Shopify: paginated, or by bulk query from the bulk
    /// threshold on (`expected` is the number of stored products).
    async fn product_ids(&self, expected: usize) -> Result<HashSet<Gid<Product>>> {
        let mut ids = HashSet::with_capacity(expected);
        if expected as u64 >= self.config.bulk_pull_threshold {
            let result = self
                .client
                .bulk_query(BULK_PRODUCT_IDS, &BulkOptions::default())
                .await?;
            if result.is_partial() {
                return Err(Error::new(
                    ErrorKind::Server,
                    format!(
                        "the bulk listing of product ids failed midway ({}); deletions were not reconciled: pull again",
                        result.error_code().unwrap_or("unknown")
                    ),
                )
                .with_retryable(true));
            }
            let mut records = self.client.bulk_download(&result)?;
            while let Some(record) = records.try_next().await? {
                if let Some(id) = record.id() {
                    ids.insert(Gid::parse(id)?);
                }
            }
        } else {
            let conn = Connection::new(PRODUCT_IDS, &["products"]);
            let mut pages = Box::pin(paginate::<IdOnly>(self.client.clone(), conn));
            while let Some(p) = pages.try_next().await? {
                ids.insert(p.id);
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{admin_schema, SchemaVersion};
    use apollo_compiler::ExecutableDocument;

    #[test]
    fn the_report_serializes_to_the_bindings_json() {
        let mut r = PullReport::new(PullMode::Bulk, true);
        r.products = 3;
        r.cursor = Some("2026-03-01T12:00:00.123456Z".parse().unwrap());
        r.elapsed = Duration::from_micros(1_500_900);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "mode": "bulk", "incremental": true, "products": 3, "collections": 0,
                "deleted": 0, "memberships": 0, "membership_changes": 0,
                "cursor": "2026-03-01T12:00:00.123Z", "elapsed_ms": 1500
            })
        );
        r.cursor = None;
        assert_eq!(
            serde_json::to_value(&r).unwrap()["cursor"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn documents_validate_against_every_supported_schema() {
        let mut failures = vec![];
        for version in SchemaVersion::ALL {
            for (name, doc) in documents() {
                if let Err(e) = ExecutableDocument::parse_and_validate(
                    admin_schema(version),
                    &doc,
                    "doc.graphql",
                ) {
                    failures.push(format!(
                        "{name} against {}:\n{}",
                        version.as_str(),
                        e.errors
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn snapshots_are_remote_shaped() {
        let product: Product = serde_json::from_str(
            r#"{"id": "gid://shopify/Product/1", "title": "Tee", "updatedAt": "2026-01-02T03:04:05Z",
                "variants": [{"id": "gid://shopify/ProductVariant/2", "price": "10"}]}"#,
        )
        .unwrap();
        let c3: Gid<Collection> = Gid::parse("gid://shopify/Collection/3").unwrap();
        let c4: Gid<Collection> = Gid::parse("gid://shopify/Collection/4").unwrap();
        let membership: Membership = [(product.id, vec![c3, c4])].into_iter().collect();
        let stored = product_snapshot(&product, &membership);
        let Snapshot::Product(p) = &stored.snapshot else {
            panic!("a product snapshot")
        };
        assert_eq!(p.collections, vec![c3, c4]);
        assert_eq!(stored.local_id, None);
        assert_eq!(stored.updated_at, product.updated_at);
        assert_eq!(
            stored.fingerprint,
            Some(stored.snapshot.fingerprint(FieldMask::ALL))
        );
        // Not a member of anything: no collections.
        let alone = product_snapshot(&product, &Membership::new());
        let Snapshot::Product(p) = &alone.snapshot else {
            panic!("a product snapshot")
        };
        assert!(p.collections.is_empty());
    }

    #[test]
    fn cursors_round_trip_through_rfc3339() {
        let t: DateTime<Utc> = "2026-03-01T12:00:00.250Z".parse().unwrap();
        let parsed = DateTime::parse_from_rfc3339(&rfc3339(t)).unwrap();
        assert_eq!(parsed.with_timezone(&Utc), t);
    }
}
