"""The shared vectors through the binding: status.json and fingerprint.json."""

import decimal

import pytest

import shopify_sync
from conftest import cases, load_vectors


@pytest.mark.parametrize("case", cases("status.json"))
def test_compute_status(case):
    assert shopify_sync.compute_status(case["input"]) == case["expected"]


def test_compute_statuses_matches_one_by_one():
    all_cases = load_vectors("status.json")["cases"]
    out = shopify_sync.compute_statuses([c["input"] for c in all_cases])
    assert out == [c["expected"] for c in all_cases]
    # Any iterable, and an empty one.
    assert shopify_sync.compute_statuses(iter([{}])) == [shopify_sync.compute_status({})]
    assert shopify_sync.compute_statuses([]) == []


def test_status_rejects_unknown_keys_and_bad_values():
    with pytest.raises(shopify_sync.InvalidInputError, match="status input"):
        shopify_sync.compute_status({"no_such_key": 1})
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.compute_status({"local_fingerprint": "v2:abc"})
    with pytest.raises(shopify_sync.InvalidInputError, match=r"\[1\]"):
        shopify_sync.compute_statuses([{}, {"changes": {"staged": -1}}])


@pytest.mark.parametrize("case", cases("fingerprint.json"))
def test_fingerprint(case):
    snapshot = case["input"]["snapshot"]
    mask = case["input"].get("mask")
    expected = case["expected"]
    assert shopify_sync.canonical_document(snapshot, mask) == expected["canonical"]
    assert shopify_sync.fingerprint(snapshot, mask) == expected["fingerprint"]
    untagged = {k: v for k, v in snapshot.items() if k != "kind"}
    by_kind = {
        "product": shopify_sync.fingerprint_product,
        "collection": shopify_sync.fingerprint_collection,
    }[snapshot["kind"]]
    assert by_kind(untagged, mask) == expected["fingerprint"]
    # Normalising does not change the fingerprint.
    normalized = shopify_sync.normalize_snapshot(snapshot)
    assert normalized["kind"] == snapshot["kind"]
    assert shopify_sync.fingerprint(normalized, mask) == expected["fingerprint"]


def test_fingerprint_mask_defaults_to_every_field():
    snap = {"kind": "product", "title": "Tee"}
    assert shopify_sync.fingerprint(snap) == shopify_sync.fingerprint(snap, None)
    assert shopify_sync.fingerprint(snap, ["vendor"]) != shopify_sync.fingerprint(snap)


def test_fingerprint_rejects_bad_input():
    with pytest.raises(shopify_sync.InvalidInputError, match="mask"):
        shopify_sync.fingerprint({"kind": "product"}, ["no_such_field"])
    with pytest.raises(shopify_sync.InvalidInputError, match="mask"):
        shopify_sync.fingerprint({"kind": "product"}, "title")
    with pytest.raises(shopify_sync.InvalidInputError, match="snapshot"):
        shopify_sync.fingerprint({"title": "no kind"})
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.fingerprint_product({"kind": "product"})


@pytest.mark.parametrize("case", cases("diff.json"))
def test_diff(case):
    i = case["input"]
    rows = shopify_sync.diff(
        i.get("base"), i.get("local"), i.get("remote"), i.get("mask"), i.get("smart_collections")
    )
    assert rows == case["expected"]["rows"]


@pytest.mark.parametrize("case", cases("events.json"))
def test_events_cross_in_their_json_shape(case):
    event = case["event"]
    out = shopify_sync._native._event_roundtrip(event)
    # Same keys in the same order; numbers compared by value.
    assert list(out.keys()) == list(event.keys())
    assert out == event


def _as_decimals(value):
    """Prices as Decimal with varied exponents (the same values)."""
    if isinstance(value, dict):
        return {
            k: (decimal.Decimal(v).scaleb(-3).scaleb(3) if k in ("price", "compare_at_price")
                and isinstance(v, str) and _is_plain_decimal(v) else _as_decimals(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_as_decimals(v) for v in value]
    return value


def _is_plain_decimal(text):
    try:
        decimal.Decimal(text)
    except decimal.InvalidOperation:
        return False
    return text.strip() == text and text.lstrip("-").replace(".", "", 1).isdigit()


@pytest.mark.parametrize("case", cases("fingerprint.json"))
def test_fingerprint_with_native_decimals(case):
    snapshot = _as_decimals(case["input"]["snapshot"])
    mask = case["input"].get("mask")
    assert shopify_sync.fingerprint(snapshot, mask) == case["expected"]["fingerprint"]


def test_decimal_conversion_is_exact():
    snap = {"kind": "product", "variants": [{"price": "10.50"}]}
    expected = shopify_sync.fingerprint(snap)
    for d in ("10.50", "10.5", "1050E-2", "0.105E+2", "10.500000"):
        assert shopify_sync.fingerprint(
            {"kind": "product", "variants": [{"price": decimal.Decimal(d)}]}
        ) == expected, d
    for bad in ("NaN", "Infinity"):
        with pytest.raises(shopify_sync.InvalidInputError):
            shopify_sync.fingerprint({"kind": "product", "variants": [{"price": decimal.Decimal(bad)}]})
