"""The sync engine through the binding, against the simulator over real HTTP: pull,
local records as dicts, baseline, plan, review in the store, apply with progress events
(callable, iterator, async iterator), statuses, cancellation, webhook refresh."""

import asyncio
import datetime
import decimal
import json
import os
import signal
import threading
import time

import pytest

import shopify_sync
from conftest import check_event_shape, client_for, local_products



def engine_for(sim, store=None, **kw):
    store = store if store is not None else shopify_sync.MemoryStore()
    return shopify_sync.SyncEngine(client_for(sim), store, **kw), store


def adopted(sim, **kw):
    """An engine whose store holds a pull and a baseline of every product."""
    engine, store = engine_for(sim, **kw)
    engine.pull("paginated")
    local = local_products(store)
    assert engine.baseline(local) == len(local)
    return engine, store, local


@pytest.mark.shopify_sim(products=12, collections=3, seed=5)
def test_pull_baseline_plan_approve_apply_status(shopify_sim):
    engine, store, local = adopted(shopify_sim)
    report = engine.pull("paginated")
    assert isinstance(report, shopify_sync.PullReport)
    assert report.mode == "paginated" and report.products == 12 and not report.incremental
    assert report.cursor is not None and report.cursor.tzinfo is not None
    assert isinstance(report.elapsed, datetime.timedelta)

    # Nothing changed yet: every product is synced, and a plan is empty.
    assert {s["state"] for s in engine.statuses(local)} == {"synced"}
    assert len(engine.plan(local)) == 0

    # Local edits: a title, prices as Decimal (any exponent), a new product.
    local[0]["title"] = "Renamed locally"
    for v in local[1]["variants"]:
        v["price"] = decimal.Decimal("1234E-2")
    new = {
        "local_id": "NEW-1",
        "title": "Brand new tee",
        "handle": "brand-new-tee",
        "status": "active",
        "options": [{"name": "Size", "values": ["S"]}],
        "variants": [
            {"price": decimal.Decimal("10.00"), "sku": "BNT-S",
             "option_values": [{"name": "Size", "value": "S"}]}
        ],
    }
    local.append(new)
    plan = engine.plan(local)
    summary = plan.summary()
    assert isinstance(summary, shopify_sync.PlanSummary)
    assert summary.changes == 3 and summary.by_operation == {"update": 2, "create": 1}
    assert summary.by_state == {"staged": 3}
    statuses = engine.statuses(local)
    assert statuses[0]["state"] == "pending"
    assert statuses[-1]["state"] == "pending_create"
    rows = plan.review_rows()
    assert {r["path"] for r in rows if r["change_id"] == plan.changes()[0].id}
    assert all(set(r) >= {"change_id", "target", "operation", "state", "path", "kind"} for r in rows)

    review = store.approve(plan, actor="ana", comment="looks right")
    assert isinstance(review, shopify_sync.ReviewReport)
    assert sorted(review.changed) == sorted(c.id for c in plan.changes())

    events = []
    report = engine.apply({"plan_id": plan.id}, on_event=events.append, operation_id="op-test-1")
    assert isinstance(report, shopify_sync.ApplyReport)
    assert (report.applied, report.stale, report.failed) == (3, 0, 0)
    assert report.operation_id == "op-test-1"
    assert [m.local_id for m in report.created] == ["NEW-1"]
    created = report.created[0].shopify_id
    assert created.startswith("gid://shopify/Product/")
    variant_ids = report.created[0].variants
    assert all(isinstance(v, shopify_sync.VariantIdMapping) for v in variant_ids)
    assert sorted(v.id for v in variant_ids) == sorted(v.id for v in engine.client.product(created).variants)

    # Events: every one in its vector shape, for this operation, in order, ending.
    assert events[0]["type"] == "operation_started" and events[-1]["type"] == "finished"
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert {e["operation_id"] for e in events} == {"op-test-1"}
    for e in events:
        check_event_shape(e)
    json.dumps(events)  # plain JSON, ready for socketio.emit

    # Shopify holds the intent; the journal and the audit trail follow.
    client = engine.client
    assert client.product(local[0]["shopify_id"]).title == "Renamed locally"
    priced = client.product(local[1]["shopify_id"])
    assert {v.price for v in priced.variants} == {decimal.Decimal("12.34")}
    assert client.product_by_handle("brand-new-tee").id == created
    assert {c.state for c in store.changes(plan)} == {"applied"}
    trail = store.audit({"target": "NEW-1"})
    assert [e.action for e in trail] == ["planned", "approved", "applying", "applied"]
    assert trail[1].actor == "ana" and trail[1].comment == "looks right"
    assert review.audit[0] == store.audit({"after_seq": review.audit[0].seq - 1, "limit": 1})[0]
    assert store.in_flight() == []
    jsonl = store.export_audit_jsonl({"target": "NEW-1"}).splitlines()
    assert [json.loads(line)["action"] for line in jsonl] == [e.action for e in trail]

    # After a pull the new product is known by its local id: nothing to plan. (Its
    # status reads remote_changes while the core stores the created product's base as
    # the local snapshot: Shopify filled in inventory_policy=deny.)
    engine.pull("paginated")
    statuses = engine.statuses(local)
    assert [s["state"] for s in statuses[:-1]] == ["synced"] * (len(local) - 1)
    assert statuses[-1]["state"] in {"synced", "remote_changes"}
    assert len(engine.plan(local)) == 0
    # Applying again writes nothing.
    again = engine.apply(plan)
    assert (again.applied, again.stale, again.failed) == (0, 0, 0)


@pytest.mark.shopify_sim(products=6, collections=2, seed=2)
def test_conflicts_stale_and_rejections(shopify_sim):
    engine, store, local = adopted(shopify_sim)
    numeric = lambda gid: int(gid.rsplit("/", 1)[1])  # noqa: E731
    # Both sides change product 0's title: a conflict, not approvable.
    local[0]["title"] = "Ours"
    shopify_sim.edit_product(numeric(local[0]["shopify_id"]), {"title": "Theirs"})
    # Product 1: approved, then Shopify moves: stale at apply time.
    local[1]["title"] = "Ours too"
    # Product 2: rejected, and not proposed again.
    local[2]["vendor"] = "Rejected vendor"
    engine.pull("paginated")
    plan = engine.plan(local)
    assert plan.summary().conflicts == 1
    by_target = {c.target.shopify_id: c for c in plan.changes()}
    conflict = by_target[local[0]["shopify_id"]]
    rejected = by_target[local[2]["shopify_id"]]
    out = store.reject({"change_ids": [rejected.id]}, actor="ana")
    assert out.changed == [rejected.id]
    review = store.approve(plan, actor="ana")
    assert [s["change_id"] for s in review.skipped] == [conflict.id]
    assert conflict.unresolved_conflicts == 1
    shopify_sim.edit_product(numeric(local[1]["shopify_id"]), {"title": "Theirs, later"})
    report = engine.apply(plan)
    assert (report.applied, report.stale, report.failed) == (0, 1, 0)
    stale = store.change(by_target[local[1]["shopify_id"]].id)
    assert isinstance(stale, shopify_sync.Change)
    assert stale.state == "stale" and stale.result.outcome == "stale" and "title" in stale.result.message

    # The conflict resolved by taking the local value: approvable, then applied.
    resolved = store.resolve(conflict.id, "local", actor="ana")
    assert resolved.state == "staged" and resolved.unresolved_conflicts == 0
    assert [r.resolution.take for r in resolved.rows if r.kind == "conflict"] == ["local"]
    assert store.approve({"change_ids": [conflict.id]}, actor="ana").changed == [conflict.id]
    assert engine.apply({"change_ids": [conflict.id]}).applied == 1
    assert engine.client.product(local[0]["shopify_id"]).title == "Ours"

    # The rejection is remembered: planning again does not propose it.
    engine.pull("paginated")
    again = engine.plan(local)
    assert all(c.target.shopify_id != local[2]["shopify_id"] for c in again.changes())


@pytest.mark.shopify_sim(products=5, collections=1, seed=9)
def test_events_from_an_iterator_in_another_thread(shopify_sim):
    engine, store, local = adopted(shopify_sim)
    for p in local:
        p["title"] += " (v2)"
    plan = engine.plan(local)
    store.approve(plan, actor="ana")
    op = engine.start_apply(plan)
    assert op.operation_id.startswith("op-")
    seen = []
    # As a Flask-SocketIO app would: a thread of its own emits to the operation's room.
    consumer = threading.Thread(target=lambda: seen.extend(op))
    consumer.start()
    report = op.wait(timeout=60)
    consumer.join(30)
    assert not consumer.is_alive()
    assert op.done
    assert report.applied == 5
    assert seen[0]["type"] == "operation_started" and seen[-1]["type"] == "finished"
    assert {e["operation_id"] for e in seen} == {op.operation_id}
    for e in seen:
        check_event_shape(e)
    # Ended: no more events, whichever way they are asked for.
    assert op.next_event(timeout=0.1) is None
    assert list(op) == [] and op.drain() == []
    assert op.wait() == report
    assert "done=true" in repr(op)


@pytest.mark.shopify_sim(products=4, collections=1, seed=4)
def test_async_apply_and_async_iteration(shopify_sim):
    engine, store, local = adopted(shopify_sim)

    async def main():
        pulled = await engine.pull_async("paginated")
        assert pulled.products == 4
        for p in local:
            p["title"] += " async"
        plan = engine.plan(local)
        store.approve(plan, actor="ana")
        loop_thread = threading.get_ident()
        threads = set()
        got = []

        def on_event(e):
            threads.add(threading.get_ident())
            got.append(e)

        report = await engine.apply_async(plan, on_event=on_event)
        # Every event was delivered on the event loop's thread before the await ended.
        assert threads == {loop_thread}
        assert got[-1]["type"] == "finished"

        for p in local:
            p["title"] += " again"
        plan2 = engine.plan(local)
        store.approve(plan2, actor="ana")
        op = engine.start_apply(plan2)
        streamed = [e async for e in op]
        second = await op.wait_async()
        return report, streamed, second

    report, streamed, second = asyncio.run(main())
    assert report.applied == 4 and second.applied == 4
    assert streamed[0]["type"] == "operation_started" and streamed[-1]["type"] == "finished"


@pytest.mark.shopify_sim(products=3, collections=1, seed=4)
def test_an_exception_in_the_callback_stops_the_apply(shopify_sim):
    engine, store, local = adopted(shopify_sim)
    for p in local:
        p["title"] += "!"
    plan = engine.plan(local)
    store.approve(plan, actor="ana")

    class Boom(Exception):
        pass

    def on_event(e):
        raise Boom(e["type"])

    with pytest.raises(Boom, match="operation_started"):
        engine.apply(plan, on_event=on_event)
    # Whatever was left applying is settled by the next apply: exactly once.
    report = engine.apply(plan)
    assert report.applied + report.reconciled >= 0
    assert {c.state for c in store.changes(plan)} == {"applied"}
    assert store.in_flight() == []


def one_worker(sim):
    """An adopted engine writing 2 products per job, one job at a time, with every
    product's title edited, planned and approved."""
    engine, store, local = adopted(sim, guard_batch=2, max_workers=1, min_workers=1)
    for p in local:
        p["title"] += " slow"
    plan = engine.plan(local)
    store.approve(plan, actor="ana")
    return engine, store, plan


def check_cancelled_then_finished(engine, store, plan):
    """After a cancelled apply returned: nothing is left applying, the changes not started
    are still approved, and the next apply writes exactly those (none reconciled, none
    twice)."""
    assert store.in_flight() == []
    states = [c.state for c in store.changes(plan)]
    assert set(states) <= {"applied", "approved"}, states
    assert "approved" in states, "the cancel stopped nothing"
    report = engine.apply(plan)
    assert (report.failed, report.stale, report.reconciled) == (0, 0, 0)
    assert report.applied == states.count("approved")
    assert {c.state for c in store.changes(plan)} == {"applied"}
    titles = [p.title for p in engine.client.products()]
    assert all(t.endswith(" slow") and not t.endswith(" slow slow") for t in titles)


def test_cancel_a_running_apply_and_reconcile(shopify_sim):
    engine, store, plan = one_worker(shopify_sim)
    # Every request now waits: the apply is still running when it is cancelled.
    shopify_sim.inject([{"kind": "stall", "ms": 2000}] * 3)
    op = engine.start_apply(plan)
    first = op.next_event(timeout=30)
    assert first is not None and first["type"] == "operation_started"
    op.cancel()
    op.cancel()  # idempotent
    with pytest.raises(shopify_sync.ShopifyCancelledError):
        op.wait(timeout=30)
    assert op.done
    # The iterator ends after a cancel too.
    assert list(op) is not None
    check_cancelled_then_finished(engine, store, plan)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="posix signals")
def test_ctrl_c_cancels_a_blocking_apply(shopify_sim):
    engine, store, plan = one_worker(shopify_sim)
    shopify_sim.inject([{"kind": "stall", "ms": 1500}] * 2)
    started = threading.Event()

    def interrupt():
        started.wait(30)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()

    def on_event(e):
        if e["type"] == "job_started":
            started.set()

    with pytest.raises(KeyboardInterrupt):
        engine.apply(plan, on_event=on_event)
    # apply() returned only once the running writes were recorded.
    check_cancelled_then_finished(engine, store, plan)


def test_cancelling_apply_async(shopify_sim):
    engine, store, plan = one_worker(shopify_sim)
    shopify_sim.inject([{"kind": "stall", "ms": 1500}] * 2)

    async def main():
        started = asyncio.Event()

        def on_event(e):
            if e["type"] == "job_started":
                started.set()

        task = asyncio.ensure_future(engine.apply_async(plan, on_event=on_event))
        await asyncio.wait_for(started.wait(), 30)
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    # The running writes finish and are recorded in the background: wait for them.
    deadline = time.monotonic() + 30
    while not any(c.state == "applied" for c in store.changes(plan)) or store.in_flight():
        assert time.monotonic() < deadline, "the running job was not recorded"
        time.sleep(0.05)
    check_cancelled_then_finished(engine, store, plan)


def test_cancelling_an_async_pull(shopify_sim):
    engine, store = engine_for(shopify_sim)
    shopify_sim.inject([{"kind": "stall", "ms": 3000}])

    async def main():
        fut = engine.pull_async("paginated")
        await asyncio.sleep(0.3)
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut

    asyncio.run(main())
    # A cancelled pull sets no checkpoint.
    assert store.checkpoint("sync.full_pull.at") is None
    assert engine.pull("paginated").products == 20


def test_wait_timeout_and_bad_arguments(shopify_sim):
    engine, store = engine_for(shopify_sim)
    with pytest.raises(shopify_sync.InvalidInputError, match="pull mode"):
        engine.pull("sideways")
    with pytest.raises(shopify_sync.InvalidInputError, match="change filter"):
        engine.apply({"plan": "typo"})
    with pytest.raises(shopify_sync.InvalidInputError, match="change filter"):
        store.approve({"no_such_key": 1}, actor="ana")
    with pytest.raises(shopify_sync.InvalidInputError, match=r"product \[0\]"):
        engine.plan([{"local_id": "1", "titel": "typo"}])
    with pytest.raises(shopify_sync.InvalidInputError, match="decimal string"):
        engine.plan([{"local_id": "1", "variants": [{"price": 10.5}]}])
    with pytest.raises(shopify_sync.InvalidInputError, match="naive datetime"):
        engine.plan([{"local_id": "1", "updated_at": datetime.datetime(2026, 1, 1)}])
    with pytest.raises(shopify_sync.InvalidInputError, match="shopify_id"):
        engine.plan([{"local_id": "1", "shopify_id": "gid://shopify/Collection/1"}])
    with pytest.raises(shopify_sync.InvalidInputError, match="scope"):
        engine.plan([], scope="everything")
    with pytest.raises(shopify_sync.InvalidInputError, match="guard_batch"):
        shopify_sync.SyncEngine(engine.client, store, guard_batch=0)
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.SyncEngine(engine.client, store, write_mode="fast")
    # Nothing approved: an apply does nothing, quickly.
    op = engine.start_apply()
    report = op.wait(timeout=30)
    assert (report.applied, report.failed) == (0, 0)


def test_ids_as_numbers_scope_all_and_deletes(shopify_sim):
    engine, store = engine_for(shopify_sim)
    engine.pull("paginated")
    local = local_products(store)
    for p in local:
        p["shopify_id"] = int(p["shopify_id"].rsplit("/", 1)[1])  # the numeric id column
    assert engine.baseline(local) == len(local)
    # With scope="all", a product missing from the local records is to be deleted.
    kept = local[1:]
    plan = engine.plan(kept, scope="all")
    assert plan.summary().by_operation == {"delete": 1}
    # A listed scope never deletes.
    assert len(engine.plan(kept)) == 0


def test_sqlite_store_persists_between_objects(tmp_path, shopify_sim):
    path = tmp_path / "sync.db"
    store = shopify_sync.SqliteStore(path)
    assert store.path == str(path) and "sync.db" in repr(store)
    assert isinstance(store, shopify_sync.ChangeStore)
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store, actor="nightly-job")
    engine.pull("paginated")
    local = local_products(store)
    engine.baseline(local)
    local[0]["tags"] = ["new-tag"]
    plan = engine.plan(local)
    # A plan file round trip, and the plan as the store holds it.
    plan_file = tmp_path / "plan.json"
    plan.write_file(plan_file)
    back = shopify_sync.Plan.read_file(plan_file)
    assert back.to_dict() == plan.to_dict()
    assert shopify_sync.Plan.from_file_json(plan.to_file_json()).id == plan.id
    assert shopify_sync.Plan.from_dict(plan.to_dict()).id == plan.id
    edited = json.loads(plan.to_file_json())
    edited["plan"]["changes"][0]["priority"] = 99
    with pytest.raises(shopify_sync.InvalidInputError, match="digest"):
        shopify_sync.Plan.from_file_json(json.dumps(edited))
    assert plan.created_at.tzinfo is not None
    assert "Plan(id=" in repr(plan) and len(plan) == 1
    assert plan.change(plan.changes()[0].id).operation == "update"
    assert plan.change("nope") is None
    assert isinstance(plan.incoming(), list) and isinstance(plan.problems(), list)
    assert isinstance(plan.unmanaged(), list) and plan.unchanged >= 0

    reopened = shopify_sync.SqliteStore(str(path))
    saved = reopened.plan(plan.id)
    assert saved is not None and saved.id == plan.id
    assert reopened.plan("no-such-plan") is None
    assert reopened.checkpoint("sync.full_pull.at") is not None
    reopened.set_checkpoint("mine", "1")
    assert store.checkpoint("mine") == "1"
    assert reopened.snapshot("remote", local[0]["shopify_id"])["snapshot"]["kind"] == "product"
    assert reopened.snapshot("base", "gid://shopify/Product/1") is None
    with pytest.raises(shopify_sync.InvalidInputError):
        reopened.snapshots("middle")
    trail = reopened.audit({"plan_id": plan.id})
    assert trail[0].action == "planned" and trail[0].actor == "nightly-job"
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.SqliteStore(path, synchronous="sometimes")
    fast = shopify_sync.SqliteStore(tmp_path / "fast.db", synchronous="normal", busy_timeout=1.5)
    assert fast.changes() == []


def test_sqlite_store_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPIFY_SYNC_STORE", str(tmp_path / "env.db"))
    store = shopify_sync.SqliteStore()
    assert store.path.endswith("env.db")
    assert (tmp_path / "env.db").exists()


def test_save_a_plan_from_a_file_into_another_store(shopify_sim, tmp_path):
    engine, store, local = adopted(shopify_sim)
    local[0]["title"] = "From a file"
    plan = engine.plan(local)
    other = shopify_sync.MemoryStore()
    saved = other.save_plan(shopify_sync.Plan.from_file_json(plan.to_file_json()), actor="ana")
    assert saved == shopify_sync.SavedPlan(plan_id=plan.id, changes=1, superseded=[])
    with pytest.raises(shopify_sync.InvalidInputError, match="already"):
        other.save_plan(plan, actor="ana")


@pytest.mark.shopify_sim(products=5, collections=2, seed=8)
def test_webhook_queue_and_refresh(shopify_sim):
    import base64
    import hashlib
    import hmac

    engine, store, local = adopted(shopify_sim)
    target = local[0]["shopify_id"]
    shopify_sim.edit_product(int(target.rsplit("/", 1)[1]), {"title": "Edited in the admin"})
    queue = shopify_sync.WebhookQueue(["s3cret"])
    body = json.dumps({"id": int(target.rsplit("/", 1)[1])}).encode()
    headers = {
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": base64.b64encode(
            hmac.new(b"s3cret", body, hashlib.sha256).digest()
        ).decode(),
        "X-Shopify-Event-Id": "e-1",
        "X-Shopify-Triggered-At": "2026-03-01T12:00:00Z",
    }
    got = queue.receive(headers, body)
    assert got == {"outcome": "marked", "topic": "products/update", "product_id": target,
                   "collection_id": None}
    assert queue.receive(headers, body)["outcome"] == "duplicate"
    assert queue.pending == 1 and len(queue) == 1
    with pytest.raises(shopify_sync.AuthError):
        queue.receive({**headers, "X-Shopify-Hmac-Sha256": "bad"}, body)
    queue.mark_collection(1)  # by hand, numeric; the refresh finds it gone
    report = engine.refresh(queue)
    assert isinstance(report, shopify_sync.RefreshReport)
    assert report.products == 1 and report.duplicates == 1
    assert queue.pending == 0
    assert store.snapshot("remote", target)["snapshot"]["title"] == "Edited in the admin"
    queue.mark_product(target)
    assert asyncio.run(_refresh(engine, queue)).products == 1


async def _refresh(engine, queue):
    return await engine.refresh_async(queue)


def test_forked_child_runs_the_engine(shopify_sim):
    import os

    if not hasattr(os, "fork"):
        pytest.skip("needs fork()")
    engine, store = engine_for(shopify_sim)
    engine.pull("paginated")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            code = 0 if engine.pull("paginated").products == 20 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.shopify_sim(products=230, collections=4, seed=2)
def test_pull_progress_in_the_calling_thread(shopify_sim):
    engine, store = engine_for(shopify_sim)
    seen = []
    threads = set()

    def on_progress(p):
        seen.append(p)
        threads.add(threading.get_ident())

    report = engine.pull("paginated", on_progress=on_progress)
    assert [p["stage"] for p in seen] == [
        "collections", "membership", "products", "products", "products", "reconciled", "done",
    ]
    assert [p["products"] for p in seen[2:5]] == [100, 200, 230]
    assert all(p["total_products"] == 230 and p["incremental"] is False for p in seen)
    assert seen[-1]["products"] == report.products
    assert seen[-1]["collections"] == report.collections
    assert threads == {threading.get_ident()}

    seen.clear()
    engine.pull_incremental(on_progress=seen.append)
    assert seen[-1]["stage"] == "done"
    assert all(p["incremental"] is True and p["total_products"] is None for p in seen)


@pytest.mark.shopify_sim(products=230, collections=4, seed=2)
def test_a_raising_progress_callback_cancels_the_pull(shopify_sim):
    engine, store = engine_for(shopify_sim)

    def stop_after_collections(p):
        if p["stage"] == "collections":
            raise RuntimeError("enough")

    # The pull goes on while the callback runs; it stops at its next wait (a request).
    with pytest.raises(RuntimeError, match="enough"):
        engine.pull("paginated", on_progress=stop_after_collections)
    assert store.checkpoint("sync.full_pull.at") is None
    assert store.snapshots("remote") == {}


@pytest.mark.shopify_sim(products=120, collections=2, seed=2)
def test_async_pull_progress_on_the_event_loop(shopify_sim):
    engine, store = engine_for(shopify_sim)

    async def main():
        seen = []
        loop_thread = threading.get_ident()
        threads = set()

        def on_progress(p):
            seen.append(p["stage"])
            threads.add(threading.get_ident())

        report = await engine.pull_async("paginated", on_progress=on_progress)
        await asyncio.sleep(0)  # callbacks scheduled with call_soon_threadsafe run now
        return report, seen, threads, loop_thread

    report, seen, threads, loop_thread = asyncio.run(main())
    assert report.products == 120
    assert seen[0] == "collections" and seen[-1] == "done"
    assert seen.count("products") == 2
    assert threads == {loop_thread}
