"""Typed results: to_dict()/from_dict(), Decimal money, aware datetimes, timedeltas."""

import datetime
import decimal
import json

import pytest

import shopify_sync
from conftest import client_for

UTC = datetime.timezone.utc
PARIS = datetime.timezone(datetime.timedelta(hours=2))


def test_product_from_the_core_json_shape_and_back():
    raw = {
        "id": "gid://shopify/Product/1",
        "title": "Tee",
        "status": "ACTIVE",
        "tags": ["a", "b"],
        "seo": {"title": None, "description": "d"},
        "variants": {"nodes": [{
            "id": "gid://shopify/ProductVariant/2",
            "price": "19.90",
            "compareAtPrice": "25",
            "selectedOptions": [{"name": "Size", "value": "M"}],
            "updatedAt": "2026-03-01T12:00:00Z",
        }]},
        "createdAt": "2026-03-01T14:00:00+02:00",
    }
    p = shopify_sync.Product.from_dict(raw)
    v = p.variants[0]
    assert v.price == decimal.Decimal("19.90") and isinstance(v.price, decimal.Decimal)
    assert str(v.price) == "19.90"  # the digits as Shopify sent them
    assert v.compare_at_price == decimal.Decimal("25")
    assert v.selected_options == [shopify_sync.SelectedOption(name="Size", value="M")]
    assert v.updated_at == datetime.datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert p.created_at == datetime.datetime(2026, 3, 1, 14, tzinfo=PARIS)
    assert p.seo.description == "d"
    d = p.to_dict()
    assert d["variants"][0]["price"] == decimal.Decimal("19.90")
    assert d["variants"][0]["selected_options"] == [{"name": "Size", "value": "M"}]
    assert shopify_sync.Product.from_dict(d) == p
    # A JSON round trip (money and times as strings) gives the same object back.
    text = json.dumps(d, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o))
    assert shopify_sync.Product.from_dict(json.loads(text)) == p


def test_from_dict_refuses_what_it_cannot_read():
    with pytest.raises(shopify_sync.InvalidInputError, match="unknown key"):
        shopify_sync.Product.from_dict({"id": "gid://shopify/Product/1", "nope": 1})
    with pytest.raises(shopify_sync.InvalidInputError, match="floats are inexact"):
        shopify_sync.Variant.from_dict({"id": "x", "price": 19.9})
    with pytest.raises(shopify_sync.InvalidInputError, match="money"):
        shopify_sync.Variant.from_dict({"id": "x", "price": "NaN"})
    with pytest.raises(shopify_sync.InvalidInputError, match="naive"):
        shopify_sync.Variant.from_dict({"id": "x", "updated_at": datetime.datetime(2026, 1, 1)})
    with pytest.raises(shopify_sync.InvalidInputError, match="RFC 3339"):
        shopify_sync.Variant.from_dict({"id": "x", "updated_at": "yesterday"})
    with pytest.raises(shopify_sync.InvalidInputError, match="id"):
        shopify_sync.Product.from_dict({"title": "no id"})
    with pytest.raises(shopify_sync.InvalidInputError, match="mapping"):
        shopify_sync.Product.from_dict([])  # type: ignore[arg-type]


def test_reports_round_trip_and_json_aliases():
    r = shopify_sync.ApplyReport.from_dict({
        "operation_id": "op-1", "applied": 2, "stale": 1, "failed": 0, "reconciled": 0,
        "created": [{"local_id": "L1", "shopify_id": "gid://shopify/Product/9", "variants": []}],
        "elapsed_ms": 1500,
    })
    assert r.elapsed == datetime.timedelta(seconds=1.5)
    assert r.created[0] == shopify_sync.IdMapping(shopify_id="gid://shopify/Product/9", local_id="L1")
    assert shopify_sync.ApplyReport.from_dict(r.to_dict()) == r
    p = shopify_sync.PullReport.from_dict({"mode": "bulk", "cursor": "2026-01-01T00:00:00Z", "elapsed": 2})
    assert p.cursor == datetime.datetime(2026, 1, 1, tzinfo=UTC)
    assert p.elapsed == datetime.timedelta(seconds=2)
    assert shopify_sync.PullReport.from_dict(p.to_dict()) == p
    assert shopify_sync.PlanSummary().to_dict()["by_state"] == {}
    c = shopify_sync.Collection.from_dict({"id": "gid://shopify/Collection/1",
                                          "ruleSet": {"appliedDisjunctively": True, "rules": []}})
    assert c.is_smart and not shopify_sync.Collection(id="x").is_smart
    # Records are immutable values.
    with pytest.raises(Exception):
        p.products = 3  # type: ignore[misc]


def test_local_records_accept_typed_objects_decimals_and_aware_datetimes(shopify_sim):
    store = shopify_sync.MemoryStore()
    engine = shopify_sync.SyncEngine(client_for(shopify_sim), store)
    engine.pull("paginated")

    class Row:
        """Any object with to_dict() is a local record."""

        def __init__(self, **fields):
            self.fields = fields

        def to_dict(self):
            return dict(self.fields)

    key, stored = next(
        (k, s) for k, s in store.snapshots("remote").items() if s["snapshot"]["kind"] == "product"
    )
    snap = {k: v for k, v in stored["snapshot"].items() if k != "kind"}
    for v in snap["variants"]:
        if v["price"] is not None:
            # Same value, other exponents: equal to Shopify's string.
            v["price"] = decimal.Decimal(v["price"]).scaleb(2).scaleb(-2) * 1
    row = Row(local_id="L1", shopify_id=key,
              updated_at=datetime.datetime(2026, 1, 1, 14, tzinfo=PARIS), **snap)
    assert engine.baseline([row]) == 1
    assert engine.statuses([row])[0]["state"] == "synced"
