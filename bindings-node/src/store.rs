//! `ChangeStore`: plans, changes and their review (approve, reject, resolve), the audit
//! trail, snapshots and checkpoints, all of them the core's `ChangeStore` trait. Filters
//! and queries take the snake_case JSON shape of `ChangeFilter` and `AuditQuery`
//! (unknown keys refused), like every piece of data that crosses the boundary.
use crate::abort::{spawn, Abort};
use crate::convert::Input;
use crate::errors::{guard, invalid, to_js_error, Json, Outcome, Settled};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use shopify_sync::staging::store::{
    ChangeStore as CoreStore, MemoryStore, SavedPlan, SnapshotSide, SqliteStore, StoredSnapshot,
};
use shopify_sync::staging::{
    AuditEntry, AuditQuery, Change, ChangeFilter, ChangeId, Plan, PlanId, Review, ReviewAction,
    ReviewReport, Take,
};
use std::sync::Arc;

/// Where plans, changes, the audit trail, snapshots and checkpoints live: one SQLite
/// file (`ChangeStore.open(path)`), or memory (`ChangeStore.memory()`, for tests).
#[napi]
pub struct ChangeStore {
    pub(crate) store: Arc<dyn CoreStore>,
}

/// Who reviews: `{ actor, comment? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    actor: String,
    #[serde(default)]
    comment: Option<String>,
}

impl ReviewInput {
    fn review(self) -> Review {
        review(self.actor, self.comment)
    }
}

fn review(actor: String, comment: Option<String>) -> Review {
    let r = Review::now(actor);
    match comment {
        Some(c) => r.with_comment(c),
        None => r,
    }
}

/// How `resolve()` resolves: `{ path?, value?, actor, comment? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    actor: String,
    #[serde(default)]
    comment: Option<String>,
}

/// A `ChangeFilter` (every change when omitted or `null`).
pub(crate) fn filter(f: Option<Input<ChangeFilter>>) -> Outcome<ChangeFilter> {
    f.map_or(Ok(ChangeFilter::default()), |f| f.get("change filter"))
}

/// Throw a failure of a synchronous call (constructors, factories).
pub(crate) fn settle<T>(env: &Env, out: Settled<T>) -> napi::Result<T> {
    out.0.map_err(|f| to_js_error(env, &f))
}

/// Snapshots by key (the entity's gid), in key order.
type SnapshotMap = Map<String, Value>;

/// A string argument read through a serde type (an id, a side, a `take`).
fn named<T: DeserializeOwned>(what: &str, s: String) -> Outcome<T> {
    serde_json::from_value(Value::String(s)).map_err(|e| invalid(what, e))
}

#[napi]
impl ChangeStore {
    /// A store in memory (gone with the object): for tests and dry runs.
    #[napi(factory)]
    pub fn memory() -> ChangeStore {
        ChangeStore {
            store: Arc::new(MemoryStore::new()),
        }
    }

    /// The SQLite store in one file at `path` (created if missing; `SHOPIFY_SYNC_STORE`
    /// when omitted).
    #[napi(factory, ts_args_type = "path?: string | null")]
    pub fn open(env: Env, path: Option<Input<Option<String>>>) -> napi::Result<ChangeStore> {
        settle(
            &env,
            guard(|| {
                // Read in Rust (a static factory is not wrapped by the entry point), so
                // a path that is not a string is SHOPIFY_INVALID_INPUT too.
                let path = path.map(|p| p.get("path")).transpose()?.flatten();
                let store = match path {
                    Some(p) => SqliteStore::open(p)?,
                    None => SqliteStore::open_default()?,
                };
                Ok(ChangeStore {
                    store: Arc::new(store),
                })
            }),
        )
    }

    /// A plan with its changes in their current states; `null` when unknown.
    #[napi(ts_return_type = "Promise<Plan | null>")]
    pub fn plan<'e>(
        &self,
        env: &'e Env,
        id: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Option<Plan>>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            let id: PlanId = named("plan id", id)?;
            Ok(Json(store.plan(&id).await?))
        })
    }

    /// Save a plan (one read from a plan file with `readPlanFile`, say) with its changes
    /// `staged`, audited as `planned` by `review.actor`; the older unapplied changes of
    /// the same targets become `superseded`. Rejects with `SHOPIFY_INVALID_INPUT` when
    /// the plan is saved already, inconsistent, or holds a change that is not `staged`.
    #[napi(
        ts_args_type = "plan: Plan, review: ReviewInput",
        ts_return_type = "Promise<SavedPlan>"
    )]
    pub fn save_plan<'e>(
        &self,
        env: &'e Env,
        plan: Input<Plan>,
        review: Input<ReviewInput>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<SavedPlan>>>> {
        let store = self.store.clone();
        let plan = plan.get("plan");
        let review = review.get("review");
        spawn(env, Abort::none(), async move {
            let (plan, review) = (plan?, review?.review());
            Ok(Json(store.save_plan(&plan, &review).await?))
        })
    }

    /// The changes a filter selects (every change when omitted), in plan order.
    #[napi(
        ts_args_type = "filter?: ChangeFilter | null",
        ts_return_type = "Promise<Change[]>"
    )]
    pub fn changes<'e>(
        &self,
        env: &'e Env,
        filter: Option<Input<ChangeFilter>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Vec<Change>>>>> {
        let store = self.store.clone();
        let filter = self::filter(filter);
        spawn(env, Abort::none(), async move {
            Ok(Json(store.changes(&filter?).await?))
        })
    }

    /// One change by id; `null` when unknown.
    #[napi(ts_return_type = "Promise<Change | null>")]
    pub fn change<'e>(
        &self,
        env: &'e Env,
        id: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Option<Change>>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            let id: ChangeId = named("change id", id)?;
            Ok(Json(store.change(&id).await?))
        })
    }

    /// The changes left `applying` by a crashed, dropped or aborted apply (what
    /// `engine.reconcile()` settles).
    #[napi(ts_return_type = "Promise<Change[]>")]
    pub fn in_flight<'e>(
        &self,
        env: &'e Env,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Vec<Change>>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            Ok(Json(store.in_flight().await?))
        })
    }

    /// Approve the selected `staged` changes, signed by `review.actor` (audited).
    /// Changes with an unresolved conflict or a preflight issue are skipped and
    /// reported in `skipped`.
    #[napi(
        ts_args_type = "filter: ChangeFilter | null, review: ReviewInput",
        ts_return_type = "Promise<ReviewReport>"
    )]
    pub fn approve<'e>(
        &self,
        env: &'e Env,
        filter: Option<Input<ChangeFilter>>,
        review: Input<ReviewInput>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ReviewReport>>>> {
        self.review(env, filter, review, ReviewAction::Approve)
    }

    /// Reject the selected `staged` changes (remembered: not proposed again).
    #[napi(
        ts_args_type = "filter: ChangeFilter | null, review: ReviewInput",
        ts_return_type = "Promise<ReviewReport>"
    )]
    pub fn reject<'e>(
        &self,
        env: &'e Env,
        filter: Option<Input<ChangeFilter>>,
        review: Input<ReviewInput>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ReviewReport>>>> {
        self.review(env, filter, review, ReviewAction::Reject)
    }

    /// Resolve the conflicts of one `staged` change (audited as `resolved`): `take` is
    /// `"local"`, `"remote"` (nothing is written for the row) or `"value"` (then
    /// `resolution.value` is written: it must be valid for the row, a price a decimal
    /// string ...). `resolution.path` names one conflict row; without it every
    /// unresolved conflict of the change is resolved (a value then needs exactly one).
    /// Resolves with the change; then approve it.
    #[napi(
        ts_args_type = "changeId: string, take: Take, resolution: ResolveOptions",
        ts_return_type = "Promise<Change>"
    )]
    pub fn resolve<'e>(
        &self,
        env: &'e Env,
        change_id: String,
        take: String,
        resolution: Input<ResolveInput>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Change>>>> {
        let store = self.store.clone();
        let resolution = resolution.get("resolution");
        spawn(env, Abort::none(), async move {
            let id: ChangeId = named("change id", change_id)?;
            let take: Take = named("take", take)?;
            let r = resolution?;
            let by = review(r.actor, r.comment);
            let value = r.value.filter(|v| !v.is_null());
            Ok(Json(
                store
                    .resolve(&id, r.path.as_deref(), take, value, &by)
                    .await?,
            ))
        })
    }

    /// The audit entries a query selects (every entry when omitted), in `seq` order.
    /// `query` has the keys of `AuditQuery`: `change_id`, `plan_id`, `target` (a gid or
    /// a local id), `since`, `until`, `after_seq`, `limit`.
    #[napi(
        ts_args_type = "query?: AuditQuery | null",
        ts_return_type = "Promise<AuditEntry[]>"
    )]
    pub fn audit<'e>(
        &self,
        env: &'e Env,
        query: Option<Input<AuditQuery>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Vec<AuditEntry>>>>> {
        let store = self.store.clone();
        let query = query.map(|q| q.get("audit query"));
        spawn(env, Abort::none(), async move {
            let query = query.transpose()?.unwrap_or_default();
            Ok(Json(store.audit(&query).await?))
        })
    }

    /// The audit trail as JSON Lines (the entries `audit(query)` selects).
    #[napi(
        ts_args_type = "query?: AuditQuery | null",
        ts_return_type = "Promise<string>"
    )]
    pub fn export_audit_jsonl<'e>(
        &self,
        env: &'e Env,
        query: Option<Input<AuditQuery>>,
    ) -> napi::Result<PromiseRaw<'e, Settled<String>>> {
        let store = self.store.clone();
        let query = query.map(|q| q.get("audit query"));
        spawn(env, Abort::none(), async move {
            let query = query.transpose()?.unwrap_or_default();
            Ok(store.export_audit_jsonl(&query).await?)
        })
    }

    /// One stored snapshot: `side` is `"base"` (what was last synced) or `"remote"`
    /// (what Shopify held when last read: pulls and webhook refreshes write it), `key`
    /// the entity's gid. Resolves with `{ snapshot, fingerprint, updated_at, local_id? }`
    /// or `null`.
    #[napi(
        ts_args_type = "side: SnapshotSide, key: string",
        ts_return_type = "Promise<StoredSnapshot | null>"
    )]
    pub fn snapshot<'e>(
        &self,
        env: &'e Env,
        side: String,
        key: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<Option<StoredSnapshot>>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            let side: SnapshotSide = named("side", side)?;
            Ok(Json(store.snapshot(side, &key).await?))
        })
    }

    /// Every stored snapshot of one side (`"base"` or `"remote"`), as an object from
    /// the key (the entity's gid) to the `StoredSnapshot`, in key order. Holds the
    /// whole side in memory.
    #[napi(
        ts_args_type = "side: SnapshotSide",
        ts_return_type = "Promise<Record<string, StoredSnapshot>>"
    )]
    pub fn snapshots<'e>(
        &self,
        env: &'e Env,
        side: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<SnapshotMap>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            let side: SnapshotSide = named("side", side)?;
            let mut out = Map::new();
            for (key, s) in store.snapshots(side).await? {
                let s = serde_json::to_value(s).map_err(|e| invalid("snapshot", e))?;
                out.insert(key, s);
            }
            Ok(Json(out))
        })
    }

    /// A named checkpoint (the engine's pull cursor is `"sync.products.updated_at"`
    /// ...); `null` when unset.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn checkpoint<'e>(
        &self,
        env: &'e Env,
        name: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<Option<String>>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            Ok(store.checkpoint(&name).await?)
        })
    }

    /// Set a named checkpoint.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_checkpoint<'e>(
        &self,
        env: &'e Env,
        name: String,
        value: String,
    ) -> napi::Result<PromiseRaw<'e, Settled<()>>> {
        let store = self.store.clone();
        spawn(env, Abort::none(), async move {
            Ok(store.set_checkpoint(&name, &value).await?)
        })
    }
}

impl ChangeStore {
    /// `approve` or `reject` the changes a filter selects.
    fn review<'e>(
        &self,
        env: &'e Env,
        filter: Option<Input<ChangeFilter>>,
        review: Input<ReviewInput>,
        action: ReviewAction,
    ) -> napi::Result<PromiseRaw<'e, Settled<Json<ReviewReport>>>> {
        let store = self.store.clone();
        let filter = self::filter(filter);
        let review = review.get("review");
        spawn(env, Abort::none(), async move {
            let (filter, review) = (filter?, review?.review());
            Ok(Json(store.review(action, &filter, &review).await?))
        })
    }
}
