//! The simulator over real HTTP on loopback, spoken to with raw requests (never through
//! the shopify-sync client, so the client is later tested against something it did not
//! shape). One test per behaviour the issue numbers.
use serde_json::{json, Value};
use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator, INVALID_TOKEN_BODY};
use std::time::Duration;

const VERSION: &str = "2026-07";

fn small() -> SimConfig {
    SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 120,
            collections: 12,
            ..CatalogSpec::default()
        }),
        job_delay: Duration::from_millis(20),
        ..SimConfig::default()
    }
}

async fn post(sim: &Simulator, token: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(sim.graphql_url(VERSION))
        .header("X-Shopify-Access-Token", token)
        .json(&body)
        .send()
        .await
        .expect("the simulator answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn gql(sim: &Simulator, query: &str, variables: Value) -> Value {
    let (status, body) = post(
        sim,
        sim.access_token(),
        json!({"query": query, "variables": variables}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `data` of a successful response, failing the test on any error.
async fn data(sim: &Simulator, query: &str, variables: Value) -> Value {
    let body = gql(sim, query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

fn num(gid: &Value) -> u64 {
    gid.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

// 1. Real HTTP, auth.
#[tokio::test]
async fn wrong_token_is_refused_with_shopifys_body() {
    let sim = Simulator::start(small()).await.unwrap();
    let (status, body) = post(&sim, "shpat_wrong", json!({"query": "{ shop { name } }"})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::from_str::<Value>(INVALID_TOKEN_BODY).unwrap()
    );
    let (status, _) = post(&sim, "", json!({"query": "{ shop { name } }"})).await;
    assert_eq!(status, 401);
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/api/latest/graphql.json", sim.endpoint()))
        .header("X-Shopify-Access-Token", sim.access_token())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        404,
        "malformed API versions are not served"
    );
    let (status, body) = post(&sim, sim.access_token(), json!({"variables": {}})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"]["query"],
        "Required parameter missing or invalid"
    );
    assert_eq!(sim.stats().unauthorized, 2);
}

// 2. Validation against the real schema.
#[tokio::test]
async fn invalid_documents_get_shopify_shaped_errors_and_no_cost() {
    let sim = Simulator::start(small()).await.unwrap();
    let body = gql(
        &sim,
        "query Q { products(first: 1) { nodes { id isActive } } }",
        json!({}),
    )
    .await;
    assert!(body.get("data").is_none(), "{body}");
    assert!(
        body.get("extensions").is_none(),
        "validation errors carry no cost: {body}"
    );
    let err = &body["errors"][0];
    assert_eq!(
        err["message"],
        "Field 'isActive' doesn't exist on type 'Product'"
    );
    assert_eq!(err["extensions"]["code"], "undefinedField");
    assert!(err["locations"][0]["line"].is_number());
    let body = gql(
        &sim,
        "query Q($s: ProductStatus!) { products(first: 1, query: \"x\") { nodes { id } } }",
        json!({"s": "ENABLED"}),
    )
    .await;
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(sim.stats().invalid, 2);
}

// 3. Cost: requested computed statically, actual from what was returned.
#[tokio::test]
async fn every_executed_request_reports_its_cost() {
    let sim = Simulator::start(small()).await.unwrap();
    let body = gql(
        &sim,
        "{ products(first: 250) { nodes { id title } } }",
        json!({}),
    )
    .await;
    let cost = &body["extensions"]["cost"];
    // 2 + F(250) * (1 + 0) with F(250) = floor(2 ln 250) = 11.
    assert_eq!(cost["requestedQueryCost"], 13);
    // 120 products returned: 2 + 120 * 1 would exceed the request; actual never does.
    assert!(cost["actualQueryCost"].as_u64().unwrap() <= 13);
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 2000.0);
    assert_eq!(cost["throttleStatus"]["restoreRate"], 100.0);
    let body = gql(&sim, "{ productsCount { count } }", json!({})).await;
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10);
}

// 4. Throttling: exact bucket arithmetic, refusal, refill.
#[tokio::test]
async fn throttled_response_has_exact_bucket_arithmetic() {
    // A restore rate so slow that no whole point comes back during the test.
    let config = SimConfig {
        bucket_size: 60.0,
        restore_rate: 0.001,
        ..small()
    };
    let sim = Simulator::start(config).await.unwrap();
    let q = "{ productsCount { count } products(first: 5) { nodes { id } } }";
    let mut expected_level = 60;
    let mut spent = 0;
    for round in 0.. {
        assert!(round < 100, "the bucket never ran dry");
        let body = gql(&sim, q, json!({})).await;
        let cost = &body["extensions"]["cost"];
        let requested = cost["requestedQueryCost"].as_u64().unwrap();
        let level = cost["throttleStatus"]["currentlyAvailable"]
            .as_u64()
            .unwrap();
        if body.get("data").is_none() {
            // Refused: nothing taken, and refused only because the bucket could not cover it.
            assert_eq!(body["errors"][0]["message"], "Throttled");
            assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
            assert_eq!(cost["actualQueryCost"], Value::Null);
            assert_eq!(cost["throttleStatus"]["maximumAvailable"], 60.0);
            assert_eq!(level, expected_level);
            assert!(
                level < requested,
                "refused with {level} available for {requested}"
            );
            let stats = sim.stats();
            assert_eq!((stats.ok, stats.throttled), (round, 1));
            assert_eq!((stats.cost_actual, stats.cost_refused), (spent, requested));
            return;
        }
        // Admitted: the requested cost was taken, the unused part refunded.
        let actual = cost["actualQueryCost"].as_u64().unwrap();
        assert!(actual <= requested);
        expected_level -= actual;
        spent += actual;
        assert_eq!(level, expected_level, "round {round}");
    }
}

#[tokio::test]
async fn the_bucket_refills_at_the_restore_rate() {
    let config = SimConfig {
        bucket_size: 15.0,
        restore_rate: 200.0,
        ..small()
    };
    let sim = Simulator::start(config).await.unwrap();
    let q = "{ productsCount { count } }";
    let mut throttled = false;
    for _ in 0..50 {
        if gql(&sim, q, json!({})).await["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "a 15-point bucket runs dry");
    tokio::time::sleep(Duration::from_millis(100)).await; // 20 points restored, capped at 15
    assert!(gql(&sim, q, json!({})).await.get("data").is_some());
}

#[tokio::test]
async fn documents_over_the_single_query_limit_are_refused() {
    let sim = Simulator::start(small()).await.unwrap();
    // 2 + 11 * (1 + 2 + 11 * (1 + 2 + 11)) = 1,729 points.
    let q = "{ products(first: 250) { nodes { collections(first: 250) { nodes { products(first: 250) { nodes { id } } } } } } }";
    let body = gql(&sim, q, json!({})).await;
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 1729);
    assert_eq!(sim.stats().max_cost_exceeded, 1);
}

// 5. Deterministic seeded catalog, or one loaded from JSON.
#[tokio::test]
async fn default_catalog_is_the_merchants_and_loads_from_json() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let d = data(
        &sim,
        "{ productsCount { count precision } collectionsCount { count } }",
        json!({}),
    )
    .await;
    assert_eq!(d["productsCount"]["count"], 1000);
    assert_eq!(d["productsCount"]["precision"], "EXACT");
    assert_eq!(d["collectionsCount"]["count"], 57);
    let again = Simulator::start(SimConfig::default()).await.unwrap();
    assert_eq!(sim.dump(), again.dump(), "same seed, same catalog");

    let mut mine = Catalog::generate(&CatalogSpec {
        products: 3,
        collections: 1,
        ..CatalogSpec::default()
    });
    mine.products[0].title = "Brought My Own".into();
    let dumped: Catalog = serde_json::from_str(&serde_json::to_string(&mine).unwrap()).unwrap();
    let own = Simulator::start(SimConfig {
        catalog: CatalogSource::Loaded(dumped),
        ..small()
    })
    .await
    .unwrap();
    let d = data(
        &own,
        "{ products(first: 5) { nodes { title } } }",
        json!({}),
    )
    .await;
    assert_eq!(d["products"]["nodes"][0]["title"], "Brought My Own");
    assert_eq!(d["products"]["nodes"].as_array().unwrap().len(), 3);
}

// 6. Reads.
#[tokio::test]
async fn cursor_pagination_visits_every_product_once() {
    let sim = Simulator::start(small()).await.unwrap();
    let q = "query P($after: String) { products(first: 50, after: $after) { pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } } }";
    let mut ids = vec![];
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let d = data(&sim, q, json!({"after": after})).await;
        let conn = &d["products"];
        pages += 1;
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], pages > 1);
        ids.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| num(&e["node"]["id"])),
        );
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 120);
    assert_eq!(ids, sorted, "default order is by id");
    let body = gql(&sim, "{ products(first: 251) { nodes { id } } }", json!({})).await;
    assert!(
        body["errors"].as_array().is_some(),
        "page sizes over 250 are refused: {body}"
    );
}

#[tokio::test]
async fn query_filters_sorting_and_lookups() {
    let sim = Simulator::start(small()).await.unwrap();
    let dump = sim.dump();
    let drafts = dump.products.iter().filter(|p| p.status == "DRAFT").count();
    let d = data(
        &sim,
        "{ productsCount(query: \"status:draft\") { count } }",
        json!({}),
    )
    .await;
    assert_eq!(d["productsCount"]["count"], drafts);
    let vendor = &dump.products[7].vendor;
    let by_vendor = dump.products.iter().filter(|p| &p.vendor == vendor).count();
    let d = data(
        &sim,
        "query V($q: String) { products(first: 250, query: $q) { nodes { vendor } } }",
        json!({"q": format!("vendor:'{vendor}'")}),
    )
    .await;
    assert_eq!(d["products"]["nodes"].as_array().unwrap().len(), by_vendor);
    let cut = dump.products[60].updated_at;
    let newer = dump.products.iter().filter(|p| p.updated_at > cut).count();
    let d = data(
        &sim,
        "query V($q: String) { productsCount(query: $q) { count } }",
        json!({"q": format!("updated_at:>'{cut}'")}),
    )
    .await;
    assert_eq!(d["productsCount"]["count"], newer);
    let tagged = dump
        .products
        .iter()
        .filter(|p| p.tags.iter().any(|t| t == "sale"))
        .count();
    let d = data(
        &sim,
        "{ productsCount(query: \"tag:sale\") { count } }",
        json!({}),
    )
    .await;
    assert_eq!(d["productsCount"]["count"], tagged);

    let d = data(
        &sim,
        "{ products(first: 3, sortKey: TITLE, reverse: true) { nodes { title } } }",
        json!({}),
    )
    .await;
    let titles: Vec<String> = d["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_lowercase())
        .collect();
    let mut all: Vec<String> = dump
        .products
        .iter()
        .map(|p| p.title.to_lowercase())
        .collect();
    all.sort();
    all.reverse();
    assert_eq!(titles, all[..3].to_vec());

    let p = &dump.products[5];
    let q = "query L($id: ID!, $h: String!) {
        a: product(id: $id) { handle variants(first: 250) { nodes { id price selectedOptions { name value } } } options { name values } }
        b: productByIdentifier(identifier: {handle: $h}) { id }
        c: nodes(ids: [$id, \"gid://shopify/Product/1\"]) { ... on Product { title } }
    }";
    let d = data(
        &sim,
        q,
        json!({"id": format!("gid://shopify/Product/{}", p.id), "h": p.handle}),
    )
    .await;
    assert_eq!(d["a"]["handle"], p.handle.as_str());
    assert_eq!(
        d["a"]["variants"]["nodes"].as_array().unwrap().len(),
        p.variants.len()
    );
    assert_eq!(
        d["a"]["variants"]["nodes"][0]["price"],
        p.variants[0].price.to_string()
    );
    assert_eq!(d["a"]["options"][0]["name"], p.options[0].name.as_str());
    assert_eq!(num(&d["b"]["id"]), p.id);
    assert_eq!(d["c"][0]["title"], p.title.as_str());
    assert_eq!(d["c"][1], Value::Null);
}

#[tokio::test]
async fn collections_membership_and_rules() {
    let sim = Simulator::start(small()).await.unwrap();
    let dump = sim.dump();
    let custom = dump
        .collections
        .iter()
        .find(|c| c.rule_set.is_none() && !c.product_ids.is_empty())
        .unwrap();
    let q = "query C($id: ID!) { collection(id: $id) { title ruleSet { rules { column } } productsCount { count } products(first: 250) { nodes { id } } } }";
    let d = data(
        &sim,
        q,
        json!({"id": format!("gid://shopify/Collection/{}", custom.id)}),
    )
    .await;
    assert_eq!(d["collection"]["ruleSet"], Value::Null);
    let ids: Vec<u64> = d["collection"]["products"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| num(&n["id"]))
        .collect();
    assert_eq!(ids, custom.product_ids, "manual order kept");
    assert_eq!(
        d["collection"]["productsCount"]["count"],
        custom.product_ids.len()
    );

    let member = custom.product_ids[0];
    let d = data(
        &sim,
        "query P($id: ID!) { product(id: $id) { collections(first: 250) { nodes { id } } } }",
        json!({"id": format!("gid://shopify/Product/{member}")}),
    )
    .await;
    assert!(d["product"]["collections"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| num(&n["id"]) == custom.id));

    // A smart collection's membership follows product edits.
    let smart = dump
        .collections
        .iter()
        .find(|c| {
            c.rule_set
                .as_ref()
                .is_some_and(|r| r.rules[0].column == "TAG")
        })
        .unwrap();
    let tag = smart.rule_set.as_ref().unwrap().rules[0].condition.clone();
    let outsider = dump
        .products
        .iter()
        .find(|p| !p.tags.contains(&tag))
        .unwrap();
    let count_q = "query C($id: ID!) { collection(id: $id) { productsCount { count } } }";
    let cid = json!({"id": format!("gid://shopify/Collection/{}", smart.id)});
    let before = data(&sim, count_q, cid.clone()).await["collection"]["productsCount"]["count"]
        .as_u64()
        .unwrap();
    let mut fields = serde_json::Map::new();
    fields.insert(
        "tags".into(),
        json!(outsider
            .tags
            .iter()
            .cloned()
            .chain([tag.clone()])
            .collect::<Vec<_>>()),
    );
    sim.edit_product(outsider.id, &fields).unwrap();
    let after = data(&sim, count_q, cid).await["collection"]["productsCount"]["count"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 1);
}

// 7. Writes.
const PRODUCT_SET: &str = "mutation S($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier) {
    product { id handle tags updatedAt variants(first: 10) { nodes { id price selectedOptions { value } } } }
    userErrors { field message code }
  }
}";

#[tokio::test]
async fn product_set_replaces_lists_and_upserts_by_identifier() {
    let sim = Simulator::start(small()).await.unwrap();
    let input = json!({"title": "Sync Tee", "tags": [" Red ", "red", "b"],
        "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
        "variants": [{"optionValues": [{"optionName": "Size", "name": "S"}], "price": "10"},
                     {"optionValues": [{"optionName": "Size", "name": "M"}], "price": "11.5"}]});
    let ident = json!({"handle": "sync-tee"});
    let d = data(
        &sim,
        PRODUCT_SET,
        json!({"input": input, "identifier": ident}),
    )
    .await;
    let p = &d["productSet"]["product"];
    assert_eq!(d["productSet"]["userErrors"], json!([]));
    assert_eq!(p["handle"], "sync-tee");
    assert_eq!(p["tags"], json!(["b", "Red"]));
    assert_eq!(p["variants"]["nodes"][1]["price"], "11.50");
    let first_id = p["id"].clone();
    let kept = p["variants"]["nodes"][1]["id"].clone();

    // Retried with the same identifier: the same product, and the omitted variant is gone.
    let input2 = json!({"title": "Sync Tee", "productOptions": [{"name": "Size", "values": [{"name": "M"}]}],
        "variants": [{"optionValues": [{"optionName": "Size", "name": "M"}], "price": "12"}]});
    let d = data(
        &sim,
        PRODUCT_SET,
        json!({"input": input2, "identifier": ident}),
    )
    .await;
    let p = &d["productSet"]["product"];
    assert_eq!(p["id"], first_id);
    assert_eq!(p["variants"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(p["variants"]["nodes"][0]["id"], kept);
    assert_eq!(
        sim.dump()
            .products
            .iter()
            .filter(|p| p.handle == "sync-tee")
            .count(),
        1
    );
}

#[tokio::test]
async fn writes_answer_with_real_user_errors() {
    let sim = Simulator::start(small()).await.unwrap();
    let dump = sim.dump();
    let create = "mutation C($p: ProductCreateInput!) { productCreate(product: $p) { product { id handle } userErrors { field message } } }";
    let d = data(&sim, create, json!({"p": {"title": "  "}})).await;
    assert_eq!(
        d["productCreate"]["userErrors"],
        json!([{"field": ["title"], "message": "Title can't be blank"}])
    );
    assert_eq!(d["productCreate"]["product"], Value::Null);
    let taken = &dump.products[0].handle;
    let d = data(&sim, create, json!({"p": {"title": "x", "handle": taken}})).await;
    assert_eq!(
        d["productCreate"]["userErrors"][0]["message"],
        format!("Handle '{taken}' already in use. Please provide a new handle.")
    );
    // Generated handles are suffixed instead.
    let d = data(
        &sim,
        create,
        json!({"p": {"title": dump.products[0].title}}),
    )
    .await;
    assert_eq!(
        d["productCreate"]["product"]["handle"],
        format!("{taken}-1")
    );

    let d = data(
        &sim,
        PRODUCT_SET,
        json!({"input": {"title": "x"}, "identifier": {"id": "gid://shopify/Product/1"}}),
    )
    .await;
    assert_eq!(
        d["productSet"]["userErrors"][0]["code"],
        "PRODUCT_DOES_NOT_EXIST"
    );

    let p = &dump.products[1];
    let update = "mutation U($pid: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $pid, variants: $v) { productVariants { price } userErrors { field message code } } }";
    let vid = format!("gid://shopify/ProductVariant/{}", p.variants[0].id);
    let d = data(&sim, update, json!({"pid": format!("gid://shopify/Product/{}", p.id), "v": [{"id": vid, "price": "-1.00"}]})).await;
    assert_eq!(
        d["productVariantsBulkUpdate"]["userErrors"][0]["code"],
        "GREATER_THAN_OR_EQUAL_TO"
    );
    assert_eq!(
        sim.dump().products[1].variants[0].price,
        p.variants[0].price,
        "nothing written"
    );

    let add = "mutation A($id: ID!, $ids: [ID!]!) { collectionAddProductsV2(id: $id, productIds: $ids) { job { id done } userErrors { field message code } } }";
    let smart = dump
        .collections
        .iter()
        .find(|c| c.rule_set.is_some())
        .unwrap();
    let pid = format!("gid://shopify/Product/{}", p.id);
    let d = data(
        &sim,
        add,
        json!({"id": format!("gid://shopify/Collection/{}", smart.id), "ids": [pid]}),
    )
    .await;
    assert_eq!(
        d["collectionAddProductsV2"]["userErrors"][0]["code"],
        "CANT_ADD_TO_SMART_COLLECTION"
    );
    let custom = dump
        .collections
        .iter()
        .find(|c| c.rule_set.is_none())
        .unwrap();
    let many: Vec<String> = (0..251).map(|_| pid.clone()).collect();
    let body = gql(
        &sim,
        add,
        json!({"id": format!("gid://shopify/Collection/{}", custom.id), "ids": many}),
    )
    .await;
    assert!(
        body.get("data").is_none(),
        "over 250 ids is refused before execution: {body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "MAX_INPUT_SIZE_EXCEEDED"
    );
    assert_eq!(
        body["errors"][0]["path"],
        json!(["collectionAddProductsV2", "productIds"])
    );
    let d = data(
        &sim,
        add,
        json!({"id": "gid://shopify/Collection/1", "ids": [pid]}),
    )
    .await;
    assert_eq!(
        d["collectionAddProductsV2"]["userErrors"][0]["code"],
        "COLLECTION_DOES_NOT_EXIST"
    );
}

#[tokio::test]
async fn membership_jobs_finish_and_job_reports_done() {
    let sim = Simulator::start(small()).await.unwrap();
    let dump = sim.dump();
    let custom = dump
        .collections
        .iter()
        .find(|c| c.rule_set.is_none())
        .unwrap();
    let outsider = dump
        .products
        .iter()
        .find(|p| !custom.product_ids.contains(&p.id))
        .unwrap();
    let add = "mutation A($id: ID!, $ids: [ID!]!) { collectionAddProductsV2(id: $id, productIds: $ids) { job { id done } userErrors { message } } }";
    let cid = format!("gid://shopify/Collection/{}", custom.id);
    let d = data(
        &sim,
        add,
        json!({"id": cid, "ids": [format!("gid://shopify/Product/{}", outsider.id)]}),
    )
    .await;
    let job = d["collectionAddProductsV2"]["job"].clone();
    assert_eq!(job["done"], false);
    let poll = "query J($id: ID!) { job(id: $id) { done query { collection(id: \"gid://shopify/Collection/0\") { id } } } }";
    let mut done = false;
    for _ in 0..50 {
        let d = data(&sim, poll, json!({"id": job["id"]})).await;
        if d["job"]["done"] == true {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done, "the job finishes");
    assert!(sim
        .dump()
        .collections
        .iter()
        .find(|c| c.id == custom.id)
        .unwrap()
        .product_ids
        .contains(&outsider.id));
}

#[tokio::test]
async fn tag_normalisation_matches_the_captured_shopify_answers() {
    let sim = Simulator::start(small()).await.unwrap();
    let capture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/shopify/captures/products-2025-01/product-update-tag-normalization.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let create = capture["setup"]["create"].clone();
    let d = data(
        &sim,
        create["document"]
            .as_str()
            .unwrap()
            .trim_start_matches("#graphql"),
        create["variables"].clone(),
    )
    .await;
    let id = d["productCreate"]["product"]["id"].clone();
    for case in ["mixedCaseWhitespace", "tooLongTag"] {
        let c = &capture["updates"][case];
        let mut vars = c["variables"].clone();
        vars["product"]["id"] = id.clone();
        let body = gql(&sim, c["document"].as_str().unwrap(), vars).await;
        let mut want = c["response"]["data"].clone();
        want["productUpdate"]["product"]["id"] = id.clone();
        assert_eq!(body["data"], want, "{case}");
    }
}

// 8. Out-of-band edits, dump and statistics over HTTP.
#[tokio::test]
async fn out_of_band_edits_dump_and_stats_over_http() {
    let sim = Simulator::start(small()).await.unwrap();
    let p = sim.dump().products[3].clone();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/_sim/products/{}", sim.endpoint(), p.id))
        .json(&json!({"title": "Edited in the admin", "variants": [{"id": format!("gid://shopify/ProductVariant/{}", p.variants[0].id), "price": "99.99"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let d = data(&sim, "query P($id: ID!) { product(id: $id) { title updatedAt variants(first: 1) { nodes { price } } } }", json!({"id": format!("gid://shopify/Product/{}", p.id)})).await;
    assert_eq!(d["product"]["title"], "Edited in the admin");
    assert_eq!(d["product"]["variants"]["nodes"][0]["price"], "99.99");
    assert!(d["product"]["updatedAt"].as_str().unwrap() > p.updated_at.to_string().as_str());
    let bad = http
        .post(format!("{}/_sim/products/1", sim.endpoint()))
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    let dump: Value = http
        .get(format!("{}/_sim/dump", sim.endpoint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dump["products"].as_array().unwrap().len(), 120);
    let stats: Value = http
        .get(format!("{}/_sim/stats", sim.endpoint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["ok"], 1);
    assert_eq!(stats["throttled"], 0);
    assert!(stats["costRequested"].as_u64().unwrap() > 0);
}

// 9. Users' own documents: fragments, aliases, fields the simulator holds no data for.
#[tokio::test]
async fn arbitrary_valid_documents_execute() {
    let sim = Simulator::start(small()).await.unwrap();
    let q = "fragment F on Product { id t: title metafields(first: 3) { nodes { id } } featuredMedia { id } }
             query Q($skip: Boolean!) { products(first: 2) { nodes { ...F handle @skip(if: $skip) __typename } } shop { myshopifyDomain } }";
    let d = data(&sim, q, json!({"skip": true})).await;
    let n = &d["products"]["nodes"][0];
    assert!(n["t"].is_string());
    assert_eq!(n["metafields"]["nodes"], json!([]));
    assert_eq!(n["featuredMedia"], Value::Null);
    assert!(n.get("handle").is_none(), "@skip honoured");
    assert_eq!(n["__typename"], "Product");
    assert_eq!(d["shop"]["myshopifyDomain"], sim.shop());
    let body = gql(
        &sim,
        "mutation { shopLocaleEnable(locale: \"fr\") { userErrors { message } } }",
        json!({}),
    )
    .await;
    let msg = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("does not implement"),
        "unimplemented mutations say so: {body}"
    );
}

// The binary prints an env file and serves.
#[tokio::test]
async fn binary_prints_env_lines_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify-sync-sim"))
        .args(["--port", "0", "--products", "10", "--collections", "2"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut env = std::collections::HashMap::new();
    for _ in 0..3 {
        let line = lines.next_line().await.unwrap().unwrap();
        let (k, v) = line.split_once('=').unwrap();
        env.insert(k.to_string(), v.to_string());
    }
    assert!(env["SHOPIFY_ENDPOINT"].starts_with("http://127.0.0.1:"));
    assert_eq!(env["SHOPIFY_SHOP"], "sim-shop.myshopify.com");
    let resp: Value = reqwest::Client::new()
        .post(format!(
            "{}/admin/api/{VERSION}/graphql.json",
            env["SHOPIFY_ENDPOINT"]
        ))
        .header("X-Shopify-Access-Token", &env["SHOPIFY_ACCESS_TOKEN"])
        .json(&json!({"query": "{ productsCount { count } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["productsCount"]["count"], 10);
    child.kill().await.unwrap();
}

// The search index's lag, for incremental pulls' overlap window.
#[tokio::test]
async fn a_fresh_write_is_not_yet_in_updated_at_filters() {
    let sim = Simulator::start(SimConfig {
        index_lag: Duration::from_secs(3),
        ..small()
    })
    .await
    .unwrap();
    let p = sim.dump().products[0].clone();
    let mut fields = serde_json::Map::new();
    fields.insert("title".into(), json!("Just Edited"));
    let edited = sim.edit_product(p.id, &fields).unwrap();
    let since = edited.updated_at.plus_secs(-1);
    let q = "query C($q: String) { productsCount(query: $q) { count } products(first: 5, query: $q) { nodes { id } } }";
    let d = data(&sim, q, json!({"q": format!("updated_at:>='{since}'")})).await;
    assert_eq!(d["productsCount"]["count"], 0, "not indexed yet");
    // Other reads see the write at once.
    let d = data(
        &sim,
        "query P($id: ID!) { product(id: $id) { title } }",
        json!({"id": format!("gid://shopify/Product/{}", p.id)}),
    )
    .await;
    assert_eq!(d["product"]["title"], "Just Edited");
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    let d = data(&sim, q, json!({"q": format!("updated_at:>='{since}'")})).await;
    assert_eq!(d["productsCount"]["count"], 1, "indexed after the lag");
}
