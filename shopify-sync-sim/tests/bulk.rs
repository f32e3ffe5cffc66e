//! Bulk operations over raw HTTP: query and mutation lifecycles, the JSONL they write
//! (grouped and not), the per-version concurrency limits, cancelation, a failure
//! midway with partial data, expiry, staged uploads, and the storage endpoints' signed,
//! token-free access.
use serde_json::{json, Value};
use shopify_sync_sim::bulk::BulkErrorCode;
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const FIELDS: &str = "id status type errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query";

fn config(products: usize, rows_per_second: f64) -> SimConfig {
    SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections: 6,
            ..CatalogSpec::default()
        }),
        bulk_rows_per_second: rows_per_second,
        ..SimConfig::default()
    }
}

async fn gql_at(sim: &Simulator, version: &str, query: &str, variables: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(sim.graphql_url(version))
        .header("X-Shopify-Access-Token", sim.access_token())
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

async fn gql(sim: &Simulator, query: &str, variables: Value) -> Value {
    gql_at(sim, "2026-07", query, variables).await
}

async fn run_query_at(sim: &Simulator, version: &str, query: &str, group: bool) -> Value {
    let doc = format!(
        "mutation($q: String!, $g: Boolean!) {{ bulkOperationRunQuery(query: $q, groupObjects: $g) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message code }} }} }}"
    );
    gql_at(sim, version, &doc, json!({"q": query, "g": group})).await["bulkOperationRunQuery"]
        .clone()
}

async fn operation(sim: &Simulator, id: &Value) -> Value {
    let doc =
        format!("query($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {FIELDS} }} }} }}");
    gql(sim, &doc, json!({ "id": id })).await["node"].clone()
}

/// Poll until the operation leaves CREATED / RUNNING / CANCELING; returns every state seen.
async fn wait(sim: &Simulator, id: &Value) -> Vec<Value> {
    let started = Instant::now();
    let mut seen = vec![];
    loop {
        let op = operation(sim, id).await;
        let status = op["status"].as_str().unwrap().to_string();
        seen.push(op);
        if !["CREATED", "RUNNING", "CANCELING"].contains(&status.as_str()) {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn download(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

const PRODUCTS_WITH_VARIANTS: &str =
    "{ products { edges { node { id title variants { edges { node { id sku price } } } } } } }";

#[tokio::test]
async fn bulk_query_lifecycle_writes_every_node_with_parent_ids_not_adjacent() {
    let sim = Simulator::start(config(1_200, 20_000.0)).await.unwrap();
    let run = run_query_at(&sim, "2026-07", PRODUCTS_WITH_VARIANTS, false).await;
    assert_eq!(run["userErrors"], json!([]));
    let op = &run["bulkOperation"];
    assert_eq!(op["status"], "CREATED");
    assert_eq!(op["type"], "QUERY");
    assert_eq!(op["objectCount"], "0");
    assert_eq!(op["query"], PRODUCTS_WITH_VARIANTS);
    let seen = wait(&sim, &op["id"]).await;
    assert!(
        seen.iter().any(|s| s["status"] == "RUNNING"),
        "RUNNING is observable"
    );
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(done["completedAt"].is_string());
    assert!(done["partialDataUrl"].is_null());
    let url = done["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.endpoint()));
    assert!(
        !url.contains("/admin/"),
        "results are not under the Admin API"
    );

    let (status, text) = download(url).await;
    assert_eq!(status, 200);
    assert_eq!(done["fileSize"], json!(text.len().to_string()));
    assert!(
        text.contains(r#""id":"gid:\/\/shopify\/Product\/"#),
        "slashes escaped as Shopify does"
    );
    let rows = lines(&text);
    let catalog = sim.dump();
    let variants: usize = catalog.products.iter().map(|p| p.variants.len()).sum();
    assert_eq!(rows.len(), catalog.products.len() + variants);
    assert_eq!(done["objectCount"], json!(rows.len().to_string()));
    assert_eq!(
        done["rootObjectCount"],
        json!(catalog.products.len().to_string())
    );
    let mut seen_ids = HashMap::new();
    let mut not_adjacent = 0;
    let mut last_root = None;
    for (i, row) in rows.iter().enumerate() {
        let id = row["id"].as_str().unwrap().to_string();
        match row.get("__parentId") {
            None => {
                assert!(id.contains("/Product/"));
                assert!(
                    row.get("variants").is_none(),
                    "nested connections are cut out"
                );
                last_root = Some(id.clone());
            }
            Some(parent) => {
                let parent = parent.as_str().unwrap();
                assert!(id.contains("/ProductVariant/"));
                assert!(
                    seen_ids.contains_key(parent),
                    "a child comes after its parent"
                );
                if last_root.as_deref() != Some(parent) {
                    not_adjacent += 1;
                }
            }
        }
        seen_ids.insert(id, i);
    }
    assert!(
        not_adjacent > 0,
        "groupObjects: false leaves children apart"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn grouped_output_puts_children_right_after_their_parent() {
    let sim = Simulator::start(config(300, f64::INFINITY)).await.unwrap();
    let run = run_query_at(&sim, "2026-07", PRODUCTS_WITH_VARIANTS, true).await;
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    let (_, text) = download(done["url"].as_str().unwrap()).await;
    let mut current = None;
    for row in lines(&text) {
        match row.get("__parentId") {
            None => current = Some(row["id"].clone()),
            Some(parent) => assert_eq!(Some(parent), current.as_ref()),
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn queries_see_filters_aliases_fragments_and_nodes_shapes() {
    let sim = Simulator::start(config(200, f64::INFINITY)).await.unwrap();
    let query = r#"query { items: products(query: "status:active", first: 3) { nodes { ...P } } }
                   fragment P on Product { pid: id status coll: collections { edges { node { id title } } } }"#;
    let run = run_query_at(&sim, "2025-10", query, false).await;
    assert_eq!(run["userErrors"], json!([]), "{run}");
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    let (_, text) = download(done["url"].as_str().unwrap()).await;
    let rows = lines(&text);
    let active = sim
        .dump()
        .products
        .iter()
        .filter(|p| p.status == "ACTIVE")
        .count();
    let roots: Vec<_> = rows
        .iter()
        .filter(|r| r.get("__parentId").is_none())
        .collect();
    assert_eq!(roots.len(), active, "first: is ignored, the filter is not");
    assert!(roots
        .iter()
        .all(|r| r["status"] == "ACTIVE" && r.get("coll").is_none()));
    let children: Vec<_> = rows
        .iter()
        .filter(|r| r.get("__parentId").is_some())
        .collect();
    assert!(!children.is_empty());
    assert!(children
        .iter()
        .all(|c| c["id"].as_str().unwrap().contains("/Collection/")));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_empty_result_completes_with_no_url() {
    let sim = Simulator::start(config(20, f64::INFINITY)).await.unwrap();
    let run = run_query_at(
        &sim,
        "2026-07",
        r#"{ products(query: "title:no-such-product-anywhere") { edges { node { id } } } }"#,
        false,
    )
    .await;
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["objectCount"], "0");
    assert!(done["url"].is_null());
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_bulk_queries_are_refused_with_user_errors() {
    let sim = Simulator::start(config(10, f64::INFINITY)).await.unwrap();
    for (query, needle) in [
        ("{ shop { name } }", "connection"),
        ("{ products { nodes { nope } } }", "Invalid bulk query"),
        (
            "{ products { nodes { id } } collections { nodes { id } } }",
            "one top-level",
        ),
        (
            "{ collections { nodes { id products { nodes { id collections { nodes { id } } } } } } }",
            "levels",
        ),
    ] {
        let run = run_query_at(&sim, "2026-07", query, false).await;
        assert!(run["bulkOperation"].is_null());
        let e = &run["userErrors"][0];
        assert_eq!(e["code"], "INVALID", "{query}");
        assert_eq!(e["field"], json!(["query"]));
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
    }
    assert!(sim.bulk_operations().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn one_operation_per_type_before_2026_01_then_five() {
    let sim = Simulator::start(config(400, 50.0)).await.unwrap();
    let q = "{ products { edges { node { id } } } }";
    // 2025-10: one query at a time, with Shopify's message naming the running one.
    let first = run_query_at(&sim, "2025-10", q, false).await;
    let first_id = first["bulkOperation"]["id"].clone();
    let second = run_query_at(&sim, "2025-10", q, false).await;
    assert!(second["bulkOperation"].is_null());
    assert_eq!(
        second["userErrors"],
        json!([{"field": null, "code": "OPERATION_IN_PROGRESS",
                "message": format!("A bulk query operation for this app and shop is already in progress: {}.", first_id.as_str().unwrap())}])
    );
    // 2026-07: up to five of any type.
    let mut ids = vec![first_id];
    for _ in 0..4 {
        let run = run_query_at(&sim, "2026-07", q, false).await;
        assert_eq!(run["userErrors"], json!([]), "{run}");
        ids.push(run["bulkOperation"]["id"].clone());
    }
    let sixth = run_query_at(&sim, "2026-07", q, false).await;
    assert_eq!(sixth["userErrors"][0]["code"], "LIMIT_REACHED");
    // Cancel them all: CANCELING, then CANCELED, and the slots free up.
    let cancel = format!(
        "mutation($id: ID!) {{ bulkOperationCancel(id: $id) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message }} }} }}"
    );
    for id in &ids {
        let c = gql(&sim, &cancel, json!({ "id": id })).await["bulkOperationCancel"].clone();
        assert_eq!(c["userErrors"], json!([]));
        assert_eq!(c["bulkOperation"]["status"], "CANCELING");
    }
    for id in &ids {
        assert_eq!(wait(&sim, id).await.pop().unwrap()["status"], "CANCELED");
    }
    let again = gql(&sim, &cancel, json!({ "id": ids[0] })).await["bulkOperationCancel"].clone();
    assert_eq!(
        again["userErrors"][0]["message"],
        "A bulk operation cannot be canceled when it is canceled"
    );
    let missing = gql(
        &sim,
        &cancel,
        json!({"id": "gid://shopify/BulkOperation/1"}),
    )
    .await;
    assert_eq!(
        missing["bulkOperationCancel"]["userErrors"][0]["field"],
        json!(["id"])
    );
    let run = run_query_at(&sim, "2025-10", q, false).await;
    assert_eq!(run["userErrors"], json!([]), "slots are free again");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failure_midway_leaves_partial_data() {
    let sim = Simulator::start(config(300, f64::INFINITY)).await.unwrap();
    sim.fail_next_bulk_operation(57, BulkErrorCode::InternalServerError);
    let run = run_query_at(&sim, "2026-07", PRODUCTS_WITH_VARIANTS, false).await;
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    assert_eq!(done["status"], "FAILED");
    assert_eq!(done["errorCode"], "INTERNAL_SERVER_ERROR");
    assert!(done["url"].is_null());
    assert_eq!(done["objectCount"], "57");
    let (status, text) = download(done["partialDataUrl"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(lines(&text).len(), 57);
    sim.shutdown().await;
}

#[tokio::test]
async fn storage_urls_are_signed_ranged_and_expire() {
    let sim = Simulator::start(config(50, f64::INFINITY)).await.unwrap();
    let run = run_query_at(&sim, "2026-07", PRODUCTS_WITH_VARIANTS, false).await;
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    let url = done["url"].as_str().unwrap().to_string();
    let (_, full) = download(&url).await;
    let resp = reqwest::Client::new()
        .get(&url)
        .header("Range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.text().await.unwrap(), full[10..]);
    let forged = url.replace("Signature=", "Signature=0");
    let (status, body) = download(&forged).await;
    assert_eq!(status, 403);
    assert!(body.contains("SignatureDoesNotMatch"));
    sim.expire_bulk_operations();
    let op = operation(&sim, &run["bulkOperation"]["id"]).await;
    assert_eq!(op["status"], "EXPIRED");
    assert!(op["url"].is_null());
    let (status, body) = download(&url).await;
    assert_eq!(status, 400);
    assert!(body.contains("ExpiredToken"));
    assert!(sim.bulk_transfers().iter().all(|t| !t.access_token_sent));
    sim.shutdown().await;
}

/// A multipart form as a browser or an HTTP client sends it: parameters, file last.
fn form(params: &[(String, String)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----simtestboundary7MA4YWxkTrZu0gW";
    let mut body = vec![];
    for (k, v) in params {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"vars.jsonl\"\r\nContent-Type: text/jsonl\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn stage(sim: &Simulator, file: &[u8]) -> String {
    let doc = "mutation($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) { stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }";
    let data = gql(
        sim,
        doc,
        json!({"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "vars.jsonl", "mimeType": "text/jsonl", "httpMethod": "POST"}]}),
    )
    .await;
    let target = &data["stagedUploadsCreate"]["stagedTargets"][0];
    let params: Vec<(String, String)> = target["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let key = params.iter().find(|(k, _)| k == "key").unwrap().1.clone();
    assert!(key.starts_with("tmp/") && key.ends_with("/vars.jsonl"));
    let (content_type, body) = form(&params, file);
    let resp = reqwest::Client::new()
        .post(target["url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains(&format!("<Key>{key}</Key>")));
    key
}

const CREATE: &str = "mutation call($product: ProductCreateInput!) { productCreate(product: $product) { product { id title } userErrors { field message } } }";

#[tokio::test]
async fn bulk_mutation_lifecycle_runs_every_line() {
    let sim = Simulator::start(config(10, f64::INFINITY)).await.unwrap();
    let file = b"{\"product\":{\"title\":\"Bulk A\"}}\n{\"product\":{\"title\":\"\"}}\n{\"product\":{\"title\":\"Bulk C\"}}\n{\"product\":{\"nope\":1}}\n";
    let key = stage(&sim, file).await;
    let doc = format!("mutation($m: String!, $p: String!) {{ bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message code }} }} }}");
    let run =
        gql(&sim, &doc, json!({"m": CREATE, "p": key})).await["bulkOperationRunMutation"].clone();
    assert_eq!(run["userErrors"], json!([]));
    assert_eq!(run["bulkOperation"]["type"], "MUTATION");
    let done = wait(&sim, &run["bulkOperation"]["id"]).await.pop().unwrap();
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["objectCount"], "4");
    let (_, text) = download(done["url"].as_str().unwrap()).await;
    let rows = lines(&text);
    let numbers: Vec<_> = rows.iter().map(|r| r["__lineNumber"].clone()).collect();
    assert_eq!(numbers, vec![json!(0), json!(1), json!(2), json!(3)]);
    assert_eq!(
        rows[0]["data"]["productCreate"]["product"]["title"],
        "Bulk A"
    );
    assert_eq!(rows[1]["data"]["productCreate"]["product"], Value::Null);
    assert_eq!(
        rows[1]["data"]["productCreate"]["userErrors"][0]["field"],
        json!(["title"])
    );
    assert_eq!(
        rows[2]["data"]["productCreate"]["product"]["title"],
        "Bulk C"
    );
    assert!(rows[3]["errors"].is_array(), "bad variables: {}", rows[3]);
    let titles: Vec<String> = sim.dump().products.into_iter().map(|p| p.title).collect();
    assert!(titles.contains(&"Bulk A".to_string()) && titles.contains(&"Bulk C".to_string()));

    // Refusals: an unknown file, an invalid mutation, a file that is not JSONL.
    let missing = gql(
        &sim,
        &doc,
        json!({"m": CREATE, "p": "tmp/1/bulk/none/vars.jsonl"}),
    )
    .await;
    assert_eq!(
        missing["bulkOperationRunMutation"]["userErrors"][0]["code"],
        "NO_SUCH_FILE"
    );
    let invalid = gql(&sim, &doc, json!({"m": "mutation { nope }", "p": key})).await;
    assert_eq!(
        invalid["bulkOperationRunMutation"]["userErrors"][0]["code"],
        "INVALID_MUTATION"
    );
    let bad = stage(&sim, b"{\"product\":{}}\nnot json\n").await;
    let refused = gql(&sim, &doc, json!({"m": CREATE, "p": bad})).await;
    assert_eq!(
        refused["bulkOperationRunMutation"]["userErrors"][0]["code"],
        "INVALID_STAGED_UPLOAD_FILE"
    );
    assert!(sim.bulk_transfers().iter().all(|t| !t.access_token_sent));
    sim.shutdown().await;
}

#[tokio::test]
async fn uploads_need_an_issued_key_and_its_signature() {
    let sim = Simulator::start(config(5, f64::INFINITY)).await.unwrap();
    let params = vec![
        (
            "key".to_string(),
            "tmp/1/bulk/forged/vars.jsonl".to_string(),
        ),
        ("x-goog-signature".to_string(), "00".to_string()),
    ];
    let (content_type, body) = form(&params, b"{}\n");
    let resp = reqwest::Client::new()
        .post(format!("{}/_sim/staged-uploads/", sim.endpoint()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let log = sim.bulk_transfers();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].status, 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn operations_are_found_by_id_and_as_the_current_one() {
    let sim = Simulator::start(config(30, f64::INFINITY)).await.unwrap();
    let run = run_query_at(&sim, "2026-07", "{ products { nodes { id } } }", false).await;
    let id = run["bulkOperation"]["id"].clone();
    wait(&sim, &id).await;
    let by_id = gql(
        &sim,
        "query($id: ID!) { bulkOperation(id: $id) { id status objectCount } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(by_id["bulkOperation"]["status"], "COMPLETED");
    assert_eq!(by_id["bulkOperation"]["objectCount"], "30");
    let current = gql_at(
        &sim,
        "2025-10",
        "{ currentBulkOperation(type: QUERY) { id } m: currentBulkOperation(type: MUTATION) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(current["currentBulkOperation"]["id"], id);
    assert!(current["m"].is_null());
    let listed = gql(
        &sim,
        "{ bulkOperations(first: 5) { nodes { id type } } }",
        json!({}),
    )
    .await;
    assert_eq!(listed["bulkOperations"]["nodes"][0]["id"], id);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_put_staged_upload_is_accepted_with_its_signed_url() {
    let sim = Simulator::start(config(5, f64::INFINITY)).await.unwrap();
    let doc = "mutation($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) { stagedTargets { url parameters { name value } } userErrors { field message } } }";
    let data = gql(
        &sim,
        doc,
        json!({"input": [{"resource": "BULK_MUTATION_VARIABLES", "filename": "v.jsonl", "mimeType": "text/jsonl", "httpMethod": "PUT"}]}),
    )
    .await;
    let url = data["stagedUploadsCreate"]["stagedTargets"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |url: String| async move {
        reqwest::Client::new()
            .put(url)
            .body("{\"product\":{\"title\":\"Put\"}}\n")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(put(url.replace("Signature=", "Signature=f")).await, 403);
    assert_eq!(put(url.clone()).await, 200);
    let key = url
        .split("/_sim/staged-uploads/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let run = gql(
        &sim,
        "mutation($m: String!, $p: String!) { bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) { bulkOperation { id } userErrors { code } } }",
        json!({"m": CREATE, "p": key}),
    )
    .await;
    let done = wait(
        &sim,
        &run["bulkOperationRunMutation"]["bulkOperation"]["id"],
    )
    .await
    .pop()
    .unwrap();
    assert_eq!(done["objectCount"], "1");
    let unsupported = gql(
        &sim,
        doc,
        json!({"input": [{"resource": "IMAGE", "filename": "a.png", "mimeType": "image/png"}]}),
    )
    .await;
    assert!(unsupported["stagedUploadsCreate"]["stagedTargets"].is_null());
    assert_eq!(
        unsupported["stagedUploadsCreate"]["userErrors"][0]["field"],
        json!(["input", "0", "resource"])
    );
    sim.shutdown().await;
}
