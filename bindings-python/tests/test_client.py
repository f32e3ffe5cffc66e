"""The client against the in-process simulator over real HTTP."""

import asyncio
import os
import threading

import pytest

import shopify_sync

PRODUCTS = "query($n: Int!) { products(first: $n) { nodes { id title } } }"


def client_for(sim, **kw):
    return shopify_sync.ShopifyClient(
        endpoint=sim.endpoint, shop=sim.shop, access_token=sim.access_token, **kw
    )


def test_a_query(shopify_sim):
    client = client_for(shopify_sim)
    r = client.graphql(PRODUCTS, {"n": 3})
    nodes = r["data"]["products"]["nodes"]
    assert len(nodes) == 3
    assert all(n["id"].startswith("gid://shopify/Product/") for n in nodes)
    assert r["errors"] == []
    assert r["request_id"]
    assert r["cost"]["requested"] >= r["cost"]["actual"] > 0
    assert shopify_sim.stats()["ok"] == 1


def test_configuration():
    c = shopify_sync.ShopifyClient("my-store", access_token="shpat_secret_value")
    assert c.shop == "my-store.myshopify.com"
    assert c.api_version == shopify_sync.DEFAULT_API_VERSION
    assert c.graphql_url == (
        f"https://my-store.myshopify.com/admin/api/{shopify_sync.DEFAULT_API_VERSION}/graphql.json"
    )
    assert "shpat_secret_value" not in repr(c)
    assert shopify_sync.ShopifyClient("s", access_token="t", api_version="2025-10").api_version == "2025-10"
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.ShopifyClient("s", access_token="t", api_version="latest")
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.ShopifyClient(access_token="t")
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.ShopifyClient(endpoint="http://example.com", access_token="t")
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.ShopifyClient("s", access_token="t", max_attempts=0)
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.ShopifyClient("s", access_token="t", request_timeout=-1)


def test_from_env_not_configured(monkeypatch):
    for var in ("SHOPIFY_SHOP", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_ENDPOINT", "SHOPIFY_API_VERSION"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(shopify_sync.NotConfiguredError, match="SHOPIFY_ACCESS_TOKEN") as info:
        shopify_sync.ShopifyClient.from_env()
    assert info.value.retryable is False
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "t")
    with pytest.raises(shopify_sync.NotConfiguredError, match="SHOPIFY_SHOP"):
        shopify_sync.ShopifyClient.from_env()


def test_a_wrong_token_is_an_auth_error_with_a_request_id(shopify_sim):
    client = shopify_sync.ShopifyClient(
        endpoint=shopify_sim.endpoint, shop=shopify_sim.shop, access_token="shpat_wrong"
    )
    with pytest.raises(shopify_sync.AuthError) as info:
        client.graphql("{ shop { name } }")
    err = info.value
    assert err.kind == "auth" and err.retryable is False
    assert err.request_id
    assert err.request_id in str(err)
    assert shopify_sim.stats()["unauthorized"] == 1


def test_an_invalid_document_is_refused_before_sending(shopify_sim):
    client = client_for(shopify_sim)
    with pytest.raises(shopify_sync.InvalidInputError, match="idx") as info:
        client.graphql("{ products(first: 1) { nodes { idx } } }")
    assert info.value.retryable is False
    assert shopify_sim.stats()["requests"] == 0


def test_bad_variables_are_invalid_input(shopify_sim):
    client = client_for(shopify_sim)
    with pytest.raises(shopify_sync.InvalidInputError):
        client.graphql(PRODUCTS, {"n": object()})


def test_a_dead_endpoint_is_a_transport_error_with_its_cause():
    sim = shopify_sync.Simulator.start(products=1, collections=0)
    client = client_for(sim, max_attempts=1, connect_timeout=2)
    sim.stop()
    with pytest.raises(shopify_sync.TransportError) as info:
        client.graphql("{ shop { name } }")
    # Retries ran out (one attempt allowed): the error is no longer retryable.
    assert info.value.retryable is False
    assert isinstance(info.value.__cause__, Exception)


def test_async(shopify_sim):
    client = client_for(shopify_sim)

    async def main():
        one = await client.graphql_async(PRODUCTS, {"n": 2})
        many = await asyncio.gather(*(client.graphql_async("{ shop { name } }") for _ in range(5)))
        return one, many

    one, many = asyncio.run(main())
    assert len(one["data"]["products"]["nodes"]) == 2
    assert len(many) == 5 and all(m["data"]["shop"]["name"] for m in many)


def test_async_errors_and_cancellation(shopify_sim):
    bad = shopify_sync.ShopifyClient(
        endpoint=shopify_sim.endpoint, shop=shopify_sim.shop, access_token="wrong"
    )
    client = client_for(shopify_sim)

    async def main():
        with pytest.raises(shopify_sync.AuthError) as info:
            await bad.graphql_async("{ shop { name } }")
        assert info.value.request_id
        fut = client.graphql_async("{ shop { name } }")
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut
        # The client still works after a cancellation.
        return await client.graphql_async("{ shop { name } }")

    assert asyncio.run(main())["data"]["shop"]["name"]


def test_threads_share_a_client(shopify_sim):
    client = client_for(shopify_sim)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(client.graphql(PRODUCTS, {"n": 1}))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 20


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_its_own_runtime(shopify_sim):
    client = client_for(shopify_sim)
    client.graphql("{ shop { name } }")  # the parent's runtime and pool are in use
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            r = client.graphql("{ shop { name } }")
            code = 0 if r["data"]["shop"]["name"] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # The parent is unaffected.
    assert client.graphql("{ shop { name } }")["data"]["shop"]["name"]
