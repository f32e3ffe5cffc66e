"""The package surface: exports, docstrings, typing marker, repeated imports."""

import importlib
import inspect
from pathlib import Path

import shopify_sync
from shopify_sync import _native


def test_every_public_name_is_exported_and_documented():
    for name in shopify_sync.__all__:
        obj = getattr(shopify_sync, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (callable(member) or isinstance(member, property)):
                    continue
                assert inspect.getdoc(getattr(obj, attr)), f"{name}.{attr} has no docstring"


def test_every_native_name_is_re_exported():
    public = {n for n in _native.__all__ if not n.startswith("_") or n == "__version__"}
    assert public <= set(shopify_sync.__all__)


def test_stubs_and_marker_ship_with_the_package():
    root = Path(shopify_sync.__file__).parent
    assert (root / "py.typed").exists()
    assert (root / "_native.pyi").exists()


def test_repeated_imports_and_reload():
    again = importlib.import_module("shopify_sync")
    assert again is shopify_sync
    importlib.reload(shopify_sync)
    # The exception classes are defined once: errors raised after a reload are still
    # caught by the names the package exports.
    err = _native._make_error("auth", "x")
    assert isinstance(err, shopify_sync.AuthError)
    assert shopify_sync.compute_status({})["state"] == "not_synced"
