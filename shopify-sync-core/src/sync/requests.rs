//! Your own GraphQL documents as executor jobs: the same priority queue, worker pool,
//! shared cost budget, retries, cancellation and events as the engine's writes, for the
//! requests the engine does not make (metafields, inventory, anything the Admin API has).
//!
//! A [`GraphqlJob`] ([`graphql_job`]) is validated and costed when it is built, so a
//! bad document fails before it is queued. It succeeds with the response stored in its
//! [`GraphqlResults`] under its job id; a payload with `userErrors` fails the job (kind `user_errors`, not
//! retried: Shopify refused it). Mutations keep the client's rule: one whose outcome is
//! unknown is retried only when it is idempotent, otherwise the job fails with effect
//! `unknown` (read the remote state before running it again).
//!
//! ```no_run
//! # async fn demo() -> shopify_sync::error::Result<()> {
//! use serde_json::json;
//! use shopify_sync::client::ShopifyClient;
//! use shopify_sync::executor::{Executor, Priority};
//! use shopify_sync::sync::requests::{graphql_job, GraphqlResults};
//!
//! const TAGS: &str = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }";
//! let client = ShopifyClient::from_env()?;
//! let results = GraphqlResults::default();
//! let executor = Executor::for_client(&client).start()?;
//! let mut ids = vec![];
//! for n in 1..=3 {
//!     let vars = json!({"id": format!("gid://shopify/Product/{n}"), "tags": ["sale"]});
//!     let job = graphql_job(&client, TAGS, vars, &results)?.with_priority(Priority::HIGH);
//!     ids.push(executor.submit(job).await?.id());
//! }
//! let report = executor.finish().await?;
//! for id in ids {
//!     match results.take(id) {
//!         Some(response) => println!("job {}: {}", id.get(), response.data),
//!         None => println!("job {} did not succeed", id.get()),
//!     }
//! }
//! println!("{} failed", report.failed().len());
//! # Ok(()) }
//! ```

use crate::client::bulk::user_errors_error;
use crate::client::{GraphqlResponse, ShopifyClient};
use crate::error::{Error, Result, UserError};
use crate::executor::{job_fn, FnJob, JobContext, JobId};
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Where [`GraphqlJob`]s leave their responses, by job id. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct GraphqlResults(Arc<Mutex<BTreeMap<JobId, GraphqlResponse>>>);

impl GraphqlResults {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<JobId, GraphqlResponse>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the response of a succeeded job (`None`: not succeeded, or taken already).
    pub fn take(&self, id: JobId) -> Option<GraphqlResponse> {
        self.lock().remove(&id)
    }

    /// Take every response stored so far, in job id order.
    pub fn take_all(&self) -> BTreeMap<JobId, GraphqlResponse> {
        std::mem::take(&mut *self.lock())
    }

    /// How many responses are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// What a [`GraphqlJob`] runs.
pub type GraphqlRun = Box<dyn Fn(JobContext) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// One GraphQL document with its variables, run by the executor (see the module doc):
/// a [`FnJob`], so [`with_priority`](FnJob::with_priority), [`with_key`](FnJob::with_key)
/// and [`with_retry`](FnJob::with_retry) set the rest. Built by [`graphql_job`].
pub type GraphqlJob = FnJob<GraphqlRun>;

/// A job sending `document` with `variables` (a JSON object or null) through `client`,
/// its response going to `results`. The document is validated and its requested cost
/// estimated now: an invalid one (or variables that are not an object) is an
/// `invalid_input` error, one over Shopify's single-query limit `cost_exceeded`.
pub fn graphql_job(
    client: &ShopifyClient,
    document: impl Into<Arc<str>>,
    variables: Value,
    results: &GraphqlResults,
) -> Result<GraphqlJob> {
    if !(variables.is_object() || variables.is_null()) {
        return Err(Error::invalid_input(
            "GraphQL variables must be a JSON object or null",
        ));
    }
    let document: Arc<str> = document.into();
    let cost = client.checked_cost(&document, &variables)?;
    let (client, results) = (client.clone(), results.clone());
    let run: GraphqlRun = Box::new(move |ctx: JobContext| {
        let (client, document, variables, results) = (
            client.clone(),
            document.clone(),
            variables.clone(),
            results.clone(),
        );
        Box::pin(async move {
            let response = client.graphql(&document, variables).await?;
            if let Some((field, errors)) = refused(&response.data) {
                return Err(
                    user_errors_error(&field, errors).with_request_id(response.request_id.clone())
                );
            }
            results.lock().insert(ctx.job_id(), response);
            Ok(())
        })
    });
    Ok(job_fn(cost, run))
}

/// The first root field whose payload carries non-empty `userErrors`.
fn refused(data: &Value) -> Option<(String, Vec<UserError>)> {
    data.as_object()?.iter().find_map(|(field, payload)| {
        let errors: Vec<UserError> = payload
            .get("userErrors")?
            .as_array()?
            .iter()
            .filter_map(|e| serde_json::from_value(e.clone()).ok())
            .collect();
        (!errors.is_empty()).then(|| (field.clone(), errors))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_finds_the_payload_with_user_errors() {
        let data = json!({
            "a": {"userErrors": []},
            "b": {"userErrors": [{"field": ["id"], "message": "gone"}]}
        });
        let (field, errors) = refused(&data).unwrap();
        assert_eq!(field, "b");
        assert_eq!(errors[0].message, "gone");
        assert!(refused(&json!({"a": {"userErrors": []}})).is_none());
        assert!(refused(&json!({"products": {"nodes": []}})).is_none());
        assert!(refused(&Value::Null).is_none());
    }
}
