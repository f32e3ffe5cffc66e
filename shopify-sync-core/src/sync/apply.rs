//! Applying approved changes: the write-ahead journal, the stale guard, the writes.
//!
//! # Order
//!
//! Entities first (collections and products: creates, updates, deletes), highest
//! priority first, through the executor; membership after them (a new product must exist
//! before it joins a collection), one `collectionAddProductsV2` /
//! `collectionRemoveProducts` per collection and 250 products.
//!
//! # One write per entity
//!
//! All approved changes to one product are written together by one `productSet` with an
//! `identifier`: scalar fields the changes touch, and the whole variant list (and
//! options) when they touch variants, built from Shopify's current state with the
//! changes applied, so only the approved removals happen. `productSet` with an
//! `identifier` is idempotent, so the client retries it safely when its outcome is
//! unknown. A create names its product by handle ([`CreateIdentifier`]):
//! before the first attempt the engine checks that no product holds the handle, so a
//! create never takes over a product it did not make, and a retried create finds the
//! product instead of making a second one.
//!
//! # The stale guard
//!
//! Just before writing, the targets are re-read in batches: first their `updatedAt`
//! (`nodes(ids:)`, one point per id); when it equals the stored remote snapshot's, that
//! snapshot is Shopify's current state, otherwise the product is read whole. Then, per
//! change, the values its rows were reviewed against (`remote`) are compared with the
//! current ones: all equal, the change is written; all equal to what the change writes,
//! it is already applied (our own earlier write, or the same edit made on Shopify); else
//! it is `stale` and not written. Rows compare by value under the plan's mask, so an edit
//! on Shopify to another field, or by our own earlier apply, never makes a change stale.
//! Membership rows are never stale: a membership can only move to the value we want.
//!
//! The race that remains: Shopify has no compare-and-swap for products, so an edit made
//! on Shopify between the guard's read and the write (milliseconds) is overwritten for
//! the fields the write sends. The next pull shows it.
//!
//! # The journal
//!
//! A change is moved to `applying` in the store before its write is sent, and to
//! `applied`, `failed` or `stale` (with the reason, and the `local_id` -> gid mapping)
//! after; the new remote and base snapshots are stored before the final state. After a
//! crash, or when an apply was dropped or cancelled, changes left `applying` are
//! [reconciled](SyncEngine::reconcile) by the same guard: already written means applied,
//! not written means written now, moved means stale. Run one apply per store at a time.

use super::read;
use super::{CreateIdentifier, SyncEngine, WriteMode};
use crate::client::products::with_fragments;
use crate::error::{Error, ErrorKind, Result};
use crate::executor::{job_fn, Effect, Event, Executor, Priority, RetryPolicy};
use crate::model::{Collection, Gid, Product};
use crate::staging::store::{SnapshotBatch, SnapshotSide, StoredSnapshot};
use crate::staging::{
    collection_eq, normalize_handle, patch_collection, patch_product, product_eq, ApplyResult,
    Change, ChangeFilter, ChangeState, CollectionSnapshot, Field, FieldMask, IdMapping, Operation,
    PlanId, ProductSnapshot, Snapshot, Target, TargetKind, VariantIdMapping,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

type Callback = Box<dyn FnMut(&Event) + Send>;

/// Cancels an apply from anywhere (another task, a signal handler, a binding's
/// `AbortSignal`): queued writes are dropped, running ones finish and are recorded, and
/// changes not started stay `approved`. Cheap to clone.
///
/// ```
/// use shopify_sync::sync::{ApplyOptions, CancelApply};
/// let cancel = CancelApply::new();
/// let options = ApplyOptions::default().cancel(cancel.clone());
/// cancel.cancel();
/// assert!(cancel.is_cancelled());
/// # drop(options);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelApply(Arc<(AtomicBool, Notify)>);

impl CancelApply {
    /// A handle not cancelled yet.
    pub fn new() -> CancelApply {
        CancelApply::default()
    }

    /// Cancel (idempotent).
    pub fn cancel(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.0 .1.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Options of one apply.
#[derive(Default)]
pub struct ApplyOptions {
    on_event: Option<Callback>,
    operation_id: Option<String>,
    cancel: Option<CancelApply>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("operation_id", &self.operation_id)
            .finish_non_exhaustive()
    }
}

impl ApplyOptions {
    /// Call `f` with every executor event of the apply (on a thread of its own; a slow
    /// callback delays only itself). Events carry the operation id: forward them to a
    /// WebSocket room named after it.
    #[must_use]
    pub fn on_event(mut self, f: impl FnMut(&Event) + Send + 'static) -> ApplyOptions {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Cancel the apply through this handle.
    #[must_use]
    pub fn cancel(mut self, cancel: CancelApply) -> ApplyOptions {
        self.cancel = Some(cancel);
        self
    }

    /// The operation id events carry (default: a random one).
    #[must_use]
    pub fn operation_id(mut self, id: impl Into<String>) -> ApplyOptions {
        self.operation_id = Some(id.into());
        self
    }
}

/// What an apply did. Serializes to snake_case JSON with the wall time as
/// `elapsed_ms` (the shape the bindings hand over).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// The executor's operation id (events carry it).
    pub operation_id: String,
    /// Changes applied (written now, or found already written).
    pub applied: u64,
    /// Changes not written because Shopify moved since review.
    pub stale: u64,
    /// Changes not written because of an error (the reason is in the change's result).
    pub failed: u64,
    /// Changes found `applying` from an earlier run and settled first.
    pub reconciled: u64,
    /// The `local_id` -> gid mapping of every created entity.
    pub created: Vec<IdMapping>,
    /// Wall time.
    #[serde(rename = "elapsed_ms", serialize_with = "super::report_json::ms")]
    pub elapsed: Duration,
}

/// All the changes of one apply to one entity (products and collections) or one
/// collection's membership.
#[derive(Debug, Clone)]
struct Unit {
    target: Target,
    changes: Vec<Change>,
}

impl Unit {
    fn priority(&self) -> i32 {
        self.changes.iter().map(|c| c.priority).max().unwrap_or(0)
    }

    fn gid(&self) -> Option<&str> {
        self.target.shopify_id.as_deref()
    }

    /// An update of an existing product (no create, no delete): what a bulk mutation
    /// of `productSet`s can write.
    fn is_product_update(&self) -> bool {
        self.target.kind == TargetKind::Product
            && self.gid().is_some()
            && self
                .changes
                .iter()
                .all(|c| !matches!(c.operation, Operation::Create | Operation::Delete))
    }
}

/// What the guard says of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Not written yet: write it.
    Write,
    /// Shopify holds what the change writes already.
    Done,
    /// Shopify moved since review.
    Stale(String),
}

/// The state shared by the jobs of one apply.
struct Run {
    engine: SyncEngine,
    masks: HashMap<PlanId, FieldMask>,
    /// Whether this run settles changes left `applying` (after a crash).
    reconciling: bool,
    /// Products created by earlier runs, by local id (from the base snapshots; read
    /// on first need).
    base_products: tokio::sync::OnceCell<HashMap<String, Gid<Product>>>,
    tally: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    applied: u64,
    stale: u64,
    failed: u64,
    created: Vec<IdMapping>,
    /// Changes this run moved to `applying` and has not settled.
    open: BTreeSet<String>,
    /// local_id -> gid of products created by this run.
    new_products: HashMap<String, Gid<Product>>,
}

impl SyncEngine {
    /// Apply the approved changes the filter selects (see the [module docs](self)).
    /// Changes left `applying` by an earlier run are reconciled first.
    pub async fn apply(&self, filter: &ChangeFilter) -> Result<ApplyReport> {
        self.apply_with(filter, ApplyOptions::default()).await
    }

    /// [`apply`](Self::apply) with options (events, operation id, cancel handle).
    ///
    /// Cancelling through [`CancelApply`] returns once the running writes are recorded.
    /// Dropping the future instead leaves the writes already running to finish and
    /// record themselves in the background; an apply started meanwhile reconciles what
    /// it finds `applying` and leaves alone what they settle. The event callback runs on
    /// a thread of its own, so its last events may arrive just after this returns.
    pub async fn apply_with(
        &self,
        filter: &ChangeFilter,
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let started = Instant::now();
        let reconciled = self.reconcile().await?;
        let mut narrowed = filter.clone();
        narrowed.states = Some(vec![ChangeState::Approved]);
        let changes: Vec<Change> = self
            .store
            .changes(&narrowed)
            .await?
            .into_iter()
            .filter(|c| filter.states.as_ref().is_none_or(|s| s.contains(&c.state)))
            .collect();
        let run = Arc::new(self.run_for(&changes, false).await?);
        let (entities, members) = group(changes);

        let mut builder = Executor::for_client(&self.client).config(self.config.executor.clone());
        if let Some(id) = options.operation_id {
            builder = builder.operation_id(id);
        }
        if let Some(f) = options.on_event {
            builder = builder.on_event(f);
        }
        let executor = builder.start()?;
        let operation_id = executor.operation_id().to_owned();
        let cancel = options.cancel.unwrap_or_default();
        let watcher = {
            let (cancel, control) = (cancel.clone(), executor.control());
            tokio::spawn(async move {
                cancel.cancelled().await;
                control.cancel();
            })
        };
        // Dropping the apply stops the watcher too.
        let _watcher = AbortOnDrop(watcher);

        // Large batches of product updates go through one bulk mutation.
        let (bulk, entities): (Vec<Unit>, Vec<Unit>) =
            entities.into_iter().partition(Unit::is_product_update);
        let (bulk, entities) = match self.config.write_mode {
            WriteMode::Bulk => (bulk, entities),
            WriteMode::Auto if bulk.len() >= self.config.bulk_write_threshold => (bulk, entities),
            _ => (Vec::new(), bulk.into_iter().chain(entities).collect()),
        };

        // Submitting stops at the first error; the executor still finishes what runs, so
        // that every write taken is recorded before this returns.
        let submitted: Result<()> = async {
            // Entities, in guard batches of one kind, highest priority first.
            let mut phase_one = Vec::new();
            if !bulk.is_empty() {
                let run = run.clone();
                let bulk = Arc::new(bulk);
                let job = job_fn(WRITE_COST, move |ctx| {
                    let (run, bulk) = (run.clone(), bulk.clone());
                    async move {
                        ctx.set_effect(Effect::Unknown);
                        run.bulk_updates(&bulk).await
                    }
                })
                .with_retry(RetryPolicy::none());
                phase_one.extend(submit(&executor, job, &cancel).await?);
            }
            for batch in batches(entities, self.config.guard_batch.clamp(1, 250)) {
                let priority = batch.iter().map(Unit::priority).max().unwrap_or(0);
                let cost = batch.len() as u32 + WRITE_COST;
                let run = run.clone();
                let batch = Arc::new(batch);
                let job = job_fn(cost, move |ctx| {
                    let (run, batch) = (run.clone(), batch.clone());
                    async move {
                        ctx.set_effect(Effect::Unknown);
                        run.entities(&batch).await
                    }
                })
                .with_priority(Priority(priority))
                .with_retry(RetryPolicy::default());
                phase_one.extend(submit(&executor, job, &cancel).await?);
            }
            wait_for(&executor, &phase_one).await;

            // Membership, per collection and operation, 250 products per job.
            for unit in members.into_iter().filter(|_| !cancel.is_cancelled()) {
                for chunk in chunk_unit(unit, crate::client::collections::MEMBERSHIP_CHUNK) {
                    let priority = chunk.priority();
                    let run = run.clone();
                    let chunk = Arc::new(chunk);
                    let job = job_fn(WRITE_COST, move |ctx| {
                        let (run, chunk) = (run.clone(), chunk.clone());
                        async move {
                            ctx.set_effect(Effect::Unknown);
                            run.membership(&chunk).await
                        }
                    })
                    .with_priority(Priority(priority))
                    .with_retry(RetryPolicy::none());
                    submit(&executor, job, &cancel).await?;
                }
            }
            Ok(())
        }
        .await;
        if submitted.is_err() {
            executor.cancel();
        }
        let finished = executor.finish().await;
        submitted?;
        finished?;

        // What a job left applying (a store error between write and record) is
        // settled now, by the guard, like after a crash.
        let open: Vec<String> = std::mem::take(&mut lock(&run.tally).open)
            .into_iter()
            .collect();
        let mut report = run.report(operation_id, started, reconciled.applied);
        if !open.is_empty() {
            let again = self.reconcile().await?;
            report.applied += again.applied;
            report.stale += again.stale;
            report.failed += again.failed;
            report.created.extend(again.created);
        }
        Ok(report)
    }

    /// Settle the changes left `applying` (after a crash, or an apply that was dropped
    /// or cancelled): each is re-checked against Shopify and then counted applied (the
    /// write happened), written now (it did not), or stale. Run it with no other apply
    /// running on the store; [`apply`](Self::apply) runs it first.
    pub async fn reconcile(&self) -> Result<ApplyReport> {
        let started = Instant::now();
        let changes = self.store.in_flight().await?;
        if changes.is_empty() {
            return Ok(ApplyReport {
                elapsed: started.elapsed(),
                ..ApplyReport::default()
            });
        }
        let run = self.run_for(&changes, true).await?;
        let (entities, members) = group(changes);
        for batch in batches(entities, self.config.guard_batch.clamp(1, 250)) {
            run.entities(&batch).await?;
        }
        for unit in members {
            for chunk in chunk_unit(unit, crate::client::collections::MEMBERSHIP_CHUNK) {
                run.membership(&chunk).await?;
            }
        }
        let mut report = run.report(String::new(), started, 0);
        report.reconciled = report.applied + report.stale + report.failed;
        Ok(report)
    }

    async fn run_for(&self, changes: &[Change], reconciling: bool) -> Result<Run> {
        let mut masks = HashMap::new();
        for c in changes {
            if !masks.contains_key(&c.plan_id) {
                let mask = match self.store.plan(&c.plan_id).await? {
                    Some(plan) => plan.mask,
                    None => FieldMask::ALL,
                };
                masks.insert(c.plan_id.clone(), mask);
            }
        }
        Ok(Run {
            engine: self.clone(),
            masks,
            reconciling,
            base_products: tokio::sync::OnceCell::new(),
            tally: Mutex::new(Tally::default()),
        })
    }
}

/// Requested cost of one write, as the executor's reservation (`productSet` returning
/// the product: about 10 points plus its selection).
const WRITE_COST: u32 = 300;

/// The bulk mutation of product updates: one `productSet` per line, by id, each line
/// answering with the product as Shopify now holds it (bulk results cost no points).
const BULK_SET: &str = "mutation call($input: ProductSetInput!, $identifier: ProductSetIdentifiers) { productSet(input: $input, identifier: $identifier) { product { ...ProductFields variants(first: 250) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } } userErrors { field message code } } }";

/// Publishing a new product to the configured sales channels.
const PUBLISH: &str = "mutation Publish($id: ID!, $input: [PublicationInput!]!) { publishablePublish(id: $id, input: $input) { userErrors { field message } } }";

/// A product by the custom id a create gave it.
const BY_CUSTOM_ID: &str = "query ByCustomId($identifier: ProductIdentifierInput!) { productByIdentifier(identifier: $identifier) { id } }";

/// The custom-id metafield definition, looked up.
const DEFINITION: &str = "query Definition($namespace: String!, $key: String!) { metafieldDefinitions(first: 1, ownerType: PRODUCT, namespace: $namespace, key: $key) { nodes { id type { name } } } }";

/// The custom-id metafield definition, created.
const DEFINE: &str = "mutation Define($definition: MetafieldDefinitionInput!) { metafieldDefinitionCreate(definition: $definition) { createdDefinition { id } userErrors { field message code } } }";

/// The documents this module sends, for validation tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("sync_bulk_product_set", with_fragments(BULK_SET)),
        ("sync_publish", PUBLISH.to_string()),
        ("sync_by_custom_id", BY_CUSTOM_ID.to_string()),
        ("sync_definition", DEFINITION.to_string()),
        ("sync_define", DEFINE.to_string()),
    ]
}

impl SyncEngine {
    /// Make sure the custom-id metafield definition (type `id`) exists: looked up, and
    /// created when missing, once per engine.
    async fn ensure_custom_id(&self, namespace: &str, key: &str) -> Result<()> {
        self.custom_id_defined
            .get_or_try_init(|| async {
                let vars = json!({ "namespace": namespace, "key": key });
                let resp = self.client.graphql(DEFINITION, vars).await?;
                let found = resp.data.pointer("/metafieldDefinitions/nodes/0/type/name");
                match found.and_then(Value::as_str) {
                    Some("id") => return Ok(()),
                    Some(other) => {
                        return Err(Error::invalid_input(format!(
                            "the product metafield {namespace}.{key} is defined with type {other:?}: a custom id needs type \"id\""
                        )))
                    }
                    None => {}
                }
                let definition = json!({ "definition": {
                    "name": "shopify-sync local id", "namespace": namespace, "key": key,
                    "ownerType": "PRODUCT", "type": "id",
                }});
                let resp = self.client.graphql(DEFINE, definition).await?;
                let errors: Vec<crate::error::UserError> = serde_json::from_value(
                    resp.data
                        .pointer("/metafieldDefinitionCreate/userErrors")
                        .cloned()
                        .unwrap_or(Value::Array(vec![])),
                )
                .unwrap_or_default();
                // Another process may have created it first: that is fine.
                match errors.iter().find(|e| e.code.as_deref() != Some("TAKEN")) {
                    None => Ok(()),
                    Some(e) => Err(Error::new(
                        ErrorKind::UserErrors,
                        format!("creating the custom-id definition {namespace}.{key}: {}", e.message),
                    )
                    .with_user_errors(errors.clone())),
                }
            })
            .await
            .map(|_| ())
    }
}

/// One product's pending update: the changes it writes, the product they make, and
/// the `productSet` input.
struct Update {
    gid: Gid<Product>,
    write: Vec<Change>,
    desired: ProductSnapshot,
    input: Value,
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Split changes into entity units (one per target) and membership units (one per
/// collection and operation), each sorted by priority, highest first.
fn group(changes: Vec<Change>) -> (Vec<Unit>, Vec<Unit>) {
    let mut entities: Vec<Unit> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut members: BTreeMap<(String, Operation), Unit> = BTreeMap::new();
    for c in changes {
        if matches!(
            c.operation,
            Operation::AddToCollection | Operation::RemoveFromCollection
        ) {
            for row in &c.rows {
                if let Some(coll) = row
                    .path
                    .strip_prefix("collections[")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    members
                        .entry((coll.to_owned(), c.operation))
                        .or_insert_with(|| Unit {
                            target: Target {
                                kind: TargetKind::Collection,
                                local_id: None,
                                shopify_id: Some(coll.to_owned()),
                            },
                            changes: Vec::new(),
                        })
                        .changes
                        .push(c.clone());
                }
            }
            continue;
        }
        let key = c.target.keys().next().unwrap_or_default();
        match index.get(&key) {
            Some(&i) => entities[i].changes.push(c),
            None => {
                index.insert(key, entities.len());
                entities.push(Unit {
                    target: c.target.clone(),
                    changes: vec![c],
                });
            }
        }
    }
    entities.sort_by_key(|u| std::cmp::Reverse(u.priority()));
    let mut members: Vec<Unit> = members.into_values().collect();
    members.sort_by_key(|u| std::cmp::Reverse(u.priority()));
    (entities, members)
}

/// Guard batches: consecutive units of one kind, at most `n` each.
fn batches(units: Vec<Unit>, n: usize) -> Vec<Vec<Unit>> {
    let mut out: Vec<Vec<Unit>> = Vec::new();
    for u in units {
        match out.last_mut() {
            Some(b) if b.len() < n && b[0].target.kind == u.target.kind => b.push(u),
            _ => out.push(vec![u]),
        }
    }
    out
}

fn chunk_unit(unit: Unit, n: usize) -> Vec<Unit> {
    unit.changes
        .chunks(n)
        .map(|c| Unit {
            target: unit.target.clone(),
            changes: c.to_vec(),
        })
        .collect()
}

/// Submit a job; `None` when the apply is being cancelled (the executor refuses new
/// jobs then).
async fn submit<J: crate::executor::Job>(
    executor: &Executor,
    job: J,
    cancel: &CancelApply,
) -> Result<Option<crate::executor::JobId>> {
    match executor.submit(job).await {
        Ok(s) => Ok(Some(s.id())),
        Err(_) if cancel.is_cancelled() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Wait until every job submitted so far ended (succeeded, failed or cancelled): at
/// this point only the entity jobs have been submitted.
async fn wait_for(executor: &Executor, ids: &[crate::executor::JobId]) {
    loop {
        let p = executor.progress();
        if p.done() + p.failed() + p.cancelled() >= ids.len() as u64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Run {
    fn mask(&self, c: &Change) -> FieldMask {
        self.masks
            .get(&c.plan_id)
            .copied()
            .unwrap_or(FieldMask::ALL)
    }

    fn report(&self, operation_id: String, started: Instant, reconciled: u64) -> ApplyReport {
        let t = lock(&self.tally);
        ApplyReport {
            operation_id,
            applied: t.applied,
            stale: t.stale,
            failed: t.failed,
            reconciled,
            created: t.created.clone(),
            elapsed: started.elapsed(),
        }
    }

    /// Take the unit's changes for applying (journal first); those another writer
    /// took, or that moved, are left out.
    async fn begin(&self, unit: &Unit) -> Vec<Change> {
        if self.reconciling {
            return unit.changes.clone();
        }
        let by = self.engine.actor();
        let mut taken = Vec::with_capacity(unit.changes.len());
        for c in &unit.changes {
            if let Ok(c) = self.engine.store.begin_apply(&c.id, &by).await {
                lock(&self.tally).open.insert(c.id.to_string());
                taken.push(c);
            }
        }
        taken
    }

    /// Record how a change ended.
    async fn finish(&self, change: &Change, result: ApplyResult) -> Result<()> {
        let outcome = result.outcome;
        let ids = result.ids.clone();
        let recorded = self
            .engine
            .store
            .finish_apply(&change.id, result, &self.engine.actor())
            .await;
        if let Err(e) = recorded {
            // Settled meanwhile by another writer (the jobs of a dropped apply finish in
            // the background): its record stands, and this one is not counted.
            let now = self.engine.store.change(&change.id).await?;
            if now.is_some_and(|c| c.state != ChangeState::Applying) {
                lock(&self.tally).open.remove(change.id.as_str());
                return Ok(());
            }
            return Err(e);
        }
        let mut t = lock(&self.tally);
        t.open.remove(change.id.as_str());
        match outcome.state() {
            ChangeState::Applied => {
                t.applied += 1;
                if change.operation == Operation::Create {
                    if let Some(ids) = ids {
                        if let (Some(local), Ok(gid)) =
                            (&ids.local_id, Gid::<Product>::parse(&ids.shopify_id))
                        {
                            if change.target.kind == TargetKind::Product {
                                t.new_products.insert(local.clone(), gid);
                            }
                        }
                        t.created.push(ids);
                    }
                }
            }
            ChangeState::Stale => t.stale += 1,
            _ => t.failed += 1,
        }
        Ok(())
    }

    async fn finish_all(&self, changes: &[Change], result: &ApplyResult) -> Result<()> {
        for c in changes {
            self.finish(c, result.clone()).await?;
        }
        Ok(())
    }

    /// One guard batch of entity units.
    async fn entities(&self, batch: &[Unit]) -> Result<()> {
        let client = &self.engine.client;
        let ids: Vec<String> = batch
            .iter()
            .filter_map(|u| u.gid().map(str::to_owned))
            .collect();
        let versions = read::versions(client, &ids).await?;
        // Products whose updatedAt moved past the stored snapshot are read whole.
        let mut current: HashMap<String, Snapshot> = HashMap::new();
        let mut to_read: Vec<Gid<Product>> = Vec::new();
        for id in &ids {
            let Some(version) = versions.get(id) else {
                continue;
            };
            let stored = self.engine.store.snapshot(SnapshotSide::Remote, id).await?;
            match stored {
                Some(s) if s.updated_at.is_some() && s.updated_at == *version => {
                    current.insert(id.clone(), s.snapshot);
                }
                _ => match Gid::<Product>::parse(id) {
                    Ok(gid) => to_read.push(gid),
                    Err(_) => {
                        let gid = Gid::<Collection>::parse(id)?;
                        for c in read::collections(client, &[gid]).await? {
                            let snapshot = CollectionSnapshot::from_collection(&c);
                            current.insert(id.clone(), Snapshot::Collection(snapshot));
                        }
                    }
                },
            }
        }
        for p in read::products(client, &to_read).await? {
            current.insert(p.id.to_string(), Snapshot::Product(p.snapshot));
        }
        for unit in batch {
            let changes = self.begin(unit).await;
            if changes.is_empty() {
                continue;
            }
            let now = unit.gid().and_then(|id| current.get(id));
            let exists = unit.gid().is_some_and(|id| versions.contains_key(id));
            let result = match unit.target.kind {
                TargetKind::Product => self.product(unit, &changes, now, exists).await,
                TargetKind::Collection => self.collection(unit, &changes, now, exists).await,
            };
            if let Err(e) = result {
                if e.kind() == ErrorKind::OutcomeUnknown && !self.reconciling {
                    // The write may have happened: the changes stay applying and are
                    // settled by reading Shopify at the end of the apply.
                    continue;
                }
                // A write that failed: each change says why; the next unit goes on.
                let failed = ApplyResult::failed(describe(&e));
                for c in &changes {
                    if lock(&self.tally).open.contains(c.id.as_str()) || self.reconciling {
                        self.finish(c, failed.clone()).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Create, update or delete one product.
    async fn product(
        &self,
        unit: &Unit,
        changes: &[Change],
        now: Option<&Snapshot>,
        exists: bool,
    ) -> Result<()> {
        let client = &self.engine.client;
        if let Some(create) = changes.iter().find(|c| c.operation == Operation::Create) {
            return self.create_product(create).await;
        }
        let gid: Gid<Product> = Gid::parse(unit.gid().unwrap_or_default())?;
        let current = match now {
            Some(Snapshot::Product(p)) => Some(p),
            _ => None,
        };
        if let Some(delete) = changes.iter().find(|c| c.operation == Operation::Delete) {
            let Some(current) = current.filter(|_| exists) else {
                self.forget(&gid.to_string()).await?;
                return self.finish(delete, ApplyResult::applied(None)).await;
            };
            let mask = self.mask(delete);
            let expected = delete
                .rows
                .iter()
                .find(|r| r.path == "product")
                .map(|r| patch_product(Some(current), [("product", &r.remote)]))
                .transpose()?
                .flatten();
            if expected.is_some_and(|e| !product_eq(&e, current, mask)) {
                return self
                    .finish(
                        delete,
                        ApplyResult::stale("the product changed on Shopify since review"),
                    )
                    .await;
            }
            client.product_delete(gid).await?;
            self.forget(&gid.to_string()).await?;
            return self.finish(delete, ApplyResult::applied(None)).await;
        }
        let Some(current) = current.filter(|_| exists) else {
            let stale = ApplyResult::stale("the product was deleted on Shopify since review");
            return self.finish_all(changes, &stale).await;
        };
        let Some(update) = self.prepare_update(gid, changes, current).await? else {
            return Ok(());
        };
        let written = client
            .product_set(update.input.clone(), Some(json!({ "id": gid.to_string() })))
            .await?;
        let remote = ProductSnapshot::from_product(&written)
            .with_collections(current.collections.iter().copied());
        let mut batch = SnapshotBatch::default();
        let ids = self
            .record_update(unit, &update, remote, written.updated_at, &mut batch)
            .await?;
        self.engine.store.write_snapshots(&batch).await?;
        for c in &update.write {
            self.finish(c, ApplyResult::applied(Some(ids.clone())))
                .await?;
        }
        Ok(())
    }

    /// The guard's verdict on each change of one product: those already applied or
    /// stale are settled; the others make one `productSet` input (`None`: nothing to
    /// write).
    async fn prepare_update(
        &self,
        gid: Gid<Product>,
        changes: &[Change],
        current: &ProductSnapshot,
    ) -> Result<Option<Update>> {
        let mut write = Vec::new();
        for c in changes {
            match product_verdict(c, current, self.mask(c)) {
                Verdict::Write => write.push(c.clone()),
                Verdict::Done => self.finish(c, ApplyResult::applied(None)).await?,
                Verdict::Stale(why) => self.finish(c, ApplyResult::stale(why)).await?,
            }
        }
        if write.is_empty() {
            return Ok(None);
        }
        let desired = patch_product(Some(current), write.iter().flat_map(|c| c.writes()))?
            .ok_or_else(|| Error::invalid_input("an update cannot delete the product"))?;
        let touched: BTreeSet<Field> = write
            .iter()
            .flat_map(|c| c.rows.iter().filter_map(|r| r.field))
            .collect();
        let variants = write.iter().any(|c| {
            matches!(
                c.operation,
                Operation::CreateVariant | Operation::DeleteVariant
            ) || c
                .field
                .is_some_and(|f| f.is_variant_field() || f == Field::Options)
        });
        let input = product_input(&desired, &touched, variants);
        Ok(Some(Update {
            gid,
            write,
            desired,
            input,
        }))
    }

    /// Add the snapshots after a written update to `batch`: Shopify's state as
    /// `remote`, and the base moved by the values written. Returns the id mapping.
    async fn record_update(
        &self,
        unit: &Unit,
        update: &Update,
        remote: ProductSnapshot,
        updated_at: Option<DateTime<Utc>>,
        batch: &mut SnapshotBatch,
    ) -> Result<IdMapping> {
        let key = update.gid.to_string();
        let base = self.engine.store.snapshot(SnapshotSide::Base, &key).await?;
        let mut variants = Vec::new();
        let new_base = match base.as_ref().map(|b| &b.snapshot) {
            Some(Snapshot::Product(b)) => {
                let writes = update.write.iter().flat_map(|c| c.writes());
                let mut b = patch_product(Some(b), writes)?.unwrap_or_default();
                variants = fill_variant_ids(&mut b, &remote);
                b
            }
            _ => remote.clone(),
        };
        let local_id = unit
            .target
            .local_id
            .clone()
            .or_else(|| base.and_then(|b| b.local_id));
        let stored = |snapshot: Snapshot, local_id: Option<String>| StoredSnapshot {
            fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
            snapshot,
            updated_at,
            local_id,
        };
        batch.put.push((
            SnapshotSide::Remote,
            key.clone(),
            stored(Snapshot::Product(remote), None),
        ));
        batch.put.push((
            SnapshotSide::Base,
            key.clone(),
            stored(Snapshot::Product(new_base), local_id.clone()),
        ));
        Ok(IdMapping {
            local_id,
            shopify_id: key,
            variants,
        })
    }

    /// Product updates as one bulk mutation of `productSet`s: the guard reads every
    /// product's `updatedAt` by bulk query (no rate-limit points), the products that
    /// moved are read whole, and each line's result settles its changes. Lines the
    /// operation did not reach stay `applying` and are reconciled.
    async fn bulk_updates(&self, units: &[Unit]) -> Result<()> {
        let client = &self.engine.client;
        let mut taken: Vec<(&Unit, Vec<Change>)> = Vec::with_capacity(units.len());
        for unit in units {
            let changes = self.begin(unit).await;
            if !changes.is_empty() {
                taken.push((unit, changes));
            }
        }
        if taken.is_empty() {
            return Ok(());
        }
        let versions = read::bulk_versions(client).await?;
        let mut current: HashMap<String, ProductSnapshot> = HashMap::new();
        let mut to_read: Vec<Gid<Product>> = Vec::new();
        for (unit, _) in &taken {
            let Some(id) = unit.gid() else { continue };
            let Some(version) = versions.get(id) else {
                continue;
            };
            match self.engine.store.snapshot(SnapshotSide::Remote, id).await? {
                Some(StoredSnapshot {
                    snapshot: Snapshot::Product(p),
                    updated_at,
                    ..
                }) if updated_at.is_some() && updated_at == *version => {
                    current.insert(id.to_owned(), p);
                }
                _ => to_read.push(Gid::parse(id)?),
            }
        }
        for p in read::products(client, &to_read).await? {
            current.insert(p.id.to_string(), p.snapshot);
        }
        let mut updates: Vec<(&Unit, Update)> = Vec::new();
        for (unit, changes) in &taken {
            let gid: Gid<Product> = Gid::parse(unit.gid().unwrap_or_default())?;
            match current.get(&gid.to_string()) {
                Some(now) => {
                    if let Some(u) = self.prepare_update(gid, changes, now).await? {
                        updates.push((unit, u));
                    }
                }
                None => {
                    let stale =
                        ApplyResult::stale("the product was deleted on Shopify since review");
                    self.finish_all(changes, &stale).await?;
                }
            }
        }
        if updates.is_empty() {
            return Ok(());
        }
        let lines = updates
            .iter()
            .map(|(_, u)| json!({ "input": u.input, "identifier": { "id": u.gid.to_string() } }));
        let result = client
            .bulk_mutation(
                &with_fragments(BULK_SET),
                lines,
                &crate::client::bulk::BulkOptions::default(),
            )
            .await?;
        let mut batch = SnapshotBatch::default();
        let mut settled: Vec<(&Update, ApplyResult)> = Vec::new();
        for (i, (unit, update)) in updates.iter().enumerate() {
            let Some(line) = result.line(i as u64) else {
                continue; // not reached: reconciled at the end
            };
            if !line.is_ok() {
                let mut why: Vec<String> = line
                    .user_errors()
                    .iter()
                    .map(|e| e.message.clone())
                    .collect();
                why.extend(line.errors().iter().map(|e| e.message.clone()));
                settled.push((update, ApplyResult::failed(why.join("; "))));
                continue;
            }
            let node = line.data().pointer("/productSet/product").cloned();
            let product = client.complete_product(node.unwrap_or_default()).await?;
            let remote = ProductSnapshot::from_product(&product)
                .with_collections(update.desired.collections.iter().copied());
            let ids = self
                .record_update(unit, update, remote, product.updated_at, &mut batch)
                .await?;
            settled.push((update, ApplyResult::applied(Some(ids))));
        }
        self.engine.store.write_snapshots(&batch).await?;
        for (update, result) in settled {
            for c in &update.write {
                self.finish(c, result.clone()).await?;
            }
        }
        Ok(())
    }

    /// `productSet` by handle, after checking that the handle is free (or, when
    /// reconciling, adopting the product our earlier attempt made).
    async fn create_product(&self, change: &Change) -> Result<()> {
        let client = &self.engine.client;
        let mut desired = patch_product(None, change.writes())?
            .ok_or_else(|| Error::invalid_input("a create holds no product"))?;
        let agreed = desired.clone();
        if desired.handle.is_empty() {
            desired.handle = normalize_handle(&desired.title);
        }
        let handle = desired.handle.clone();
        let custom = match (
            &self.engine.config.create_identifier,
            &change.target.local_id,
        ) {
            (CreateIdentifier::CustomId { namespace, key }, Some(local)) => {
                self.engine.ensure_custom_id(namespace, key).await?;
                Some(json!({ "namespace": namespace, "key": key, "value": local }))
            }
            _ => None,
        };
        let existing = match &custom {
            Some(custom) => self.product_by_custom_id(custom).await?,
            None => client.product_by_handle(&handle).await?,
        };
        let product = match existing {
            // Found by our own custom id, or by handle while settling our own write.
            Some(p) if self.reconciling || custom.is_some() => p,
            Some(p) => {
                let why = format!(
                    "the handle {handle:?} is already used by {}: a create never takes over a product it did not make",
                    p.id
                );
                return self.finish(change, ApplyResult::failed(why)).await;
            }
            None => {
                let touched: BTreeSet<Field> = Field::ALL.into_iter().collect();
                let mut input = product_input(&desired, &touched, !desired.variants.is_empty());
                if !desired.collections.is_empty() {
                    input["collections"] = json!(desired
                        .collections
                        .iter()
                        .map(Gid::to_string)
                        .collect::<Vec<_>>());
                }
                let identifier = match &custom {
                    Some(custom) => {
                        input["metafields"] = json!([{
                            "namespace": custom["namespace"], "key": custom["key"],
                            "type": "id", "value": custom["value"],
                        }]);
                        json!({ "customId": custom })
                    }
                    None => json!({ "handle": handle }),
                };
                client.product_set(input, Some(identifier)).await?
            }
        };
        let remote = ProductSnapshot::from_product(&product)
            .with_collections(desired.collections.iter().copied());
        // The base is what was agreed: the values written. What Shopify filled in
        // (defaults such as the inventory policy) shows as incoming, not as a change.
        let mut base = agreed;
        let variants = fill_variant_ids(&mut base, &remote);
        let key = product.id.to_string();
        self.store_both(
            &key,
            Snapshot::Product(remote),
            Snapshot::Product(base),
            product.updated_at,
            change.target.local_id.clone(),
        )
        .await?;
        let ids = IdMapping {
            local_id: change.target.local_id.clone(),
            shopify_id: key,
            variants,
        };
        let mut result = ApplyResult::applied(Some(ids));
        if let Err(e) = self.publish(product.id).await {
            // The product exists: the change is applied, and says what is missing.
            result.message = Some(format!(
                "created, but not published to every configured publication: {}",
                describe(&e)
            ));
        }
        self.finish(change, result).await
    }

    /// The product whose custom-id metafield holds `custom` (`{namespace, key, value}`).
    async fn product_by_custom_id(&self, custom: &Value) -> Result<Option<Product>> {
        let client = &self.engine.client;
        let resp = client
            .graphql(
                BY_CUSTOM_ID,
                json!({ "identifier": { "customId": custom } }),
            )
            .await?;
        match resp
            .data
            .pointer("/productByIdentifier/id")
            .and_then(Value::as_str)
        {
            Some(id) => client.product(Gid::parse(id)?).await,
            None => Ok(None),
        }
    }

    /// Publish a new product to [`SyncConfig::publications`](super::SyncConfig)
    /// (safe to repeat: publishing twice changes nothing).
    async fn publish(&self, id: Gid<Product>) -> Result<()> {
        let publications = &self.engine.config.publications;
        if publications.is_empty() {
            return Ok(());
        }
        let input: Vec<Value> = publications
            .iter()
            .map(|p| json!({ "publicationId": p }))
            .collect();
        let resp = self
            .engine
            .client
            .graphql_with(
                PUBLISH,
                json!({ "id": id.to_string(), "input": input }),
                crate::client::RequestOptions { idempotent: true },
            )
            .await?;
        let errors: Vec<crate::error::UserError> = serde_json::from_value(
            resp.data
                .pointer("/publishablePublish/userErrors")
                .cloned()
                .unwrap_or(Value::Array(vec![])),
        )
        .unwrap_or_default();
        if errors.is_empty() {
            Ok(())
        } else {
            let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
            Err(Error::new(ErrorKind::UserErrors, text.join("; ")).with_user_errors(errors))
        }
    }

    /// Create, update or delete one collection.
    async fn collection(
        &self,
        unit: &Unit,
        changes: &[Change],
        now: Option<&Snapshot>,
        exists: bool,
    ) -> Result<()> {
        let client = &self.engine.client;
        if let Some(create) = changes.iter().find(|c| c.operation == Operation::Create) {
            let desired = patch_collection(None, create.writes())?
                .ok_or_else(|| Error::invalid_input("a create holds no collection"))?;
            let created = client
                .collection_create(collection_input(&desired, None))
                .await?;
            let snap = CollectionSnapshot::from_collection(&created);
            let key = created.id.to_string();
            self.store_both(
                &key,
                Snapshot::Collection(snap),
                Snapshot::Collection(desired),
                created.updated_at,
                create.target.local_id.clone(),
            )
            .await?;
            let ids = IdMapping {
                local_id: create.target.local_id.clone(),
                shopify_id: key,
                variants: Vec::new(),
            };
            return self.finish(create, ApplyResult::applied(Some(ids))).await;
        }
        let gid: Gid<Collection> = Gid::parse(unit.gid().unwrap_or_default())?;
        let current = match now {
            Some(Snapshot::Collection(c)) if exists => c,
            _ => {
                if let Some(delete) = changes.iter().find(|c| c.operation == Operation::Delete) {
                    self.forget(&gid.to_string()).await?;
                    return self.finish(delete, ApplyResult::applied(None)).await;
                }
                let stale =
                    ApplyResult::stale("the collection was deleted on Shopify since review");
                return self.finish_all(changes, &stale).await;
            }
        };
        let mut write = Vec::new();
        for c in changes {
            match collection_verdict(c, current, self.mask(c)) {
                Verdict::Write => write.push(c.clone()),
                Verdict::Done => self.finish(c, ApplyResult::applied(None)).await?,
                Verdict::Stale(why) => self.finish(c, ApplyResult::stale(why)).await?,
            }
        }
        if let Some(delete) = write.iter().find(|c| c.operation == Operation::Delete) {
            client.collection_delete(gid).await?;
            self.forget(&gid.to_string()).await?;
            return self.finish(delete, ApplyResult::applied(None)).await;
        }
        if write.is_empty() {
            return Ok(());
        }
        let writes: Vec<(&str, &Value)> = write.iter().flat_map(|c| c.writes()).collect();
        let desired = patch_collection(Some(current), writes.iter().copied())?
            .ok_or_else(|| Error::invalid_input("an update cannot delete the collection"))?;
        let updated = client
            .collection_update(collection_input(&desired, Some(gid)))
            .await?;
        let remote = CollectionSnapshot::from_collection(&updated);
        let key = gid.to_string();
        let base = self.engine.store.snapshot(SnapshotSide::Base, &key).await?;
        let new_base = match base.as_ref().map(|b| &b.snapshot) {
            Some(Snapshot::Collection(b)) => {
                patch_collection(Some(b), writes.iter().copied())?.unwrap_or_default()
            }
            _ => remote.clone(),
        };
        let local_id = unit
            .target
            .local_id
            .clone()
            .or_else(|| base.and_then(|b| b.local_id));
        self.store_both(
            &key,
            Snapshot::Collection(remote),
            Snapshot::Collection(new_base),
            updated.updated_at,
            local_id,
        )
        .await?;
        for c in &write {
            self.finish(c, ApplyResult::applied(None)).await?;
        }
        Ok(())
    }

    /// One collection's adds or removes (at most 250 products).
    async fn membership(&self, unit: &Unit) -> Result<()> {
        let changes = self.begin(unit).await;
        if changes.is_empty() {
            return Ok(());
        }
        let coll: Gid<Collection> = Gid::parse(unit.gid().unwrap_or_default())?;
        let add = changes[0].operation == Operation::AddToCollection;
        let mut ready: Vec<(Change, Gid<Product>)> = Vec::new();
        for c in changes {
            match self.product_gid(&c.target).await? {
                Some(gid) => ready.push((c, gid)),
                None => {
                    let why = "the product is not on Shopify yet: apply its create first";
                    self.finish(&c, ApplyResult::failed(why)).await?;
                }
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        let ids: Vec<Gid<Product>> = ready.iter().map(|(_, g)| *g).collect();
        let client = &self.engine.client;
        let sent = if add {
            client.collection_add_products(coll, &ids).await
        } else {
            client.collection_remove_products(coll, &ids).await
        };
        if let Err(e) = sent {
            if e.kind() == ErrorKind::OutcomeUnknown && !self.reconciling {
                return Ok(()); // settled at the end of the apply (adding twice is harmless)
            }
            let failed = ApplyResult::failed(describe(&e));
            for (c, _) in &ready {
                self.finish(c, failed.clone()).await?;
            }
            return Ok(());
        }
        // Both snapshots now hold the membership.
        let mut batch = SnapshotBatch::default();
        for side in [SnapshotSide::Remote, SnapshotSide::Base] {
            for gid in &ids {
                let key = gid.to_string();
                if let Some(mut s) = self.engine.store.snapshot(side, &key).await? {
                    if let Snapshot::Product(p) = &mut s.snapshot {
                        p.collections.retain(|c| *c != coll);
                        if add {
                            p.collections.push(coll);
                        }
                        p.normalize();
                    }
                    batch.put.push((side, key, s));
                }
            }
        }
        self.engine.store.write_snapshots(&batch).await?;
        for (c, gid) in &ready {
            let ids = IdMapping {
                local_id: c.target.local_id.clone(),
                shopify_id: gid.to_string(),
                variants: Vec::new(),
            };
            self.finish(c, ApplyResult::applied(Some(ids))).await?;
        }
        Ok(())
    }

    /// The gid of a membership change's product: known, created by this run, or
    /// created by an earlier one (its base snapshot holds the local id).
    async fn product_gid(&self, target: &Target) -> Result<Option<Gid<Product>>> {
        if let Some(id) = &target.shopify_id {
            return Gid::parse(id).map(Some);
        }
        let Some(local) = &target.local_id else {
            return Ok(None);
        };
        if let Some(gid) = lock(&self.tally).new_products.get(local) {
            return Ok(Some(*gid));
        }
        // Read once per run, not once per change: the base side can be large.
        let known = self
            .base_products
            .get_or_try_init(|| async {
                let mut known = HashMap::new();
                self.engine
                    .scan(SnapshotSide::Base, |key, s| {
                        if let (Some(local), Snapshot::Product(_)) = (s.local_id, &s.snapshot) {
                            if let Ok(id) = Gid::parse(&key) {
                                known.insert(local, id);
                            }
                        }
                    })
                    .await?;
                Ok::<_, Error>(known)
            })
            .await?;
        Ok(known.get(local).copied())
    }

    /// Store the new remote and base snapshots of an entity.
    async fn store_both(
        &self,
        key: &str,
        remote: Snapshot,
        base: Snapshot,
        updated_at: Option<DateTime<Utc>>,
        local_id: Option<String>,
    ) -> Result<()> {
        let stored = |snapshot: Snapshot, local_id: Option<String>| StoredSnapshot {
            fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
            snapshot,
            updated_at,
            local_id,
        };
        let batch = SnapshotBatch {
            put: vec![
                (SnapshotSide::Remote, key.to_owned(), stored(remote, None)),
                (SnapshotSide::Base, key.to_owned(), stored(base, local_id)),
            ],
            ..SnapshotBatch::default()
        };
        self.engine.store.write_snapshots(&batch).await
    }

    /// Drop an entity's remote and base snapshots (deleted on Shopify).
    async fn forget(&self, key: &str) -> Result<()> {
        let batch = SnapshotBatch {
            delete: vec![
                (SnapshotSide::Remote, key.to_owned()),
                (SnapshotSide::Base, key.to_owned()),
            ],
            ..SnapshotBatch::default()
        };
        self.engine.store.write_snapshots(&batch).await
    }
}

/// The guard for one product change against Shopify's current product.
fn product_verdict(change: &Change, current: &ProductSnapshot, mask: FieldMask) -> Verdict {
    let reviewed = change.rows.iter().map(|r| (r.path.as_str(), &r.remote));
    let expected = match patch_product(Some(current), reviewed) {
        Ok(Some(p)) => p,
        _ => {
            return Verdict::Stale("the product's variants changed on Shopify since review".into())
        }
    };
    if let Ok(Some(written)) = patch_product(Some(current), change.writes()) {
        if product_eq(&written, current, mask) {
            return Verdict::Done;
        }
    }
    if product_eq(&expected, current, mask) {
        Verdict::Write
    } else {
        Verdict::Stale(format!("{} changed on Shopify since review", paths(change)))
    }
}

/// The guard for one collection change.
fn collection_verdict(change: &Change, current: &CollectionSnapshot, mask: FieldMask) -> Verdict {
    if change.operation == Operation::Delete {
        let expected = change
            .rows
            .iter()
            .find(|r| r.path == "collection")
            .and_then(|r| patch_collection(Some(current), [("collection", &r.remote)]).ok())
            .flatten();
        return match expected {
            Some(e) if !collection_eq(&e, current, mask) => {
                Verdict::Stale("the collection changed on Shopify since review".into())
            }
            _ => Verdict::Write,
        };
    }
    let reviewed = change.rows.iter().map(|r| (r.path.as_str(), &r.remote));
    let Ok(Some(expected)) = patch_collection(Some(current), reviewed) else {
        return Verdict::Stale("the collection changed on Shopify since review".into());
    };
    if let Ok(Some(written)) = patch_collection(Some(current), change.writes()) {
        if collection_eq(&written, current, mask) {
            return Verdict::Done;
        }
    }
    if collection_eq(&expected, current, mask) {
        Verdict::Write
    } else {
        Verdict::Stale(format!("{} changed on Shopify since review", paths(change)))
    }
}

fn paths(change: &Change) -> String {
    let paths: Vec<&str> = change.rows.iter().map(|r| r.path.as_str()).collect();
    paths.join(", ")
}

fn describe(e: &Error) -> String {
    let mut s = format!("{}: {e}", e.kind().as_str());
    if e.kind() == ErrorKind::OutcomeUnknown {
        s.push_str(" (reconcile by pulling: the write may have happened)");
    }
    s
}

/// Give base variants without an id the id of the remote variant with the same options,
/// and say which got one (keyed as the diff names a new variant).
fn fill_variant_ids(base: &mut ProductSnapshot, remote: &ProductSnapshot) -> Vec<VariantIdMapping> {
    let mut filled = Vec::new();
    for (i, v) in base.variants.iter_mut().enumerate() {
        if v.id.is_some() {
            continue;
        }
        let found = remote
            .variants
            .iter()
            .find(|r| r.option_values == v.option_values)
            .and_then(|r| r.id);
        if let Some(id) = found {
            filled.push(VariantIdMapping {
                key: crate::staging::diff::variant_key(v, i, true),
                id,
            });
            v.id = Some(id);
        }
    }
    filled
}

/// `ProductSetInput` for the fields touched (and the variant list when asked).
fn product_input(p: &ProductSnapshot, touched: &BTreeSet<Field>, variants: bool) -> Value {
    let mut m = Map::new();
    for f in touched {
        match f {
            Field::Title => m.insert("title".into(), json!(p.title)),
            Field::Handle if !p.handle.is_empty() => m.insert("handle".into(), json!(p.handle)),
            Field::DescriptionHtml => m.insert("descriptionHtml".into(), json!(p.description_html)),
            Field::Vendor => m.insert("vendor".into(), json!(p.vendor)),
            Field::ProductType => m.insert("productType".into(), json!(p.product_type)),
            Field::Status => match p.status {
                Some(s) => m.insert("status".into(), json!(s)),
                None => None,
            },
            Field::Tags => m.insert("tags".into(), json!(p.tags)),
            Field::Seo => m.insert(
                "seo".into(),
                json!({ "title": p.seo.title, "description": p.seo.description }),
            ),
            _ => None,
        };
    }
    if variants {
        let (options, option_values) = p.written_options();
        m.insert(
            "productOptions".into(),
            Value::Array(
                options
                    .iter()
                    .map(|o| {
                        json!({ "name": o.name, "values": o.values.iter().map(|v| json!({"name": v})).collect::<Vec<_>>() })
                    })
                    .collect(),
            ),
        );
        m.insert(
            "variants".into(),
            Value::Array(
                p.variants
                    .iter()
                    .zip(&option_values)
                    .map(|(v, values)| {
                        let mut vm = Map::new();
                        if let Some(id) = v.id {
                            vm.insert("id".into(), json!(id.to_string()));
                        }
                        vm.insert(
                            "optionValues".into(),
                            Value::Array(
                                values
                                    .iter()
                                    .map(|o| json!({ "optionName": o.name, "name": o.value }))
                                    .collect(),
                            ),
                        );
                        if let Some(price) = v.price {
                            vm.insert("price".into(), json!(price.to_string()));
                        }
                        vm.insert(
                            "compareAtPrice".into(),
                            json!(v.compare_at_price.map(|m| m.to_string())),
                        );
                        if let Some(sku) = &v.sku {
                            vm.insert("sku".into(), json!(sku));
                        }
                        if let Some(barcode) = &v.barcode {
                            vm.insert("barcode".into(), json!(barcode));
                        }
                        if let Some(policy) = v.inventory_policy {
                            vm.insert("inventoryPolicy".into(), json!(policy));
                        }
                        Value::Object(vm)
                    })
                    .collect(),
            ),
        );
    }
    Value::Object(m)
}

/// `CollectionInput` from a snapshot.
fn collection_input(c: &CollectionSnapshot, id: Option<Gid<Collection>>) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), json!(id.to_string()));
    }
    m.insert("title".into(), json!(c.title));
    if !c.handle.is_empty() {
        m.insert("handle".into(), json!(c.handle));
    }
    m.insert("descriptionHtml".into(), json!(c.description_html));
    m.insert(
        "seo".into(),
        json!({ "title": c.seo.title, "description": c.seo.description }),
    );
    if let Some(order) = c.sort_order {
        m.insert("sortOrder".into(), json!(order));
    }
    if let Some(rules) = &c.rules {
        m.insert(
            "ruleSet".into(),
            json!({ "appliedDisjunctively": rules.applied_disjunctively, "rules": rules.rules }),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staging::{PlanInput, Planner, Record};

    fn snap(v: Value) -> ProductSnapshot {
        serde_json::from_value(v).unwrap()
    }

    fn remote() -> ProductSnapshot {
        snap(json!({
            "title": "Tee", "vendor": "A",
            "variants": [
                {"id": "gid://shopify/ProductVariant/1", "price": "10", "option_values": [{"name": "Size", "value": "S"}]},
                {"id": "gid://shopify/ProductVariant/2", "price": "12", "option_values": [{"name": "Size", "value": "M"}]}
            ]
        }))
    }

    /// The changes planned from `remote()` as base and remote to `local`.
    fn changes(local: ProductSnapshot) -> Vec<Change> {
        let id = Gid::from_numeric_id(7).unwrap();
        let mut input = PlanInput::default();
        input.products.base.push(Record::synced("L7", id, remote()));
        input
            .products
            .remote
            .push(Record::remote(id, None, remote()));
        input.products.local.push(Record::synced("L7", id, local));
        Planner::new(FieldMask::ALL).plan(&input).changes
    }

    #[test]
    fn the_guard_writes_unmoved_fields_and_stops_moved_ones() {
        let mut local = remote();
        local.title = "Tee 2".into();
        local.variants[0].price = Some("9.50".parse().unwrap());
        let planned = changes(local);
        assert_eq!(planned.len(), 2);
        let (title, price) = (&planned[0], &planned[1]);
        let mask = FieldMask::ALL;

        // Nothing moved: write both.
        assert_eq!(product_verdict(title, &remote(), mask), Verdict::Write);
        assert_eq!(product_verdict(price, &remote(), mask), Verdict::Write);
        // Another field and another variant moved: still write.
        let mut moved = remote();
        moved.vendor = "B".into();
        moved.variants[1].price = Some("13".parse().unwrap());
        assert_eq!(product_verdict(title, &moved, mask), Verdict::Write);
        assert_eq!(product_verdict(price, &moved, mask), Verdict::Write);
        // Shopify already holds the value (our earlier write, or the same edit).
        let mut same = remote();
        same.title = "Tee 2".into();
        same.variants[0].price = Some("9.5".parse().unwrap());
        assert_eq!(product_verdict(title, &same, mask), Verdict::Done);
        assert_eq!(product_verdict(price, &same, mask), Verdict::Done);
        // The reviewed value moved to something else: stale, naming the path.
        let mut other = remote();
        other.title = "Tee (merchant)".into();
        other.variants[0].price = Some("8".parse().unwrap());
        assert!(
            matches!(product_verdict(title, &other, mask), Verdict::Stale(why) if why.contains("title"))
        );
        assert!(matches!(
            product_verdict(price, &other, mask),
            Verdict::Stale(_)
        ));
        // The variant is gone: stale.
        let mut gone = remote();
        gone.variants.remove(0);
        assert!(matches!(
            product_verdict(price, &gone, mask),
            Verdict::Stale(_)
        ));
    }

    #[test]
    fn removing_a_variant_is_done_once_it_is_gone() {
        let mut local = remote();
        local.variants.remove(1);
        let planned = changes(local);
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].operation, Operation::DeleteVariant);
        assert_eq!(
            product_verdict(&planned[0], &remote(), FieldMask::ALL),
            Verdict::Write
        );
        let mut gone = remote();
        gone.variants.remove(1);
        assert_eq!(
            product_verdict(&planned[0], &gone, FieldMask::ALL),
            Verdict::Done
        );
    }

    #[test]
    fn product_input_sends_touched_fields_and_the_whole_variant_list() {
        let p = remote();
        let touched: BTreeSet<Field> = [Field::Title].into_iter().collect();
        let only_title = product_input(&p, &touched, false);
        assert_eq!(only_title, json!({"title": "Tee"}));
        let with_variants = product_input(&p, &touched, true);
        let variants = with_variants["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[0]["id"], "gid://shopify/ProductVariant/1");
        assert_eq!(variants[0]["price"], "10");
        assert_eq!(
            variants[1]["optionValues"],
            json!([{"optionName": "Size", "name": "M"}])
        );
    }

    #[test]
    fn units_group_by_entity_and_membership_by_collection() {
        let mut local = remote();
        local.title = "Tee 2".into();
        local.collections = vec![
            Gid::from_numeric_id(5).unwrap(),
            Gid::from_numeric_id(6).unwrap(),
        ];
        let planned = changes(local);
        let (entities, members) = group(planned);
        assert_eq!(entities.len(), 1);
        assert_eq!(members.len(), 2);
        assert!(members.iter().all(|m| m.changes.len() == 1));
        let chunks = chunk_unit(
            Unit {
                target: members[0].target.clone(),
                changes: vec![members[0].changes[0].clone(); 600],
            },
            250,
        );
        let sizes: Vec<usize> = chunks.iter().map(|c| c.changes.len()).collect();
        assert_eq!(sizes, [250, 250, 100]);
    }
}
