"""Shared helpers: the repository's test vectors and data files.

The ``shopify_sim`` fixture comes from the installed package's pytest plugin
(``shopify_sync.testing``, entry point ``pytest11``).
"""

import functools
import json
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    # The entry point is not loaded then: load the fixtures' plugin by name.
    pytest_plugins = ["shopify_sync.testing"]

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
HMAC_VECTORS = ROOT / "data" / "shopify" / "samples" / "hmac" / "shopify-hmac-vectors.json"


def load_vectors(name: str) -> Dict[str, Any]:
    """A vector file, checked for unique case names (the README's rule)."""
    data: Dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    names = [c["name"] for c in data["cases"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"{name}: duplicate case names {duplicates}"
    return data


def cases(name: str) -> List[Any]:
    """The cases of a vector file as pytest params, with their names as ids."""
    return [pytest.param(c, id=c["name"]) for c in load_vectors(name)["cases"]]


@functools.lru_cache(maxsize=None)
def event_keys() -> Dict[str, List[str]]:
    """The keys, in order, of each event type's case in events.json."""
    return {c["event"]["type"]: list(c["event"].keys()) for c in load_vectors("events.json")["cases"]}


def check_event_shape(event: Dict[str, Any]) -> None:
    """Exactly the keys, in the order, of the case of its type in events.json."""
    assert list(event.keys()) == event_keys()[event["type"]], event
    assert event["timestamp"].endswith("Z")


def client_for(sim: Any, **kw: Any) -> Any:
    """A client for a running simulator."""
    import shopify_sync

    return shopify_sync.ShopifyClient(
        endpoint=sim.endpoint, shop=sim.shop, access_token=sim.access_token, **kw
    )


def local_products(store: Any) -> List[Dict[str, Any]]:
    """The local catalog as the merchant's table would hold it right after the first
    sync: every remote product snapshot, with a local id and its Shopify id."""
    out = []
    for key, stored in sorted(store.snapshots("remote").items()):
        snap = dict(stored["snapshot"])
        if snap.pop("kind") != "product":
            continue
        snap["local_id"] = "L" + key.rsplit("/", 1)[1]
        snap["shopify_id"] = key
        out.append(snap)
    return out
