"""Typed results: small frozen dataclasses with ``to_dict()`` and ``from_dict()``.

The native module hands each result over as a dict and this module turns it into a
class (``Cls.from_dict``), the way ``_errors`` builds exceptions. Conversions:

- money is :class:`decimal.Decimal` (read from the exact decimal strings Rust writes,
  never through a float);
- timestamps are aware :class:`datetime.datetime` (UTC as Rust sends them; any aware
  datetime is accepted back; a naive one is refused);
- durations are :class:`datetime.timedelta`.

``from_dict`` takes what ``to_dict`` gives back, and also the JSON shape the core writes
(ISO strings for times, strings for money, camelCase keys for Shopify's model objects,
``*_ms`` milliseconds for durations), so a dict that went through ``json`` reads back.
"""

import dataclasses
import datetime
import decimal
import re
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Type, TypeVar

__all__ = [
    "Record",
    "Seo",
    "SelectedOption",
    "ProductOption",
    "Variant",
    "Product",
    "CollectionRule",
    "CollectionRuleSet",
    "Collection",
    "IdMapping",
    "PullReport",
    "ApplyReport",
    "RefreshReport",
    "PlanSummary",
    "ReviewReport",
]

_R = TypeVar("_R", bound="Record")
_Conv = Callable[[Any], Any]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _invalid(message: str) -> Exception:
    from ._errors import InvalidInputError

    return InvalidInputError(message, kind="invalid_input", retryable=False)


def _datetime(v: Any) -> Optional[datetime.datetime]:
    if v is None:
        return None
    if isinstance(v, str):
        text = v[:-1] + "+00:00" if v.endswith("Z") else v
        try:
            v = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise _invalid(f"not an RFC 3339 timestamp: {v!r}") from None
    if not isinstance(v, datetime.datetime):
        raise _invalid(f"expected a datetime, not {type(v).__name__}")
    if v.tzinfo is None or v.utcoffset() is None:
        raise _invalid(f"naive datetime {v!r}: attach a tzinfo (e.g. datetime.timezone.utc)")
    return v


def _money(v: Any) -> Optional[decimal.Decimal]:
    if v is None:
        return None
    if isinstance(v, bool) or isinstance(v, float):
        raise _invalid(f"money must be a Decimal or a decimal string, not {v!r} (floats are inexact)")
    if isinstance(v, decimal.Decimal):
        return v
    if isinstance(v, (str, int)):
        try:
            d = decimal.Decimal(v)
        except decimal.InvalidOperation:
            raise _invalid(f"invalid money amount {v!r}") from None
        if not d.is_finite():
            raise _invalid(f"invalid money amount {v!r}")
        return d
    raise _invalid(f"money must be a Decimal or a decimal string, not {type(v).__name__}")


def _timedelta(v: Any) -> datetime.timedelta:
    if isinstance(v, datetime.timedelta):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return datetime.timedelta(seconds=v)
    raise _invalid(f"expected a timedelta or seconds, not {v!r}")


def _list(conv: _Conv) -> _Conv:
    def convert(v: Any) -> List[Any]:
        if v is None:
            return []
        if isinstance(v, Mapping):  # a GraphQL connection: {"nodes": [...]} or {"edges": [...]}
            if "nodes" in v:
                v = v["nodes"]
            elif "edges" in v:
                v = [e["node"] for e in v["edges"]]
        return [conv(x) for x in v]

    return convert


def _optional(conv: _Conv) -> _Conv:
    return lambda v: None if v is None else conv(v)


def _same(v: Any) -> Any:
    return v


def _plain(v: Any) -> Any:
    """A value for ``to_dict``: records become dicts, lists and dicts are copied."""
    if isinstance(v, Record):
        return v.to_dict()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


class Record:
    """Base of the typed results: ``to_dict()``, ``from_dict()``, equality by value."""

    #: Converters of the fields that are not plain values, by field name.
    _convert: ClassVar[Dict[str, _Conv]] = {}
    #: Other key names accepted by ``from_dict`` (e.g. ``elapsed_ms``), with a converter.
    _aliases: ClassVar[Dict[str, Any]] = {}

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (snake_case keys; ``Decimal``, ``datetime`` and
        ``timedelta`` values kept; nested records as dicts)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: Type[_R], data: Mapping[str, Any]) -> _R:
        """Build from ``to_dict()``'s output or the JSON shape the core writes; an
        unknown key or an unusable value raises ``InvalidInputError``."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise _invalid(f"{cls.__name__}.from_dict: expected a mapping, not {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs: Dict[str, Any] = {}
        for key, value in data.items():
            if key in cls._aliases:
                name, conv = cls._aliases[key]
                kwargs[name] = conv(value)
                continue
            name = key if key in names else _snake(key)
            if name not in names:
                raise _invalid(f"{cls.__name__}.from_dict: unknown key {key!r}")
            kwargs[name] = cls._convert.get(name, _same)(value)
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise _invalid(f"{cls.__name__}.from_dict: {e}") from None


def _record(cls: Type[_R]) -> _Conv:
    return lambda v: cls.from_dict(v)


def _ms(name: str) -> Any:
    return (name, lambda v: datetime.timedelta(milliseconds=v))


@dataclasses.dataclass(frozen=True)
class Seo(Record):
    """Search engine title and description."""

    title: Optional[str] = None
    description: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class SelectedOption(Record):
    """One option value of a variant (``Size: M``)."""

    name: str = ""
    value: str = ""


@dataclasses.dataclass(frozen=True)
class ProductOption(Record):
    """A product option (``Size``) with its values."""

    id: Optional[str] = None
    name: str = ""
    position: Optional[int] = None
    values: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Variant(Record):
    """A product variant as Shopify holds it; prices are ``Decimal``."""

    id: str
    title: str = ""
    sku: Optional[str] = None
    barcode: Optional[str] = None
    price: Optional[decimal.Decimal] = None
    compare_at_price: Optional[decimal.Decimal] = None
    inventory_policy: Optional[str] = None
    inventory_quantity: Optional[int] = None
    taxable: Optional[bool] = None
    position: Optional[int] = None
    selected_options: List[SelectedOption] = dataclasses.field(default_factory=list)
    created_at: Optional[datetime.datetime] = None
    updated_at: Optional[datetime.datetime] = None

    _convert = {
        "price": _money,
        "compare_at_price": _money,
        "selected_options": _list(_record(SelectedOption)),
        "created_at": _datetime,
        "updated_at": _datetime,
    }


@dataclasses.dataclass(frozen=True)
class Product(Record):
    """A product as Shopify holds it (the core's ``model::Product``)."""

    id: str
    title: str = ""
    handle: str = ""
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    status: Optional[str] = None
    tags: List[str] = dataclasses.field(default_factory=list)
    seo: Seo = dataclasses.field(default_factory=Seo)
    template_suffix: Optional[str] = None
    options: List[ProductOption] = dataclasses.field(default_factory=list)
    variants: List[Variant] = dataclasses.field(default_factory=list)
    created_at: Optional[datetime.datetime] = None
    updated_at: Optional[datetime.datetime] = None

    _convert = {
        "seo": lambda v: Seo() if v is None else Seo.from_dict(v),
        "options": _list(_record(ProductOption)),
        "variants": _list(_record(Variant)),
        "created_at": _datetime,
        "updated_at": _datetime,
    }


@dataclasses.dataclass(frozen=True)
class CollectionRule(Record):
    """One rule of a smart collection."""

    column: str = ""
    relation: str = ""
    condition: str = ""


@dataclasses.dataclass(frozen=True)
class CollectionRuleSet(Record):
    """A smart collection's rules."""

    applied_disjunctively: bool = False
    rules: List[CollectionRule] = dataclasses.field(default_factory=list)

    _convert = {"rules": _list(_record(CollectionRule))}


@dataclasses.dataclass(frozen=True)
class Collection(Record):
    """A custom or smart collection as Shopify holds it."""

    id: str
    title: str = ""
    handle: str = ""
    description_html: str = ""
    sort_order: Optional[str] = None
    template_suffix: Optional[str] = None
    seo: Seo = dataclasses.field(default_factory=Seo)
    rule_set: Optional[CollectionRuleSet] = None
    updated_at: Optional[datetime.datetime] = None

    _convert = {
        "seo": lambda v: Seo() if v is None else Seo.from_dict(v),
        "rule_set": _optional(_record(CollectionRuleSet)),
        "updated_at": _datetime,
    }

    @property
    def is_smart(self) -> bool:
        """Whether Shopify decides its members from rules."""
        return self.rule_set is not None


@dataclasses.dataclass(frozen=True)
class IdMapping(Record):
    """The ids of a created entity: the caller's ``local_id`` and the new Shopify gid,
    with its variants' ``{"key", "id"}``."""

    shopify_id: str
    local_id: Optional[str] = None
    variants: List[Dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class PullReport(Record):
    """What a pull did."""

    mode: str
    """``"paginated"`` or ``"bulk"``."""
    incremental: bool = False
    products: int = 0
    collections: int = 0
    deleted: int = 0
    memberships: int = 0
    membership_changes: int = 0
    cursor: Optional[datetime.datetime] = None
    elapsed: datetime.timedelta = datetime.timedelta(0)

    _convert = {"cursor": _datetime, "elapsed": _timedelta}
    _aliases = {"elapsed_ms": _ms("elapsed")}


@dataclasses.dataclass(frozen=True)
class ApplyReport(Record):
    """What an apply did: changes applied, stale (Shopify moved since review, not
    written), failed, reconciled from an earlier run, and the ids of created entities."""

    operation_id: str = ""
    applied: int = 0
    stale: int = 0
    failed: int = 0
    reconciled: int = 0
    created: List[IdMapping] = dataclasses.field(default_factory=list)
    elapsed: datetime.timedelta = datetime.timedelta(0)

    _convert = {"created": _list(_record(IdMapping)), "elapsed": _timedelta}
    _aliases = {"elapsed_ms": _ms("elapsed")}


@dataclasses.dataclass(frozen=True)
class RefreshReport(Record):
    """What a webhook refresh did."""

    products: int = 0
    collections: int = 0
    deleted: int = 0
    memberships: int = 0
    duplicates: int = 0
    stale: int = 0
    ignored: int = 0


@dataclasses.dataclass(frozen=True)
class PlanSummary(Record):
    """Counts of a plan for a review screen."""

    changes: int = 0
    by_operation: Dict[str, int] = dataclasses.field(default_factory=dict)
    by_state: Dict[str, int] = dataclasses.field(default_factory=dict)
    conflicts: int = 0
    flagged: int = 0
    incoming: int = 0
    problems: int = 0
    unmanaged: int = 0
    unchanged: int = 0


@dataclasses.dataclass(frozen=True)
class ReviewReport(Record):
    """What an approve or reject did: the change ids moved, those skipped
    (``{"change_id", "reason"}``) and the audit entries written."""

    changed: List[str] = dataclasses.field(default_factory=list)
    skipped: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    audit: List[Dict[str, Any]] = dataclasses.field(default_factory=list)


def _from_native(name: str, data: Dict[str, Any]) -> Any:
    """Called by the native module: the typed instance of class ``name``."""
    cls: Any = globals()[name]
    return cls.from_dict(data)
