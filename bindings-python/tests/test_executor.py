"""The executor on its own: the application's GraphQL documents as jobs (priorities,
deduplication, retries, the shared budget), against the simulator over real HTTP; events
through a callable, an iterator and an async iterator; pause, resume, cancel; the typed
report."""

import asyncio
import json
import os
import signal
import threading
import time

import pytest

import shopify_sync
from conftest import check_event_shape, client_for

TAGS = (
    "mutation T($id: ID!, $tags: [String!]!) "
    "{ tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }"
)
READ = "query P($id: ID!) { product(id: $id) { id tags } }"
IDS = "query { products(first: 50) { nodes { id } } }"
ONE_WORKER = {"min_workers": 1, "max_workers": 1}
MISSING = "gid://shopify/Product/999999"


def product_ids(client):
    """The catalog's product gids (the generated ids are not 1..N)."""
    return [p["id"] for p in client.graphql(IDS)["data"]["products"]["nodes"]]


def tags_of(client, gid):
    return client.graphql(READ, {"id": gid})["data"]["product"]["tags"]


@pytest.mark.shopify_sim(products=8, collections=1, seed=3)
def test_jobs_run_by_priority_leave_responses_and_a_refusal_fails(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)
    assert len(ids) == 8
    events = []
    ex = shopify_sync.Executor(client, config=ONE_WORKER, operation_id="op-tags", on_event=events.append)
    assert ex.operation_id == "op-tags" and not ex.done
    # Paused: everything is queued before anything starts, so the order is the priorities'.
    ex.pause()
    jobs = {}
    for n, gid in enumerate(ids):
        s = ex.submit(TAGS, {"id": gid, "tags": [f"p{n % 3}"]}, priority=n % 3, key=f"tags:{gid}")
        assert isinstance(s, shopify_sync.Submission) and not s.duplicate
        jobs[s.job_id] = (gid, n % 3)
    again = ex.submit(TAGS, {"id": ids[0], "tags": ["p0"]}, key=f"tags:{ids[0]}")
    assert again.duplicate and jobs[again.job_id][0] == ids[0]
    refused = ex.submit(TAGS, {"id": MISSING, "tags": ["x"]}, priority=-5, max_attempts=1)
    progress = ex.progress()
    assert (progress["total"], progress["queued"], progress["running"], progress["done"]) == (9, 9, 0, 0)
    ex.resume()
    report = ex.finish()

    assert isinstance(report, shopify_sync.ExecutorReport) and report.operation_id == "op-tags"
    s = report.summary
    assert (s["total"], s["succeeded"], s["failed"], s["deduplicated"]) == (9, 8, 1, 1)
    assert s["cancelled"] == {"done": 0, "not_done": 0, "unknown": 0} and s["cancel"] is None
    assert not report.all_succeeded and report.cancelled == []

    # The refusal: Shopify's userErrors in a typed record, nothing written.
    [failed] = report.failed
    assert isinstance(failed, shopify_sync.JobRecord)
    assert (failed.job_id, failed.key, failed.attempts, failed.effect) == (refused.job_id, None, 1, "not_done")
    assert isinstance(failed.error, shopify_sync.UserErrorsError)
    assert failed.error.user_errors[0]["message"] == "Resource does not exist"
    assert failed.error.user_errors[0]["field"] == ["id"]

    # The responses, by job id, as ShopifyClient.graphql gives them; the tags landed.
    assert set(report.responses) == set(jobs)
    for job_id, (gid, priority) in jobs.items():
        r = report.responses[job_id]
        assert set(r) == {"data", "errors", "request_id", "cost"}
        assert r["data"]["tagsAdd"]["node"]["id"] == gid
        assert f"p{priority}" in tags_of(client, gid)

    # Events: in the vector shapes, this operation's, in order; jobs started by priority
    # (first in, first out within one), the refused one last.
    assert events[0]["type"] == "operation_started" and events[-1]["type"] == "finished"
    assert {e["operation_id"] for e in events} == {"op-tags"}
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    for e in events:
        check_event_shape(e)
    types = [e["type"] for e in events]
    assert types.index("paused") < types.index("resumed") < types.index("job_started")
    started = [e["job_id"] for e in events if e["type"] == "job_started"]
    assert started[-1] == refused.job_id
    order = [(-jobs[j][1], j) for j in started[:-1]]
    assert order == sorted(order)
    assert events[-1]["succeeded"] == 8 and events[-1]["failed"] == 1
    json.dumps(events)

    # The report round-trips through to_dict() and JSON.
    assert shopify_sync.ExecutorReport.from_dict(report.to_dict()) == report
    text = json.dumps(report.to_dict())
    back = shopify_sync.ExecutorReport.from_dict(json.loads(text))
    assert back == report and isinstance(back.failed[0].error, shopify_sync.UserErrorsError)

    # Ended: the same report again, no more jobs, no more events.
    assert ex.done and ex.finish() == report
    with pytest.raises(shopify_sync.ShopifyCancelledError):
        ex.submit(READ, {"id": ids[0]})
    assert ex.next_event(timeout=0.1) is None and ex.drain() == [] and list(ex) == []


def test_unusable_documents_and_options_are_refused_at_once(shopify_sim):
    client = client_for(shopify_sim)
    with pytest.raises(shopify_sync.InvalidInputError, match='unknown option "workers"'):
        shopify_sync.Executor(client, config={"workers": 3})
    with pytest.raises(shopify_sync.InvalidInputError, match=r"min_workers \(SHOPIFY_SYNC_EXECUTOR_MIN_WORKERS\) must be at least 1"):
        shopify_sync.Executor(client, config={"min_workers": 0})
    with pytest.raises(shopify_sync.InvalidInputError, match="whole number"):
        shopify_sync.Executor(client, config={"max_workers": 2.5})
    with pytest.raises(shopify_sync.InvalidInputError, match="callable"):
        shopify_sync.Executor(client, on_event="print")
    ex = shopify_sync.Executor(client, config={"max_workers": "4", "queue_capacity": 10, "max_backoff_ms": None})
    with pytest.raises(shopify_sync.InvalidInputError):
        ex.submit("query { nope }")
    with pytest.raises(shopify_sync.InvalidInputError, match="cannot convert"):
        ex.submit(READ, {"id": object()})
    with pytest.raises(shopify_sync.CostExceededError):
        ex.submit(
            "query { products(first: 250) { nodes { collections(first: 250) "
            "{ nodes { products(first: 250) { nodes { id } } } } } } }"
        )
    with pytest.raises(shopify_sync.InvalidInputError, match="max_attempts"):
        ex.submit(IDS, max_attempts=0)
    # Nothing was queued by the refusals; the executor still works.
    ok = ex.submit(IDS)
    report = ex.finish()
    assert report.summary["total"] == 1 and report.all_succeeded
    assert len(report.responses[ok.job_id]["data"]["products"]["nodes"]) == 20


@pytest.mark.shopify_sim(products=5, collections=1, seed=9)
def test_events_from_an_iterator_in_another_thread(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)
    ex = shopify_sync.Executor(client)
    assert ex.operation_id.startswith("op-")
    seen = []
    consumer = threading.Thread(target=lambda: seen.extend(ex))
    consumer.start()
    subs = [ex.submit(READ, {"id": gid}) for gid in ids]
    report = ex.finish()
    consumer.join(30)
    assert not consumer.is_alive()
    assert report.all_succeeded and len(report.responses) == 5
    assert [report.responses[s.job_id]["data"]["product"]["id"] for s in subs] == ids
    assert seen[0]["type"] == "operation_started" and seen[-1]["type"] == "finished"
    assert sorted(e["job_id"] for e in seen if e["type"] == "job_succeeded") == sorted(s.job_id for s in subs)
    for e in seen:
        check_event_shape(e)
    assert "done=true" in repr(ex)


@pytest.mark.shopify_sim(products=4, collections=1, seed=2)
def test_cancel_leaves_the_queued_jobs_cancelled_and_not_done(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)
    ex = shopify_sync.Executor(client, config=ONE_WORKER)
    ex.pause()
    subs = [ex.submit(TAGS, {"id": gid, "tags": ["never"]}, key=gid) for gid in ids]
    ex.cancel()
    report = ex.finish()
    assert report.summary["cancel"] == "graceful"
    assert report.summary["cancelled"] == {"done": 0, "not_done": 4, "unknown": 0}
    assert report.failed == [] and report.responses == {}
    assert [(r.job_id, r.key, r.attempts, r.effect, r.error) for r in report.cancelled] == [
        (s.job_id, gid, 0, "not_done", None) for s, gid in zip(subs, ids)
    ]
    assert all("never" not in tags_of(client, gid) for gid in ids)
    events = ex.drain()
    types = [e["type"] for e in events]
    assert types.count("job_cancelled") == 4 and "cancelled" in types and types[-1] == "finished"
    assert "job_started" not in types
    with pytest.raises(shopify_sync.ShopifyCancelledError):
        ex.submit(IDS)
    assert shopify_sync.ExecutorReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.shopify_sim(products=4, collections=1, seed=4)
def test_submit_and_finish_under_asyncio(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)

    async def main():
        loop_thread = threading.get_ident()
        threads, got = set(), []

        def on_event(e):
            threads.add(threading.get_ident())
            got.append(e)

        ex = shopify_sync.Executor(client, on_event=on_event)
        subs = [await ex.submit_async(TAGS, {"id": gid, "tags": ["async"]}) for gid in ids]
        report = await ex.finish_async()
        # Every event was delivered on the event loop's thread before the await ended.
        assert threads == {loop_thread}
        assert got[0]["type"] == "operation_started" and got[-1]["type"] == "finished"

        streaming = shopify_sync.Executor(client)
        await streaming.submit_async(READ, {"id": ids[0]})
        ending = asyncio.ensure_future(streaming.finish_async())
        streamed = [e async for e in streaming]
        second = await ending
        return subs, report, streamed, second

    subs, report, streamed, second = asyncio.run(main())
    assert report.all_succeeded and set(report.responses) == {s.job_id for s in subs}
    assert all("async" in tags_of(client, gid) for gid in ids)
    assert streamed[0]["type"] == "operation_started" and streamed[-1]["type"] == "finished"
    assert second.summary["succeeded"] == 1


@pytest.mark.shopify_sim(products=3, collections=1, seed=4)
def test_cancelling_finish_async_cancels_the_operation(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)
    ex = shopify_sync.Executor(client, config=ONE_WORKER)
    ex.pause()  # finish_async cannot end on its own
    for gid in ids:
        ex.submit(TAGS, {"id": gid, "tags": ["never"]})

    async def main():
        task = asyncio.ensure_future(ex.finish_async())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    report = ex.finish()
    assert report.summary["cancel"] == "graceful"
    assert [r.effect for r in report.cancelled] == ["not_done"] * 3


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="posix signals")
def test_ctrl_c_during_finish_cancels(shopify_sim):
    client = client_for(shopify_sim)
    ids = product_ids(client)[:3]
    ex = shopify_sync.Executor(client, config=ONE_WORKER)
    ex.pause()  # finish() waits until the interrupt cancels
    for gid in ids:
        ex.submit(TAGS, {"id": gid, "tags": ["never"]})

    def interrupt():
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        ex.finish()
    # finish() raised only once the operation had ended, cancelled.
    assert ex.done
    report = ex.finish()
    assert report.summary["cancel"] == "graceful" and len(report.cancelled) == 3


def test_job_records_read_back_their_error():
    r = shopify_sync.JobRecord.from_dict({
        "job_id": 3, "key": "k", "attempts": 2, "effect": "unknown",
        "error": {"kind": "outcome_unknown", "message": "lost", "retryable": False,
                  "request_id": "r-1", "graphql_errors": [], "user_errors": [], "json_path": None},
    })
    assert isinstance(r.error, shopify_sync.OutcomeUnknownError) and r.error.request_id == "r-1"
    assert shopify_sync.JobRecord.from_dict(r.to_dict()) == r
    assert r != shopify_sync.JobRecord.from_dict({**r.to_dict(), "error": None})
    with pytest.raises(shopify_sync.InvalidInputError, match="unknown keys"):
        shopify_sync.JobRecord.from_dict({"job_id": 1, "error": {"nope": 1}})
