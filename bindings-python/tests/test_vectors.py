"""The shared vectors through the binding: status.json and fingerprint.json."""

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
