//! The simulator's `requestedQueryCost` over real HTTP, against every cost real Shopify
//! reported in the captures: at least 95% exact, and every miss explained.
use serde_json::{json, Value};
use shopify_sync::client::cost::requested_cost_of_text;
use shopify_sync::schema::{admin_schema, SchemaVersion};
use shopify_sync_sim::captures::{captures_dir, requests_with_cost};
use shopify_sync_sim::{SimConfig, Simulator};

#[tokio::test]
async fn requested_costs_over_http_match_real_shopify() {
    let requests = requests_with_cost(&captures_dir()).unwrap();
    assert!(
        requests.len() >= 400,
        "only {} captured requests found",
        requests.len()
    );
    let sim = Simulator::start(SimConfig {
        bucket_size: 1e9,
        restore_rate: 1e9,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let mut misses = vec![];
    for r in &requests {
        let mut got = None;
        // The captures are from 2025-01, served by the 2025-10 schema; a few documents
        // only validate against 2026-07.
        for version in ["2025-01", "2026-07"] {
            let body = json!({"query": r.document, "variables": r.variables, "operationName": r.operation_name});
            let resp: Value = http
                .post(sim.graphql_url(version))
                .header("X-Shopify-Access-Token", sim.access_token())
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(c) = resp
                .pointer("/extensions/cost/requestedQueryCost")
                .and_then(Value::as_u64)
            {
                got = Some(c);
                break;
            }
        }
        if got != Some(r.requested_cost) {
            // The server adds nothing to the estimator: every miss over HTTP must be the
            // estimator's own (explained in shopify-sync-core/tests/cost_captures.rs).
            let estimate = SchemaVersion::ALL.iter().find_map(|v| {
                requested_cost_of_text(
                    admin_schema(*v),
                    &r.document,
                    r.operation_name.as_deref(),
                    &r.variables,
                )
                .ok()
            });
            misses.push((
                r.file.clone(),
                r.pointer.clone(),
                r.requested_cost,
                got,
                estimate.map(u64::from),
            ));
        }
    }
    let exact = requests.len() - misses.len();
    println!(
        "requested cost over HTTP: {exact}/{} exact ({:.1}%)",
        requests.len(),
        exact as f64 * 100.0 / requests.len() as f64
    );
    for (file, pointer, want, got, estimate) in &misses {
        println!(
            "  miss {file} {pointer}: Shopify {want}, simulator {got:?}, estimator {estimate:?}"
        );
    }
    assert!(
        exact * 100 >= 95 * requests.len(),
        "{exact}/{} is below 95%",
        requests.len()
    );
    for (file, pointer, _, got, estimate) in &misses {
        assert_eq!(
            got, estimate,
            "{file} {pointer}: the simulator and the estimator disagree"
        );
    }
}
