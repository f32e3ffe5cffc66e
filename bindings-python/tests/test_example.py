"""examples/python/flask_backend.py: its functions against the simulator, and its web part
through Flask's and Flask-SocketIO's test clients."""

import base64
import hashlib
import hmac
import importlib.util
import json
import sys
import threading
import time
from pathlib import Path

import pytest

import shopify_sync
from conftest import ROOT, client_for, load_vectors

EXAMPLE = ROOT / "examples" / "python" / "flask_backend.py"
EVENT_KEYS = {c["event"]["type"]: list(c["event"]) for c in load_vectors("events.json")["cases"]}


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("flask_backend", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["flask_backend"] = module
    spec.loader.exec_module(module)  # imports without flask installed
    return module


class Room:
    """Stands in for socketio.emit: records (event, payload, room)."""

    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()

    def emit(self, name, payload, to=None):
        with self.lock:
            self.sent.append((name, payload, to))


@pytest.mark.shopify_sim(products=10, collections=2, seed=6)
def test_gradual_adoption(example, shopify_sim, tmp_path):
    store = shopify_sync.SqliteStore(tmp_path / "store.db")
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store)
    db = example.open_db()
    engine.pull()
    assert example.load_from_store(db, store) == 10
    # A row the backend has not pushed yet.
    db.execute("insert into products (shopify_product_id, shopify_sync_status, data) values (null, null, ?)",
               ('{"title": "Local only", "handle": "local-only", "variants": [{"price": "5.00"}]}',))
    db.commit()

    # Step 1: the status column from the legacy columns alone.
    legacy = example.legacy_status_column(db)
    assert [s["state"] for s in legacy.values()].count("synced") == 10
    assert legacy[11]["state"] == "not_synced"

    # Step 2: adopt the engine, then the status column from the store.
    assert engine.baseline(example.local_records(db), example.MASK) == 10
    db.execute("update products set data = json_set(data, '$.title', 'Renamed') where id = 1")
    db.commit()
    statuses = example.status_column(db, engine)
    assert statuses[1]["state"] == "local_changes" and statuses[2]["state"] == "synced"
    assert db.execute("select shopify_sync_status from products where id = 1").fetchone()[0] == "local_changes"

    # Steps 2 and 3: pull, plan, apply in the background; events to the room.
    room = Room()
    job = example.start_sync(db, engine, room.emit)
    job.thread.join(120)
    assert not job.thread.is_alive() and job.error is None, job.error
    assert job.report.applied == 2 and job.report.failed == 0
    names = [name for name, _, _ in room.sent]
    assert names[0] == "sync_stage" and names[-1] == "sync_done"
    assert {to for _, _, to in room.sent} == {job.operation_id}
    events = [payload for name, payload, _ in room.sent if name == "sync_event"]
    assert len(events) == job.events > 0
    assert events[0]["type"] == "operation_started" and events[-1]["type"] == "finished"
    assert all(list(e) == EVENT_KEYS[e["type"]] for e in events)
    # The created product's id is in its row; every row is synced after the sync.
    created = db.execute("select shopify_product_id from products where id = 11").fetchone()[0]
    assert created and created.startswith("gid://shopify/Product/")
    assert engine.client.product(created).title == "Local only"
    states = {r[0] for r in db.execute("select shopify_sync_status from products where id <= 10")}
    assert states == {"synced"}


@pytest.mark.shopify_sim(products=4, collections=1, seed=6)
def test_green_thread_forwarding_polls_without_blocking(example, shopify_sim):
    store = shopify_sync.MemoryStore()
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store)
    engine.pull()
    db = example.open_db()
    example.load_from_store(db, store)
    engine.baseline(example.local_records(db), example.MASK)
    db.execute("update products set data = json_set(data, '$.vendor', 'Green') where id = 2")
    plan = engine.plan(example.local_records(db), example.MASK)
    store.approve(plan, actor="ana")
    op = engine.start_apply(plan)
    room = Room()
    sleeps = []
    n = example.forward_events_green(op, room.emit, sleeps.append)
    assert n == len(room.sent) > 0
    assert room.sent[-1][1]["type"] == "finished"
    assert op.wait().applied == 1


@pytest.mark.shopify_sim(products=6, collections=1, seed=6)
def test_the_web_part(example, shopify_sim, tmp_path):
    """The routes and the Socket.IO room, through Flask's and Flask-SocketIO's test
    clients (the test command installs both)."""
    store = shopify_sync.SqliteStore(tmp_path / "store.db")
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store)
    db = example.open_db()
    engine.pull()
    example.load_from_store(db, store)
    engine.baseline(example.local_records(db), example.MASK)
    app = example.create_app(db, engine, webhook_secrets=["s3cret"])
    socketio = app.extensions["shopify_sync_socketio"]
    http = app.test_client()

    rows = http.get("/products").get_json()
    assert len(rows) == 6 and {r["status"]["state"] for r in rows} == {"synced"}
    db.execute("update products set data = json_set(data, '$.title', 'Renamed') where id = 3")
    db.commit()
    assert http.get("/products").get_json()[2]["status"]["state"] == "local_changes"

    # The browser starts the sync over Socket.IO and is in the room from the start.
    browser = socketio.test_client(app, flask_test_client=http)
    ack = browser.emit("start_sync", callback=True)
    job = app.extensions["shopify_sync_jobs"][ack["operation_id"]]
    job.thread.join(120)
    assert job.error is None, job.error
    received = browser.get_received()
    names = [m["name"] for m in received]
    assert names[0] == "sync_stage" and names[-1] == "sync_done"
    pulls = [m["args"][0] for m in received if m["name"] == "sync_pull"]
    assert pulls[0]["stage"] == "collections" and pulls[-1]["stage"] == "done"
    events = [m["args"][0] for m in received if m["name"] == "sync_event"]
    assert events[0]["type"] == "operation_started" and events[-1]["type"] == "finished"
    assert len(events) == job.events
    assert all(e["operation_id"] == ack["operation_id"] for e in events)
    assert received[-1]["args"][0]["applied"] == 1
    assert http.get("/products").get_json()[2]["status"]["state"] == "synced"

    # Another client, not in the room, hears nothing of it.
    other = socketio.test_client(app, flask_test_client=http)
    assert other.get_received() == []

    # Webhooks: a signed products/update marks the product; the refresh runs in the
    # background and pushes the new states to the dashboards.
    product_id = db.execute("select shopify_product_id from products where id = 5").fetchone()[0]
    number = int(product_id.rsplit("/", 1)[1])
    shopify_sim.edit_product(number, {"title": "Edited in the admin"})
    dashboard = socketio.test_client(app, flask_test_client=http)
    dashboard.emit("watch")
    body = json.dumps({"id": number}).encode()
    headers = {
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode(),
        "X-Shopify-Event-Id": "e-1",
        "X-Shopify-Triggered-At": "2026-03-01T12:00:00Z",
    }
    assert http.post("/webhooks/shopify", data=body, headers={**headers, "X-Shopify-Hmac-Sha256": "AAAA"}).status_code == 401
    assert http.post("/webhooks/shopify", data=body, headers=headers).status_code == 200
    deadline = time.monotonic() + 30
    pushed = []
    while not pushed:
        assert time.monotonic() < deadline, "no status push after the webhook"
        pushed = [m["args"][0] for m in dashboard.get_received() if m["name"] == "statuses"]
        time.sleep(0.05)
    assert pushed[0]["5"] == "remote_changes" and pushed[0]["1"] == "synced"
    assert http.get("/products").get_json()[4]["status"]["state"] == "remote_changes"

    # Without secrets the route says webhooks are not configured.
    bare = example.create_app(db, engine).test_client()
    assert bare.post("/webhooks/shopify", data=body, headers=headers).status_code == 503
