//! Plans: the three-way diff of a catalog turned into reviewable [`Change`]s, with
//! preflight checks, the rows a review UI shows, summary counts, and the versioned plan
//! file.
//!
//! This module owns how base, local and remote records are joined into entities, which
//! entity is created, updated, deleted or left alone (`unmanaged`), how diff rows are
//! grouped into changes, and the plan file format. It is pure: the [`Planner`] takes the
//! time and the plan id from the caller (or from the clock and a random UUID when not
//! given) and never touches the store, the network or the executor.
//!
//! # Joining records
//!
//! A local record is joined to its base by Shopify id, else by `local_id`; to its remote
//! record by Shopify id. Then, per entity:
//!
//! - a local record with no Shopify id and no base is a **create**;
//! - a base with no local record is a **delete** only when the local [`Scope`] covers
//!   it (a partial local set never proposes mass deletion); otherwise it is left alone;
//! - a remote record with neither base nor local record is **unmanaged**: never
//!   synced, never deleted, only counted;
//! - a base with no remote record is deleted on Shopify when the remote [`Scope`]
//!   covers it, and unknown (taken as unchanged, with no stale guard) otherwise.
//!
//! # From rows to changes
//!
//! Rows of kind `remote` and `converged` are not writes: they go to
//! [`Plan::incoming`], for the local system to take in. `error` rows go to
//! [`Plan::problems`]. `local` and `conflict` rows become changes: one `create` (or
//! `delete`) per entity; otherwise one `update` per field (all variants' prices are one
//! `variant_price` change), one `create_variant` / `delete_variant` per variant, one
//! `add_to_collection` / `remove_from_collection` per collection. Every removal a
//! `productSet` would imply is thus its own change, applied only if approved.
//!
//! ```
//! use shopify_sync::model::Gid;
//! use shopify_sync::staging::{FieldMask, Operation, PlanInput, Planner, ProductSnapshot, Record, Scope};
//!
//! let snap = |json: &str| serde_json::from_str::<ProductSnapshot>(json).unwrap();
//! let id = Gid::from_numeric_id(1)?;
//! let mut input = PlanInput::default();
//! input.products.base.push(Record::synced("sku-1", id, snap(r#"{"title": "Tee"}"#)));
//! input.products.remote.push(Record::remote(id, None, snap(r#"{"title": "Tee"}"#)));
//! input.products.local.push(Record::synced("sku-1", id, snap(r#"{"title": "Tee!"}"#)));
//! input.products.local.push(Record::new_local("sku-2", snap(r#"{"title": "Mug"}"#)));
//!
//! let plan = Planner::new(FieldMask::ALL).plan(&input);
//! let ops: Vec<Operation> = plan.changes.iter().map(|c| c.operation).collect();
//! assert_eq!(ops, [Operation::Update, Operation::Create]);
//! assert_eq!(plan.summary().changes, 2);
//!
//! // A plan file round-trips; a damaged one is refused.
//! let text = plan.to_file_json()?;
//! assert_eq!(shopify_sync::staging::Plan::from_file_json(&text)?, plan);
//! assert!(shopify_sync::staging::Plan::from_file_json(&text.replace("Tee!", "Tee?")).is_err());
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```

use super::change::{
    Change, ChangeId, ChangeRow, ChangeState, Operation, PlanId, PreflightCode, PreflightIssue,
    StaleGuard, Target, TargetKind,
};
use super::diff::{diff_collection, diff_product, DiffOptions, DiffRow, RowKind};
use super::fingerprint::Fingerprint;
use super::mask::{Field, FieldMask};
use super::review::Rejections;
use super::snapshot::{normalize_handle, normalize_tags, CollectionSnapshot, ProductSnapshot};
use crate::error::{Error, Result};
use crate::model::{Collection, Gid, GidKind, Money, Product};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Shopify's limit of variants per product.
pub const MAX_VARIANTS: usize = 2048;
/// Shopify's limit of options per product.
pub const MAX_OPTIONS: usize = 3;
/// The longest list a write may carry (tags, option values, collections, rules).
pub const MAX_LIST: usize = 250;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ProductSnapshot {}
    impl Sealed for super::CollectionSnapshot {}
}

/// A kind of snapshot a plan handles: [`ProductSnapshot`] or [`CollectionSnapshot`].
/// Sealed.
pub trait Entity: sealed::Sealed + Clone + fmt::Debug + Send + Sync + 'static {
    /// The gid kind of its Shopify id (a numeric id).
    type Kind: GidKind<Key = std::num::NonZeroU64>;
    /// Product or collection.
    const KIND: TargetKind;
    /// The three-way diff.
    #[doc(hidden)]
    fn diff3(
        b: Option<&Self>,
        l: Option<&Self>,
        r: Option<&Self>,
        mask: FieldMask,
        options: &DiffOptions,
    ) -> Vec<DiffRow>;
    /// The fingerprint under a mask.
    #[doc(hidden)]
    fn fingerprint_under(&self, mask: FieldMask) -> Fingerprint;
    /// The handle as given.
    #[doc(hidden)]
    fn handle(&self) -> &str;
    /// Preflight checks of a change built from `rows`.
    #[doc(hidden)]
    fn preflight(
        &self,
        operation: Operation,
        field: Option<Field>,
        rows: &[DiffRow],
    ) -> Vec<PreflightIssue>;
}

impl Entity for ProductSnapshot {
    type Kind = Product;
    const KIND: TargetKind = TargetKind::Product;
    fn diff3(
        b: Option<&Self>,
        l: Option<&Self>,
        r: Option<&Self>,
        mask: FieldMask,
        options: &DiffOptions,
    ) -> Vec<DiffRow> {
        diff_product(b, l, r, mask, options)
    }
    fn fingerprint_under(&self, mask: FieldMask) -> Fingerprint {
        self.fingerprint(mask)
    }
    fn handle(&self) -> &str {
        &self.handle
    }
    fn preflight(
        &self,
        operation: Operation,
        field: Option<Field>,
        rows: &[DiffRow],
    ) -> Vec<PreflightIssue> {
        product_preflight(self, operation, field, rows)
    }
}

impl Entity for CollectionSnapshot {
    type Kind = Collection;
    const KIND: TargetKind = TargetKind::Collection;
    fn diff3(
        b: Option<&Self>,
        l: Option<&Self>,
        r: Option<&Self>,
        mask: FieldMask,
        _options: &DiffOptions,
    ) -> Vec<DiffRow> {
        diff_collection(b, l, r, mask)
    }
    fn fingerprint_under(&self, mask: FieldMask) -> Fingerprint {
        self.fingerprint(mask)
    }
    fn handle(&self) -> &str {
        &self.handle
    }
    fn preflight(
        &self,
        operation: Operation,
        field: Option<Field>,
        _rows: &[DiffRow],
    ) -> Vec<PreflightIssue> {
        let mut out = Vec::new();
        let all = operation == Operation::Create;
        if (all || field == Some(Field::Title)) && self.title.trim().is_empty() {
            out.push(issue(
                PreflightCode::BlankTitle,
                "title",
                "the title is blank",
            ));
        }
        if all || field == Some(Field::Rules) {
            if let Some(r) = &self.rules {
                if r.rules.len() > MAX_LIST {
                    out.push(issue(
                        PreflightCode::ListTooLong,
                        "rules",
                        &format!("{} rules (at most {MAX_LIST})", r.rules.len()),
                    ));
                }
            }
        }
        out
    }
}

fn issue(code: PreflightCode, path: &str, message: &str) -> PreflightIssue {
    PreflightIssue {
        code,
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn product_preflight(
    p: &ProductSnapshot,
    operation: Operation,
    field: Option<Field>,
    rows: &[DiffRow],
) -> Vec<PreflightIssue> {
    let mut out = Vec::new();
    let all = operation == Operation::Create;
    let touches = |f: Field| all || field == Some(f);
    if (all || operation == Operation::CreateVariant) && p.variants.len() > MAX_VARIANTS {
        out.push(issue(
            PreflightCode::TooManyVariants,
            "variants",
            &format!("{} variants (at most {MAX_VARIANTS})", p.variants.len()),
        ));
    }
    if touches(Field::Options) {
        if p.options.len() > MAX_OPTIONS {
            out.push(issue(
                PreflightCode::TooManyOptions,
                "options",
                &format!("{} options (at most {MAX_OPTIONS})", p.options.len()),
            ));
        }
        for o in p.options.iter().filter(|o| o.values.len() > MAX_LIST) {
            out.push(issue(
                PreflightCode::ListTooLong,
                "options",
                &format!(
                    "option {:?} has {} values (at most {MAX_LIST})",
                    o.name,
                    o.values.len()
                ),
            ));
        }
    }
    if touches(Field::Title) && p.title.trim().is_empty() {
        out.push(issue(
            PreflightCode::BlankTitle,
            "title",
            "the title is blank",
        ));
    }
    if touches(Field::Tags) {
        let n = normalize_tags(&p.tags).len();
        if n > MAX_LIST {
            out.push(issue(
                PreflightCode::ListTooLong,
                "tags",
                &format!("{n} tags (at most {MAX_LIST})"),
            ));
        }
    }
    if all && p.collections.len() > MAX_LIST {
        out.push(issue(
            PreflightCode::ListTooLong,
            "collections",
            &format!("{} collections (at most {MAX_LIST})", p.collections.len()),
        ));
    }
    // Negative prices in the values this change writes.
    let negative = |v: &Value| {
        v.as_str()
            .and_then(|s| Money::parse(s).ok())
            .is_some_and(Money::is_negative)
    };
    for row in rows {
        let bad = match &row.local {
            Value::String(_)
                if matches!(
                    row.field,
                    Some(Field::VariantPrice | Field::VariantCompareAtPrice)
                ) =>
            {
                negative(&row.local)
            }
            Value::Object(m) if row.field.is_none() => {
                m.get("price").is_some_and(negative)
                    || m.get("compare_at_price").is_some_and(negative)
            }
            _ => false,
        };
        if bad {
            out.push(issue(
                PreflightCode::NegativePrice,
                &row.path,
                "a price is negative",
            ));
        }
    }
    out
}

/// One record of one side: the caller's id, the Shopify id, Shopify's `updatedAt`
/// (remote records) and the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<S: Entity> {
    /// The caller's id (its primary key).
    pub local_id: Option<String>,
    /// The Shopify id, once there is one.
    pub shopify_id: Option<Gid<S::Kind>>,
    /// Shopify's `updatedAt` (remote records): the stale guard.
    pub updated_at: Option<DateTime<Utc>>,
    /// The content.
    pub snapshot: S,
}

impl<S: Entity> Record<S> {
    /// A local record not on Shopify yet.
    pub fn new_local(local_id: impl Into<String>, snapshot: S) -> Record<S> {
        Record {
            local_id: Some(local_id.into()),
            shopify_id: None,
            updated_at: None,
            snapshot,
        }
    }

    /// A record known by both ids (a local record of a synced entity, or a base).
    pub fn synced(local_id: impl Into<String>, id: Gid<S::Kind>, snapshot: S) -> Record<S> {
        Record {
            local_id: Some(local_id.into()),
            shopify_id: Some(id),
            updated_at: None,
            snapshot,
        }
    }

    /// A remote record as read from Shopify.
    pub fn remote(id: Gid<S::Kind>, updated_at: Option<DateTime<Utc>>, snapshot: S) -> Record<S> {
        Record {
            local_id: None,
            shopify_id: Some(id),
            updated_at,
            snapshot,
        }
    }
}

/// Which entities a side's set covers: what its absence means.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope<K: GidKind> {
    /// Only the records listed: an absent entity is not known (the default; a partial
    /// set never deletes).
    #[default]
    Listed,
    /// Every entity: an absent entity does not exist on that side.
    All,
    /// The entities with these ids (and those listed).
    Only(BTreeSet<Gid<K>>),
}

impl<K: GidKind> Scope<K> {
    /// Whether the entity with `id` is covered.
    pub fn covers(&self, id: Gid<K>) -> bool {
        match self {
            Scope::Listed => false,
            Scope::All => true,
            Scope::Only(ids) => ids.contains(&id),
        }
    }
}

/// The three sides of one kind of entity.
#[derive(Debug, Clone)]
pub struct Sides<S: Entity> {
    /// What was last synced (every base record has a Shopify id).
    pub base: Vec<Record<S>>,
    /// The merchant's records.
    pub local: Vec<Record<S>>,
    /// What Shopify holds.
    pub remote: Vec<Record<S>>,
    /// What the local set covers (deletes need it).
    pub local_scope: Scope<S::Kind>,
    /// What the remote set covers.
    pub remote_scope: Scope<S::Kind>,
}

impl<S: Entity> Default for Sides<S> {
    fn default() -> Self {
        Sides {
            base: Vec::new(),
            local: Vec::new(),
            remote: Vec::new(),
            local_scope: Scope::Listed,
            remote_scope: Scope::Listed,
        }
    }
}

/// Everything a plan is computed from.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// Products.
    pub products: Sides<ProductSnapshot>,
    /// Collections. Their base and remote rules also tell which collections are
    /// smart (their membership is not written).
    pub collections: Sides<CollectionSnapshot>,
}

/// Rows of one entity that are not changes (incoming or problems).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRows {
    /// The entity.
    pub target: Target,
    /// Its rows.
    pub rows: Vec<DiffRow>,
}

/// A plan: the changes a diff proposes, for review. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The id.
    pub id: PlanId,
    /// When it was computed.
    pub created_at: DateTime<Utc>,
    /// The managed fields.
    pub mask: FieldMask,
    /// The changes, in plan order (entities in input order).
    pub changes: Vec<Change>,
    /// Rows changed on Shopify only or on both sides alike, for the local system.
    #[serde(default)]
    pub incoming: Vec<TargetRows>,
    /// `error` rows (ambiguous matches, smart collection memberships; entities that
    /// could not be joined).
    #[serde(default)]
    pub problems: Vec<TargetRows>,
    /// Remote entities never synced: never deleted, never changed.
    #[serde(default)]
    pub unmanaged: Vec<Target>,
    /// How many entities had no row at all.
    #[serde(default)]
    pub unchanged: u64,
}

/// Counts over a plan, for a review screen's header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Changes.
    pub changes: usize,
    /// Changes per operation.
    pub by_operation: BTreeMap<Operation, usize>,
    /// Changes per state.
    pub by_state: BTreeMap<ChangeState, usize>,
    /// Changes with an unresolved conflict.
    pub conflicts: usize,
    /// Changes flagged by preflight checks.
    pub flagged: usize,
    /// Entities with incoming rows.
    pub incoming: usize,
    /// Entities with problems.
    pub problems: usize,
    /// Unmanaged remote entities.
    pub unmanaged: usize,
    /// Entities with no difference.
    pub unchanged: u64,
}

/// One row as a review screen shows it: the change it belongs to and the row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewRow<'a> {
    /// The change.
    pub change_id: &'a ChangeId,
    /// The entity.
    pub target: &'a Target,
    /// The operation.
    pub operation: Operation,
    /// The change's state.
    pub state: ChangeState,
    /// The row: path, field, kind, base, local, remote, resolution.
    #[serde(flatten)]
    pub row: &'a ChangeRow,
}

/// The format name of plan files.
pub const PLAN_FORMAT: &str = "shopify-sync-plan";
/// The plan file version this library writes and reads.
pub const PLAN_FILE_VERSION: u64 = 1;

#[derive(Serialize)]
struct PlanFileOut<'a> {
    format: &'static str,
    version: u64,
    digest: String,
    plan: &'a Plan,
}

fn digest_of(plan: &Plan) -> Result<String> {
    let body = serde_json::to_vec(plan)
        .map_err(|e| Error::invalid_input(format!("the plan does not serialize: {e}")))?;
    let d = Sha256::digest(&body);
    let mut hex = String::with_capacity(64 + 7);
    hex.push_str("sha256:");
    for b in d {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(hex)
}

impl Plan {
    /// Counts for a review screen.
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary {
            changes: self.changes.len(),
            incoming: self.incoming.len(),
            problems: self.problems.len(),
            unmanaged: self.unmanaged.len(),
            unchanged: self.unchanged,
            ..PlanSummary::default()
        };
        for c in &self.changes {
            *s.by_operation.entry(c.operation).or_default() += 1;
            *s.by_state.entry(c.state).or_default() += 1;
            if c.unresolved_conflicts() > 0 {
                s.conflicts += 1;
            }
            if !c.preflight.is_empty() {
                s.flagged += 1;
            }
        }
        s
    }

    /// Every row of every change, side by side, in plan order.
    pub fn review_rows(&self) -> Vec<ReviewRow<'_>> {
        self.changes
            .iter()
            .flat_map(|c| {
                c.rows.iter().map(move |row| ReviewRow {
                    change_id: &c.id,
                    target: &c.target,
                    operation: c.operation,
                    state: c.state,
                    row,
                })
            })
            .collect()
    }

    /// The change with this id.
    pub fn change(&self, id: &ChangeId) -> Option<&Change> {
        self.changes.iter().find(|c| &c.id == id)
    }

    /// The plan file: `{"format": "shopify-sync-plan", "version": 1, "digest":
    /// "sha256:<hex>", "plan": {...}}`, where the digest is the SHA-256 of the plan's
    /// compact JSON as this library writes it.
    pub fn to_file_json(&self) -> Result<String> {
        let out = PlanFileOut {
            format: PLAN_FORMAT,
            version: PLAN_FILE_VERSION,
            digest: digest_of(self)?,
            plan: self,
        };
        serde_json::to_string_pretty(&out)
            .map_err(|e| Error::invalid_input(format!("the plan does not serialize: {e}")))
    }

    /// Read a plan file. Refused with
    /// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) and a message
    /// saying why: not JSON, not a plan file, written by a newer version (its
    /// `version` is above [`PLAN_FILE_VERSION`]), a shape that does not decode (the
    /// message names the JSON path), a digest that does not match (the file was
    /// damaged or edited), or a change that does not belong to the plan.
    pub fn from_file_json(text: &str) -> Result<Plan> {
        let refuse = |why: String| Error::invalid_input(format!("plan file refused: {why}"));
        let value: Value =
            serde_json::from_str(text).map_err(|e| refuse(format!("not valid JSON ({e})")))?;
        if value.get("format").and_then(Value::as_str) != Some(PLAN_FORMAT) {
            return Err(refuse(format!(
                "not a plan file (\"format\" is not {PLAN_FORMAT:?})"
            )));
        }
        let version = value
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| refuse("\"version\" is missing or not a positive integer".into()))?;
        if version > PLAN_FILE_VERSION {
            return Err(refuse(format!(
                "written by a newer version of shopify-sync (plan file version {version}; \
                 this library reads version {PLAN_FILE_VERSION}): upgrade to read it"
            )));
        }
        if version != PLAN_FILE_VERSION {
            return Err(refuse(format!("unknown plan file version {version}")));
        }
        let digest = value
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("\"digest\" is missing".into()))?
            .to_owned();
        let body = value
            .get("plan")
            .ok_or_else(|| refuse("\"plan\" is missing".into()))?;
        let plan: Plan = serde_path_to_error::deserialize(body).map_err(|e| {
            let path = e.path().to_string();
            refuse(format!("plan.{path}: {}", e.inner())).with_json_path(format!("plan.{path}"))
        })?;
        if digest_of(&plan)? != digest {
            return Err(refuse(
                "the digest does not match the content: the file is damaged or was edited".into(),
            ));
        }
        plan.validate().map_err(|e| refuse(e.to_string()))?;
        Ok(plan)
    }

    /// Write the plan file at `path` (written to a temporary file beside it, then
    /// renamed, so a crash never leaves half a plan).
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = self.to_file_json()?;
        let tmp = path.with_extension("tmp");
        let io = |e: std::io::Error| {
            Error::invalid_input(format!("cannot write plan file {}: {e}", path.display()))
                .with_source(e)
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Read the plan file at `path` (see [`Plan::from_file_json`]).
    pub fn read_file(path: impl AsRef<Path>) -> Result<Plan> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid_input(format!("cannot read plan file {}: {e}", path.display()))
                .with_source(e)
        })?;
        Plan::from_file_json(&text)
    }

    /// Check that every change belongs to the plan, ids are unique and paths readable.
    pub(crate) fn validate(&self) -> Result<()> {
        let mut ids = HashSet::with_capacity(self.changes.len());
        for c in &self.changes {
            if c.plan_id != self.id {
                return Err(Error::invalid_input(format!(
                    "change {} belongs to plan {}, not {}",
                    c.id, c.plan_id, self.id
                )));
            }
            if !ids.insert(&c.id) {
                return Err(Error::invalid_input(format!(
                    "change {} appears twice",
                    c.id
                )));
            }
            c.validate()?;
        }
        Ok(())
    }
}

/// Computes plans. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Planner {
    mask: FieldMask,
    options: DiffOptions,
    rejections: Rejections,
    at: Option<DateTime<Utc>>,
    id: Option<PlanId>,
}

impl Planner {
    /// A planner for the fields in `mask`.
    pub fn new(mask: FieldMask) -> Planner {
        Planner {
            mask,
            options: DiffOptions::default(),
            rejections: Rejections::default(),
            at: None,
            id: None,
        }
    }

    /// Diff options (smart collections beyond those the collection sides show).
    #[must_use]
    pub fn options(mut self, options: DiffOptions) -> Planner {
        self.options = options;
        self
    }

    /// Rejected proposals not to propose again (see [`Rejections`]).
    #[must_use]
    pub fn rejections(mut self, rejections: Rejections) -> Planner {
        self.rejections = rejections;
        self
    }

    /// The plan's time (default: now).
    #[must_use]
    pub fn at(mut self, at: DateTime<Utc>) -> Planner {
        self.at = Some(at);
        self
    }

    /// The plan's id (default: a random UUID).
    #[must_use]
    pub fn id(mut self, id: PlanId) -> Planner {
        self.id = Some(id);
        self
    }

    /// Compute the plan.
    pub fn plan(&self, input: &PlanInput) -> Plan {
        let at = self.at.unwrap_or_else(Utc::now);
        let id = self.id.clone().unwrap_or_else(PlanId::random);
        let mut options = self.options.clone();
        for r in input
            .collections
            .base
            .iter()
            .chain(&input.collections.remote)
        {
            if let (Some(id), Some(_)) = (r.shopify_id, &r.snapshot.rules) {
                options.smart_collections.insert(id);
            }
        }
        let mut b = Builder {
            mask: self.mask,
            options,
            rejections: &self.rejections,
            at,
            plan: Plan {
                id,
                created_at: at,
                mask: self.mask,
                changes: Vec::new(),
                incoming: Vec::new(),
                problems: Vec::new(),
                unmanaged: Vec::new(),
                unchanged: 0,
            },
        };
        b.sides(&input.collections);
        b.sides(&input.products);
        b.plan
    }
}

/// One entity across the sides.
struct Joined<'a, S: Entity> {
    b: Option<&'a Record<S>>,
    l: Option<&'a Record<S>>,
    r: Option<&'a Record<S>>,
    /// The remote side as the diff sees it (the base when the remote is unknown).
    r_known: bool,
}

struct Builder<'r> {
    mask: FieldMask,
    options: DiffOptions,
    rejections: &'r Rejections,
    at: DateTime<Utc>,
    plan: Plan,
}

fn target_of<S: Entity>(joined: &Joined<'_, S>) -> Target {
    let local_id = joined
        .l
        .and_then(|r| r.local_id.clone())
        .or_else(|| joined.b.and_then(|r| r.local_id.clone()));
    let shopify_id = joined
        .l
        .and_then(|r| r.shopify_id)
        .or_else(|| joined.b.and_then(|r| r.shopify_id))
        .or_else(|| joined.r.and_then(|r| r.shopify_id))
        .map(|id| id.to_string());
    Target {
        kind: S::KIND,
        local_id,
        shopify_id,
    }
}

impl Builder<'_> {
    fn sides<S: Entity>(&mut self, sides: &Sides<S>) {
        let base_by_id: HashMap<Gid<S::Kind>, usize> = sides
            .base
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.shopify_id.map(|id| (id, i)))
            .collect();
        let remote_by_id: HashMap<Gid<S::Kind>, usize> = sides
            .remote
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.shopify_id.map(|id| (id, i)))
            .collect();
        let mut base_by_local: Option<HashMap<&str, usize>> = None;
        let mut base_used = vec![false; sides.base.len()];
        let mut remote_used = vec![false; sides.remote.len()];
        let mut joined: Vec<Joined<'_, S>> = Vec::with_capacity(sides.local.len());

        for l in &sides.local {
            let mut bi = l.shopify_id.and_then(|id| base_by_id.get(&id).copied());
            if bi.is_none() {
                if let Some(lid) = l.local_id.as_deref() {
                    let map = base_by_local.get_or_insert_with(|| {
                        sides
                            .base
                            .iter()
                            .enumerate()
                            .filter_map(|(i, r)| r.local_id.as_deref().map(|k| (k, i)))
                            .collect()
                    });
                    bi = map.get(lid).copied();
                }
            }
            let b = bi.map(|i| &sides.base[i]);
            if let Some(i) = bi {
                base_used[i] = true;
            }
            let id = l.shopify_id.or_else(|| b.and_then(|b| b.shopify_id));
            let ri = id.and_then(|id| remote_by_id.get(&id).copied());
            if let Some(i) = ri {
                remote_used[i] = true;
            }
            let r = ri.map(|i| &sides.remote[i]);
            match (id, b, r) {
                // Never synced, not on Shopify: a create.
                (None, None, _) => joined.push(Joined {
                    b: None,
                    l: Some(l),
                    r: None,
                    r_known: true,
                }),
                (Some(id), b, None) if !sides.remote_scope.covers(id) => {
                    if let Some(b) = b {
                        // Remote not read: compare with the base.
                        joined.push(Joined {
                            b: Some(b),
                            l: Some(l),
                            r: Some(b),
                            r_known: false,
                        });
                    } else {
                        let j = Joined {
                            b: None,
                            l: Some(l),
                            r: None,
                            r_known: false,
                        };
                        self.plan.problems.push(TargetRows {
                            target: target_of(&j),
                            rows: vec![DiffRow {
                                path: S::KIND.as_str().to_owned(),
                                field: None,
                                kind: RowKind::Error,
                                base: Value::Null,
                                local: Value::Null,
                                remote: Value::Null,
                                message: Some(format!(
                                    "{id} has no base and was not read from Shopify: read it to plan it"
                                )),
                            }],
                        });
                    }
                }
                (_, b, r) => joined.push(Joined {
                    b,
                    l: Some(l),
                    r,
                    r_known: true,
                }),
            }
        }
        for (i, b) in sides.base.iter().enumerate() {
            if base_used[i] {
                continue;
            }
            let Some(id) = b.shopify_id else { continue };
            if !sides.local_scope.covers(id) {
                continue;
            }
            let ri = remote_by_id.get(&id).copied();
            if let Some(ri) = ri {
                remote_used[ri] = true;
            }
            let (r, r_known) = match ri {
                Some(ri) => (Some(&sides.remote[ri]), true),
                None if sides.remote_scope.covers(id) => (None, true),
                None => (Some(b), false),
            };
            joined.push(Joined {
                b: Some(b),
                l: None,
                r,
                r_known,
            });
        }
        for (i, r) in sides.remote.iter().enumerate() {
            if remote_used[i] || r.shopify_id.is_some_and(|id| base_by_id.contains_key(&id)) {
                continue;
            }
            self.plan.unmanaged.push(Target {
                kind: S::KIND,
                local_id: None,
                shopify_id: r.shopify_id.map(|id| id.to_string()),
            });
        }
        let mut handles: Option<HandleIndex<'_>> = None;
        for j in &joined {
            self.entity(j, sides, &mut handles);
        }
    }

    fn entity<'s, S: Entity>(
        &mut self,
        j: &Joined<'_, S>,
        sides: &'s Sides<S>,
        handles: &mut Option<HandleIndex<'s>>,
    ) {
        let rows = S::diff3(
            j.b.map(|r| &r.snapshot),
            j.l.map(|r| &r.snapshot),
            j.r.map(|r| &r.snapshot),
            self.mask,
            &self.options,
        );
        if rows.is_empty() {
            self.plan.unchanged += 1;
            return;
        }
        let target = target_of(j);
        let create = j.b.is_none() && j.r.is_none() && j.l.is_some();
        let guard = match (j.r, j.r_known) {
            (Some(r), true) => StaleGuard {
                remote_updated_at: r.updated_at,
                remote_fingerprint: Some(r.snapshot.fingerprint_under(self.mask)),
            },
            _ => StaleGuard::default(),
        };
        let mut incoming = Vec::new();
        let mut problems = Vec::new();
        let mut groups: Vec<(Operation, Option<Field>, Vec<DiffRow>)> = Vec::new();
        let check_rejections = !self.rejections.is_empty();
        for row in rows {
            match row.kind {
                RowKind::Error => {
                    problems.push(row);
                    continue;
                }
                RowKind::Remote | RowKind::Converged => {
                    incoming.push(row);
                    continue;
                }
                RowKind::Local | RowKind::Conflict => {}
            }
            if check_rejections && self.rejections.is_rejected(&target, &row.path, &row.local) {
                continue;
            }
            let whole_entity = row.path == S::KIND.as_str();
            let (op, field, own) = if whole_entity {
                let op = if row.local.is_null() {
                    Operation::Delete
                } else {
                    Operation::Create
                };
                (op, None, false)
            } else if row.path.starts_with("collections[") {
                let op = if row.local == Value::Bool(true) {
                    Operation::AddToCollection
                } else {
                    Operation::RemoveFromCollection
                };
                (op, Some(Field::Collections), true)
            } else if create {
                (Operation::Create, None, false)
            } else if row.field.is_none() {
                let op = if row.local.is_null() {
                    Operation::DeleteVariant
                } else {
                    Operation::CreateVariant
                };
                (op, None, true)
            } else {
                (Operation::Update, row.field, false)
            };
            match groups
                .iter_mut()
                .find(|g| !own && g.0 == op && g.1 == field)
            {
                Some(g) => g.2.push(row),
                None => groups.push((op, field, vec![row])),
            }
        }
        let local_snapshot = j.l.map(|l| &l.snapshot);
        for (op, field, rows) in groups {
            let mut preflight = match local_snapshot {
                Some(l) if op != Operation::Delete => l.preflight(op, field, &rows),
                _ => Vec::new(),
            };
            if let Some(l) = local_snapshot {
                if op == Operation::Create || field == Some(Field::Handle) {
                    let index = handles.get_or_insert_with(|| HandleIndex::of(sides));
                    if let Some(other) = index.collision(l, j) {
                        preflight.push(issue(
                            PreflightCode::HandleCollision,
                            "handle",
                            &format!(
                                "the handle {:?} is also {other}'s",
                                normalize_handle(l.handle())
                            ),
                        ));
                    }
                }
            }
            let n = self.plan.changes.len() + 1;
            self.plan.changes.push(Change {
                id: self.plan.id.change(n),
                plan_id: self.plan.id.clone(),
                target: target.clone(),
                operation: op,
                field,
                rows: rows.into_iter().map(ChangeRow::from).collect(),
                guard: guard.clone(),
                priority: op.default_priority(),
                state: ChangeState::Staged,
                version: 0,
                preflight,
                result: None,
                created_at: self.at,
                updated_at: self.at,
            });
        }
        if !incoming.is_empty() {
            self.plan.incoming.push(TargetRows {
                target: target.clone(),
                rows: incoming,
            });
        }
        if !problems.is_empty() {
            self.plan.problems.push(TargetRows {
                target,
                rows: problems,
            });
        }
    }
}

/// An entity that owns a handle: (local id, numeric Shopify id).
type Owner<'a> = (Option<&'a str>, Option<u64>);

/// Normalised explicit handles of every local and remote record, to find collisions.
struct HandleIndex<'a> {
    /// handle -> up to two distinct owners (two are enough to find one that is not
    /// the entity asking).
    owners: HashMap<Cow<'a, str>, [Option<Owner<'a>>; 2]>,
}

/// Whether `h` is its own normalisation (ASCII fast path of [`normalize_handle`]).
fn is_normal_handle(h: &str) -> bool {
    let b = h.as_bytes();
    !b.is_empty()
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !h.contains("--")
}

fn normal_handle(h: &str) -> Cow<'_, str> {
    if is_normal_handle(h) {
        Cow::Borrowed(h)
    } else {
        Cow::Owned(normalize_handle(h))
    }
}

impl<'a> HandleIndex<'a> {
    fn of<S: Entity>(sides: &'a Sides<S>) -> HandleIndex<'a> {
        let mut owners: HashMap<Cow<'a, str>, [Option<Owner<'a>>; 2]> =
            HashMap::with_capacity(sides.local.len() + sides.remote.len());
        for r in sides.local.iter().chain(&sides.remote) {
            let h = normal_handle(r.snapshot.handle());
            if h.is_empty() {
                continue;
            }
            let who = (
                r.local_id.as_deref(),
                r.shopify_id.map(|id| id.numeric_id()),
            );
            let slots = owners.entry(h).or_insert([None, None]);
            match slots {
                [None, _] => slots[0] = Some(who),
                [Some(first), None] if *first != who => slots[1] = Some(who),
                _ => {}
            }
        }
        HandleIndex { owners }
    }

    /// Another entity with the same handle, named.
    fn collision<S: Entity>(&self, l: &S, j: &Joined<'_, S>) -> Option<String> {
        let h = normal_handle(l.handle());
        if h.is_empty() {
            return None;
        }
        let local_id =
            j.l.and_then(|r| r.local_id.as_deref())
                .or_else(|| j.b.and_then(|r| r.local_id.as_deref()));
        let shopify_id =
            j.l.and_then(|r| r.shopify_id)
                .or_else(|| j.b.and_then(|r| r.shopify_id))
                .map(|id| id.numeric_id());
        self.owners
            .get(&h)?
            .iter()
            .flatten()
            .find_map(|(local, shopify)| {
                let same = (shopify.is_some() && *shopify == shopify_id)
                    || (local.is_some() && *local == local_id);
                (!same).then(|| match (shopify, local) {
                    (Some(n), _) => format!("gid://shopify/{}/{n}", <S::Kind as GidKind>::NAME),
                    (None, Some(local)) => format!("local record {local}"),
                    (None, None) => "another entity".to_owned(),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> ProductSnapshot {
        serde_json::from_value(v).unwrap()
    }

    fn gid(n: u64) -> Gid<Product> {
        Gid::from_numeric_id(n).unwrap()
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_782_900_000, 0).unwrap()
    }

    fn planner() -> Planner {
        Planner::new(FieldMask::ALL).at(at()).id(PlanId::from("p"))
    }

    #[test]
    fn partial_local_sets_never_delete_and_unmanaged_stay_alone() {
        let mut input = PlanInput::default();
        for n in 1..=3 {
            input.products.base.push(Record::synced(
                format!("l{n}"),
                gid(n),
                p(json!({"title": "x"})),
            ));
            input
                .products
                .remote
                .push(Record::remote(gid(n), None, p(json!({"title": "x"}))));
        }
        input.products.remote.push(Record::remote(
            gid(9),
            None,
            p(json!({"title": "never synced"})),
        ));
        input
            .products
            .local
            .push(Record::synced("l1", gid(1), p(json!({"title": "x"}))));
        let plan = planner().plan(&input);
        assert!(plan.changes.is_empty());
        assert_eq!(plan.unmanaged.len(), 1);
        assert_eq!(
            plan.unmanaged[0].shopify_id.as_deref(),
            Some("gid://shopify/Product/9")
        );

        input.products.local_scope = Scope::Only([gid(2)].into());
        let plan = planner().plan(&input);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].operation, Operation::Delete);
        assert_eq!(plan.changes[0].target.local_id.as_deref(), Some("l2"));

        input.products.local_scope = Scope::All;
        let plan = planner().plan(&input);
        assert_eq!(plan.summary().by_operation[&Operation::Delete], 2);
        assert_eq!(plan.summary().unmanaged, 1);
    }

    #[test]
    fn rows_become_changes_by_operation_and_field() {
        let v1 = "gid://shopify/ProductVariant/1";
        let v2 = "gid://shopify/ProductVariant/2";
        let c1 = "gid://shopify/Collection/1";
        let base = p(json!({"title": "a", "vendor": "v", "collections": [c1],
            "variants": [{"id": v1, "price": "1"}, {"id": v2, "price": "2"}]}));
        let local = p(json!({"title": "b", "vendor": "v", "collections": [],
            "variants": [{"id": v1, "price": "-1"}, {"sku": "N", "price": "3"}]}));
        let remote = p(json!({"title": "a", "vendor": "w", "collections": [c1],
            "variants": [{"id": v1, "price": "1"}, {"id": v2, "price": "2"}]}));
        let mut input = PlanInput::default();
        input.products.base.push(Record::synced("l", gid(1), base));
        input
            .products
            .local
            .push(Record::synced("l", gid(1), local));
        input
            .products
            .remote
            .push(Record::remote(gid(1), None, remote));
        let plan = planner().plan(&input);
        let ops: Vec<(Operation, Option<Field>)> = plan
            .changes
            .iter()
            .map(|c| (c.operation, c.field))
            .collect();
        assert_eq!(
            ops,
            [
                (Operation::Update, Some(Field::Title)),
                (Operation::RemoveFromCollection, Some(Field::Collections)),
                (Operation::Update, Some(Field::VariantPrice)),
                (Operation::DeleteVariant, None),
                (Operation::CreateVariant, None),
            ]
        );
        assert_eq!(
            plan.changes[2].preflight[0].code,
            PreflightCode::NegativePrice
        );
        assert_eq!(plan.incoming[0].rows[0].path, "vendor");
        assert!(plan.changes[0].guard.remote_fingerprint.is_some());
    }

    #[test]
    fn preflight_flags_creates() {
        let mut input = PlanInput::default();
        let tags: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
        input.products.local.push(Record::new_local(
            "a",
            p(json!({"title": " ", "handle": "Same Handle", "tags": tags,
                "options": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]})),
        ));
        input.products.local.push(Record::new_local(
            "b",
            p(json!({"title": "B", "handle": "same-handle"})),
        ));
        let plan = planner().plan(&input);
        let codes: Vec<PreflightCode> = plan.changes[0].preflight.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [
                PreflightCode::TooManyOptions,
                PreflightCode::BlankTitle,
                PreflightCode::ListTooLong,
                PreflightCode::HandleCollision
            ]
        );
        assert_eq!(
            plan.changes[1].preflight[0].code,
            PreflightCode::HandleCollision
        );
        assert_eq!(plan.summary().flagged, 2);
    }

    #[test]
    fn plan_files_refuse_newer_and_damaged_content() {
        let mut input = PlanInput::default();
        input
            .products
            .local
            .push(Record::new_local("a", p(json!({"title": "A"}))));
        let plan = planner().plan(&input);
        let text = plan.to_file_json().unwrap();
        assert_eq!(Plan::from_file_json(&text).unwrap(), plan);
        let newer = text.replace("\"version\": 1", "\"version\": 2");
        let e = Plan::from_file_json(&newer).unwrap_err();
        assert!(e.to_string().contains("newer version"), "{e}");
        for bad in [
            text[..text.len() / 2].to_owned(),
            text.replace("\"A\"", "\"B\""),
            text.replace("shopify-sync-plan", "other"),
            text.replace("\"staged\"", "\"approvedd\""),
            String::new(),
            "[]".to_owned(),
        ] {
            let e = Plan::from_file_json(&bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
            assert!(e.to_string().starts_with("plan file refused"), "{e}");
        }
    }
}
