//! The audit trail: an append-only record of every transition, resolution and apply
//! result (who, when, before and after), queryable by product, by change and by time
//! range, exportable as JSONL.
//!
//! This module owns the entry's shape and the query semantics; [`AuditLog`] is the
//! in-memory trail, the change stores keep the same entries durably. It must not touch
//! the clock (entries carry the time of their [`Review`]) or the network.
//!
//! ```
//! use shopify_sync::staging::{AuditAction, AuditEntry, AuditLog, AuditQuery, Review};
//! use serde_json::json;
//!
//! let by = Review::new("ana", "2026-07-01T10:00:00Z".parse().unwrap());
//! let mut log = AuditLog::new();
//! let mut entry = AuditEntry::new(AuditAction::Approved, &by);
//! entry.before = json!({"state": "staged"});
//! entry.after = json!({"state": "approved"});
//! assert_eq!(log.append(entry), 1);
//!
//! let since = "2026-07-01T00:00:00Z".parse().unwrap();
//! let found = log.query(&AuditQuery::default().since(since));
//! assert_eq!(found.len(), 1);
//! let jsonl = shopify_sync::staging::audit_jsonl(found);
//! assert!(jsonl.starts_with(r#"{"seq":1,"at":"2026-07-01T10:00:00Z","actor":"ana","action":"approved""#));
//! ```

use super::change::{Change, ChangeId, ChangeState, PlanId, Review, Target};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// What an audit entry records (JSON: the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A change was planned (staged).
    Planned,
    /// A change was approved.
    Approved,
    /// A change was rejected.
    Rejected,
    /// A conflict was resolved.
    Resolved,
    /// An apply started.
    Applying,
    /// An apply wrote the change.
    Applied,
    /// An apply failed.
    Failed,
    /// An apply found the change stale.
    Stale,
    /// A failed or stale change went back to review.
    ReturnedToReview,
    /// A newer plan of the target superseded the change.
    Superseded,
}

impl AuditAction {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Planned => "planned",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::Resolved => "resolved",
            AuditAction::Applying => "applying",
            AuditAction::Applied => "applied",
            AuditAction::Failed => "failed",
            AuditAction::Stale => "stale",
            AuditAction::ReturnedToReview => "returned_to_review",
            AuditAction::Superseded => "superseded",
        }
    }

    /// The action of a transition into `state`.
    pub fn for_state(state: ChangeState) -> AuditAction {
        match state {
            ChangeState::Staged => AuditAction::Planned,
            ChangeState::Approved => AuditAction::Approved,
            ChangeState::Rejected => AuditAction::Rejected,
            ChangeState::Applying => AuditAction::Applying,
            ChangeState::Applied => AuditAction::Applied,
            ChangeState::Failed => AuditAction::Failed,
            ChangeState::Stale => AuditAction::Stale,
            ChangeState::Superseded => AuditAction::Superseded,
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit trail.
///
/// JSON (one line of the JSONL export): `{"seq": 7, "at": "...", "actor": "ana",
/// "action": "approved", "change_id": "...", "plan_id": "...", "target": {...},
/// "before": {"state": "staged"}, "after": {"state": "approved"}, "comment": null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Its position in the trail, from 1; 0 until appended.
    #[serde(default)]
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The change, when the entry is about one.
    #[serde(default)]
    pub change_id: Option<ChangeId>,
    /// The plan.
    #[serde(default)]
    pub plan_id: Option<PlanId>,
    /// The entity.
    #[serde(default)]
    pub target: Option<Target>,
    /// The state (or resolution) before.
    #[serde(default)]
    pub before: Value,
    /// The state (or resolution, or apply result) after.
    #[serde(default)]
    pub after: Value,
    /// The reviewer's comment.
    #[serde(default)]
    pub comment: Option<String>,
}

impl AuditEntry {
    /// An entry with no change, no values.
    pub fn new(action: AuditAction, by: &Review) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at: by.at,
            actor: by.actor.clone(),
            action,
            change_id: None,
            plan_id: None,
            target: None,
            before: Value::Null,
            after: Value::Null,
            comment: by.comment.clone(),
        }
    }

    /// An entry about `change`.
    pub fn for_change(
        change: &Change,
        action: AuditAction,
        by: &Review,
        before: Value,
        after: Value,
    ) -> AuditEntry {
        AuditEntry {
            change_id: Some(change.id.clone()),
            plan_id: Some(change.plan_id.clone()),
            target: Some(change.target.clone()),
            before,
            after,
            ..AuditEntry::new(action, by)
        }
    }
}

/// Which entries to read: every condition set must hold. The default reads all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries about this change.
    pub change_id: Option<ChangeId>,
    /// Entries of this plan.
    pub plan_id: Option<PlanId>,
    /// Entries about this entity: its Shopify gid or its local id.
    pub target: Option<String>,
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// With `seq` above this (for paging or tailing).
    pub after_seq: Option<u64>,
    /// At most this many (the first ones, in `seq` order).
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// Entries about this change.
    #[must_use]
    pub fn change(mut self, id: &ChangeId) -> AuditQuery {
        self.change_id = Some(id.clone());
        self
    }

    /// Entries about this entity (Shopify gid or local id).
    #[must_use]
    pub fn target(mut self, id: impl Into<String>) -> AuditQuery {
        self.target = Some(id.into());
        self
    }

    /// At or after `at`.
    #[must_use]
    pub fn since(mut self, at: DateTime<Utc>) -> AuditQuery {
        self.since = Some(at);
        self
    }

    /// Before `at`.
    #[must_use]
    pub fn until(mut self, at: DateTime<Utc>) -> AuditQuery {
        self.until = Some(at);
        self
    }

    /// Whether `entry` is selected (ignoring `limit`).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.change_id
            .as_ref()
            .is_none_or(|id| entry.change_id.as_ref() == Some(id))
            && self
                .plan_id
                .as_ref()
                .is_none_or(|id| entry.plan_id.as_ref() == Some(id))
            && self
                .target
                .as_deref()
                .is_none_or(|id| entry.target.as_ref().is_some_and(|t| t.is(id)))
            && self.since.is_none_or(|t| entry.at >= t)
            && self.until.is_none_or(|t| entry.at < t)
            && self.after_seq.is_none_or(|s| entry.seq > s)
    }
}

/// The audit trail in memory: append-only (there is no way to change or remove an
/// entry).
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
}

impl AuditLog {
    /// An empty trail.
    pub fn new() -> AuditLog {
        AuditLog::default()
    }

    /// Append an entry; returns its `seq` (from 1).
    pub fn append(&mut self, mut entry: AuditEntry) -> u64 {
        entry.seq = self.entries.len() as u64 + 1;
        let seq = entry.seq;
        self.entries.push(entry);
        seq
    }

    /// Append entries in order.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = AuditEntry>) {
        for e in entries {
            self.append(e);
        }
    }

    /// The entries a query selects, in `seq` order.
    pub fn query(&self, q: &AuditQuery) -> Vec<&AuditEntry> {
        self.entries
            .iter()
            .filter(|e| q.matches(e))
            .take(q.limit.unwrap_or(usize::MAX))
            .collect()
    }

    /// Every entry, in `seq` order.
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Entries as JSONL: one JSON object per line, each line ending in `\n`.
pub fn audit_jsonl<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> String {
    let mut out = String::new();
    for e in entries {
        // An entry holds only strings, numbers and JSON values: it always serializes.
        if let Ok(line) = serde_json::to_string(e) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
