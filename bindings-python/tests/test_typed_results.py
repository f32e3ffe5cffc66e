"""Typed changes, audit entries, saved plans and bulk results, on real data from the
simulator: each round-trips through to_dict()/from_dict(), and its to_dict() is the
core's JSON shape (the keys the core writes, values typed), which the core reads back."""

import datetime
import json
import re

import pytest

import shopify_sync
from conftest import client_for, local_products

TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$")


def as_core_json(value):
    """A to_dict() value as the core's JSON: datetimes as UTC RFC 3339 strings."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: as_core_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_core_json(v) for v in value]
    return value


def to_microseconds(value):
    """The core's JSON with its nanosecond timestamps cut to what a datetime holds."""
    if isinstance(value, str):
        m = TIMESTAMP.match(value)
        if m:
            fraction = (m.group(2) or "")[:7].rstrip("0").rstrip(".")
            fraction = (fraction + "000000")[:7] if fraction else ""
            return m.group(1) + fraction + "Z"
        return value
    if isinstance(value, dict):
        return {k: to_microseconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_microseconds(v) for v in value]
    return value


def check_round_trip(obj, raw):
    """obj (typed, from the binding) against raw (the core's JSON of the same thing)."""
    cls = type(obj)
    assert cls.from_dict(obj.to_dict()) == obj
    assert cls.from_dict(raw) == obj
    assert as_core_json(obj.to_dict()) == to_microseconds(raw)


@pytest.mark.shopify_sim(products=6, collections=2, seed=2)
def test_changes_and_audit_entries_round_trip(shopify_sim):
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), shopify_sync.MemoryStore())
    store = engine.store
    engine.pull("paginated")
    local = local_products(store)
    engine.baseline(local)
    local[0]["title"] = "Ours"
    local[1]["tags"] = ["typed"]
    shopify_sim.edit_product(int(local[0]["shopify_id"].rsplit("/", 1)[1]), {"title": "Theirs"})
    engine.pull("paginated")
    plan = engine.plan(local)

    raw_changes = plan.to_dict()["changes"]
    changes = plan.changes()
    assert len(changes) == len(raw_changes) == 2
    for change, raw in zip(changes, raw_changes):
        assert isinstance(change, shopify_sync.Change)
        assert isinstance(change.target, shopify_sync.ChangeTarget)
        assert all(isinstance(r, shopify_sync.ChangeRow) for r in change.rows)
        assert change.created_at.tzinfo is not None
        check_round_trip(change, raw)
    conflict = next(c for c in changes if c.unresolved_conflicts)
    assert conflict.rows[0].kind == "conflict" and conflict.rows[0].remote == "Theirs"
    assert "resolution" not in conflict.rows[0].to_dict()  # the core leaves it out too

    resolved = store.resolve(conflict.id, "value", value="Both", actor="ana", comment="merged")
    assert resolved.rows[0].resolution == shopify_sync.Resolution(take="value", value="Both")
    assert resolved.version == conflict.version + 1
    raw_resolved = json.loads(json.dumps(as_core_json(resolved.to_dict())))
    assert raw_resolved["rows"][0]["resolution"] == {"take": "value", "value": "Both"}
    check_round_trip(resolved, raw_resolved)
    assert store.change(conflict.id) == resolved
    assert store.change("nope") is None

    review = store.approve(plan, actor="ana")
    assert all(isinstance(e, shopify_sync.AuditEntry) for e in review.audit)
    assert shopify_sync.ReviewReport.from_dict(review.to_dict()) == review
    report = engine.apply(plan)
    assert report.applied == 2
    applied = store.changes(plan)
    assert {c.state for c in applied} == {"applied"}
    for c in applied:
        assert isinstance(c.result, shopify_sync.ApplyResult) and c.result.outcome == "applied"
        assert c.result.ids is None or c.result.ids.shopify_id == c.target.shopify_id
        check_round_trip(c, json.loads(json.dumps(as_core_json(c.to_dict()))))

    # Audit entries against the core's own JSON lines export.
    entries = store.audit({"plan_id": plan.id})
    lines = [json.loads(line) for line in store.export_audit_jsonl({"plan_id": plan.id}).splitlines()]
    assert {e.action for e in entries} == {"planned", "resolved", "approved", "applying", "applied"}
    assert len(entries) == len(lines) >= 9
    for entry, raw in zip(entries, lines):
        assert isinstance(entry, shopify_sync.AuditEntry) and entry.target.kind == "product"
        check_round_trip(entry, raw)
    resolved_entry = next(e for e in entries if e.action == "resolved")
    assert resolved_entry.actor == "ana" and resolved_entry.comment == "merged"

    # The core reads typed changes back: a plan rebuilt from them is the same plan.
    rebuilt = shopify_sync.Plan.from_dict({**plan.to_dict(), "changes": plan.changes()})
    assert rebuilt.changes() == plan.changes()


@pytest.mark.shopify_sim(products=3, collections=1, seed=7)
def test_saved_plans(shopify_sim):
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), shopify_sync.MemoryStore())
    engine.pull("paginated")
    local = local_products(engine.store)
    engine.baseline(local)
    local[0]["title"] = "First"
    first = engine.plan(local)
    local[0]["title"] = "Second"
    second = engine.plan(local)  # supersedes the first plan's change
    other = shopify_sync.MemoryStore()
    saved = other.save_plan(first, actor="ana")
    assert saved == shopify_sync.SavedPlan(plan_id=first.id, changes=1)
    again = other.save_plan(second, actor="ana")
    assert again.superseded == [first.changes()[0].id]
    assert shopify_sync.SavedPlan.from_dict(json.loads(json.dumps(again.to_dict()))) == again


@pytest.mark.shopify_sim(products=4, collections=1, seed=4)
def test_bulk_results_round_trip(shopify_sim):
    client = client_for(shopify_sim)
    result = client.bulk_query("{ products { edges { node { id title } } } }", poll_interval=0.02)
    raw = as_core_json(result.to_dict())
    assert set(raw["operation"]) == {
        "id", "status", "type", "errorCode", "createdAt", "completedAt", "objectCount",
        "rootObjectCount", "fileSize", "url", "partialDataUrl", "query",
    }
    assert raw["operation"]["objectCount"] == result.operation.object_count == 4
    assert shopify_sync.BulkQueryResult.from_dict(json.loads(json.dumps(raw))) == result
    # Shopify's own spelling of counts (strings) reads too.
    shopify_style = {**raw["operation"], "objectCount": "4", "fileSize": "120"}
    assert shopify_sync.BulkOperation.from_dict(shopify_style).file_size == 120

    ids = [p.id for p in client.products()]
    tags = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }"
    m = client.bulk_mutation(tags, [{"id": ids[0], "tags": ["bulk"]}, {"id": "gid://shopify/Product/999999", "tags": ["x"]}],
                             poll_interval=0.02)
    assert [line.ok for line in m.lines] == [True, False]
    assert m.lines[1].user_errors[0]["message"] == "Resource does not exist"
    back = shopify_sync.BulkMutationResult.from_dict(json.loads(json.dumps(as_core_json(m.to_dict()))))
    assert back == m


def test_a_panic_while_reading_items_raises():
    from shopify_sync import _native

    items = _native._panicking_items(2, "boom in the reader")
    assert next(items) == 0 and next(items) == 1
    with pytest.raises(shopify_sync.ShopifySyncError, match="boom in the reader") as e:
        next(items)
    assert e.value.kind is None

    async def read():
        got = []
        with pytest.raises(shopify_sync.ShopifySyncError, match="internal error"):
            async for x in _native._panicking_items(3, "async boom"):
                got.append(x)
        return got

    import asyncio

    assert asyncio.run(read()) == [0, 1, 2]
