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
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

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
    "VariantIdMapping",
    "IdMapping",
    "PullReport",
    "ApplyReport",
    "RefreshReport",
    "PlanSummary",
    "ReviewReport",
    "ChangeTarget",
    "Resolution",
    "ChangeRow",
    "StaleGuard",
    "PreflightIssue",
    "ApplyResult",
    "Change",
    "AuditEntry",
    "SavedPlan",
    "BulkOperation",
    "BulkQueryResult",
    "BulkMutationLine",
    "BulkMutationResult",
    "Submission",
    "JobRecord",
    "ExecutorReport",
]

_R = TypeVar("_R", bound="Record")
_Conv = Callable[[Any], Any]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_FRACTION = re.compile(r"(\.\d+)(?=[+-]\d\d:\d\d$)")


def _invalid(message: str) -> Exception:
    from ._errors import InvalidInputError

    return InvalidInputError(message, kind="invalid_input", retryable=False)


def _datetime(v: Any) -> Optional[datetime.datetime]:
    if v is None:
        return None
    if isinstance(v, str):
        text = v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v
        # Rust writes up to nanoseconds; a datetime holds microseconds (older Pythons
        # read only 3 or 6 digits).
        text = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], text)
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
    #: ``to_dict`` writes camelCase keys (the core's JSON of Shopify's objects).
    _camel_keys: ClassVar[bool] = False
    #: Fields ``to_dict`` leaves out when they are ``None`` (as the core's JSON does).
    _omit_none: ClassVar[Tuple[str, ...]] = ()

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict in the core's JSON shape (its key names; ``Decimal``,
        ``datetime`` and ``timedelta`` values kept; nested records as dicts)."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in self._omit_none:
                continue
            out[_camel(f.name) if self._camel_keys else f.name] = _plain(value)
        return out

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
class VariantIdMapping(Record):
    """A created variant's id: ``key`` names the variant as the diff paths do
    (``sku:TEE-1``, ``options:Size=S``, or ``<local id>:<index>``), ``id`` is its gid."""

    key: str
    id: str


@dataclasses.dataclass(frozen=True)
class IdMapping(Record):
    """The ids of a created entity: the caller's ``local_id`` and the new Shopify gid,
    with its variants' ids (write them into the variant rows)."""

    shopify_id: str
    local_id: Optional[str] = None
    variants: List[VariantIdMapping] = dataclasses.field(default_factory=list)

    _convert = {"variants": _list(_record(VariantIdMapping))}


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
class ChangeTarget(Record):
    """What a change or an audit entry is about: the entity's ``kind`` (``"product"``
    or ``"collection"``), the caller's ``local_id`` and the Shopify gid."""

    kind: str
    local_id: Optional[str] = None
    shopify_id: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Resolution(Record):
    """How a conflict was resolved: what was taken (``"local"``, ``"remote"`` or
    ``"value"``) and the value that will be written (free-form JSON)."""

    take: str
    value: Any = None


@dataclasses.dataclass(frozen=True)
class ChangeRow(Record):
    """One row of a change: where (``path``, ``field``), how the sides relate
    (``kind``: ``"local"`` or ``"conflict"``), the values (free-form JSON, as the diff
    reads them: prices are strings) and, for a resolved conflict, its resolution."""

    path: str
    field: Optional[str] = None
    kind: str = "local"
    base: Any = None
    local: Any = None
    remote: Any = None
    resolution: Optional[Resolution] = None

    _convert = {"resolution": _optional(_record(Resolution))}
    _omit_none = ("resolution",)


@dataclasses.dataclass(frozen=True)
class StaleGuard(Record):
    """The remote state a change was computed against: Shopify's ``updatedAt`` and the
    fingerprint of its snapshot under the plan's mask."""

    remote_updated_at: Optional[datetime.datetime] = None
    remote_fingerprint: Optional[str] = None

    _convert = {"remote_updated_at": _datetime}


@dataclasses.dataclass(frozen=True)
class PreflightIssue(Record):
    """A problem found before a change is sent (``code`` such as ``"blank_title"``);
    a flagged change cannot be approved."""

    code: str
    path: str = ""
    message: str = ""


@dataclasses.dataclass(frozen=True)
class ApplyResult(Record):
    """How applying a change ended: ``outcome`` (``"applied"``, ``"failed"``,
    ``"stale"``), a message for the last two, the ids for a creation."""

    outcome: str
    message: Optional[str] = None
    ids: Optional[IdMapping] = None

    _convert = {"ids": _optional(_record(IdMapping))}


@dataclasses.dataclass(frozen=True)
class Change(Record):
    """One reviewable write (the core's ``Change``): its target, ``operation``
    (``"create"``, ``"update"``, ``"delete"`` ...), the ``field`` of an update, the
    rows side by side, the stale guard, ``priority``, ``state`` (``"staged"``,
    ``"approved"``, ``"applied"`` ...), ``version``, preflight issues, the last apply
    ``result`` and its times. ``to_dict()`` is the JSON shape of a change (as in plan
    files), with aware datetimes (microseconds: Rust's nanoseconds are truncated)."""

    id: str
    plan_id: str
    target: ChangeTarget
    operation: str
    state: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    field: Optional[str] = None
    rows: List[ChangeRow] = dataclasses.field(default_factory=list)
    guard: StaleGuard = dataclasses.field(default_factory=StaleGuard)
    priority: int = 0
    version: int = 0
    preflight: List[PreflightIssue] = dataclasses.field(default_factory=list)
    result: Optional[ApplyResult] = None

    _convert = {
        "target": _record(ChangeTarget),
        "rows": _list(_record(ChangeRow)),
        "guard": lambda v: StaleGuard() if v is None else StaleGuard.from_dict(v),
        "preflight": _list(_record(PreflightIssue)),
        "result": _optional(_record(ApplyResult)),
        "created_at": _datetime,
        "updated_at": _datetime,
    }

    @property
    def unresolved_conflicts(self) -> int:
        """How many conflict rows nobody resolved yet."""
        return sum(1 for r in self.rows if r.kind == "conflict" and r.resolution is None)


@dataclasses.dataclass(frozen=True)
class AuditEntry(Record):
    """One entry of the audit trail: ``seq`` (from 1), when, who, the ``action``
    (``"planned"``, ``"approved"``, ``"applied"`` ...), the change, plan and target it
    is about, the state before and after (free-form JSON) and the reviewer's comment."""

    seq: int
    at: datetime.datetime
    actor: str
    action: str
    change_id: Optional[str] = None
    plan_id: Optional[str] = None
    target: Optional[ChangeTarget] = None
    before: Any = None
    after: Any = None
    comment: Optional[str] = None

    _convert = {"at": _datetime, "target": _optional(_record(ChangeTarget))}


@dataclasses.dataclass(frozen=True)
class ReviewReport(Record):
    """What an approve or reject did: the change ids moved, those skipped
    (``{"change_id", "reason"}``) and the :class:`AuditEntry` written."""

    changed: List[str] = dataclasses.field(default_factory=list)
    skipped: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    audit: List[AuditEntry] = dataclasses.field(default_factory=list)

    _convert = {"audit": _list(_record(AuditEntry))}


@dataclasses.dataclass(frozen=True)
class SavedPlan(Record):
    """What :meth:`ChangeStore.save_plan` did: the plan, how many changes were saved,
    and the older unapplied changes of the same targets now ``superseded``."""

    plan_id: str
    changes: int = 0
    superseded: List[str] = dataclasses.field(default_factory=list)


def _count(v: Any) -> int:
    # Shopify writes its UnsignedInt64 counts as strings; the core as numbers.
    return int(v) if v is not None else 0


@dataclasses.dataclass(frozen=True)
class BulkOperation(Record):
    """A bulk operation as Shopify reports it: ``status`` (``"COMPLETED"``,
    ``"FAILED"`` ...), ``type`` (``"QUERY"`` or ``"MUTATION"``), counts, the result
    ``url`` and ``partial_data_url``. ``to_dict()`` writes Shopify's camelCase keys
    (``objectCount``, ``partialDataUrl`` ...), the JSON the core reads back."""

    id: str
    status: str
    type: str = "UNKNOWN"
    error_code: Optional[str] = None
    created_at: Optional[datetime.datetime] = None
    completed_at: Optional[datetime.datetime] = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: Optional[int] = None
    url: Optional[str] = None
    partial_data_url: Optional[str] = None
    query: Optional[str] = None

    _camel_keys = True
    _convert = {
        "created_at": _datetime,
        "completed_at": _datetime,
        "object_count": _count,
        "root_object_count": _count,
        "file_size": _optional(_count),
    }


@dataclasses.dataclass(frozen=True)
class BulkQueryResult(Record):
    """A finished bulk query (:meth:`ShopifyClient.bulk_query`): the operation, and
    ``partial`` (it failed, but what it wrote can be read). Read the records with
    :meth:`ShopifyClient.bulk_download`."""

    operation: BulkOperation
    partial: bool = False

    _convert = {"operation": _record(BulkOperation)}


@dataclasses.dataclass(frozen=True)
class BulkMutationLine(Record):
    """The result of one input of a bulk mutation: ``line_number`` (the input's
    index), ``ok``, the payload ``data`` (free-form JSON), GraphQL ``errors`` and the
    mutation's ``user_errors`` (dicts)."""

    line_number: int
    ok: bool = False
    data: Any = None
    errors: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    user_errors: List[Dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class BulkMutationResult(Record):
    """A finished bulk mutation (:meth:`ShopifyClient.bulk_mutation`): the operation,
    ``partial``, one :class:`BulkMutationLine` per result line, and the indexes of the
    inputs with no result line (``missing``)."""

    operation: BulkOperation
    partial: bool = False
    lines: List[BulkMutationLine] = dataclasses.field(default_factory=list)
    missing: List[int] = dataclasses.field(default_factory=list)

    _convert = {"operation": _record(BulkOperation), "lines": _list(_record(BulkMutationLine))}

    def line(self, line_number: int) -> Optional[BulkMutationLine]:
        """The result of input ``line_number``, or ``None``."""
        return next((x for x in self.lines if x.line_number == line_number), None)


@dataclasses.dataclass(frozen=True)
class Submission(Record):
    """What :meth:`Executor.submit` did: the job's id and whether the submission was a
    ``duplicate`` (a job with the same key was still waiting: ``job_id`` is that job's,
    and nothing new was queued)."""

    job_id: int
    duplicate: bool = False


_ERROR_FIELDS = ("kind", "message", "retryable", "request_id", "graphql_errors", "user_errors", "json_path")


def _error(v: Any) -> Any:
    """An exception from a ``ShopifySyncError`` or the dict of its fields."""
    from ._errors import ShopifySyncError, _from_native

    if v is None or isinstance(v, ShopifySyncError):
        return v
    if isinstance(v, Mapping):
        fields = dict(v)
        unknown = set(fields) - set(_ERROR_FIELDS)
        if unknown:
            raise _invalid(f"JobRecord.error: unknown keys {sorted(unknown)}")
        return _from_native(fields.pop("message", ""), **fields)
    raise _invalid(f"JobRecord.error: expected a ShopifySyncError or a dict, not {type(v).__name__}")


def _error_dict(e: Any) -> Optional[Dict[str, Any]]:
    if e is None:
        return None
    return {
        "kind": e.kind,
        "message": e.message,
        "retryable": e.retryable,
        "request_id": e.request_id,
        "graphql_errors": list(e.graphql_errors),
        "user_errors": list(e.user_errors),
        "json_path": e.json_path,
    }


@dataclasses.dataclass(frozen=True)
class JobRecord(Record):
    """A job of an :class:`Executor` that did not succeed: its id and key, the attempts
    started (0: never started), its ``effect`` (``"done"``, ``"not_done"``: safe to run
    again, ``"unknown"``: read the remote state first) and its last ``error`` (the
    :class:`ShopifySyncError` subclass of its kind, with ``user_errors``, ``request_id``
    ...; ``None`` for a job cancelled before it ran). ``to_dict()`` gives the error as
    the dict of its fields; records compare equal when their dicts do."""

    job_id: int
    key: Optional[str] = None
    attempts: int = 0
    effect: str = "not_done"
    error: Optional[Any] = dataclasses.field(default=None, compare=False)

    _convert = {"error": _error}

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict, the error as the dict of its fields (``kind``,
        ``message``, ``retryable``, ``request_id``, ``graphql_errors``, ``user_errors``,
        ``json_path``) or ``None``."""
        d = super().to_dict()
        d["error"] = _error_dict(self.error)
        return d

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobRecord):
            return NotImplemented
        return self.to_dict() == other.to_dict()


def _responses(v: Any) -> Dict[int, Dict[str, Any]]:
    if v is None:
        return {}
    return {int(k): dict(r) for k, r in v.items()}


@dataclasses.dataclass(frozen=True)
class ExecutorReport(Record):
    """How an :class:`Executor` ended: ``summary`` (a dict in the JSON shape of the
    ``finished`` event: ``total``, ``succeeded``, ``failed``, ``cancelled`` (by effect),
    ``deduplicated``, ``retries``, ``throttled_ms``, ``elapsed_ms``, ``cancel``), the
    jobs that ``failed`` and those ``cancelled`` (:class:`JobRecord`), and the
    ``responses`` of the jobs that succeeded, by job id (each ``{"data", "errors",
    "request_id", "cost"}`` as :meth:`ShopifyClient.graphql` returns it)."""

    operation_id: str = ""
    summary: Dict[str, Any] = dataclasses.field(default_factory=dict)
    failed: List[JobRecord] = dataclasses.field(default_factory=list)
    cancelled: List[JobRecord] = dataclasses.field(default_factory=list)
    responses: Dict[int, Dict[str, Any]] = dataclasses.field(default_factory=dict)

    _convert = {
        "failed": _list(_record(JobRecord)),
        "cancelled": _list(_record(JobRecord)),
        "responses": _responses,
    }

    @property
    def all_succeeded(self) -> bool:
        """Whether every job submitted succeeded."""
        return bool(self.summary.get("succeeded") == self.summary.get("total"))


def _from_native(name: str, data: Dict[str, Any]) -> Any:
    """Called by the native module: the typed instance of class ``name``."""
    cls: Any = globals()[name]
    return cls.from_dict(data)
