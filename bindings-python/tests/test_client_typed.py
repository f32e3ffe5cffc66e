"""Typed client operations against the simulator: products and collections as typed
objects through iterators and async iterators, lookups, membership."""

import asyncio
import datetime
import decimal

import pytest

import shopify_sync
from conftest import client_for


@pytest.mark.shopify_sim(products=30, collections=4, seed=3)
def test_products_iterate_page_by_page(shopify_sim):
    client = client_for(shopify_sim)
    products = list(client.products(page_size=7))
    assert len(products) == 30 == client.products_count()
    assert all(isinstance(p, shopify_sync.Product) for p in products)
    assert len({p.id for p in products}) == 30
    dumped = {f"gid://shopify/Product/{p['id']}": p for p in shopify_sim.dump()["products"]}
    for p in products:
        assert p.title == dumped[p.id]["title"]
        assert len(p.variants) == len(dumped[p.id]["variants"])
        for v in p.variants:
            assert v.price is None or isinstance(v.price, decimal.Decimal)
        assert p.updated_at is None or p.updated_at.tzinfo is not None
    # Sorted and filtered.
    by_title = [p.title for p in client.products(sort="title")]
    assert by_title == sorted(by_title, key=str.casefold) or len(by_title) == 30
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3650)
    assert list(client.products(updated_after=future)) == []
    with pytest.raises(shopify_sync.InvalidInputError, match="sort"):
        client.products(sort="price")


@pytest.mark.shopify_sim(products=12, collections=2, seed=3)
def test_async_iteration_and_lookups(shopify_sim):
    client = client_for(shopify_sim)

    async def main():
        ids = [p.id async for p in client.products()]
        one = await client.product_async(ids[0])
        return ids, one

    ids, one = asyncio.run(main())
    assert len(ids) == 12 and one is not None and one.id == ids[0]
    numeric = int(ids[0].rsplit("/", 1)[1])
    assert client.product(numeric) == client.product(str(numeric)) == one
    assert client.product_by_handle(one.handle) == one
    assert client.product_by_handle("no-such-handle") is None
    assert client.product("gid://shopify/Product/999999999") is None
    with pytest.raises(shopify_sync.InvalidInputError):
        client.product("gid://shopify/Collection/1")


@pytest.mark.shopify_sim(products=10, collections=4, seed=3)
def test_collections_and_membership(shopify_sim):
    client = client_for(shopify_sim)
    collections = list(client.collections())
    assert len(collections) == 4 and all(isinstance(c, shopify_sync.Collection) for c in collections)
    custom = next(c for c in collections if not c.is_smart)
    assert client.collection(custom.id) == custom
    assert client.collection(999999) is None
    members = list(client.collection_product_ids(custom.id))
    some = next(p.id for p in client.products())
    if some in members:
        client.collection_remove_products(custom.id, [int(some.rsplit("/", 1)[1])])
        assert some not in list(client.collection_product_ids(custom.id))
    client.collection_add_products(custom.id, [some])
    assert some in list(client.collection_product_ids(custom.id))
    client.collection_remove_products(custom.id, [some])
    assert some not in list(client.collection_product_ids(custom.id))


def test_an_error_raises_from_the_iteration(shopify_sim):
    bad = shopify_sync.ShopifyClient(
        endpoint=shopify_sim.endpoint, shop=shopify_sim.shop, access_token="wrong"
    )
    it = bad.products()
    with pytest.raises(shopify_sync.AuthError):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    # Dropping an iterator half-way stops the reading.
    client = client_for(shopify_sim)
    it = client.products(page_size=2)
    next(it)
    it.close()
    del it


def test_product_set_and_delete(shopify_sim):
    client = client_for(shopify_sim)
    created = client.product_set(
        {
            "title": "Set from Python",
            "handle": "set-from-python",
            "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
            "variants": [
                {"optionValues": [{"optionName": "Size", "name": "S"}], "price": decimal.Decimal("10.50")},
                {"optionValues": [{"optionName": "Size", "name": "M"}], "price": "11"},
            ],
        },
        {"handle": "set-from-python"},
    )
    assert isinstance(created, shopify_sync.Product)
    assert created.title == "Set from Python"
    assert sorted(v.price for v in created.variants) == [decimal.Decimal("10.50"), decimal.Decimal("11")]
    # The same identifier again updates in place (idempotent upsert).
    again = client.product_set({"title": "Set twice"}, {"id": created.id})
    assert again.id == created.id and again.title == "Set twice"
    assert client.product(created.id).title == "Set twice"
    with pytest.raises(shopify_sync.UserErrorsError) as refused:
        client.product_set({"title": "x"}, {"id": "gid://shopify/Product/999999999"})
    assert refused.value.user_errors
    assert client.product_delete(created.id) == created.id
    assert client.product(created.id) is None
