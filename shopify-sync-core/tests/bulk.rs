//! Bulk operations end to end over real HTTP against the simulator: query and mutation
//! lifecycles, children apart from their parents parsed right, assembly of grouped
//! output, slots, cancelation, timeouts, the finish signal, failures salvaged, expiry,
//! resumed downloads, and the access token never reaching a storage URL.
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use shopify_sync::client::bulk::{
    group_objects, BulkFinishSignal, BulkOperationStatus, BulkOptions, BulkQueryResult,
};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::jsonl::JsonlRecord;
use shopify_sync::client::products::ProductQuery;
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::ErrorKind;
use shopify_sync::model::{Product, ProductVariant};
use shopify_sync_sim::bulk::{BulkErrorCode, BulkStatus};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn sim_config(products: usize, rows_per_second: f64) -> SimConfig {
    SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections: 4,
            ..CatalogSpec::default()
        }),
        bulk_rows_per_second: rows_per_second,
        ..SimConfig::default()
    }
}

fn client_at(sim: &Simulator, version: &str) -> ShopifyClient {
    let config = ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
        .unwrap()
        .api_version(version)
        .unwrap();
    ShopifyClient::new(config).unwrap()
}

fn client(sim: &Simulator) -> ShopifyClient {
    client_at(sim, "2026-07")
}

fn fast() -> BulkOptions {
    BulkOptions::default().poll_interval(Duration::from_millis(10), Duration::from_millis(50))
}

const PRODUCTS: &str = "{ products { edges { node { id title handle variants { edges { node { id sku price } } } } } } }";

/// No storage request the simulator saw carried the access token.
fn assert_no_token_sent(sim: &Simulator) {
    let log = sim.bulk_transfers();
    assert!(!log.is_empty(), "some storage request was made");
    for t in &log {
        assert!(
            !t.access_token_sent,
            "{} {} carried the access token",
            t.method, t.path
        );
    }
}

#[tokio::test]
async fn bulk_query_lifecycle_streams_flat_records_with_children_apart() {
    let sim = Simulator::start(sim_config(2_500, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let progress = Arc::new(Mutex::new(vec![]));
    let seen = progress.clone();
    let options = fast().on_progress(move |p| {
        seen.lock()
            .unwrap()
            .push((p.status(), p.object_count(), p.root_object_count()))
    });
    let query = "{ products { edges { node { id title handle descriptionHtml vendor productType tags createdAt updatedAt seo { title description }
        variants { edges { node { id title sku barcode price compareAtPrice inventoryQuantity selectedOptions { name value } createdAt updatedAt } } } } } } }";
    let result = c.bulk_query(query, &options).await.unwrap();
    assert!(!result.is_partial());
    let op = result.operation();
    assert_eq!(op.status, BulkOperationStatus::Completed);

    let mut records = c.bulk_download(&result).unwrap();
    let mut products: HashMap<String, Product> = HashMap::new();
    let (mut variants, mut apart, mut last_root) = (0, 0, String::new());
    while let Some(r) = records.try_next().await.unwrap() {
        match r.parent_id() {
            None => {
                let p: Product = r.decode().unwrap();
                last_root = r.id().unwrap().to_string();
                products.insert(last_root.clone(), p);
            }
            Some(parent) => {
                assert!(r.is::<ProductVariant>());
                assert!(r.parent_gid::<Product>().unwrap().is_some());
                if parent != last_root {
                    apart += 1;
                }
                let v: ProductVariant = r.decode().unwrap();
                products
                    .get_mut(parent)
                    .expect("a child comes after its parent")
                    .variants
                    .push(v);
                variants += 1;
            }
        }
    }
    let stats = records.stats();
    assert!(
        apart > 0,
        "groupObjects: false puts children apart from parents"
    );
    assert_eq!(op.object_count, (products.len() + variants) as u64);
    assert!(variants + products.len() >= 10_000, "covers 10k rows");
    assert_eq!(Some(stats.bytes), op.file_size);
    // The decoder holds one network read (hyper reads at most about 400 KB) plus one
    // partial line, whatever the size of the file.
    assert!(
        stats.peak_buffered < 1024 * 1024 && (stats.peak_buffered as u64) * 4 < stats.bytes,
        "streamed, never held: {stats:?}"
    );

    // Everything matches the shop, variants included.
    let dump = sim.dump();
    assert_eq!(products.len(), dump.products.len());
    for want in &dump.products {
        let got = &products[&format!("gid://shopify/Product/{}", want.id)];
        assert_eq!(got.title, want.title);
        let skus: Vec<_> = got.variants.iter().map(|v| v.sku.clone()).collect();
        let want_skus: Vec<_> = want.variants.iter().map(|v| v.sku.clone()).collect();
        assert_eq!(skus, want_skus);
    }

    // Progress came at every poll, ending with the final count.
    let progress = progress.lock().unwrap().clone();
    assert!(!progress.is_empty());
    assert!(progress.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(
        progress.last().unwrap(),
        &(
            BulkOperationStatus::Completed,
            op.object_count,
            products.len() as u64
        )
    );
    assert_no_token_sent(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn bulk_products_assemble_grouped_output_like_the_paginated_pull() {
    let sim = Simulator::start(sim_config(300, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let (result, products) = c.bulk_products(None, &fast()).await.unwrap();
    assert!(!result.is_partial());
    let bulk: Vec<Product> = products.try_collect().await.unwrap();
    let paged: Vec<Product> = c
        .products(ProductQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(bulk, paged, "the same products, fields and variants");
    let op = &sim.bulk_operations()[0];
    assert!(op.group_objects, "assembly asks for groupObjects: true");

    // A search narrows the export.
    let (_, active) = c
        .bulk_products(Some("status:active"), &fast())
        .await
        .unwrap();
    let active: Vec<Product> = active.try_collect().await.unwrap();
    assert!(!active.is_empty() && active.len() < bulk.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn assembly_refuses_output_that_is_not_grouped() {
    let sim = Simulator::start(sim_config(1_100, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let result = c.bulk_query(PRODUCTS, &fast()).await.unwrap();
    let records = c.bulk_download(&result).unwrap();
    let err = group_objects(records)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("groupObjects: true"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn bulk_mutation_lifecycle_matches_results_to_input_lines() {
    let sim = Simulator::start(sim_config(5, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let mutation = "mutation call($product: ProductCreateInput!) { productCreate(product: $product) { product { id title } userErrors { field message } } }";
    let inputs = vec![
        json!({"product": {"title": "Bulk one"}}),
        json!({"product": {"title": ""}}),
        json!({"product": {"title": "Bulk / three", "vendor": "Acme"}}),
    ];
    let result = c.bulk_mutation(mutation, inputs, &fast()).await.unwrap();
    assert!(!result.is_partial());
    assert!(result.missing().is_empty());
    assert_eq!(result.lines().len(), 3);
    assert!(result.line(0).unwrap().is_ok());
    assert_eq!(
        result.line(2).unwrap().data()["productCreate"]["product"]["title"],
        "Bulk / three"
    );
    let failed: Vec<_> = result.failed().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].line_number(), 1);
    assert_eq!(
        failed[0].user_errors()[0].field,
        Some(vec!["title".to_string()])
    );
    let titles: HashSet<String> = sim.dump().products.into_iter().map(|p| p.title).collect();
    assert!(titles.contains("Bulk one") && titles.contains("Bulk / three"));

    // Refused before anything is sent: a document that does not validate, or
    // variables that are not objects.
    let err = c
        .bulk_mutation("mutation { nope }", vec![json!({})], &fast())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = c
        .bulk_mutation(mutation, vec![json!([1])], &fast())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(sim.bulk_operations().len(), 1);
    // The upload and the download went to storage without the token.
    let log = sim.bulk_transfers();
    assert!(log.iter().any(|t| t.method == "POST" && t.status == 201));
    assert!(log.iter().any(|t| t.method == "GET" && t.status == 200));
    assert_no_token_sent(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_busy_slot_is_waited_for_before_2026_01() {
    let sim = Simulator::start(sim_config(150, 500.0)).await.unwrap();
    let c = client_at(&sim, "2025-10");
    let first = c.bulk_query_start(PRODUCTS, &fast()).await.unwrap();
    let ids_only = "{ products { nodes { id } } }";
    // With no patience, the limit is an error carrying Shopify's user error.
    let err = c
        .bulk_query_start(ids_only, &fast().slot_timeout(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(
        err.user_errors()[0].code.as_deref(),
        Some("OPERATION_IN_PROGRESS")
    );
    // With patience, the second starts once the first is done.
    let second = c.bulk_query(ids_only, &fast()).await.unwrap();
    let ops = sim.bulk_operations();
    assert_eq!(ops.len(), 2);
    assert_eq!(
        ops[0].id.to_string(),
        first.id.as_str().rsplit('/').next().unwrap()
    );
    assert_eq!(ops[0].status, BulkStatus::Completed);
    assert!(ops[1].created_at >= ops[0].completed_at.unwrap());
    assert_eq!(second.operation().object_count, 150);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_running_identical_flat_export_is_adopted_not_duplicated() {
    let sim = Simulator::start(sim_config(150, 100.0)).await.unwrap();
    let c = client_at(&sim, "2025-10");
    let first = c.bulk_query_start(PRODUCTS, &fast()).await.unwrap();
    // As a retry whose first response was lost would: the same query again.
    let again = c.bulk_query_start(PRODUCTS, &fast()).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(sim.bulk_operations().len(), 1);
    // A grouped run cannot know the running one is grouped: it waits for a slot (which
    // the cancel frees).
    let c2 = c.clone();
    let id = first.id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c2.bulk_cancel(&id).await.unwrap();
    });
    let grouped = c
        .bulk_query_start(PRODUCTS, &fast().group_objects(true))
        .await
        .unwrap();
    assert_ne!(grouped.id, first.id);
    assert_eq!(sim.bulk_operations().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_and_timeout_stop_an_operation() {
    let sim = Simulator::start(sim_config(400, 100.0)).await.unwrap();
    let c = client(&sim);
    let op = c.bulk_query_start(PRODUCTS, &fast()).await.unwrap();
    let canceling = c.bulk_cancel(&op.id).await.unwrap();
    assert_eq!(canceling.status, BulkOperationStatus::Canceling);
    let done = c.bulk_wait(&op.id, &fast()).await.unwrap();
    assert_eq!(done.status, BulkOperationStatus::Canceled);
    assert_eq!(
        BulkQueryResult::from_operation(done).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    let again = c.bulk_cancel(&op.id).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::UserErrors);

    // A wait with a timeout gives up and cancels what it waited for.
    let started = Instant::now();
    let err = c
        .bulk_query(PRODUCTS, &fast().timeout(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
    let last = sim.bulk_operations().pop().unwrap();
    assert!(matches!(
        last.status,
        BulkStatus::Canceling | BulkStatus::Canceled
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wait_dropped_midway_cancels_the_operation_unless_told_not_to() {
    let sim = Simulator::start(sim_config(400, 100.0)).await.unwrap();
    let c = client(&sim);
    // Drop a bulk query's future once its operation runs (4 s of rows at this pace).
    let drop_when_running = |options: BulkOptions| {
        let (c, sim) = (c.clone(), &sim);
        async move {
            let before = sim.bulk_operations().len();
            let mut query = Box::pin(async move { c.bulk_query(PRODUCTS, &options).await });
            let running = async {
                while !sim
                    .bulk_operations()
                    .get(before)
                    .is_some_and(|op| op.status == BulkStatus::Running)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            tokio::select! {
                done = &mut query => panic!("finished before it was dropped: {done:?}"),
                () = running => {}
            }
            drop(query);
        }
    };

    drop_when_running(fast()).await;
    // The cancel runs in the background, right after the drop.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = sim.bulk_operations()[0].status;
        if matches!(status, BulkStatus::Canceling | BulkStatus::Canceled) {
            break;
        }
        assert!(Instant::now() < deadline, "not canceled: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Told not to, the operation runs on after the drop.
    drop_when_running(fast().cancel_on_drop(false)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ops = sim.bulk_operations();
    assert_eq!(ops.len(), 2);
    assert!(
        matches!(ops[1].status, BulkStatus::Running | BulkStatus::Completed),
        "{:?}",
        ops[1].status
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_finish_signal_wakes_a_long_poll() {
    let sim = Simulator::start(sim_config(100, 5_000.0)).await.unwrap();
    let c = client(&sim);
    let signal = BulkFinishSignal::new();
    // Polls every 60 s: only the signal can end the wait within the test.
    let options = BulkOptions::default()
        .poll_interval(Duration::from_secs(60), Duration::from_secs(60))
        .finished_signal(signal.clone());
    let op = c.bulk_query_start(PRODUCTS, &fast()).await.unwrap();
    let sim = Arc::new(sim);
    let watcher = {
        let sim = sim.clone();
        tokio::spawn(async move {
            // Stands in for the app's bulk_operations/finish webhook handler.
            loop {
                if sim
                    .bulk_operations()
                    .iter()
                    .all(|o| o.status == BulkStatus::Completed)
                {
                    signal.notify();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let done = tokio::time::timeout(Duration::from_secs(20), c.bulk_wait(&op.id, &options))
        .await
        .expect("woken by the signal")
        .unwrap();
    assert_eq!(done.status, BulkOperationStatus::Completed);
    assert!(started.elapsed() < Duration::from_secs(20));
    watcher.await.unwrap();
}

#[tokio::test]
async fn a_failure_midway_is_salvaged_as_partial_data() {
    let sim = Simulator::start(sim_config(300, f64::INFINITY))
        .await
        .unwrap();
    sim.fail_next_bulk_operation(123, BulkErrorCode::Timeout);
    let c = client(&sim);
    let result = c.bulk_query(PRODUCTS, &fast()).await.unwrap();
    assert!(result.is_partial());
    assert_eq!(result.error_code(), Some("TIMEOUT"));
    assert_eq!(result.operation().status, BulkOperationStatus::Failed);
    let records: Vec<JsonlRecord> = c
        .bulk_download(&result)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(records.len(), 123);

    // Failing before any line: no partial data, an error saying why.
    sim.fail_next_bulk_operation(0, BulkErrorCode::InternalServerError);
    let err = c.bulk_query(PRODUCTS, &fast()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.to_string().contains("INTERNAL_SERVER_ERROR"));
    assert_no_token_sent(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_results_are_errors() {
    let sim = Simulator::start(sim_config(20, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let result = c.bulk_query(PRODUCTS, &fast()).await.unwrap();
    sim.expire_bulk_operations();
    let err = c
        .bulk_download(&result)
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        !err.to_string().contains("Signature="),
        "no signed URL in errors"
    );
    let op = c.bulk_wait(&result.operation().id, &fast()).await.unwrap();
    assert_eq!(op.status, BulkOperationStatus::Expired);
    assert_eq!(
        BulkQueryResult::from_operation(op).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_empty_export_is_an_empty_stream() {
    let sim = Simulator::start(sim_config(20, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let (result, products) = c
        .bulk_products(Some("title:nothing-matches-this"), &fast())
        .await
        .unwrap();
    assert!(result.data_url().is_none());
    assert_eq!(products.count().await, 0);
    sim.shutdown().await;
}

/// A one-file HTTP server that breaks the first response halfway, then serves ranges
/// (or ignores them, when `honour_range` is false).
async fn flaky_server(body: Vec<u8>, honour_range: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(vec![]));
    let log = requests.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            n += 1;
            let mut buf = vec![0u8; 4096];
            let mut got = 0;
            while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf[got..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got += k,
                }
            }
            let head = String::from_utf8_lossy(&buf[..got]).to_string();
            log.lock().unwrap().push(head.clone());
            let range = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("range: bytes=")
                        .map(String::from)
                })
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            if n == 1 {
                let header = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/jsonl\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(header.as_bytes()).await;
                let _ = sock.write_all(&body[..body.len() / 2]).await;
                let _ = sock.flush().await;
                drop(sock); // the connection breaks mid-body
                continue;
            }
            let (status, part) = match range {
                Some(from) if honour_range => (
                    format!(
                        "206 Partial Content\r\ncontent-range: bytes {from}-{}/{}",
                        body.len() - 1,
                        body.len()
                    ),
                    &body[from..],
                ),
                _ => ("200 OK".to_string(), &body[..]),
            };
            let header = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                part.len()
            );
            let _ = sock.write_all(header.as_bytes()).await;
            let _ = sock.write_all(part).await;
        }
    });
    (
        format!("http://{addr}/result.jsonl?Signature=abc"),
        requests,
    )
}

#[tokio::test]
async fn a_broken_download_resumes_where_it_stopped() {
    let sim = Simulator::start(sim_config(1, f64::INFINITY))
        .await
        .unwrap();
    let c = client(&sim);
    let body: Vec<u8> = (0..3_000)
        .flat_map(|i| {
            format!(
                "{{\"id\":\"gid:\\/\\/shopify\\/Product\\/{}\",\"title\":\"P {i}\"}}\n",
                i + 1
            )
            .into_bytes()
        })
        .collect();
    for honour_range in [true, false] {
        let (url, requests) = flaky_server(body.clone(), honour_range).await;
        let records: Vec<JsonlRecord> = c
            .bulk_download_url(&url, 3)
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(records.len(), 3_000, "honour_range {honour_range}");
        let ids: HashSet<_> = records
            .iter()
            .map(|r| r.id().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 3_000, "nothing twice, nothing lost");
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2);
        assert!(requests[1].to_ascii_lowercase().contains("range: bytes="));
        for r in requests.iter() {
            assert!(!r.to_ascii_lowercase().contains("x-shopify-access-token"));
        }
    }
    // With no resumes left, the break is an error, and the half line is not a record.
    let (url, _) = flaky_server(body.clone(), true).await;
    let mut stream = c.bulk_download_url(&url, 0).unwrap();
    let mut n = 0;
    let err = loop {
        match stream.next().await {
            Some(Ok(_)) => n += 1,
            Some(Err(e)) => break e,
            None => panic!("the break is reported"),
        }
    };
    assert!(n < 3_000);
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(stream.next().await.is_none());
    sim.shutdown().await;
}
