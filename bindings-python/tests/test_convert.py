"""Python values read by the core's serde rules straight from the objects: every shape
gives the answer its JSON would, and an unusable value names where it is."""

import collections
import datetime
import decimal
import json
import types

import pytest

import shopify_sync
from conftest import load_vectors

FP = "v1:" + "a" * 64


def status_inputs():
    return [c["input"] for c in load_vectors("status.json")["cases"]]


def test_batch_equals_json_round_trip_and_single_calls():
    inputs = status_inputs()
    # The same values rebuilt by json (other str and int objects, no shared keys).
    copies = json.loads(json.dumps(inputs))
    expected = [shopify_sync.compute_status(i) for i in inputs]
    assert shopify_sync.compute_statuses(inputs) == expected
    assert shopify_sync.compute_statuses(copies) == expected
    assert shopify_sync.compute_statuses(tuple(copies)) == expected
    assert shopify_sync.compute_statuses(i for i in copies) == expected
    # Each row gets its own dict and list.
    out = shopify_sync.compute_statuses([{}, {}])
    assert out[0] == out[1] and out[0] is not out[1] and out[0]["fields"] is not out[1]["fields"]
    out[0]["fields"].append("x")
    assert shopify_sync.compute_status({}) == out[1]


def test_many_distinct_key_objects():
    # More key objects than the key cache keeps: still read by their text.
    rows = [{"".join(["local_", "fingerprint"]): FP} for _ in range(200)]
    assert {s["state"] for s in shopify_sync.compute_statuses(rows)} == {"not_synced"}


def test_mappings_and_dict_subclasses():
    row = {"shopify_id": 7, "legacy_status": "in_sync", "changes": {"staged": 1}}
    expected = shopify_sync.compute_status(row)
    assert shopify_sync.compute_status(collections.OrderedDict(row)) == expected
    proxy = types.MappingProxyType({**row, "changes": types.MappingProxyType(row["changes"])})
    assert shopify_sync.compute_status(proxy) == expected
    assert shopify_sync.compute_statuses([proxy, row]) == [expected, expected]


def test_text_is_read_exactly():
    # Non-ASCII text and a legacy value with spaces; a lone surrogate is refused cleanly.
    assert shopify_sync.compute_status({"shopify_id": "1", "last_error": "échec ✗"})["state"] == "error"
    assert shopify_sync.compute_status({"shopify_id": "1", "legacy_status": " In Sync "})["state"] == "synced"
    with pytest.raises(shopify_sync.InvalidInputError, match=r"status input \[0\]"):
        shopify_sync.compute_statuses([{"last_error": "\ud800"}])


def test_errors_name_the_row_and_the_path():
    with pytest.raises(shopify_sync.InvalidInputError, match=r"status input \[2\]: \$\.changes\.staged"):
        shopify_sync.compute_statuses([{}, {}, {"changes": {"staged": "x"}}])
    with pytest.raises(shopify_sync.InvalidInputError, match="dict keys must be strings"):
        shopify_sync.compute_status({1: "x"})
    with pytest.raises(shopify_sync.InvalidInputError, match="remote_deleted"):
        shopify_sync.compute_status({"remote_deleted": 1})
    with pytest.raises(shopify_sync.InvalidInputError, match="out of range"):
        shopify_sync.compute_status({"shopify_id": 2**70})
    with pytest.raises(shopify_sync.InvalidInputError, match="NaN"):
        shopify_sync.compute_status({"shopify_id": float("nan")})
    with pytest.raises(shopify_sync.InvalidInputError, match=r"\$\.variants\[1\]\.price: .*decimal"):
        shopify_sync.fingerprint_product({"variants": [{"price": "1"}, {"price": "x"}]})
    with pytest.raises(shopify_sync.InvalidInputError, match=r"\$\.last_error: naive datetime"):
        shopify_sync.compute_status({"last_error": datetime.datetime(2025, 1, 1)})


def test_native_values_read_as_their_json():
    # Decimal at any exponent and aware datetimes in any zone, as in the vectors.
    as_json = {"title": "Tee", "variants": [{"sku": "A", "price": "12.50"}]}
    for price in (decimal.Decimal("12.5"), decimal.Decimal("1250E-2"), decimal.Decimal("0.125E2")):
        native = {"title": "Tee", "variants": [{"sku": "A", "price": price}]}
        assert shopify_sync.fingerprint_product(native) == shopify_sync.fingerprint_product(as_json)
    event = load_vectors("events.json")["cases"][0]["event"]
    paris = datetime.timezone(datetime.timedelta(hours=2))
    native = {**event, "timestamp": datetime.datetime(2026, 7, 1, 14, 0, tzinfo=paris)}
    assert shopify_sync._native._event_roundtrip(native) == event
