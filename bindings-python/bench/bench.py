"""Benchmarks of the Python binding (build it with ``maturin develop --release`` first).

    .venv/bin/python bindings-python/bench/bench.py            # everything
    .venv/bin/python bindings-python/bench/bench.py status     # one: status, call, plan, pull

- ``status``: batch ``compute_statuses`` over a list of dicts built here (conversion
  included), in products per second (issue 9's target: at least 1,000,000/s);
- ``call``: the per-call overhead of one ``compute_status`` call (and of a trivial
  ``fingerprint_product``);
- ``plan``: ``SyncEngine.plan`` of 10,000 local products given as dicts (1,000 edited),
  against a store holding their base and remote snapshots;
- ``pull``: 10,000 products (all variants) from the simulator at a 2,000-point bucket
  restoring 100/s, through ``ShopifyClient.products()`` (the same read as the Rust
  ``client`` bench's pull) and through ``SyncEngine.pull("paginated")`` (plus
  collections, membership and the store's writes).

Timings are wall-clock, best of a few runs for the short ones; the figures go to
``benches/README.md`` by hand.
"""

import statistics
import sys
import time
import timeit
from typing import Any, Callable, Dict, List

import shopify_sync

GID = "gid://shopify/Product/{}"
FP_A = "v1:" + "a" * 64
FP_B = "v1:" + "b" * 64


def status_rows(n: int) -> List[Dict[str, Any]]:
    """A mix of the dashboard's rows: synced, local edits, never pushed, legacy only."""
    rows: List[Dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            rows.append({"shopify_id": GID.format(i + 1), "local_fingerprint": FP_A,
                         "base_fingerprint": FP_A, "remote_fingerprint": FP_A})
        elif kind == 1:
            rows.append({"shopify_id": GID.format(i + 1), "local_fingerprint": FP_B,
                         "base_fingerprint": FP_A, "remote_fingerprint": FP_A,
                         "changes": {"staged": 1}})
        elif kind == 2:
            rows.append({"local_fingerprint": FP_A})
        else:
            rows.append({"shopify_id": str(i + 1), "legacy_status": "in_sync"})
    return rows


def best(f: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_status() -> None:
    n = 1_000_000
    rows = status_rows(n)
    t = best(lambda: shopify_sync.compute_statuses(rows), runs=3)
    print(f"status: compute_statuses of {n:,} dicts: {t:.3f} s = {n / t:,.0f} products/s")
    small = rows[:1000]
    t = best(lambda: shopify_sync.compute_statuses(small), runs=20)
    print(f"status: compute_statuses of 1,000 dicts: {t * 1e3:.3f} ms = {1000 / t:,.0f} products/s")


def bench_call() -> None:
    row = {"shopify_id": GID.format(1), "local_fingerprint": FP_A, "base_fingerprint": FP_A,
           "remote_fingerprint": FP_A}
    for label, stmt in (
        ("compute_status({})", lambda: shopify_sync.compute_status({})),
        ("compute_status(4 keys)", lambda: shopify_sync.compute_status(row)),
        ("fingerprint_product({'title'})", lambda: shopify_sync.fingerprint_product({"title": "Tee"})),
    ):
        n = 100_000
        per = min(timeit.repeat(stmt, number=n, repeat=5)) / n
        print(f"call: {label}: {per * 1e6:.2f} µs per call")


def start_sim(products: int, fast: bool) -> shopify_sync.Simulator:
    if fast:  # an unlimited bucket: only the binding and the engine are measured
        return shopify_sync.Simulator.start(products=products, collections=20, seed=1,
                                            bucket_size=1e9, restore_rate=1e9, max_query_cost=1_000_000)
    return shopify_sync.Simulator.start(products=products, collections=20, seed=1,
                                        bucket_size=2000.0, restore_rate=100.0)


def client_for(sim: shopify_sync.Simulator) -> shopify_sync.ShopifyClient:
    return shopify_sync.ShopifyClient(endpoint=sim.endpoint, shop=sim.shop, access_token=sim.access_token)


def bench_plan() -> None:
    n = 10_000
    with start_sim(n, fast=True) as sim:
        store = shopify_sync.MemoryStore()
        engine = shopify_sync.SyncEngine(client_for(sim), store)
        engine.pull("paginated")
        local = []
        for key, stored in sorted(store.snapshots("remote").items()):
            snap = dict(stored["snapshot"])
            if snap.pop("kind") != "product":
                continue
            snap["local_id"] = key.rsplit("/", 1)[1]
            snap["shopify_id"] = key
            local.append(snap)
        assert len(local) == n
        t = time.perf_counter()
        adopted = engine.baseline(local)
        baseline = time.perf_counter() - t
        for p in local[::10]:
            p["title"] = p["title"] + " (edited)"
        times = []
        for _ in range(3):
            t = time.perf_counter()
            plan = engine.plan(local)
            times.append(time.perf_counter() - t)
        print(f"plan: baseline of {adopted:,} products: {baseline:.3f} s")
        print(f"plan: plan of {n:,} products from dicts ({len(plan):,} changes): "
              f"best {min(times):.3f} s, median {statistics.median(times):.3f} s "
              f"= {n / min(times):,.0f} products/s (conversion, diff and saving the plan included)")


def bench_pull() -> None:
    n = 10_000
    with start_sim(n, fast=False) as sim:
        client = client_for(sim)
        t = time.perf_counter()
        count = sum(1 for _ in client.products())
        elapsed = time.perf_counter() - t
        stats = sim.stats()
        print(f"pull: client.products() of {count:,} products at 2,000/100: {elapsed:.1f} s "
              f"({count / elapsed * 60:,.0f} products/min), {stats['requests']} requests, "
              f"{stats['throttled']} THROTTLED")
    with start_sim(n, fast=False) as sim:
        engine = shopify_sync.SyncEngine(client_for(sim), shopify_sync.MemoryStore())
        t = time.perf_counter()
        report = engine.pull("paginated")
        elapsed = time.perf_counter() - t
        stats = sim.stats()
        print(f"pull: SyncEngine.pull('paginated') of {report.products:,} products, "
              f"{report.collections} collections: {elapsed:.1f} s, {stats['requests']} requests, "
              f"{stats['throttled']} THROTTLED")


BENCHES = {"status": bench_status, "call": bench_call, "plan": bench_plan, "pull": bench_pull}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHES):
        BENCHES[name]()
