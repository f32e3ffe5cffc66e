"""Test helpers: an in-process Shopify simulator as a pytest fixture (offline, like moto).

Installed with the package as a pytest plugin (entry point ``pytest11``), so the fixtures
are available in any test suite once ``shopify-sync`` is installed. Without the entry
point (e.g. plugin autoloading disabled), add to ``conftest.py``::

    pytest_plugins = ["shopify_sync.testing"]

Fixtures:

- ``shopify_sim``: a running :class:`~shopify_sync.Simulator` (20 products,
  5 collections, seed 1), stopped after the test. Mark a test with
  ``@pytest.mark.shopify_sim(products=..., collections=..., seed=..., ...)`` to pass
  other ``Simulator.start`` arguments.
- ``shopify_sim_env``: the same simulator, with ``SHOPIFY_ENDPOINT``, ``SHOPIFY_SHOP``
  and ``SHOPIFY_ACCESS_TOKEN`` set in the environment for the test, so code that calls
  ``ShopifyClient.from_env()`` talks to it.
"""

from typing import Any, Dict, Iterator

import pytest

from ._native import Simulator

__all__ = ["DEFAULT_SIM_OPTIONS", "shopify_sim", "shopify_sim_env", "start_simulator"]

#: What the ``shopify_sim`` fixture starts when the test has no ``shopify_sim`` mark.
DEFAULT_SIM_OPTIONS: Dict[str, Any] = {"products": 20, "collections": 5, "seed": 1}


def start_simulator(**options: Any) -> Simulator:
    """Start a simulator with :data:`DEFAULT_SIM_OPTIONS` overridden by ``options``."""
    merged = dict(DEFAULT_SIM_OPTIONS)
    if "catalog" in options:
        for k in ("products", "collections", "seed"):
            merged.pop(k, None)
    merged.update(options)
    return Simulator.start(**merged)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "shopify_sim(**options): options of the shopify_sim fixture's Simulator.start",
    )


@pytest.fixture
def shopify_sim(request: Any) -> Iterator[Simulator]:
    """A running in-process Shopify simulator, stopped after the test."""
    marker = request.node.get_closest_marker("shopify_sim")
    options = dict(marker.kwargs) if marker else {}
    sim = start_simulator(**options)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def shopify_sim_env(shopify_sim: Simulator, monkeypatch: Any) -> Iterator[Simulator]:
    """``shopify_sim`` with the ``SHOPIFY_*`` client variables pointing at it."""
    monkeypatch.delenv("SHOPIFY_API_VERSION", raising=False)
    for key, value in shopify_sim.env().items():
        monkeypatch.setenv(key, value)
    yield shopify_sim
