//! Your own GraphQL documents through the executor, against the simulator over HTTP.

mod support;

use serde_json::json;
use shopify_sync::error::ErrorKind;
use shopify_sync::executor::{Effect, Executor, ExecutorConfig, Priority, RetryPolicy};
use shopify_sync::sync::requests::{graphql_job, GraphqlResults};

const TAGS: &str = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }";
const TITLE: &str = "query P($id: ID!) { product(id: $id) { title tags } }";

#[tokio::test]
async fn jobs_leave_their_responses_and_refusals_fail_them() {
    let sim = support::sim(5, 0).await;
    let client = support::client(&sim);
    let results = GraphqlResults::default();
    let executor = Executor::for_client(&client)
        .config(ExecutorConfig::default())
        .start()
        .unwrap();
    let ids = client
        .graphql("query { products(first: 5) { nodes { id } } }", json!(null))
        .await
        .unwrap();
    let ids: Vec<String> = ids.data["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);
    let mut tagged = vec![];
    for gid in ids {
        let vars = json!({"id": gid, "tags": ["sale"]});
        let job = graphql_job(&client, TAGS, vars, &results)
            .unwrap()
            .with_priority(Priority::HIGH)
            .with_key(format!("tags:{gid}"));
        tagged.push((gid, executor.submit(job).await.unwrap().id()));
    }
    let missing = json!({"id": "gid://shopify/Product/999999", "tags": ["sale"]});
    let refused = graphql_job(&client, TAGS, missing, &results)
        .unwrap()
        .with_retry(RetryPolicy::none());
    let refused = executor.submit(refused).await.unwrap().id();
    let report = executor.finish().await.unwrap();

    assert_eq!(report.summary().succeeded(), 5);
    assert_eq!(report.failed().len(), 1);
    let failure = &report.failed()[0];
    assert_eq!(failure.id(), refused);
    assert_eq!(failure.effect(), Effect::NotDone);
    let error = failure.error().unwrap();
    assert_eq!(error.kind(), ErrorKind::UserErrors);
    assert_eq!(error.user_errors()[0].message, "Resource does not exist");
    assert!(results.take(refused).is_none());

    assert_eq!(results.len(), 5);
    for (gid, id) in tagged {
        let response = results.take(id).expect("a response per succeeded job");
        assert_eq!(response.data["tagsAdd"]["node"]["id"], gid);
        let read = client.graphql(TITLE, json!({"id": gid})).await.unwrap();
        let tags = read.data["product"]["tags"].as_array().unwrap();
        assert!(tags.contains(&json!("sale")), "{gid} tagged: {tags:?}");
    }
    assert!(results.is_empty());
}

#[tokio::test]
async fn a_bad_document_is_refused_before_it_is_queued() {
    let sim = support::sim(1, 0).await;
    let client = support::client(&sim);
    let results = GraphqlResults::default();
    let err = graphql_job(&client, "query { nope }", json!({}), &results).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err =
        graphql_job(&client, TITLE, json!(["gid://shopify/Product/1"]), &results).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("object"), "{err}");
    let mut config = client.config().clone();
    config.throttle.max_query_cost = 5;
    let frugal = shopify_sync::client::ShopifyClient::new(config).unwrap();
    let page = "query { products(first: 50) { nodes { id } } }";
    let err = graphql_job(&frugal, page, json!(null), &results).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CostExceeded);
    assert!(graphql_job(&client, page, json!(null), &results).is_ok());
    let ok = graphql_job(
        &client,
        TITLE,
        json!({"id": "gid://shopify/Product/1"}),
        &results,
    );
    assert!(ok.is_ok());
}
