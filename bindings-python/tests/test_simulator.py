"""The in-process simulator and the pytest fixture."""

import urllib.request
import json

import pytest

import shopify_sync


def test_start_stats_dump_stop():
    sim = shopify_sync.Simulator.start(products=3, collections=2, seed=7)
    try:
        assert sim.running
        assert sim.endpoint.startswith("http://127.0.0.1:")
        assert sim.shop.endswith(".myshopify.com")
        assert sim.access_token
        assert sim.env() == {
            "SHOPIFY_ENDPOINT": sim.endpoint,
            "SHOPIFY_SHOP": sim.shop,
            "SHOPIFY_ACCESS_TOKEN": sim.access_token,
        }
        stats = sim.stats()
        assert stats["requests"] == 0 and stats["throttled"] == 0
        dump = sim.dump()
        assert len(dump["products"]) == 3 and len(dump["collections"]) == 2
        # Real HTTP: the same dump through the simulator's own endpoint.
        with urllib.request.urlopen(sim.endpoint + "/_sim/dump") as r:
            assert json.load(r) == dump
        assert "running=true" in repr(sim)
    finally:
        sim.stop()
    assert not sim.running
    sim.stop()  # idempotent
    with pytest.raises(shopify_sync.InvalidInputError, match="stopped"):
        sim.stats()


def test_context_manager_and_catalog_round_trip():
    with shopify_sync.Simulator.start(products=2, collections=1) as first:
        dump = first.dump()
    assert not first.running
    with shopify_sync.Simulator.start(catalog=dump, access_token="t0k", shop="other.myshopify.com") as second:
        assert second.dump() == dump
        assert second.access_token == "t0k" and second.shop == "other.myshopify.com"


def test_edit_product_out_of_band():
    with shopify_sync.Simulator.start(products=1, collections=0) as sim:
        product = sim.dump()["products"][0]
        edited = sim.edit_product(product["id"], {"title": "Edited in the admin"})
        assert edited["title"] == "Edited in the admin"
        assert sim.dump()["products"][0]["title"] == "Edited in the admin"
        with pytest.raises(shopify_sync.InvalidInputError):
            sim.edit_product(1, {"title": "no such product"})


def test_bad_options():
    with pytest.raises(shopify_sync.InvalidInputError, match="not both"):
        shopify_sync.Simulator.start(products=1, catalog={"products": [], "collections": []})
    with pytest.raises(shopify_sync.InvalidInputError, match="job_delay"):
        shopify_sync.Simulator.start(products=1, job_delay=-1.0)


def test_the_fixture(shopify_sim):
    assert shopify_sim.running
    assert len(shopify_sim.dump()["products"]) == 20


@pytest.mark.shopify_sim(products=4, collections=1, seed=3)
def test_the_fixture_takes_options_from_a_mark(shopify_sim):
    assert len(shopify_sim.dump()["products"]) == 4


def test_the_env_fixture(shopify_sim_env):
    client = shopify_sync.ShopifyClient.from_env()
    assert client.shop == shopify_sim_env.shop
    r = client.graphql("{ shop { name } }")
    assert r["data"]["shop"]["name"]
