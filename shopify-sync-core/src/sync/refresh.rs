//! Webhooks in: a verified delivery marks an entity dirty in a [`WebhookQueue`], and
//! [`SyncEngine::refresh`] re-reads what is dirty through GraphQL into the *remote*
//! snapshots.
//!
//! Why re-read: webhook payloads are REST-shaped (numeric ids, comma-joined tags, no SEO,
//! no custom-collection membership), `products/delete` and `collections/delete` carry
//! only the id, and deliveries arrive late, repeated and out of order. So a delivery is
//! never written as data: it only says "this entity changed". The refresh then reads the
//! entity as Shopify holds it *now*, with the same GraphQL documents and into the same
//! snapshot shape as a pull. The read is idempotent, which is what makes Shopify's
//! at-least-once delivery harmless.
//!
//! The receiving and ordering rules are documented on [`WebhookQueue`] (its items are
//! also re-exported from [`crate::sync`]), the refresh steps and its failure behaviour
//! on [`SyncEngine::refresh`].
//!
//! What it owns: the dirty set, the per-entity ordering, and turning a dirty set into
//! remote snapshot writes. What it must not own: HMAC, header parsing and deduplication
//! ([`crate::webhook`]), HTTP serving (the caller's), GraphQL documents (the engine's `read` module),
//! and the base side of staging.

use super::read;
use super::SyncEngine;
use crate::error::Result;
use crate::model::{Collection, Gid, Product};
use crate::staging::store::{SnapshotBatch, SnapshotSide, StoredSnapshot};
use crate::staging::{CollectionSnapshot, FieldMask, Snapshot};
use crate::webhook::{
    Webhook, WebhookDedup, WebhookError, WebhookHeaders, WebhookPayload, WebhookSecrets,
    WebhookTopic, SHOP_DOMAIN_HEADER,
};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// Entities whose newest triggered-at a [`WebhookQueue`] remembers, by default.
pub const DEFAULT_WATERMARKS: usize = 100_000;

/// Entities re-read and written per store transaction by [`SyncEngine::refresh`].
pub const REFRESH_BATCH: usize = 50;

// ----- marks ---------------------------------------------------------------------------

/// Why an entity is dirty: what the deliveries since the last refresh said about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mark {
    /// A delete was delivered for it (a hint: the re-read decides).
    pub deleted: bool,
    /// The newest `X-Shopify-Triggered-At` among its deliveries; `None` when none had it.
    pub triggered_at: Option<DateTime<Utc>>,
    /// How many deliveries it stands for (0 for a mark made by hand).
    pub deliveries: u32,
}

impl Mark {
    /// One mark standing for both: newest time, deliveries added, `deleted` sticky.
    fn merge(self, other: Mark) -> Mark {
        Mark {
            deleted: self.deleted || other.deleted,
            triggered_at: self.triggered_at.max(other.triggered_at),
            deliveries: self.deliveries.saturating_add(other.deliveries),
        }
    }
}

/// The dirty set: the entities to re-read, and how many deliveries were received that
/// marked nothing. [`WebhookQueue::drain`] takes it, [`WebhookQueue::requeue`] puts it
/// back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dirty {
    /// Products to re-read, by id.
    pub products: BTreeMap<Gid<Product>, Mark>,
    /// Collections to re-read, by id.
    pub collections: BTreeMap<Gid<Collection>, Mark>,
    /// Repeats of deliveries already received (same event).
    pub duplicates: u64,
    /// Deliveries older than one already received for the same entity.
    pub stale: u64,
    /// Verified deliveries of topics the refresh does not act on.
    pub ignored: u64,
}

impl Dirty {
    /// How many entities are dirty.
    pub fn len(&self) -> usize {
        self.products.len() + self.collections.len()
    }

    /// Whether no entity is dirty (the counters aside).
    pub fn is_empty(&self) -> bool {
        self.products.is_empty() && self.collections.is_empty()
    }

    /// Add `other`'s marks (merged per entity) and counters to these.
    pub fn merge(&mut self, other: Dirty) {
        for (id, mark) in other.products {
            self.insert(Entity::Product(id), mark);
        }
        for (id, mark) in other.collections {
            self.insert(Entity::Collection(id), mark);
        }
        self.duplicates += other.duplicates;
        self.stale += other.stale;
        self.ignored += other.ignored;
    }

    fn insert(&mut self, entity: Entity, mark: Mark) {
        match entity {
            Entity::Product(id) => {
                let m = self.products.entry(id).or_default();
                *m = m.merge(mark);
            }
            Entity::Collection(id) => {
                let m = self.collections.entry(id).or_default();
                *m = m.merge(mark);
            }
        }
    }
}

/// The entity a delivery is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Entity {
    Product(Gid<Product>),
    Collection(Gid<Collection>),
}

// ----- receiving -----------------------------------------------------------------------

/// What [`WebhookQueue::receive`] did with an accepted delivery. Every outcome is a
/// success: answer 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The entity is marked dirty.
    Marked,
    /// A repeat of a delivery already received (a retry, or another subscription).
    Duplicate,
    /// Older (`X-Shopify-Triggered-At`) than a delivery already received for the same
    /// entity; the newer one's re-read covers it.
    Stale,
    /// A topic the refresh does not act on.
    Ignored,
}

impl Outcome {
    /// `marked`, `duplicate`, `stale` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Marked => "marked",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
            Outcome::Ignored => "ignored",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An accepted delivery: the verified, parsed webhook and what the queue did with it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Received {
    /// The delivery: headers, which secret matched, the typed payload of a sync topic.
    pub webhook: Webhook,
    /// What the queue did with it.
    pub outcome: Outcome,
}

impl Received {
    /// Whether it marked an entity dirty.
    pub fn is_marked(&self) -> bool {
        self.outcome == Outcome::Marked
    }

    /// Whether it was a repeat.
    pub fn is_duplicate(&self) -> bool {
        self.outcome == Outcome::Duplicate
    }

    /// Whether it was older than a delivery already received for its entity.
    pub fn is_stale(&self) -> bool {
        self.outcome == Outcome::Stale
    }

    /// Whether its topic is one the refresh does not act on.
    pub fn is_ignored(&self) -> bool {
        self.outcome == Outcome::Ignored
    }

    /// The product it is about, for product topics.
    pub fn product_id(&self) -> Option<Gid<Product>> {
        self.webhook.payload.as_ref().and_then(|p| p.product_id())
    }

    /// The collection it is about, for collection topics.
    pub fn collection_id(&self) -> Option<Gid<Collection>> {
        self.webhook
            .payload
            .as_ref()
            .and_then(|p| p.collection_id())
    }
}

/// Verified webhook deliveries waiting to be re-read: the dirty set between a web
/// handler and [`SyncEngine::refresh`].
///
/// Thread-safe, every method takes `&self`: share it behind an `Arc` between the
/// handler's threads and the task that refreshes. One queue serves one shop.
///
/// # Receiving: [`receive`](WebhookQueue::receive)
///
/// In order:
///
/// 1. the headers are parsed, the HMAC is verified over the **raw body bytes**, and the
///    payload of a sync topic is decoded ([`crate::webhook::receive`]). A refused
///    delivery marks nothing and is not remembered: answer
///    [`WebhookError::http_status`] (401 for a bad signature), and Shopify's retry is
///    processed normally;
/// 2. when the queue was built [`for_shop`](WebhookQueue::for_shop), a delivery from
///    another shop is refused (400): a public app has one secret for every shop it is
///    installed on, so the signature alone does not say which shop a delivery is for;
/// 3. the delivery is deduplicated by `X-Shopify-Event-Id` ([`WebhookDedup`]): a repeat
///    (a retry, or the same event for a second subscription) is a `Duplicate`;
/// 4. it is ordered against the earlier deliveries of the same entity (below), and marks
///    the entity dirty:
///    - `products/create`, `products/update`: the product;
///    - `products/delete`: the product, with the `deleted` hint;
///    - `collections/create`, `collections/update`, `collections/delete` likewise for
///      the collection;
///    - any other topic (`bulk_operations/finish`, `app/uninstalled` ...) is verified
///      and accepted but marks nothing: `Ignored`. The parsed delivery is handed back in
///      `Received::webhook` for the caller to act on.
///
/// Answer 200 for every `Ok` (marked, duplicate, stale and ignored alike): each was
/// received, and a non-2xx answer only makes Shopify send it again.
///
/// # Ordering rules
///
/// Each delivery carries `X-Shopify-Triggered-At`, when its event happened (a retry keeps
/// it). The queue remembers, per entity, the newest triggered-at it has received, its
/// *watermark*:
///
/// 1. A delivery older than its entity's watermark is **stale** (`Outcome::Stale`): it is
///    accepted and marks nothing. The newer delivery already marked the entity, and the
///    re-read it causes (pending, or done after that newer delivery arrived) reads a
///    state at least as new as the stale event: the stale one can add nothing. In
///    particular an old `products/update` delivered after the `products/delete` never
///    brings the product back.
/// 2. A delivery at or after the watermark marks the entity and moves the watermark.
/// 3. A delivery without the header cannot be ordered: it marks the entity (one re-read
///    too many is harmless) and leaves the watermark where it is.
/// 4. Marks merge: one re-read serves every delivery of an entity since the last
///    refresh. The `deleted` hint sticks once any merged delivery was a delete: Shopify
///    never reuses an id, so nothing follows a delete.
/// 5. The hint is only a hint: **the re-read decides**. An entity the read does not find
///    has its remote snapshot deleted, and an entity it finds is written, whatever the
///    deliveries said.
///
/// Watermarks are kept for 100,000 entities at most by default
/// ([`with_watermarks`](WebhookQueue::with_watermarks)), the oldest forgotten first;
/// forgetting one costs at most a redundant re-read. Like the dedup set they live in
/// memory, one per process: a restart forgets them, which rule 5 makes safe.
///
/// ```no_run
/// # async fn demo(engine: shopify_sync::sync::SyncEngine, headers: Vec<(String, String)>, body: Vec<u8>) -> shopify_sync::error::Result<()> {
/// use shopify_sync::sync::WebhookQueue;
/// use shopify_sync::webhook::WebhookSecrets;
///
/// let queue = WebhookQueue::new(WebhookSecrets::from_env()?).for_shop("my-store.myshopify.com");
/// // In the HTTP handler: answer quickly, Shopify waits 5 seconds at most.
/// let status = match queue.receive(headers, &body) {
///     Ok(_) => 200,
///     Err(e) => e.http_status(),
/// };
/// // In a background task, every few seconds or when `queue.pending() > 0`:
/// let report = engine.refresh(&queue).await?;
/// println!("{} products re-read, {} deleted", report.products, report.deleted);
/// # let _ = status; Ok(()) }
/// ```
pub struct WebhookQueue {
    secrets: WebhookSecrets,
    shop: Option<String>,
    dedup: WebhookDedup,
    watermarks: usize,
    state: Mutex<QueueState>,
    /// Held by a running refresh: refreshes of one queue run one at a time.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct QueueState {
    dirty: Dirty,
    /// Newest `X-Shopify-Triggered-At` received per entity.
    latest: HashMap<Entity, DateTime<Utc>>,
}

impl QueueState {
    /// Apply the ordering rules to one delivery's mark.
    fn mark(&mut self, entity: Entity, mark: Mark, watermarks: usize) -> Outcome {
        if let Some(t) = mark.triggered_at {
            if self.latest.get(&entity).is_some_and(|w| t < *w) {
                self.dirty.stale += 1;
                return Outcome::Stale;
            }
            self.latest.insert(entity, t);
            if self.latest.len() > watermarks {
                self.forget_oldest(watermarks);
            }
        }
        self.dirty.insert(entity, mark);
        Outcome::Marked
    }

    /// Keep the newest three quarters of `capacity` watermarks (so that pruning is
    /// rare), dropping the oldest.
    fn forget_oldest(&mut self, capacity: usize) {
        let keep = (capacity - capacity / 4).max(1);
        if self.latest.len() <= keep {
            return;
        }
        let mut by_age: Vec<(DateTime<Utc>, Entity)> =
            self.latest.iter().map(|(e, t)| (*t, *e)).collect();
        by_age.sort_unstable();
        let drop = by_age.len() - keep;
        for (_, entity) in &by_age[..drop] {
            self.latest.remove(entity);
        }
    }
}

impl fmt::Debug for WebhookQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookQueue")
            .field("secrets", &self.secrets)
            .field("shop", &self.shop)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl WebhookQueue {
    /// An empty queue verifying with `secrets`, deduplicating with a default
    /// [`WebhookDedup`], accepting deliveries from any shop.
    pub fn new(secrets: WebhookSecrets) -> WebhookQueue {
        WebhookQueue {
            secrets,
            shop: None,
            dedup: WebhookDedup::default(),
            watermarks: DEFAULT_WATERMARKS,
            state: Mutex::new(QueueState::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The same queue refusing deliveries whose `X-Shopify-Shop-Domain` is another shop
    /// (`name` means `name.myshopify.com`; compared without case). A delivery without
    /// the header is accepted.
    #[must_use]
    pub fn for_shop(mut self, shop: &str) -> WebhookQueue {
        self.shop = Some(shop_domain(shop));
        self
    }

    /// The same queue with this deduplication set (its capacity and window).
    #[must_use]
    pub fn with_dedup(mut self, dedup: WebhookDedup) -> WebhookQueue {
        self.dedup = dedup;
        self
    }

    /// The same queue remembering the newest triggered-at of at most `entities`
    /// entities (default 100,000, `DEFAULT_WATERMARKS`; at least 1).
    #[must_use]
    pub fn with_watermarks(mut self, entities: usize) -> WebhookQueue {
        self.watermarks = entities.max(1);
        self
    }

    /// Verify, deduplicate, order and mark one delivery: `headers` as `(name, value)`
    /// pairs (any case; an `http::HeaderMap`'s iterator works), `body` the raw bytes as
    /// received. See the [type docs](WebhookQueue). `Ok` means answer 200; an error says its
    /// status ([`WebhookError::http_status`]) and marks nothing.
    pub fn receive<I, K, V>(
        &self,
        headers: I,
        body: &[u8],
    ) -> std::result::Result<Received, WebhookError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let webhook = crate::webhook::receive(&self.secrets, headers, body)?;
        self.accept(webhook)
    }

    /// [`receive`](Self::receive) for a delivery already verified and parsed with
    /// [`crate::webhook::receive`] (with the same secrets): check the shop, deduplicate,
    /// order and mark.
    pub fn accept(&self, webhook: Webhook) -> std::result::Result<Received, WebhookError> {
        self.check_shop(&webhook.headers)?;
        let outcome = if !self.dedup.first_delivery(&webhook.headers) {
            self.state().dirty.duplicates += 1;
            Outcome::Duplicate
        } else {
            match entity_of(webhook.payload.as_ref()) {
                None => {
                    self.state().dirty.ignored += 1;
                    Outcome::Ignored
                }
                Some((entity, deleted)) => {
                    let mark = Mark {
                        deleted,
                        triggered_at: webhook.headers.triggered_at,
                        deliveries: 1,
                    };
                    self.state().mark(entity, mark, self.watermarks)
                }
            }
        };
        tracing::debug!(
            topic = %webhook.headers.topic,
            outcome = outcome.as_str(),
            "webhook delivery received"
        );
        Ok(Received { webhook, outcome })
    }

    /// Mark a product dirty by hand (no delivery, no ordering): the next refresh
    /// re-reads it.
    pub fn mark_product(&self, id: Gid<Product>) {
        self.state()
            .dirty
            .insert(Entity::Product(id), Mark::default());
    }

    /// Mark a collection dirty by hand: the next refresh re-reads it (and its
    /// membership).
    pub fn mark_collection(&self, id: Gid<Collection>) {
        self.state()
            .dirty
            .insert(Entity::Collection(id), Mark::default());
    }

    /// How many entities are dirty, waiting for a refresh.
    pub fn pending(&self) -> usize {
        self.state().dirty.len()
    }

    /// Take the dirty set (and the counters) out of the queue, leaving it empty. The
    /// watermarks stay. [`SyncEngine::refresh`] does this; a caller who drains by hand
    /// owns the marks and should [`requeue`](Self::requeue) what it does not re-read.
    pub fn drain(&self) -> Dirty {
        std::mem::take(&mut self.state().dirty)
    }

    /// Put marks (and counters) back, merged with any made since they were drained.
    pub fn requeue(&self, dirty: Dirty) {
        self.state().dirty.merge(dirty);
    }

    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_shop(&self, headers: &WebhookHeaders) -> std::result::Result<(), WebhookError> {
        match (&self.shop, &headers.shop_domain) {
            (Some(ours), Some(theirs)) if *ours != shop_domain(theirs) => {
                Err(WebhookError::InvalidHeader {
                    name: SHOP_DOMAIN_HEADER,
                    reason: format!("the delivery is for {theirs:?}; this queue serves {ours:?}"),
                })
            }
            _ => Ok(()),
        }
    }
}

/// `name` or `name.myshopify.com`, any case, as `name.myshopify.com` lowercase.
fn shop_domain(shop: &str) -> String {
    let shop = shop.trim().to_ascii_lowercase();
    if shop.contains('.') {
        shop
    } else {
        format!("{shop}.myshopify.com")
    }
}

/// The entity a payload marks, and whether it is a delete; `None` for topics the
/// refresh does not act on.
fn entity_of(payload: Option<&WebhookPayload>) -> Option<(Entity, bool)> {
    let payload = payload?;
    let deleted = matches!(
        payload.topic(),
        WebhookTopic::ProductsDelete | WebhookTopic::CollectionsDelete
    );
    if let Some(id) = payload.product_id() {
        return Some((Entity::Product(id), deleted));
    }
    payload
        .collection_id()
        .map(|id| (Entity::Collection(id), deleted))
}

// ----- refreshing ----------------------------------------------------------------------

/// What a refresh did. Serializes to snake_case JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RefreshReport {
    /// Product snapshots re-read and written (products that exist).
    pub products: u64,
    /// Collection snapshots re-read and written (collections that exist).
    pub collections: u64,
    /// Remote snapshots deleted because the product or collection is gone from Shopify.
    pub deleted: u64,
    /// Stored product snapshots whose custom-collection membership a collection refresh
    /// changed.
    pub memberships: u64,
    /// Repeated deliveries received since the last refresh.
    pub duplicates: u64,
    /// Stale deliveries received since the last refresh.
    pub stale: u64,
    /// Deliveries of other topics received since the last refresh.
    pub ignored: u64,
}

/// The marks a refresh took out of its queue; those still here when it is dropped
/// (the refresh failed, or its future was dropped midway) go back into the queue.
struct Taken<'a> {
    queue: &'a WebhookQueue,
    left: Dirty,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let left = std::mem::take(&mut self.left);
        if left != Dirty::default() {
            self.queue.requeue(left);
        }
    }
}

fn stored(snapshot: Snapshot, updated_at: Option<DateTime<Utc>>) -> StoredSnapshot {
    StoredSnapshot {
        fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
        snapshot,
        updated_at,
        local_id: None,
    }
}

impl SyncEngine {
    /// Re-read what the queued deliveries marked dirty ([`WebhookQueue`]) and write the
    /// remote snapshots.
    ///
    /// The refresh takes the whole dirty set out of the queue (deliveries arriving
    /// meanwhile mark entities for the next refresh), then:
    ///
    /// 1. re-reads the dirty products by id, 50 at a time (`nodes(ids:)`, every variant,
    ///    the custom-collection membership) and writes each batch in one
    ///    [`write_snapshots`](crate::staging::store::ChangeStore::write_snapshots)
    ///    transaction: `put` for the products found, `delete` for the ids not found. A
    ///    product the store never saw (created on Shopify) is new remote data, written
    ///    too.
    /// 2. re-reads the dirty collections the same way. A custom collection found also has
    ///    its product ids read, and the membership of the stored product snapshots
    ///    ([`ProductSnapshot::collections`](crate::staging::ProductSnapshot::collections))
    ///    is brought in line: the collection is added where a product joined it and
    ///    removed where one left (membership changes have no webhook of their own;
    ///    Shopify sends `collections/update`). A collection not found is deleted and
    ///    removed from every product snapshot. These membership changes ride in the
    ///    collection's transaction; a product snapshot's `updated_at` stays as read.
    ///    Products the store has no snapshot of are not read for this (their own
    ///    `products/create` or the next pull brings them), and smart collections'
    ///    membership is Shopify's to compute and never stored.
    ///
    /// On an error, every entity not yet written goes back into the queue (with the
    /// duplicate, stale and ignored counts), so nothing is lost, and the error is
    /// returned: call `refresh` again later. The same holds when the refresh's future is
    /// dropped midway (a timeout around it): it is cancel-safe. Refreshes of one queue
    /// run one at a time.
    ///
    /// Only remote snapshots are written: base snapshots, plans and changes are not
    /// touched (the next plan diffs against the new remote state). A pull running at the
    /// same time writes the same remote snapshots; whichever writes last wins, and the
    /// next refresh or pull corrects an older one.
    pub async fn refresh(&self, queue: &WebhookQueue) -> Result<RefreshReport> {
        let _one_at_a_time = queue.refreshing.lock().await;
        // Whatever is still in `left` when this returns, fails or is dropped goes back.
        let mut taken = Taken {
            queue,
            left: queue.drain(),
        };
        let mut report = RefreshReport {
            duplicates: taken.left.duplicates,
            stale: taken.left.stale,
            ignored: taken.left.ignored,
            ..RefreshReport::default()
        };
        match self.refresh_dirty(&mut taken.left, &mut report).await {
            Ok(()) => {
                taken.left = Dirty::default();
                tracing::debug!(
                    products = report.products,
                    collections = report.collections,
                    deleted = report.deleted,
                    memberships = report.memberships,
                    "webhook refresh done"
                );
                Ok(report)
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    requeued = taken.left.len(),
                    "webhook refresh failed; the entities not written are queued again"
                );
                Err(e)
            }
        }
    }

    /// Re-read and write `left`, removing each entity once it is written.
    async fn refresh_dirty(&self, left: &mut Dirty, report: &mut RefreshReport) -> Result<()> {
        let ids: Vec<Gid<Product>> = left.products.keys().copied().collect();
        for chunk in ids.chunks(REFRESH_BATCH) {
            let found = read::products(&self.client, chunk).await?;
            let mut batch = SnapshotBatch::default();
            let present: HashSet<Gid<Product>> = found.iter().map(|p| p.id).collect();
            for p in found {
                batch.put.push((
                    SnapshotSide::Remote,
                    p.id.to_string(),
                    stored(Snapshot::Product(p.snapshot), p.updated_at),
                ));
            }
            let gone: Vec<Gid<Product>> = chunk
                .iter()
                .filter(|id| !present.contains(id))
                .copied()
                .collect();
            for id in &gone {
                batch.delete.push((SnapshotSide::Remote, id.to_string()));
            }
            self.store.write_snapshots(&batch).await?;
            report.products += present.len() as u64;
            report.deleted += gone.len() as u64;
            for id in chunk {
                left.products.remove(id);
            }
        }

        let ids: Vec<Gid<Collection>> = left.collections.keys().copied().collect();
        // The stored product snapshots, by key, loaded once when membership first moves.
        let mut products: Option<BTreeMap<String, StoredSnapshot>> = None;
        for chunk in ids.chunks(REFRESH_BATCH) {
            let found = read::collections(&self.client, chunk).await?;
            let mut batch = SnapshotBatch::default();
            // Per collection: its custom members now, or `None` when it is gone.
            let mut membership: Vec<Membership> = Vec::new();
            let present: HashSet<Gid<Collection>> = found.iter().map(|c| c.id).collect();
            for c in &found {
                if c.rule_set.is_none() {
                    let members: HashSet<Gid<Product>> = self
                        .client
                        .collection_product_ids(c.id)
                        .try_collect()
                        .await?;
                    membership.push((c.id, Some(members)));
                }
                batch.put.push((
                    SnapshotSide::Remote,
                    c.id.to_string(),
                    stored(
                        Snapshot::Collection(CollectionSnapshot::from_collection(c)),
                        c.updated_at,
                    ),
                ));
            }
            let gone: Vec<Gid<Collection>> = chunk
                .iter()
                .filter(|id| !present.contains(id))
                .copied()
                .collect();
            for id in &gone {
                batch.delete.push((SnapshotSide::Remote, id.to_string()));
                membership.push((*id, None));
            }
            if !membership.is_empty() && products.is_none() {
                products = Some(self.remote_products().await?);
            }
            if let (false, Some(products)) = (membership.is_empty(), products.as_mut()) {
                report.memberships += apply_membership(products, &membership, &mut batch);
            }
            self.store.write_snapshots(&batch).await?;
            report.collections += present.len() as u64;
            report.deleted += gone.len() as u64;
            for id in chunk {
                left.collections.remove(id);
            }
        }
        Ok(())
    }

    /// The stored remote product snapshots, by key.
    async fn remote_products(&self) -> Result<BTreeMap<String, StoredSnapshot>> {
        Ok(self
            .store
            .snapshots(SnapshotSide::Remote)
            .await?
            .into_iter()
            .filter(|(_, s)| matches!(s.snapshot, Snapshot::Product(_)))
            .collect())
    }
}

/// A custom collection and its members as just read, or `None` when it is gone.
type Membership = (Gid<Collection>, Option<HashSet<Gid<Product>>>);

/// Bring the custom-collection membership of the stored product snapshots in line with
/// `membership` (a collection's members now, or `None` when it is gone): each changed
/// snapshot is updated in `products` and put in `batch`. Returns how many changed.
fn apply_membership(
    products: &mut BTreeMap<String, StoredSnapshot>,
    membership: &[Membership],
    batch: &mut SnapshotBatch,
) -> u64 {
    let mut changed = 0;
    for (key, entry) in products.iter_mut() {
        let Snapshot::Product(p) = &mut entry.snapshot else {
            continue;
        };
        let Ok(id) = key.parse::<Gid<Product>>() else {
            continue;
        };
        let before: BTreeSet<Gid<Collection>> = p.collections.iter().copied().collect();
        let mut after = before.clone();
        for (collection, members) in membership {
            if members.as_ref().is_some_and(|m| m.contains(&id)) {
                after.insert(*collection);
            } else {
                after.remove(collection);
            }
        }
        if after == before {
            continue;
        }
        p.collections = after.into_iter().collect();
        entry.fingerprint = Some(entry.snapshot.fingerprint(FieldMask::ALL));
        batch
            .put
            .push((SnapshotSide::Remote, key.clone(), entry.clone()));
        changed += 1;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staging::ProductSnapshot;
    use crate::webhook::WebhookSecret;

    fn product(n: u64) -> Gid<Product> {
        Gid::from_numeric_id(n).unwrap()
    }

    fn collection(n: u64) -> Gid<Collection> {
        Gid::from_numeric_id(n).unwrap()
    }

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(s.parse().unwrap())
    }

    fn mark(deleted: bool, t: Option<DateTime<Utc>>) -> Mark {
        Mark {
            deleted,
            triggered_at: t,
            deliveries: 1,
        }
    }

    #[test]
    fn older_deliveries_are_stale_newer_and_untimed_ones_mark() {
        let mut s = QueueState::default();
        let p = Entity::Product(product(1));
        let t1 = at("2026-03-01T12:00:00Z");
        let t2 = at("2026-03-01T12:00:05Z");
        // The delete comes first, the older update after it: stale.
        assert_eq!(s.mark(p, mark(true, t2), 10), Outcome::Marked);
        assert_eq!(s.mark(p, mark(false, t1), 10), Outcome::Stale);
        assert_eq!(s.dirty.stale, 1);
        assert_eq!(s.dirty.products[&product(1)], mark(true, t2));
        // The same instant is not older.
        assert_eq!(s.mark(p, mark(false, t2), 10), Outcome::Marked);
        // No header: marks, the watermark stays, the delete hint sticks.
        assert_eq!(s.mark(p, mark(false, None), 10), Outcome::Marked);
        let m = s.dirty.products[&product(1)];
        assert!(m.deleted);
        assert_eq!((m.triggered_at, m.deliveries), (t2, 3));
        assert_eq!(s.latest[&p], t2.unwrap());
        // Still stale after the mark was drained: the watermark outlives it.
        let drained = std::mem::take(&mut s.dirty);
        assert_eq!(drained.len(), 1);
        assert_eq!(s.mark(p, mark(false, t1), 10), Outcome::Stale);
        assert!(s.dirty.is_empty());
        // Watermarks are per entity and per kind.
        let c = Entity::Collection(collection(1));
        assert_eq!(s.mark(c, mark(false, t1), 10), Outcome::Marked);
        assert_eq!(
            s.mark(Entity::Product(product(2)), mark(false, t1), 10),
            Outcome::Marked
        );
    }

    #[test]
    fn watermarks_are_bounded_and_forget_the_oldest() {
        let mut s = QueueState::default();
        let base: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        for n in 0..100u64 {
            let t = base + chrono::Duration::seconds(n as i64);
            s.mark(Entity::Product(product(n + 1)), mark(false, Some(t)), 8);
            assert!(s.latest.len() <= 8);
        }
        // The newest are remembered, the oldest forgotten.
        assert!(s.latest.contains_key(&Entity::Product(product(100))));
        assert!(!s.latest.contains_key(&Entity::Product(product(1))));
        // A forgotten entity's late delivery just marks it again.
        let late = base - chrono::Duration::seconds(1);
        assert_eq!(
            s.mark(Entity::Product(product(1)), mark(false, Some(late)), 8),
            Outcome::Marked
        );
        // Equal times still prune exactly.
        let mut s = QueueState::default();
        for n in 0..50u64 {
            s.mark(Entity::Product(product(n + 1)), mark(false, Some(base)), 4);
            assert!(s.latest.len() <= 4);
        }
    }

    #[test]
    fn requeued_marks_merge_with_new_ones() {
        let q = WebhookQueue::new(WebhookSecrets::new(["k"]).unwrap());
        q.mark_product(product(1));
        q.mark_collection(collection(2));
        let taken = q.drain();
        assert_eq!((taken.len(), q.pending()), (2, 0));
        q.state()
            .mark(Entity::Product(product(1)), mark(true, None), 10);
        q.requeue(taken);
        let d = q.drain();
        assert_eq!(d.products[&product(1)].deliveries, 1);
        assert!(d.products[&product(1)].deleted);
        assert!(d.collections.contains_key(&collection(2)));
    }

    #[test]
    fn deliveries_from_another_shop_are_refused() {
        let q = WebhookQueue::new(WebhookSecrets::new(["k"]).unwrap()).for_shop("My-Store");
        let body = br#"{"id": 7}"#;
        let sig = WebhookSecret::new("k").sign(body);
        let deliver = |shop: &str, event: &str| {
            q.receive(
                [
                    ("X-Shopify-Topic", "products/delete"),
                    ("X-Shopify-Hmac-Sha256", sig.as_str()),
                    ("X-Shopify-Shop-Domain", shop),
                    ("X-Shopify-Event-Id", event),
                ],
                body,
            )
        };
        let e = deliver("other.myshopify.com", "e1").unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert_eq!(q.pending(), 0);
        let r = deliver("MY-STORE.myshopify.com", "e1").unwrap();
        assert!(r.is_marked() && r.webhook.verified.is_current());
        assert_eq!(r.product_id(), Some(product(7)));
    }

    #[test]
    fn membership_follows_custom_collections_and_deletions() {
        let key = |n: u64| product(n).to_string();
        let snap = |cs: &[u64]| {
            stored(
                Snapshot::Product(
                    ProductSnapshot::default()
                        .with_collections(cs.iter().map(|c| collection(*c)).collect::<Vec<_>>()),
                ),
                at("2026-01-01T00:00:00Z"),
            )
        };
        let mut products: BTreeMap<String, StoredSnapshot> = [
            (key(1), snap(&[10])),
            (key(2), snap(&[])),
            (key(3), snap(&[10, 20])),
        ]
        .into_iter()
        .collect();
        // Collection 10 now holds 2 (joined) and 3 (kept), not 1 (left); 20 is gone.
        let membership = vec![
            (
                collection(10),
                Some([product(2), product(3), product(9)].into_iter().collect()),
            ),
            (collection(20), None),
        ];
        let mut batch = SnapshotBatch::default();
        assert_eq!(apply_membership(&mut products, &membership, &mut batch), 3);
        let of = |n: u64| match &products[&key(n)].snapshot {
            Snapshot::Product(p) => p.collections.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(of(1), Vec::<Gid<Collection>>::new());
        assert_eq!(of(2), [collection(10)]);
        assert_eq!(of(3), [collection(10)]);
        assert_eq!(batch.put.len(), 3);
        for (_, _, s) in &batch.put {
            assert_eq!(s.fingerprint, Some(s.snapshot.fingerprint(FieldMask::ALL)));
            assert_eq!(s.updated_at, at("2026-01-01T00:00:00Z"));
        }
        // Nothing moves a second time.
        let mut again = SnapshotBatch::default();
        assert_eq!(apply_membership(&mut products, &membership, &mut again), 0);
        assert!(again.is_empty());
    }
}
