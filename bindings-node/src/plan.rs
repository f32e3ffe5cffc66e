//! Plans as data: `engine.plan()` and `store.plan(id)` resolve with a plan in its JSON
//! shape (a plain object), so its review helpers are functions over that shape, each
//! the core's: the summary, the side-by-side review rows, and plan files (the core's
//! format, with its refusals).
use crate::convert::Input;
use crate::errors::{guard, Json, Settled};
use napi_derive::napi;
use shopify_sync::staging::{Plan, PlanSummary};

/// Counts for a review screen's header: changes (in all, by operation, by state), those
/// with an unresolved conflict, those flagged by preflight checks, and the targets
/// with incoming rows, problems, unmanaged or unchanged.
#[napi(ts_args_type = "plan: Plan", ts_return_type = "PlanSummary")]
pub fn plan_summary(plan: Input<Plan>) -> Settled<Json<PlanSummary>> {
    guard(|| Ok(Json(plan.get("plan")?.summary())))
}

/// Every row of every change side by side, in plan order: the rows of a review table
/// (`change_id`, `target`, `operation`, `state`, `path`, `field`, `kind`, `base`,
/// `local`, `remote`, `resolution`).
#[napi(ts_args_type = "plan: Plan", ts_return_type = "ReviewRow[]")]
pub fn plan_review_rows(plan: Input<Plan>) -> Settled<Json<serde_json::Value>> {
    guard(|| {
        let plan = plan.get("plan")?;
        let rows = serde_json::to_value(plan.review_rows())
            .map_err(|e| crate::errors::invalid("review rows", e))?;
        Ok(Json(rows))
    })
}

/// The plan file's text: `{ format: "shopify-sync-plan", version, digest, plan }` (the
/// SHA-256 digest detects a damaged or edited file).
#[napi(ts_args_type = "plan: Plan", ts_return_type = "string")]
pub fn plan_to_file_json(plan: Input<Plan>) -> Settled<String> {
    guard(|| Ok(plan.get("plan")?.to_file_json()?))
}

/// Read a plan file's text. Throws `SHOPIFY_INVALID_INPUT` saying why it is refused:
/// not JSON, not a plan file, written by a newer version, a shape that does not decode
/// (with `jsonPath`), or a digest that does not match (damaged or edited).
#[napi(ts_return_type = "Plan")]
pub fn plan_from_file_json(text: String) -> Settled<Json<Plan>> {
    guard(|| Ok(Json(Plan::from_file_json(&text)?)))
}

/// Write the plan file at `path` (a temporary file beside it, then a rename: a crash
/// never leaves half a plan).
#[napi(ts_args_type = "plan: Plan, path: string", ts_return_type = "void")]
pub fn write_plan_file(plan: Input<Plan>, path: String) -> Settled<()> {
    guard(|| Ok(plan.get("plan")?.write_file(path)?))
}

/// Read the plan file at `path` (refusals as `planFromFileJson`).
#[napi(ts_return_type = "Plan")]
pub fn read_plan_file(path: String) -> Settled<Json<Plan>> {
    guard(|| Ok(Json(Plan::read_file(path)?)))
}
