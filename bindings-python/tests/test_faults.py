"""Simulator fault injection from Python: queued faults, a fault rate, the log, and the
sync engine's exactly-once apply under faults."""

import pytest

import shopify_sync
from conftest import client_for, local_products


def test_queued_faults_are_retried_and_logged(shopify_sim):
    client = client_for(shopify_sim)
    shopify_sim.inject([
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 429, "retry_after": "0.05"},
        {"kind": "internal_error"},
    ])
    assert client.graphql("{ shop { name } }")["data"]["shop"]["name"]
    log = shopify_sim.fault_log()
    assert [f["fault"]["kind"] for f in log] == ["status", "status", "internal_error"]
    assert all(f["executed"] is False for f in log)


def test_a_fault_that_outlasts_the_retries_raises(shopify_sim):
    client = client_for(shopify_sim, max_attempts=1)
    shopify_sim.inject([{"kind": "status", "status": 503}])
    with pytest.raises(shopify_sync.ServerError) as info:
        client.graphql("{ shop { name } }")
    assert info.value.retryable is False
    shopify_sim.inject([{"kind": "not_json"}])
    with pytest.raises(shopify_sync.ShopifySyncError):
        client.graphql("{ shop { name } }")


def test_bad_faults_are_invalid_input(shopify_sim):
    with pytest.raises(shopify_sync.InvalidInputError, match="faults"):
        shopify_sim.inject([{"kind": "meteor"}])
    with pytest.raises(shopify_sync.InvalidInputError, match="fault rate"):
        shopify_sim.set_fault_rate(1.5)


@pytest.mark.shopify_sim(products=15, collections=3, seed=11)
def test_apply_under_random_faults_writes_each_change_once(shopify_sim):
    store = shopify_sync.MemoryStore()
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store)
    engine.pull("paginated")
    local = local_products(store)
    engine.baseline(local)
    for p in local:
        p["title"] += " (faulty network)"
    plan = engine.plan(local)
    store.approve(plan, actor="ana")
    shopify_sim.set_fault_rate(0.3)
    report = None
    for _ in range(10):  # failed changes stay failed; reconcile settles applying ones
        try:
            report = engine.apply(plan)
            break
        except shopify_sync.ShopifySyncError:
            continue
    shopify_sim.set_fault_rate(0.0)
    assert report is not None
    assert store.in_flight() == []
    states = [c.state for c in store.changes(plan)]
    assert set(states) <= {"applied", "failed"}
    # Every change the store calls applied is on Shopify, and written once: the
    # simulator's log of executed writes never shows two products made from one.
    titles = {p.id: p.title for p in engine.client.products()}
    for c in store.changes(plan):
        if c.state == "applied":
            assert titles[c.target.shopify_id].endswith("(faulty network)")
    assert len(titles) == 15
    assert any(f["fault"] for f in shopify_sim.fault_log())
