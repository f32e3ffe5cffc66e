//! The executor running real jobs against the simulator over HTTP: product updates
//! sharing one small cost bucket, retries of injected 503s, and a write whose outcome is
//! unknown.
use serde_json::{json, Value};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::{RequestOptions, ShopifyClient};
use shopify_sync::error::ErrorKind;
use shopify_sync::executor::{
    job_fn, Effect, Event, EventKind, Executor, ExecutorConfig, Job, Priority, ShopBudget, TryRecv,
};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::faults::Fault;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::time::Duration;

const UPDATE: &str = "mutation U($p: ProductUpdateInput!) { productUpdate(product: $p) { product { id title } userErrors { field message } } }";
const COUNT: &str = "{ productsCount { count } }";

async fn simulator(products: usize, bucket_size: f64, restore_rate: f64) -> Simulator {
    Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections: 2,
            ..CatalogSpec::default()
        }),
        bucket_size,
        restore_rate,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client_for(sim: &Simulator, tweak: impl FnOnce(&mut ClientConfig)) -> ShopifyClient {
    let mut config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token()).unwrap();
    config.retry.initial_backoff = Duration::from_millis(5);
    tweak(&mut config);
    ShopifyClient::new(config).unwrap()
}

/// A job renaming one product.
fn rename(
    client: &ShopifyClient,
    id: u64,
    title: String,
    idempotent: bool,
    priority: Priority,
) -> impl Job {
    let vars = json!({"p": {"id": format!("gid://shopify/Product/{id}"), "title": title}});
    let cost = client.requested_cost(UPDATE, &vars).unwrap();
    let client = client.clone();
    job_fn(cost, move |ctx| {
        let (client, vars) = (client.clone(), vars.clone());
        async move {
            ctx.set_effect(Effect::NotDone);
            ctx.set_effect(Effect::Unknown); // the write may happen from here on
            let resp = client
                .graphql_with(UPDATE, vars, RequestOptions { idempotent })
                .await
                // Setting a title is idempotent: this job takes 5xx as worth retrying.
                .map_err(|e| {
                    let again = idempotent && e.kind() == ErrorKind::Server;
                    e.with_retryable(again)
                })?;
            assert!(resp.data["productUpdate"]["userErrors"]
                .as_array()
                .is_some_and(|e| e.is_empty()));
            ctx.set_effect(Effect::Done);
            Ok(())
        }
    })
    .with_key(format!("product:{id}"))
    .with_priority(priority)
}

fn drain(stream: &mut shopify_sync::executor::EventStream) -> Vec<Event> {
    let mut out = vec![];
    while let TryRecv::Event(e) = stream.try_recv() {
        out.push(e);
    }
    out
}

#[tokio::test]
async fn two_hundred_updates_share_a_small_bucket_without_one_throttled_answer() {
    // A 100-point bucket restoring 1,000 points a second: ~2,200 points of updates.
    let sim = simulator(200, 100.0, 1_000.0).await;
    // The client's own throttle is off: only the executor keeps the requests within the
    // bucket.
    let client = client_for(&sim, |c| c.throttle.proactive = false);
    // One read first, so the mirrored bucket knows the shop's real size.
    client.graphql(COUNT, json!({})).await.unwrap();
    let config = ExecutorConfig {
        event_buffer: 100_000,
        ..ExecutorConfig::default()
    };
    let mut builder = Executor::for_client(&client).config(config);
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let ids: Vec<u64> = sim.dump().products.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 200);
    // Queue them all paused, so that the start order shows the priorities.
    executor.pause();
    for (n, id) in ids.iter().enumerate() {
        let priority = if n % 4 == 0 {
            Priority::HIGH
        } else {
            Priority::NORMAL
        };
        let job = rename(&client, *id, format!("Renamed {id}"), false, priority);
        executor.submit(job).await.unwrap();
    }
    executor.resume();
    let report = executor.finish().await.unwrap();
    let stats = sim.stats();
    assert_eq!(
        stats.throttled, 0,
        "the workers shared the budget: {stats:?}"
    );
    let s = report.summary();
    assert_eq!((s.total(), s.succeeded(), s.failed()), (200, 200, 0));
    assert_eq!(s.cancelled().total(), 0);
    assert!(sim
        .dump()
        .products
        .iter()
        .all(|p| p.title == format!("Renamed {}", p.id)));
    assert_eq!(ShopBudget::for_client(&client).reserved(), 0);

    let events = drain(&mut events);
    assert!(events.windows(2).all(|w| w[0].seq() < w[1].seq()));
    assert_eq!(events.last().unwrap().type_name(), "finished");
    let count = |t: &str| events.iter().filter(|e| e.type_name() == t).count();
    assert_eq!(count("job_succeeded"), 200);
    assert!(count("throttled") > 0, "the bucket was the bottleneck");
    // High priority first, FIFO within a priority, each update once.
    let started: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.kind() {
            EventKind::JobStarted { job_id, .. } => Some(job_id.get()),
            _ => None,
        })
        .collect();
    let (high, normal): (Vec<u64>, Vec<u64>) = (1..=200).partition(|id| (id - 1) % 4 == 0);
    assert_eq!(started, [high, normal].concat());
}

#[tokio::test]
async fn injected_503s_are_retried_by_the_executor() {
    let sim = simulator(20, 2_000.0, 100.0).await;
    // The client tries once; the executor owns the retries.
    let client = client_for(&sim, |c| c.retry.max_attempts = 1);
    client.graphql(COUNT, json!({})).await.unwrap();
    let mut config = ExecutorConfig::default();
    config.retry.initial_backoff = Duration::from_millis(5);
    let mut builder = Executor::for_client(&client).config(config);
    let mut events = builder.events();
    let executor = builder.start().unwrap();
    let fault = Fault::Status {
        status: 503,
        body: String::new(),
        retry_after: None,
    };
    sim.inject(std::iter::repeat_n(fault, 5));
    let ids: Vec<u64> = sim.dump().products.iter().map(|p| p.id).collect();
    for id in &ids {
        executor
            .submit(rename(
                &client,
                *id,
                format!("Retried {id}"),
                true,
                Priority::NORMAL,
            ))
            .await
            .unwrap();
    }
    let report = executor.finish().await.unwrap();
    let s = report.summary();
    assert_eq!((s.succeeded(), s.failed()), (20, 0), "{report:?}");
    assert_eq!(s.retries(), 5);
    assert_eq!(sim.stats().faults, 5);
    let retrying: Vec<Value> = drain(&mut events)
        .iter()
        .filter(|e| e.type_name() == "job_retrying")
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(retrying.len(), 5);
    for r in retrying {
        assert_eq!(r["error"]["kind"], "server");
        assert_eq!(r["error"]["retryable"], true);
    }
    assert!(sim
        .dump()
        .products
        .iter()
        .all(|p| p.title == format!("Retried {}", p.id)));
}

#[tokio::test]
async fn a_lost_response_to_a_write_fails_the_job_with_an_unknown_effect() {
    let sim = simulator(5, 2_000.0, 100.0).await;
    let client = client_for(&sim, |_| {});
    client.graphql(COUNT, json!({})).await.unwrap();
    let executor = Executor::for_client(&client).start().unwrap();
    sim.inject([Fault::AfterExecute { status: 502 }]);
    let id = sim.dump().products[0].id;
    let job = executor
        .submit(rename(&client, id, "Maybe".into(), false, Priority::NORMAL))
        .await
        .unwrap();
    let report = executor.finish().await.unwrap();
    assert_eq!(report.summary().failed(), 1);
    let r = &report.failed()[0];
    assert_eq!((r.id(), r.attempts()), (job.id(), 1), "never retried");
    assert_eq!(r.effect(), Effect::Unknown);
    assert_eq!(r.error().unwrap().kind(), ErrorKind::OutcomeUnknown);
    // It was in fact applied: the caller reconciles by reading.
    assert_eq!(sim.dump().products[0].title, "Maybe");
}
