"""Gradual adoption of shopify_sync in a Flask + Flask-SocketIO backend.

The backend already has a product table with a ``shopify_product_id`` and a
``shopify_sync_status`` column (Postgres in production; SQLite here so the example runs
anywhere). It adopts the library in three steps, each usable on its own:

1. **The status column.** ``legacy_status_column()`` computes the dashboard's status
   from the two columns it already has (``compute_statuses``: pure, no network, no
   store; over a million rows a second). ``status_column()`` does the same from what
   the change store knows once the engine runs (fingerprints, open changes, errors).
2. **Pull, plan and apply in the background.** ``start_sync()`` runs a pull, a plan of
   the table's rows, an approval and an apply in a background thread, and returns the
   operation id at once. The browser sends the Socket.IO event ``start_sync``: the
   server puts it in the room of a new operation id, then starts the sync, so no event
   is missed (``POST /sync`` does the same for HTTP clients, who join afterwards).
3. **Progress to the browser.** The pull's progress (``sync_pull``) and every executor
   event of the apply (``sync_event``, a dict in the JSON shape of
   ``tests/vectors/events.json``) are emitted to that room as they happen:
   ``socketio.emit("sync_event", event, to=operation_id)``.
4. **Webhooks in.** ``POST /webhooks/shopify`` verifies a delivery on its raw bytes
   (``SHOPIFY_WEBHOOK_SECRETS``), marks the product dirty and answers at once; a
   background task re-reads what was marked (``engine.refresh``), refreshes the status
   column and pushes the new states to the dashboards' room.

Threads, eventlet, gevent: the apply's events come out of an iterator
(``engine.start_apply(...)``) that the application consumes in a thread of its own.
The library calls nothing from its Rust threads, which matters under eventlet or gevent:
a callback run by a foreign OS thread cannot use the green hub, so it could not emit. In
a green-thread server, consume the events from a green thread started with
``socketio.start_background_task`` and poll with ``op.drain()`` between
``socketio.sleep(0.1)`` calls (a blocking wait would hold the hub); see
``forward_events_green()``. With threads (the default ``async_mode="threading"``),
iterating ``for event in op`` in a background thread is all it takes.

Run it (``pip install flask flask-socketio``)::

    python examples/python/flask_backend.py          # the simulator, on port 5000
    SHOPIFY_SHOP=... SHOPIFY_ACCESS_TOKEN=... python examples/python/flask_backend.py

Without configuration it starts the in-process simulator and fills the table from it.
The module imports without Flask installed (the web part is built in ``create_app``);
``bindings-python/tests/test_example.py`` tests its functions on their own and the web
part through Flask's and Flask-SocketIO's test clients.
"""

import json
import os
import sqlite3
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

import shopify_sync

#: The fields this backend manages; everything else is left to the Shopify admin.
MASK = [
    "title", "handle", "description_html", "vendor", "product_type", "tags",
    "options", "variant_price", "variant_compare_at_price", "variant_sku",
    "variant_option_values",
]

Emit = Callable[..., Any]


# ----- the merchant's table ------------------------------------------------------------------

SCHEMA = """
create table if not exists products (
    id integer primary key,
    shopify_product_id text,
    shopify_sync_status text,
    data text not null            -- the product as JSON (the snapshot's shape)
)
"""


def open_db(path: str = ":memory:") -> sqlite3.Connection:
    """The product table (SQLite standing in for the backend's Postgres)."""
    db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute(SCHEMA)
    return db


def load_from_store(db: sqlite3.Connection, store: shopify_sync.ChangeStore) -> int:
    """Fill an empty table from the remote snapshots of a first pull (the demo's way to
    have a table that matches the shop). Returns the number of rows."""
    rows = 0
    for key, stored in sorted(store.snapshots("remote").items()):
        snapshot = dict(stored["snapshot"])
        if snapshot.pop("kind") != "product":
            continue
        db.execute(
            "insert into products (shopify_product_id, shopify_sync_status, data) values (?, ?, ?)",
            (key, "in_sync", json.dumps(snapshot)),
        )
        rows += 1
    db.commit()
    return rows


def local_records(db: sqlite3.Connection) -> List[Dict[str, Any]]:
    """The table's rows as local records: the snapshot's fields plus ``local_id`` (the
    primary key) and ``shopify_id`` (the column, a gid or a numeric id, or NULL)."""
    out = []
    for row in db.execute("select id, shopify_product_id, data from products order by id"):
        record = json.loads(row["data"])
        record["local_id"] = str(row["id"])
        record["shopify_id"] = row["shopify_product_id"]
        out.append(record)
    return out


# ----- step 1: the status column --------------------------------------------------------------


def legacy_status_column(db: sqlite3.Connection) -> Dict[int, Dict[str, Any]]:
    """The dashboard's status from the two existing columns only (no store needed)."""
    rows = db.execute("select id, shopify_product_id, shopify_sync_status from products").fetchall()
    statuses = shopify_sync.compute_statuses(
        {"shopify_id": r["shopify_product_id"], "legacy_status": r["shopify_sync_status"]}
        for r in rows
    )
    return {r["id"]: s for r, s in zip(rows, statuses)}


def status_column(db: sqlite3.Connection, engine: shopify_sync.SyncEngine) -> Dict[int, Dict[str, Any]]:
    """The dashboard's status from what the change store knows, written back to the
    ``shopify_sync_status`` column (its ``state``)."""
    records = local_records(db)
    statuses = engine.statuses(records, MASK)
    with db:
        for r, s in zip(records, statuses):
            db.execute(
                "update products set shopify_sync_status = ? where id = ?", (s["state"], int(r["local_id"]))
            )
    return {int(r["local_id"]): s for r, s in zip(records, statuses)}


def record_created_ids(db: sqlite3.Connection, report: shopify_sync.ApplyReport) -> None:
    """Write the Shopify ids of products the apply created into their rows."""
    with db:
        for created in report.created:
            if created.local_id is not None:
                db.execute(
                    "update products set shopify_product_id = ? where id = ?",
                    (created.shopify_id, int(created.local_id)),
                )


# ----- steps 2 and 3: pull, plan and apply in the background, events to a room ---------------


class SyncJob:
    """One background sync: its operation id (the room), its thread and its outcome."""

    def __init__(self, operation_id: str) -> None:
        self.operation_id = operation_id
        self.thread: Optional[threading.Thread] = None
        self.report: Optional[shopify_sync.ApplyReport] = None
        self.error: Optional[BaseException] = None
        self.events = 0


def forward_events(op: shopify_sync.ApplyOperation, emit: Emit) -> int:
    """Emit every event of a running apply to its room, in this thread, until the apply
    ends. Returns how many were emitted."""
    n = 0
    for event in op:
        emit("sync_event", event, to=op.operation_id)
        n += 1
    return n


def forward_events_green(
    op: shopify_sync.ApplyOperation, emit: Emit, sleep: Callable[[float], Any]
) -> int:
    """``forward_events`` for eventlet/gevent: poll without blocking the hub (start it
    with ``socketio.start_background_task``; ``sleep`` is ``socketio.sleep``)."""
    n = 0
    done_at: Optional[float] = None
    while True:
        events = op.drain()
        for event in events:
            emit("sync_event", event, to=op.operation_id)
            n += 1
            if event["type"] == "finished":  # always the last event
                return n
        # The last events can arrive just after the apply returned; an apply that
        # failed before it started sends none: give up after 5 s of silence.
        if op.done and not events:
            done_at = done_at if done_at is not None else time.monotonic()
            if time.monotonic() - done_at > 5.0:
                return n
        sleep(0.1)


def run_sync(
    db: sqlite3.Connection,
    engine: shopify_sync.SyncEngine,
    emit: Emit,
    job: SyncJob,
    approver: str = "dashboard",
) -> None:
    """Pull, plan the table's rows, approve what has no conflict, apply with events to
    the job's room, record created ids and refresh the status column."""
    try:
        emit("sync_stage", {"stage": "pull"}, to=job.operation_id)
        engine.pull(on_progress=lambda p: emit("sync_pull", p, to=job.operation_id))
        plan = engine.plan(local_records(db), MASK)
        emit("sync_stage", {"stage": "plan", "summary": plan.summary().to_dict()}, to=job.operation_id)
        engine.store.approve(plan, actor=approver)
        op = engine.start_apply(plan, operation_id=job.operation_id)
        job.events = forward_events(op, emit)
        job.report = op.wait()
        record_created_ids(db, job.report)
        engine.pull()
        status_column(db, engine)
        emit("sync_done", {"applied": job.report.applied, "stale": job.report.stale,
                           "failed": job.report.failed}, to=job.operation_id)
    except BaseException as e:  # reported to the room; the thread ends cleanly
        job.error = e
        emit("sync_error", {"message": str(e), "kind": getattr(e, "kind", None)}, to=job.operation_id)


def new_operation_id() -> str:
    """A fresh operation id: the Socket.IO room of one sync."""
    return "op-" + os.urandom(8).hex()


def start_sync(
    db: sqlite3.Connection,
    engine: shopify_sync.SyncEngine,
    emit: Emit,
    operation_id: Optional[str] = None,
) -> SyncJob:
    """Start ``run_sync`` in a background thread; returns at once with the job (its
    ``operation_id`` is the room the browser joins)."""
    job = SyncJob(operation_id or new_operation_id())
    job.thread = threading.Thread(target=run_sync, args=(db, engine, emit, job), daemon=True)
    job.thread.start()
    return job


# ----- webhooks in -------------------------------------------------------------------------------

#: The Socket.IO room of every open dashboard (status changes pushed by webhooks).
DASHBOARD_ROOM = "dashboard"


def refresh_from_webhooks(
    db: sqlite3.Connection,
    engine: shopify_sync.SyncEngine,
    queue: shopify_sync.WebhookQueue,
    emit: Emit,
) -> Optional[shopify_sync.RefreshReport]:
    """Re-read what webhooks marked dirty, refresh the status column and push the new
    states to every dashboard (``{row id: state}``). ``None`` when nothing was marked."""
    if queue.pending == 0:
        return None
    report = engine.refresh(queue)
    states = {str(i): s["state"] for i, s in status_column(db, engine).items()}
    emit("statuses", states, to=DASHBOARD_ROOM)
    return report


# ----- the web part -----------------------------------------------------------------------------


def engine_from_env_or_simulator(store: shopify_sync.ChangeStore) -> "tuple[shopify_sync.SyncEngine, Optional[shopify_sync.Simulator]]":
    """A real store when ``SHOPIFY_SHOP``/``SHOPIFY_ENDPOINT`` is set, else a fresh
    simulator (returned too, to stop it)."""
    if os.environ.get("SHOPIFY_SHOP") or os.environ.get("SHOPIFY_ENDPOINT"):
        return shopify_sync.SyncEngine(shopify_sync.ShopifyClient.from_env(), store), None
    sim = shopify_sync.Simulator.start(products=200, collections=10, seed=1)
    client = shopify_sync.ShopifyClient(endpoint=sim.endpoint, shop=sim.shop, access_token=sim.access_token)
    return shopify_sync.SyncEngine(client, store), sim


def create_app(
    db: sqlite3.Connection,
    engine: shopify_sync.SyncEngine,
    webhook_secrets: Optional[List[str]] = None,
) -> Any:
    """The Flask app and its Socket.IO server (needs ``flask`` and ``flask-socketio``).
    Shopify webhooks are taken when ``webhook_secrets`` (the app's secrets, current
    first) are given."""
    from flask import Flask, jsonify, request
    from flask_socketio import SocketIO, join_room

    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    jobs: Dict[str, SyncJob] = {}
    queue = shopify_sync.WebhookQueue(webhook_secrets) if webhook_secrets else None

    @app.get("/products")
    def products() -> Any:
        statuses = status_column(db, engine)
        return jsonify([
            {"id": r["id"], "shopify_product_id": r["shopify_product_id"],
             "status": statuses[r["id"]]}
            for r in db.execute("select id, shopify_product_id from products order by id")
        ])

    @app.post("/sync")
    def sync() -> Any:
        # For HTTP clients: they join the room afterwards and may miss the first events.
        job = start_sync(db, engine, socketio.emit)
        jobs[job.operation_id] = job
        return jsonify({"operation_id": job.operation_id}), 202

    @socketio.on("start_sync")
    def on_start_sync() -> Dict[str, str]:
        # The browser's way: it is in the room before the first event is emitted.
        operation_id = new_operation_id()
        join_room(operation_id)
        jobs[operation_id] = start_sync(db, engine, socketio.emit, operation_id)
        return {"operation_id": operation_id}

    @app.post("/webhooks/shopify")
    def webhook() -> Any:
        if queue is None:
            return "webhooks are not configured (SHOPIFY_WEBHOOK_SECRETS)", 503
        try:  # verified on the raw bytes, deduplicated, marked dirty
            queue.receive(request.headers, request.get_data())
        except shopify_sync.AuthError:
            return "", 401
        except shopify_sync.InvalidInputError:
            return "", 400
        # Answer Shopify at once; re-read what was marked in the background.
        socketio.start_background_task(refresh_from_webhooks, db, engine, queue, socketio.emit)
        return "", 200

    @socketio.on("watch")
    def on_watch() -> None:
        join_room(DASHBOARD_ROOM)

    @socketio.on("join")
    def on_join(data: Dict[str, str]) -> None:
        join_room(data["operation_id"])

    app.extensions["shopify_sync_socketio"] = socketio
    app.extensions["shopify_sync_jobs"] = jobs
    return app


def main() -> None:  # pragma: no cover - interactive
    store = shopify_sync.SqliteStore(os.environ.get("SHOPIFY_SYNC_STORE", "shopify-sync.db"))
    engine, sim = engine_from_env_or_simulator(store)
    db = open_db(os.environ.get("PRODUCTS_DB", ":memory:"))
    if db.execute("select count(*) from products").fetchone()[0] == 0:
        engine.pull()
        load_from_store(db, store)
        engine.baseline(local_records(db), MASK)
    secrets = [s for s in os.environ.get("SHOPIFY_WEBHOOK_SECRETS", "").split(",") if s]
    app = create_app(db, engine, secrets or None)
    try:
        app.extensions["shopify_sync_socketio"].run(app, port=int(os.environ.get("PORT", "5000")))
    finally:
        if sim is not None:
            sim.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
