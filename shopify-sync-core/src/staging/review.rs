//! Review: approve or reject one change or many by filter, resolve conflicts, and
//! remember rejected proposals so that they are not proposed again.
//!
//! This module owns the review rules on top of the state machine of
//! [`change`](super::change): which changes a filter selects, what a bulk action does
//! with a change it cannot act on (it skips it and says why), and how a rejection is
//! remembered. It is pure; the change stores run the same functions inside their
//! transactions.
//!
//! ```
//! use shopify_sync::model::Gid;
//! use shopify_sync::staging::{ChangeFilter, ChangeState, Field, FieldMask, PlanInput, Planner, ProductSnapshot, Record, Review};
//!
//! let snap = |json: &str| serde_json::from_str::<ProductSnapshot>(json).unwrap();
//! let id = Gid::from_numeric_id(1)?;
//! let mut input = PlanInput::default();
//! input.products.base.push(Record::synced("a", id, snap(r#"{"title": "Tee", "vendor": "A"}"#)));
//! input.products.remote.push(Record::remote(id, None, snap(r#"{"title": "Tee", "vendor": "A"}"#)));
//! input.products.local.push(Record::synced("a", id, snap(r#"{"title": "Tee!", "vendor": "B"}"#)));
//! let mut plan = Planner::new(FieldMask::ALL).plan(&input);
//!
//! let by = Review::now("ana").with_comment("titles are fine");
//! let report = plan.approve(&ChangeFilter::default().field(Field::Title), &by);
//! assert_eq!(report.changed.len(), 1);
//! let report = plan.reject(&ChangeFilter::default(), &Review::now("ana"));
//! assert_eq!(report.changed.len(), 1); // the vendor change: the title one is approved
//! assert_eq!(plan.summary().by_state[&ChangeState::Rejected], 1);
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```

use super::audit::AuditEntry;
use super::change::{Change, ChangeId, ChangeState, Operation, PlanId, Review, Take, Target};
use super::mask::Field;
use super::plan::Plan;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Which changes an action or a query selects: every condition set must hold. The
/// default selects every change. JSON: the same keys, snake_case values.
///
/// ```
/// use shopify_sync::staging::{ChangeFilter, Operation};
/// let f = ChangeFilter::default().operation(Operation::Update).target("gid://shopify/Product/1");
/// assert_eq!(serde_json::to_value(&f).unwrap()["operations"][0], "update");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeFilter {
    /// Changes of this plan.
    pub plan_id: Option<PlanId>,
    /// These changes.
    pub change_ids: Option<Vec<ChangeId>>,
    /// Changes with one of these operations.
    pub operations: Option<Vec<Operation>>,
    /// Changes about one of these entities (Shopify gid or local id).
    pub targets: Option<Vec<String>>,
    /// Changes of one of these fields (`update` changes, and `collections` for
    /// memberships).
    pub fields: Option<Vec<Field>>,
    /// Changes in one of these states.
    pub states: Option<Vec<ChangeState>>,
}

impl ChangeFilter {
    /// Changes of this plan.
    #[must_use]
    pub fn plan(mut self, id: &PlanId) -> ChangeFilter {
        self.plan_id = Some(id.clone());
        self
    }

    /// This change (added to those already named).
    #[must_use]
    pub fn change(mut self, id: &ChangeId) -> ChangeFilter {
        self.change_ids
            .get_or_insert_with(Vec::new)
            .push(id.clone());
        self
    }

    /// Changes with this operation (added to those already named).
    #[must_use]
    pub fn operation(mut self, op: Operation) -> ChangeFilter {
        self.operations.get_or_insert_with(Vec::new).push(op);
        self
    }

    /// Changes about this entity, by Shopify gid or local id (added to those named).
    #[must_use]
    pub fn target(mut self, id: impl Into<String>) -> ChangeFilter {
        self.targets.get_or_insert_with(Vec::new).push(id.into());
        self
    }

    /// Changes of this field (added to those already named).
    #[must_use]
    pub fn field(mut self, field: Field) -> ChangeFilter {
        self.fields.get_or_insert_with(Vec::new).push(field);
        self
    }

    /// Changes in this state (added to those already named).
    #[must_use]
    pub fn state(mut self, state: ChangeState) -> ChangeFilter {
        self.states.get_or_insert_with(Vec::new).push(state);
        self
    }

    /// Whether `change` is selected.
    pub fn matches(&self, change: &Change) -> bool {
        self.plan_id.as_ref().is_none_or(|p| *p == change.plan_id)
            && self
                .change_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&change.id))
            && self
                .operations
                .as_ref()
                .is_none_or(|ops| ops.contains(&change.operation))
            && self
                .targets
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| change.target.is(id)))
            && self
                .fields
                .as_ref()
                .is_none_or(|fs| change.field.is_some_and(|f| fs.contains(&f)))
            && self
                .states
                .as_ref()
                .is_none_or(|ss| ss.contains(&change.state))
    }
}

/// A change a bulk action did not act on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedChange {
    /// The change.
    pub change_id: ChangeId,
    /// Why (an unresolved conflict, a preflight issue ...).
    pub reason: String,
}

/// What a review action did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewReport {
    /// The changes it moved.
    pub changed: Vec<ChangeId>,
    /// The selected `staged` changes it could not move.
    pub skipped: Vec<SkippedChange>,
    /// The audit entries it produced, in order.
    pub audit: Vec<AuditEntry>,
}

/// A review action over many changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// `staged -> approved`.
    Approve,
    /// `staged -> rejected` (and remember the rejection).
    Reject,
}

impl ReviewAction {
    /// The state the action moves changes to.
    pub fn state(self) -> ChangeState {
        match self {
            ReviewAction::Approve => ChangeState::Approved,
            ReviewAction::Reject => ChangeState::Rejected,
        }
    }
}

/// Apply `action` to the selected changes that are `staged`; the others are not
/// touched. Changes that cannot move (conflicts, preflight) are skipped and reported.
pub fn review_changes<'a>(
    changes: impl IntoIterator<Item = &'a mut Change>,
    filter: &ChangeFilter,
    action: ReviewAction,
    by: &Review,
) -> ReviewReport {
    let mut report = ReviewReport::default();
    for c in changes {
        if c.state != ChangeState::Staged || !filter.matches(c) {
            continue;
        }
        match c.transition(action.state(), by) {
            Ok(entry) => {
                report.changed.push(c.id.clone());
                report.audit.push(entry);
            }
            Err(e) => report.skipped.push(SkippedChange {
                change_id: c.id.clone(),
                reason: e.to_string(),
            }),
        }
    }
    report
}

impl Plan {
    /// Approve the selected `staged` changes (see [`review_changes`]).
    pub fn approve(&mut self, filter: &ChangeFilter, by: &Review) -> ReviewReport {
        review_changes(&mut self.changes, filter, ReviewAction::Approve, by)
    }

    /// Reject the selected `staged` changes. Remember them with
    /// [`Rejections::remember`] so that they are not proposed again.
    pub fn reject(&mut self, filter: &ChangeFilter, by: &Review) -> ReviewReport {
        review_changes(&mut self.changes, filter, ReviewAction::Reject, by)
    }

    /// Resolve conflicts of one change (see [`Change::resolve`]).
    pub fn resolve(
        &mut self,
        id: &ChangeId,
        path: Option<&str>,
        take: Take,
        value: Option<Value>,
        by: &Review,
    ) -> Result<AuditEntry> {
        self.change_mut(id)?.resolve(path, take, value, by)
    }

    /// Move one change (see [`Change::transition`]).
    pub fn transition(
        &mut self,
        id: &ChangeId,
        to: ChangeState,
        by: &Review,
    ) -> Result<AuditEntry> {
        self.change_mut(id)?.transition(to, by)
    }

    fn change_mut(&mut self, id: &ChangeId) -> Result<&mut Change> {
        self.changes
            .iter_mut()
            .find(|c| &c.id == id)
            .ok_or_else(|| Error::invalid_input(format!("no change {id} in plan {}", self.id)))
    }
}

/// One remembered rejection: a target key (`product:gid://...` or
/// `product:local:42`), a path and the rejected local value (compact JSON).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rejection {
    /// The target key (see [`Target::keys`]).
    pub target: String,
    /// The row's path.
    pub path: String,
    /// The rejected value, as compact JSON.
    pub value: String,
}

/// Rejected proposals, remembered per (target, path, value): the planner does not
/// propose the same value for the same path of the same target again. A different
/// local value is a new proposal.
///
/// ```
/// use serde_json::json;
/// use shopify_sync::staging::{Rejections, Target, TargetKind};
/// let target = Target { kind: TargetKind::Product, local_id: Some("42".into()), shopify_id: None };
/// let mut r = Rejections::default();
/// r.insert_row(&target, "title", &json!("Tee!"));
/// assert!(r.is_rejected(&target, "title", &json!("Tee!")));
/// assert!(!r.is_rejected(&target, "title", &json!("Tee?")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    set: HashSet<Rejection>,
}

impl Rejections {
    /// Remember every row of a rejected change.
    pub fn remember(&mut self, change: &Change) {
        for row in &change.rows {
            self.insert_row(&change.target, &row.path, &row.local);
        }
    }

    /// The rejections a change's rows make, one per target key and row.
    pub fn of_change(change: &Change) -> Vec<Rejection> {
        let mut out = Vec::new();
        for key in change.target.keys() {
            for row in &change.rows {
                out.push(Rejection {
                    target: key.clone(),
                    path: row.path.clone(),
                    value: row.local.to_string(),
                });
            }
        }
        out
    }

    /// Remember one rejected (target, path, value).
    pub fn insert_row(&mut self, target: &Target, path: &str, value: &Value) {
        let value = value.to_string();
        for key in target.keys() {
            self.set.insert(Rejection {
                target: key,
                path: path.to_owned(),
                value: value.clone(),
            });
        }
    }

    /// Remember one rejection.
    pub fn insert(&mut self, rejection: Rejection) {
        self.set.insert(rejection);
    }

    /// Whether this value for this path of this target was rejected.
    pub fn is_rejected(&self, target: &Target, path: &str, value: &Value) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let value = value.to_string();
        target.keys().any(|key| {
            self.set.contains(&Rejection {
                target: key,
                path: path.to_owned(),
                value: value.clone(),
            })
        })
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Every rejection, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &Rejection> {
        let mut all: Vec<&Rejection> = self.set.iter().collect();
        all.sort();
        all.into_iter()
    }
}

impl FromIterator<Rejection> for Rejections {
    fn from_iter<I: IntoIterator<Item = Rejection>>(iter: I) -> Rejections {
        Rejections {
            set: iter.into_iter().collect(),
        }
    }
}
