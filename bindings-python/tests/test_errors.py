"""Error classes: tests/vectors/errors.json, fields, causes, panics, pickling."""

import pickle

import pytest

import shopify_sync
from shopify_sync import _native
from conftest import cases, load_vectors

ERRORS = load_vectors("errors.json")


@pytest.mark.parametrize("case", cases("errors.json"))
def test_every_kind_maps_to_its_class(case):
    kind = case["input"]["kind"]
    expected = case["expected"]
    err = _native._make_error(kind, f"a {kind} error")
    cls = getattr(shopify_sync, expected["python_exception"])
    assert type(err) is cls
    assert isinstance(err, shopify_sync.ShopifySyncError)
    assert isinstance(err, Exception)
    assert err.kind == kind == cls.kind
    assert err.retryable is expected["retryable"]
    assert err.message == f"a {kind} error"
    assert str(err) == f"a {kind} error"
    assert err.request_id is None
    assert err.graphql_errors == [] and err.user_errors == []
    assert shopify_sync.ERROR_CLASSES[kind] is cls


def test_the_base_class_is_named_as_in_the_vectors():
    assert ERRORS["python_base_exception"] == shopify_sync.ShopifySyncError.__name__


def test_every_class_has_a_case():
    kinds = {c["input"]["kind"] for c in ERRORS["cases"]}
    assert set(shopify_sync.ERROR_CLASSES) == kinds
    for cls in shopify_sync.ERROR_CLASSES.values():
        assert cls.__name__ in shopify_sync.__all__
        assert cls.__doc__


def test_no_class_shadows_a_builtin():
    import builtins

    for cls in shopify_sync.ERROR_CLASSES.values():
        assert not hasattr(builtins, cls.__name__), cls.__name__


def test_an_unknown_kind_is_invalid_input():
    with pytest.raises(shopify_sync.InvalidInputError, match="unknown error kind"):
        _native._make_error("no_such_kind", "x")


def test_a_rust_panic_becomes_an_exception_not_an_abort():
    with pytest.raises(shopify_sync.ShopifySyncError, match="internal error.*boom") as info:
        _native._panic("boom")
    assert info.value.kind is None
    assert info.value.retryable is False
    # The interpreter and the module still work afterwards.
    assert shopify_sync.compute_status({})["state"] == "not_synced"


def test_errors_pickle_with_their_fields():
    err = shopify_sync.UserErrorsError(
        "nope",
        kind="user_errors",
        retryable=False,
        request_id="req-1",
        user_errors=[{"field": ["input", "title"], "message": "blank", "code": "BLANK"}],
        graphql_errors=[{"message": "m", "path": ["a", 0], "code": None}],
        json_path="data.x",
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is shopify_sync.UserErrorsError
    for field in ("message", "kind", "retryable", "request_id", "user_errors", "graphql_errors", "json_path"):
        assert getattr(back, field) == getattr(err, field)
    assert "req-1" in str(back)


def test_the_retry_verdict_can_differ_from_the_default():
    err = shopify_sync.ServerError("gave up", kind="server", retryable=False)
    assert err.retryable is False
    assert shopify_sync.ServerError("again").retryable is True
