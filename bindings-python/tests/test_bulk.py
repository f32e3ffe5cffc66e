"""Bulk query and bulk mutation against the simulator over real HTTP: the operation,
the download as an iterator and an async iterator of dicts, per-line mutation results."""

import asyncio

import pytest

import shopify_sync
from conftest import client_for

PRODUCTS = "{ products { edges { node { id title variants { edges { node { id sku price } } } } } } }"
CREATE = ("mutation call($product: ProductCreateInput!) { productCreate(product: $product) "
          "{ product { id title } userErrors { field message } } }")


@pytest.mark.shopify_sim(products=15, collections=2, seed=4)
def test_bulk_query_and_download(shopify_sim):
    client = client_for(shopify_sim)
    result = client.bulk_query(PRODUCTS, poll_interval=0.02)
    assert isinstance(result, shopify_sync.BulkQueryResult) and result.partial is False
    op = result.operation
    assert op.status == "COMPLETED" and op.id.startswith("gid://shopify/BulkOperation/")
    assert op.type == "QUERY" and op.completed_at is not None and op.completed_at.tzinfo is not None
    records = list(client.bulk_download(result))
    products = [r for r in records if "__parentId" not in r]
    variants = [r for r in records if "__parentId" in r]
    assert len(records) == op.object_count
    dumped = {f"gid://shopify/Product/{p['id']}": p for p in shopify_sim.dump()["products"]}
    assert {p["id"] for p in products} == set(dumped)
    assert all(v["__parentId"] in dumped for v in variants)
    assert len(variants) == sum(len(p["variants"]) for p in dumped.values())
    # The URL works too, and the async iterator gives the same records.
    assert list(client.bulk_download(op.url)) == records
    # So do the result's dict and the result rebuilt from it.
    assert result.to_dict()["operation"]["objectCount"] == op.object_count
    assert list(client.bulk_download(result.to_dict())) == records
    assert shopify_sync.BulkQueryResult.from_dict(result.to_dict()) == result

    async def read():
        r = await client.bulk_query_async(PRODUCTS, poll_interval=0.02)
        return [x async for x in client.bulk_download(r)]

    assert sorted(map(str, asyncio.run(read()))) == sorted(map(str, records))
    with pytest.raises(shopify_sync.InvalidInputError, match="bulk result"):
        client.bulk_download({"no": "operation"})


@pytest.mark.shopify_sim(products=3, collections=1, seed=4)
def test_bulk_mutation_lines(shopify_sim):
    client = client_for(shopify_sim)
    inputs = [{"product": {"title": "Bulk one"}}, {"product": {"title": ""}},
              {"product": {"title": "Bulk three", "vendor": "Acme"}}]
    result = client.bulk_mutation(CREATE, inputs, poll_interval=0.02)
    assert isinstance(result, shopify_sync.BulkMutationResult)
    assert result.partial is False and result.missing == []
    assert result.operation.status == "COMPLETED" and result.operation.type == "MUTATION"
    lines = {line.line_number: line for line in result.lines}
    assert sorted(lines) == [0, 1, 2] and result.line(2) == lines[2] and result.line(7) is None
    assert lines[0].ok and lines[2].data["productCreate"]["product"]["title"] == "Bulk three"
    assert not lines[1].ok and lines[1].user_errors[0]["field"] == ["title"]
    assert shopify_sync.BulkMutationResult.from_dict(result.to_dict()) == result
    titles = {p["title"] for p in shopify_sim.dump()["products"]}
    assert {"Bulk one", "Bulk three"} <= titles

    async def again():
        return await client.bulk_mutation_async(CREATE, [{"product": {"title": "Async"}}],
                                                poll_interval=0.02)

    assert asyncio.run(again()).lines[0].ok
    # Refused before anything is sent.
    with pytest.raises(shopify_sync.InvalidInputError):
        client.bulk_mutation("mutation { nope }", [{}])
    with pytest.raises(shopify_sync.InvalidInputError):
        client.bulk_mutation(CREATE, [[1]])


def test_a_cancelled_bulk_call_cancels_its_operation_on_shopify():
    # A slow export (20 rows a second), so that the cancellation lands while it runs.
    sim = shopify_sync.Simulator.start(products=200, bulk_rows_per_second=20)
    try:
        client = client_for(sim)

        def current(kind):
            doc = "{ currentBulkOperation(type: %s) { id status } }" % kind
            return client.graphql(doc)["data"]["currentBulkOperation"]

        async def wait_for(kind, statuses):
            for _ in range(400):
                op = current(kind)
                if op and op["status"] in statuses:
                    return op
                await asyncio.sleep(0.025)
            raise AssertionError(f"no {kind} operation reached {statuses}: {current(kind)}")

        async def main():
            task = asyncio.ensure_future(
                client.bulk_query_async("{ products { edges { node { id title } } } }", poll_interval=0.02)
            )
            await wait_for("QUERY", ["RUNNING"])
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_for("QUERY", ["CANCELING", "CANCELED"])

            ids = [p.id for p in client.products()]
            tags = "mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }"
            task = asyncio.ensure_future(
                client.bulk_mutation_async(tags, [{"id": i, "tags": ["slow"]} for i in ids], poll_interval=0.02)
            )
            await wait_for("MUTATION", ["RUNNING"])
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_for("MUTATION", ["CANCELING", "CANCELED"])

        asyncio.run(main())
    finally:
        sim.stop()
