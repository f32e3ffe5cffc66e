"""Type stubs of the native module ``shopify_sync._native`` (Rust, PyO3).

Checked against the compiled module in CI (``python -m mypy.stubtest``), so they cannot
drift from the code.
"""

import datetime
import os
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from typing_extensions import TypeAlias, disjoint_base, final

from ._errors import ShopifySyncError
from ._types import (
    ApplyReport,
    AuditEntry,
    BulkMutationResult,
    BulkQueryResult,
    Change,
    Collection,
    ExecutorReport,
    PlanSummary,
    Product,
    PullReport,
    RefreshReport,
    ReviewReport,
    SavedPlan,
    Submission,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "ApplyOperation",
    "ChangeStore",
    "Executor",
    "ItemIterator",
    "MemoryStore",
    "Plan",
    "ShopifyClient",
    "Simulator",
    "SqliteStore",
    "SyncEngine",
    "WebhookQueue",
    "__version__",
    "_event_roundtrip",
    "_make_error",
    "_panic",
    "_panicking_items",
    "canonical_document",
    "compute_status",
    "compute_statuses",
    "diff",
    "fingerprint",
    "fingerprint_collection",
    "fingerprint_product",
    "normalize_snapshot",
    "receive_webhook",
    "verify_webhook",
    "verify_webhook_signature",
]

__version__: str
"""The version of the native module."""

DEFAULT_API_VERSION: str
"""The Admin API version clients use unless told otherwise (``YYYY-MM``)."""

_JsonDict: TypeAlias = Dict[str, Any]
_T = TypeVar("_T")
_Path: TypeAlias = Union[str, "os.PathLike[str]"]
_Filter: TypeAlias = Union[Mapping[str, Any], "Plan", None]
_Id: TypeAlias = Union[str, int]
_Scope: TypeAlias = Union[str, Iterable[_Id], None]
_Headers: TypeAlias = Union[Mapping[str, Union[str, bytes]], Iterable[Tuple[str, Union[str, bytes]]]]

def _make_error(kind: str, message: str) -> ShopifySyncError:
    """The exception the core would raise for a new error of ``kind`` (not raised)."""

def _event_roundtrip(event: Mapping[str, Any]) -> _JsonDict:
    """An event dict read by the core's serde and handed back as events are (tests)."""

def _panic(message: str) -> None:
    """Panic in Rust on purpose (tests): raises ``ShopifySyncError`` with ``kind=None``."""

def _panicking_items(items: int, message: str) -> ItemIterator[int]:
    """An iterator whose reading yields ``0 .. items - 1``, then panics in Rust (tests:
    the next iteration raises ``ShopifySyncError`` with ``kind=None``)."""

def compute_status(input: Mapping[str, Any]) -> _JsonDict:
    """The sync status of one product.

    ``input`` is a ``StatusInput`` (every key optional): ``shopify_id``,
    ``local_fingerprint``, ``base_fingerprint``, ``remote_fingerprint``,
    ``remote_deleted``, ``changes`` (counts by state), ``last_error``,
    ``legacy_status``. Returns ``{"state", "rule", "reason", "fields"}``.
    Raises ``InvalidInputError`` on an unknown key or an unusable value.
    """

def compute_statuses(inputs: Iterable[Mapping[str, Any]]) -> List[_JsonDict]:
    """:func:`compute_status` of every input, in order."""

def fingerprint(snapshot: Mapping[str, Any], mask: Optional[Sequence[str]] = None) -> str:
    """The ``v1:`` fingerprint of a snapshot tagged with its ``kind`` (``"product"`` or
    ``"collection"``) under ``mask``, the managed field names (``None``: every field)."""

def fingerprint_product(snapshot: Mapping[str, Any], mask: Optional[Sequence[str]] = None) -> str:
    """The ``v1:`` fingerprint of a product snapshot (without ``kind``) under ``mask``."""

def fingerprint_collection(snapshot: Mapping[str, Any], mask: Optional[Sequence[str]] = None) -> str:
    """The ``v1:`` fingerprint of a collection snapshot (without ``kind``) under ``mask``."""

def canonical_document(snapshot: Mapping[str, Any], mask: Optional[Sequence[str]] = None) -> str:
    """The canonical document (compact JSON) that the fingerprint of a snapshot tagged
    with its ``kind`` hashes."""

def normalize_snapshot(snapshot: Mapping[str, Any]) -> _JsonDict:
    """A snapshot tagged with its ``kind``, with its fields normalised as the diff and the
    fingerprint see them (tags, handles, prices, empty strings)."""

def verify_webhook(
    secrets: Optional[Sequence[str]], headers: _Headers, body: bytes
) -> _JsonDict:
    """Verify a Shopify webhook request's signature and read its headers.

    ``secrets``: the app's secrets, current first (any may match during a rotation);
    ``None`` reads ``SHOPIFY_WEBHOOK_SECRETS``. ``headers``: a mapping (Flask's
    ``request.headers``) or ``(name, value)`` pairs. ``body``: the raw bytes as received.

    Returns ``{"topic", "shop_domain", "webhook_id", "event_id", "api_version",
    "triggered_at" (aware datetime or None), "secret_index", "is_current_secret",
    "sync_topic" (the GraphQL enum of a sync topic, e.g. ``PRODUCTS_UPDATE``, or
    None)}``; the payload is not decoded (see :func:`receive_webhook`). A missing
    or wrong signature raises ``AuthError`` (answer 401); another unusable request
    ``InvalidInputError`` (400).
    """

def verify_webhook_signature(secrets: Optional[Sequence[str]], signature: str, body: bytes) -> int:
    """Verify one ``X-Shopify-Hmac-Sha256`` value against the raw ``body``; returns the
    index of the secret that matched, or raises ``AuthError``."""

def receive_webhook(
    secrets: Optional[Sequence[str]], headers: _Headers, body: bytes
) -> _JsonDict:
    """:func:`verify_webhook`, then decode the payload of a sync topic (products and
    collections create/update/delete, bulk operations finish): adds ``product_id`` and
    ``collection_id`` (GIDs or None). A payload of the wrong shape raises
    ``DecodeError`` (with ``json_path``)."""

@final
class ShopifyClient:
    """A GraphQL Admin API client for one shop. Thread-safe; clients for the same shop
    share one cost bucket. Errors raise the ``ShopifySyncError`` subclass of their kind."""

    def __new__(
        cls,
        shop: Optional[str] = None,
        *,
        access_token: str,
        endpoint: Optional[str] = None,
        api_version: Optional[str] = None,
        max_attempts: Optional[int] = None,
        request_timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
    ) -> ShopifyClient:
        """A client for ``shop`` (``name`` or ``name.myshopify.com``) or for ``endpoint``
        (a base URL such as the simulator's; plain ``http`` only on loopback).

        ``max_attempts`` (default 5) bounds the attempts of a failed request, the first
        included; ``request_timeout`` (default 60) and ``connect_timeout`` (default 10)
        are in seconds."""

    @staticmethod
    def from_env() -> ShopifyClient:
        """A client from ``SHOPIFY_SHOP``, ``SHOPIFY_ACCESS_TOKEN``, ``SHOPIFY_API_VERSION``
        and ``SHOPIFY_ENDPOINT``; a missing one raises ``NotConfiguredError``."""

    @property
    def shop(self) -> Optional[str]:
        """The shop domain, when known."""

    @property
    def api_version(self) -> str:
        """The API version (``YYYY-MM``)."""

    @property
    def graphql_url(self) -> str:
        """The URL the client posts documents to."""

    def graphql(self, document: str, variables: Optional[Mapping[str, Any]] = None) -> _JsonDict:
        """Send a document and wait for the answer, with the GIL released (Ctrl-C cancels
        it). Returns ``{"data", "errors", "request_id", "cost"}``."""

    def graphql_async(
        self, document: str, variables: Optional[Mapping[str, Any]] = None
    ) -> Awaitable[_JsonDict]:
        """:meth:`graphql` as an ``asyncio.Future`` of the running event loop: call it from
        a coroutine (``await client.graphql_async(...)``); cancelling the future cancels
        the request in Rust."""

    def products(
        self,
        query: Optional[str] = None,
        *,
        updated_after: Optional[datetime.datetime] = None,
        updated_before: Optional[datetime.datetime] = None,
        sort: Optional[str] = None,
        reverse: bool = False,
        page_size: Optional[int] = None,
    ) -> ItemIterator[Product]:
        """Every product matching the filters, whole (every variant), as :class:`Product`:
        an iterator and an async iterator, read page by page. ``query``: Shopify's search
        syntax; ``sort``: ``"id"`` (default), ``"title"``, ``"updated_at"``,
        ``"created_at"``, ``"vendor"`` or ``"product_type"``."""

    def products_count(self, query: Optional[str] = None) -> int:
        """How many products match ``query`` (``None``: all)."""

    def product(self, id: _Id) -> Optional[Product]:
        """One product by gid or numeric id, whole, or ``None``."""

    def product_async(self, id: _Id) -> Awaitable[Optional[Product]]:
        """:meth:`product` as an awaitable."""

    def product_set(
        self, input: Mapping[str, Any], identifier: Optional[Mapping[str, Any]] = None
    ) -> Product:
        """``productSet``: create or replace a product from a ``ProductSetInput`` dict
        (Shopify's camelCase JSON). With an ``identifier`` (``{"id": ...}``,
        ``{"handle": ...}`` or ``{"customId": ...}``) it upserts and is idempotent. Every
        list given replaces the product's (omitted variants are deleted). Refused input
        raises ``UserErrorsError``."""

    def product_delete(self, id: _Id) -> str:
        """``productDelete`` by gid or numeric id; returns the deleted product's gid."""

    def product_by_handle(self, handle: str) -> Optional[Product]:
        """One product by handle, or ``None``."""

    def collections(self, query: Optional[str] = None) -> ItemIterator[Collection]:
        """Every collection (custom and smart) matching ``query``, as :class:`Collection`:
        an iterator and an async iterator."""

    def collection(self, id: _Id) -> Optional[Collection]:
        """One collection by gid or numeric id, or ``None``."""

    def collection_product_ids(self, id: _Id) -> ItemIterator[str]:
        """The product gids of a collection: an iterator and an async iterator."""

    def collection_add_products(self, id: _Id, product_ids: Iterable[_Id]) -> None:
        """Add products to a custom collection (waits for Shopify's job; adding a member
        again is harmless)."""

    def collection_remove_products(self, id: _Id, product_ids: Iterable[_Id]) -> None:
        """Remove products from a custom collection (waits for Shopify's job)."""
    def bulk_query(
        self,
        query: str,
        *,
        group_objects: bool = False,
        poll_interval: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> BulkQueryResult:
        """Run a bulk query to the end; returns a :class:`BulkQueryResult` (the
        operation, and ``partial``). Read its records with :meth:`bulk_download`."""

    def bulk_query_async(
        self,
        query: str,
        *,
        group_objects: bool = False,
        poll_interval: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> Awaitable[BulkQueryResult]:
        """:meth:`bulk_query` as an awaitable."""

    def bulk_download(
        self, result: Union[BulkQueryResult, Mapping[str, Any], str], *, resumes: int = 5
    ) -> ItemIterator[_JsonDict]:
        """The records of a finished bulk query (what :meth:`bulk_query` returned, its
        ``to_dict()``, or a result URL), one dict per JSONL line: an iterator and an
        async iterator."""

    def bulk_mutation(
        self,
        mutation: str,
        variables: Iterable[Mapping[str, Any]],
        *,
        poll_interval: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> BulkMutationResult:
        """Run ``mutation`` once per variables dict as one bulk mutation; returns a
        :class:`BulkMutationResult` (``operation``, ``partial``, ``lines``: a
        :class:`BulkMutationLine` per result line, ``missing``)."""

    def bulk_mutation_async(
        self,
        mutation: str,
        variables: Iterable[Mapping[str, Any]],
        *,
        poll_interval: Optional[float] = None,
        timeout: Optional[float] = None,
    ) -> Awaitable[BulkMutationResult]:
        """:meth:`bulk_mutation` as an awaitable."""

@final
class ItemIterator(Generic[_T]):
    """Items streamed from Shopify page by page: an iterator and an async iterator. Read
    ahead a little; dropping it or :meth:`close` stops the reading. An error raises from
    the iteration that meets it, and so does a panic in the reading (as
    ``ShopifySyncError``)."""

    def __iter__(self) -> ItemIterator[_T]: ...
    def __next__(self) -> _T: ...
    def __aiter__(self) -> ItemIterator[_T]: ...
    def __anext__(self) -> Awaitable[_T]: ...
    def close(self) -> None:
        """Stop reading."""

@final
class Simulator:
    """An offline Shopify Admin GraphQL simulator serving on loopback in this process.
    A context manager; it serves only in the process that started it."""

    @staticmethod
    def start(
        products: Optional[int] = None,
        collections: Optional[int] = None,
        seed: Optional[int] = None,
        *,
        catalog: Optional[Mapping[str, Any]] = None,
        shop: Optional[str] = None,
        access_token: Optional[str] = None,
        bucket_size: Optional[float] = None,
        restore_rate: Optional[float] = None,
        max_query_cost: Optional[int] = None,
        job_delay: Optional[float] = None,
        index_lag: Optional[float] = None,
        bulk_rows_per_second: Optional[float] = None,
    ) -> Simulator:
        """Start on a free port; returns once it accepts requests. The catalog is
        generated from ``seed`` (default 1,000 products, 57 collections) or given as
        ``catalog`` (the shape of :meth:`dump`). Durations are in seconds."""

    @property
    def endpoint(self) -> str:
        """The base URL (``SHOPIFY_ENDPOINT``)."""

    @property
    def shop(self) -> str:
        """The shop domain (``SHOPIFY_SHOP``)."""

    @property
    def access_token(self) -> str:
        """The one access token accepted (``SHOPIFY_ACCESS_TOKEN``)."""

    @property
    def running(self) -> bool:
        """Whether it is still serving."""

    def env(self) -> Dict[str, str]:
        """``SHOPIFY_ENDPOINT``, ``SHOPIFY_SHOP`` and ``SHOPIFY_ACCESS_TOKEN`` for it."""

    def stats(self) -> _JsonDict:
        """Request statistics (the JSON of ``GET /_sim/stats``, camelCase keys)."""

    def dump(self) -> _JsonDict:
        """The whole catalog now (the JSON of ``GET /_sim/dump``)."""

    def edit_product(self, id: int, fields: Mapping[str, Any]) -> _JsonDict:
        """Edit a product out of band, as a merchant would in the admin."""

    def inject(self, faults: Sequence[Mapping[str, Any]]) -> None:
        """Queue faults, one per next GraphQL request, in order. Each is a dict tagged by
        ``kind``: ``{"kind": "status", "status": 503, "body": "", "retry_after": "1.5"}``,
        ``{"kind": "after_execute", "status": 502}`` (the write happens, the response is
        lost), ``{"kind": "truncate"}``, ``{"kind": "reset"}``, ``{"kind": "not_json"}``,
        ``{"kind": "internal_error"}``, ``{"kind": "stall", "ms": 500}``."""

    def set_fault_rate(self, rate: float) -> None:
        """Fail this share (0.0 to 1.0) of GraphQL requests with a random fault from now
        on; 0 turns random faults off (queued faults are unaffected)."""

    def fault_log(self) -> List[_JsonDict]:
        """Every fault used so far, in order: ``{"fault", "executed"}`` (``executed``: the
        request ran, so a mutation's write happened)."""

    def stop(self) -> None:
        """Stop serving and wait for in-flight requests. Idempotent."""

    def __enter__(self) -> Simulator: ...
    def __exit__(self, *_args: object) -> bool: ...

def diff(
    base: Optional[Mapping[str, Any]],
    local: Optional[Mapping[str, Any]],
    remote: Optional[Mapping[str, Any]],
    mask: Optional[Sequence[str]] = None,
    smart_collections: Optional[Iterable[str]] = None,
) -> List[_JsonDict]:
    """The three-way diff of one entity: snapshots tagged with their ``kind`` (``None``
    where it does not exist on that side). Returns the rows (``path``, ``field``,
    ``kind``, ``base``, ``local``, ``remote``, plus ``message`` on error rows), as in
    ``tests/vectors/diff.json``."""

@final
class Plan:
    """A plan: the changes that bring Shopify to the local records, with ``incoming``
    changes from Shopify, ``problems`` and ``unmanaged`` targets. Immutable: the store
    holds the changes' states."""

    @property
    def id(self) -> str:
        """The plan's id."""

    @property
    def created_at(self) -> datetime.datetime:
        """When it was computed (aware, UTC)."""

    @property
    def mask(self) -> List[str]:
        """The managed field names it was computed under."""

    @property
    def unchanged(self) -> int:
        """How many targets agreed on every side."""

    def summary(self) -> PlanSummary:
        """Counts for a review screen."""

    def changes(self) -> List[Change]:
        """The changes (:class:`Change`), in plan order."""

    def change(self, change_id: str) -> Optional[Change]:
        """One :class:`Change` by id, or ``None``."""

    def review_rows(self) -> List[_JsonDict]:
        """Every row of every change side by side: ``change_id``, ``target``,
        ``operation``, ``state``, ``path``, ``field``, ``kind``, ``base``, ``local``,
        ``remote``, ``resolution``."""

    def incoming(self) -> List[_JsonDict]:
        """Shopify's changes with nothing to write (``{"target", "rows"}``)."""

    def problems(self) -> List[_JsonDict]:
        """Targets that cannot be planned (``{"target", "rows"}``, error rows)."""

    def unmanaged(self) -> List[_JsonDict]:
        """Targets whose differences are all outside the mask."""

    def to_dict(self) -> _JsonDict:
        """The whole plan in its JSON shape (a plan file's ``plan``)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """A plan from :meth:`to_dict`'s output (checked like a plan file)."""

    def to_file_json(self) -> str:
        """The plan file's text (``format``, ``version``, ``digest``, ``plan``)."""

    @classmethod
    def from_file_json(cls, text: str) -> Plan:
        """Read a plan file's text; ``InvalidInputError`` says why one is refused (not a
        plan file, newer version, damaged or edited)."""

    def write_file(self, path: _Path) -> None:
        """Write the plan file at ``path`` atomically."""

    @classmethod
    def read_file(cls, path: _Path) -> Plan:
        """Read the plan file at ``path``."""

    def __len__(self) -> int: ...

@disjoint_base
class ChangeStore:
    """Where plans, changes, the audit trail, snapshots and checkpoints live: use
    :class:`SqliteStore` or :class:`MemoryStore`. Thread-safe; every call is blocking
    with the GIL released. ``filter`` arguments are dicts of ``ChangeFilter`` keys
    (``plan_id``, ``change_ids``, ``operations``, ``targets``, ``fields``, ``states``;
    unknown keys refused), a :class:`Plan`, or ``None`` for all."""

    def approve(self, filter: _Filter = None, *, actor: str, comment: Optional[str] = None) -> ReviewReport:
        """Approve the selected ``staged`` changes; those with an unresolved conflict or a
        preflight issue are skipped and reported."""

    def reject(self, filter: _Filter = None, *, actor: str, comment: Optional[str] = None) -> ReviewReport:
        """Reject the selected ``staged`` changes; the rejections are remembered."""

    def resolve(
        self,
        change_id: str,
        take: str,
        *,
        path: Optional[str] = None,
        value: Any = None,
        actor: str,
        comment: Optional[str] = None,
    ) -> Change:
        """Resolve a staged change's conflicts: ``take`` is ``"local"``, ``"remote"`` or
        ``"value"`` (then ``value`` is written); ``path`` limits it to one row. Returns the
        :class:`Change`."""

    def changes(self, filter: _Filter = None) -> List[Change]:
        """The changes (:class:`Change`) a filter selects, in plan order."""

    def change(self, change_id: str) -> Optional[Change]:
        """One :class:`Change`, or ``None``."""

    def in_flight(self) -> List[Change]:
        """The changes left ``applying`` (a crash or a cancelled apply)."""

    def plan(self, plan_id: str) -> Optional[Plan]:
        """A saved plan with its changes in their current states, or ``None``."""

    def save_plan(self, plan: Plan, *, actor: str, comment: Optional[str] = None) -> SavedPlan:
        """Save a plan (e.g. read from a plan file); returns a :class:`SavedPlan`
        (``plan_id``, ``changes``, ``superseded``)."""

    def audit(self, query: Optional[Mapping[str, Any]] = None) -> List[AuditEntry]:
        """The :class:`AuditEntry` objects a query selects (``change_id``, ``plan_id``, ``target``,
        ``since``, ``until``, ``after_seq``, ``limit``), in order."""

    def export_audit_jsonl(self, query: Optional[Mapping[str, Any]] = None) -> str:
        """The selected audit entries as JSON lines."""

    def snapshots(self, side: str) -> Dict[str, _JsonDict]:
        """Every snapshot of ``"base"`` or ``"remote"``, by key (the gid): ``{"snapshot",
        "fingerprint", "updated_at", "local_id"}``."""

    def snapshot(self, side: str, key: str) -> Optional[_JsonDict]:
        """One stored snapshot, or ``None``."""

    def checkpoint(self, name: str) -> Optional[str]:
        """A named checkpoint, or ``None``."""

    def set_checkpoint(self, name: str, value: str) -> None:
        """Set a named checkpoint."""

@final
class SqliteStore(ChangeStore):
    """The change store in one SQLite file (WAL; safe for several processes)."""

    def __new__(
        cls,
        path: Optional[_Path] = None,
        *,
        synchronous: Optional[str] = None,
        busy_timeout: Optional[float] = None,
    ) -> SqliteStore:
        """Open or create the store at ``path`` (``None``: ``SHOPIFY_SYNC_STORE``);
        ``synchronous`` ``"full"`` (default) or ``"normal"``; ``busy_timeout`` in
        seconds."""

    @property
    def path(self) -> str:
        """The file's path."""

@final
class MemoryStore(ChangeStore):
    """The change store in memory (tests, short-lived tools)."""

    def __new__(cls) -> MemoryStore:
        """An empty store."""

@final
class ApplyOperation:
    """A running apply (:meth:`SyncEngine.start_apply`). Its progress events (dicts in
    the JSON shape of ``tests/vectors/events.json``) are an iterator, for a thread or
    green thread of the application, and an async iterator; :meth:`wait` gives the
    report."""

    @property
    def operation_id(self) -> str:
        """The operation id every event carries (the Socket.IO room to emit to)."""

    @property
    def done(self) -> bool:
        """Whether the apply has ended (events may still be waiting)."""

    def next_event(self, timeout: Optional[float] = None) -> Optional[_JsonDict]:
        """The next event, waiting at most ``timeout`` seconds; ``None`` on timeout or
        once every event was handed over (see :attr:`done`)."""

    def drain(self) -> List[_JsonDict]:
        """The events waiting now, without blocking (eventlet/gevent: poll it between
        ``socketio.sleep()`` calls)."""

    def __iter__(self) -> Iterator[_JsonDict]: ...
    def __next__(self) -> _JsonDict: ...
    def __aiter__(self) -> AsyncIterator[_JsonDict]: ...
    def __anext__(self) -> Awaitable[_JsonDict]: ...
    def wait(self, timeout: Optional[float] = None) -> ApplyReport:
        """Wait for the end (``TimeoutError`` after ``timeout`` seconds) and return the
        report, or raise the apply's error."""

    def wait_async(self) -> Awaitable[ApplyReport]:
        """:meth:`wait` as an awaitable."""

    def cancel(self) -> None:
        """Stop the apply and return at once: queued writes are dropped, running ones
        finish and are recorded, changes not started stay ``approved``. :meth:`wait`
        returns once that is done and raises ``ShopifyCancelledError`` (unless the
        apply had ended already)."""

@final
class SyncEngine:
    """Pull, plan and apply against one shop and one change store.

    Local records are dicts in the snapshot's snake_case JSON shape plus ``local_id``
    and ``shopify_id`` (a gid or numeric id; optional ``updated_at``), or objects with
    ``to_dict()``; prices may be ``Decimal``, times aware ``datetime``."""

    def __new__(
        cls,
        client: ShopifyClient,
        store: ChangeStore,
        *,
        pull_mode: Optional[str] = None,
        bulk_pull_threshold: Optional[int] = None,
        overlap: Optional[float] = None,
        write_mode: Optional[str] = None,
        bulk_write_threshold: Optional[int] = None,
        guard_batch: Optional[int] = None,
        publications: Optional[Sequence[str]] = None,
        actor: Optional[str] = None,
        max_workers: Optional[int] = None,
        min_workers: Optional[int] = None,
    ) -> SyncEngine:
        """An engine over ``client`` and ``store`` (options: see the class docs of the
        core's ``SyncConfig``; durations in seconds)."""

    @property
    def client(self) -> ShopifyClient:
        """The client."""

    @property
    def store(self) -> ChangeStore:
        """The change store."""

    def pull(
        self,
        mode: Optional[str] = None,
        *,
        on_progress: Optional[Callable[[_JsonDict], Any]] = None,
    ) -> PullReport:
        """A full pull into the remote snapshots (``mode``: ``"auto"``, ``"paginated"``,
        ``"bulk"``). Ctrl-C cancels it (nothing deleted, no checkpoint). ``on_progress``
        is called in this thread with a dict after each stage and every 100 products:
        ``{"stage", "incremental", "products", "total_products", "collections",
        "memberships", "deleted", "elapsed_ms"}`` (``stage``: ``"collections"``,
        ``"membership"``, ``"products"``, ``"reconciled"``, ``"done"``); an exception it
        raises cancels the pull."""

    def pull_async(
        self,
        mode: Optional[str] = None,
        *,
        on_progress: Optional[Callable[[_JsonDict], Any]] = None,
    ) -> Awaitable[PullReport]:
        """:meth:`pull` as an awaitable (``on_progress`` runs on the event loop);
        cancelling it cancels the pull."""

    def pull_incremental(
        self, *, on_progress: Optional[Callable[[_JsonDict], Any]] = None
    ) -> PullReport:
        """The products updated since the last cursor (a full pull without one);
        ``on_progress`` as for :meth:`pull` (``total_products`` is ``None``)."""

    def pull_incremental_async(
        self, *, on_progress: Optional[Callable[[_JsonDict], Any]] = None
    ) -> Awaitable[PullReport]:
        """:meth:`pull_incremental` as an awaitable."""

    def baseline(
        self,
        products: Iterable[Mapping[str, Any]],
        mask: Optional[Sequence[str]] = None,
        *,
        collections: Optional[Iterable[Mapping[str, Any]]] = None,
    ) -> int:
        """Adopt the engine on a catalog in sync: records whose remote snapshot equals
        them get it as their base. Returns how many."""

    def plan(
        self,
        products: Iterable[Mapping[str, Any]],
        mask: Optional[Sequence[str]] = None,
        *,
        collections: Optional[Iterable[Mapping[str, Any]]] = None,
        scope: _Scope = None,
        collection_scope: _Scope = None,
    ) -> Plan:
        """Plan the changes that bring Shopify to the local records for the fields in
        ``mask`` and save them ``staged``. ``scope``: ``"listed"`` (default, no deletes),
        ``"all"`` or the ids covered."""

    def status_inputs(
        self, products: Iterable[Mapping[str, Any]], mask: Optional[Sequence[str]] = None
    ) -> List[_JsonDict]:
        """The ``StatusInput`` of each local product, from what the store knows."""

    def statuses(
        self, products: Iterable[Mapping[str, Any]], mask: Optional[Sequence[str]] = None
    ) -> List[_JsonDict]:
        """The status column: the ``SyncStatus`` of each local product, in order."""

    def apply(
        self,
        filter: _Filter = None,
        *,
        on_event: Optional[Callable[[_JsonDict], Any]] = None,
        operation_id: Optional[str] = None,
    ) -> ApplyReport:
        """Apply the approved changes ``filter`` selects and wait. ``on_event`` gets each
        event in the calling thread (an exception it raises stops the apply). Ctrl-C
        cancels the apply (returning once its running writes are recorded)."""

    def apply_async(
        self,
        filter: _Filter = None,
        *,
        on_event: Optional[Callable[[_JsonDict], Any]] = None,
        operation_id: Optional[str] = None,
    ) -> Awaitable[ApplyReport]:
        """:meth:`apply` as an awaitable; ``on_event`` runs on the event loop. Cancelling
        it cancels the apply (its running writes finish and are recorded in the
        background)."""

    def start_apply(self, filter: _Filter = None, *, operation_id: Optional[str] = None) -> ApplyOperation:
        """Start an apply in the background and return its :class:`ApplyOperation`."""

    def reconcile(self) -> ApplyReport:
        """Settle the changes left ``applying`` by a crash or a cancelled apply."""

    def refresh(self, queue: WebhookQueue) -> RefreshReport:
        """Re-read what the queue's webhooks marked dirty into the remote snapshots."""

    def refresh_async(self, queue: WebhookQueue) -> Awaitable[RefreshReport]:
        """:meth:`refresh` as an awaitable."""

@final
class WebhookQueue:
    """Verified webhook deliveries waiting for :meth:`SyncEngine.refresh`: deduplicated,
    ordered per entity. Thread-safe."""

    def __new__(cls, secrets: Optional[Sequence[str]] = None, *, shop: Optional[str] = None) -> WebhookQueue:
        """A queue verifying with ``secrets`` (``None``: ``SHOPIFY_WEBHOOK_SECRETS``);
        ``shop`` refuses other shops' deliveries."""

    def receive(self, headers: _Headers, body: bytes) -> _JsonDict:
        """Verify, deduplicate and mark one delivery; returns ``{"outcome", "topic",
        "product_id", "collection_id"}`` (answer 200). ``AuthError``: answer 401."""

    def mark_product(self, id: _Id) -> None:
        """Mark a product dirty by hand."""

    def mark_collection(self, id: _Id) -> None:
        """Mark a collection dirty by hand."""

    @property
    def pending(self) -> int:
        """How many entities are dirty."""

    def __len__(self) -> int: ...

@final
class Executor:
    """The application's own GraphQL documents run as jobs by the core's executor: the
    engine's priority queue, deduplication by key, worker pool, retries and the shop's
    shared cost budget, with pause / resume / cancel and the same progress events as an
    apply (dicts in the JSON shape of ``tests/vectors/events.json``): an iterator, an
    async iterator, :meth:`next_event`, :meth:`drain`, or ``on_event``. Events are kept
    until taken: consume them one way, or they accumulate (a few per job). An executor
    works only in the process that made it: after ``fork()``, make a new one."""

    def __new__(
        cls,
        client: ShopifyClient,
        *,
        config: Optional[Mapping[str, Union[int, str, None]]] = None,
        operation_id: Optional[str] = None,
        on_event: Optional[Callable[[_JsonDict], Any]] = None,
    ) -> Executor:
        """Start an executor over ``client``'s shop. ``config``: the executor's options,
        named as the ``SHOPIFY_SYNC_EXECUTOR_*`` variables without the prefix, in lower
        case (``min_workers``, ``max_workers``, ``queue_capacity``,
        ``memory_watermark_mb``, ``max_attempts``, ``initial_backoff_ms`` ...; unknown
        names refused). ``on_event`` is called with each event in the thread that calls
        :meth:`submit` or :meth:`finish` (on the event loop for the ``*_async`` ones),
        never on a Rust thread."""

    @property
    def operation_id(self) -> str:
        """The operation id every event carries (the Socket.IO room to emit to)."""

    @property
    def done(self) -> bool:
        """Whether the operation has ended (events may still be waiting)."""

    def submit(
        self,
        document: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        priority: int = 0,
        key: Optional[str] = None,
        max_attempts: Optional[int] = None,
    ) -> Submission:
        """Queue a document as a job; returns its :class:`Submission` (``job_id``, and
        ``duplicate`` when a job with the same ``key`` was still waiting: its id, nothing
        queued). An invalid document raises ``InvalidInputError``, one over Shopify's
        single-query cost limit ``CostExceededError``; ``ShopifyCancelledError`` once
        finished or cancelled. Higher ``priority`` runs first. Waits with the GIL
        released while the queue is full."""

    def submit_async(
        self,
        document: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        priority: int = 0,
        key: Optional[str] = None,
        max_attempts: Optional[int] = None,
    ) -> Awaitable[Submission]:
        """:meth:`submit` as an awaitable."""

    def pause(self) -> None:
        """Start no new job until :meth:`resume`; running ones go on."""

    def resume(self) -> None:
        """Start jobs again."""

    def cancel(self) -> None:
        """Cancel gracefully: queued jobs are dropped (cancelled, effect ``not_done``),
        running ones finish. Returns at once."""

    def abort(self) -> None:
        """Cancel immediately: running jobs are stopped too (effect as they recorded it,
        else ``unknown``). Returns at once."""

    def progress(self) -> _JsonDict:
        """Where the operation stands, in the JSON shape of a ``progress`` event
        (``done``, ``failed``, ``cancelled``, ``running``, ``queued``, ``total``,
        ``workers``, ``rate_per_minute``, ``eta_ms``, ``elapsed_ms``)."""

    def finish(self) -> ExecutorReport:
        """Accept no more jobs, run the queued ones, and return the
        :class:`ExecutorReport` (``on_event`` gets every event until the end in this
        thread). Ctrl-C, or an exception in ``on_event``, cancels gracefully, waits for
        the running jobs and raises. Calling it again returns the same report."""

    def finish_async(self) -> Awaitable[ExecutorReport]:
        """:meth:`finish` as an awaitable; ``on_event`` runs on the event loop.
        Cancelling it cancels the operation gracefully."""

    def next_event(self, timeout: Optional[float] = None) -> Optional[_JsonDict]:
        """The next event, waiting at most ``timeout`` seconds; ``None`` on timeout or
        once every event was handed over (see :attr:`done`)."""

    def drain(self) -> List[_JsonDict]:
        """The events waiting now, without blocking (eventlet/gevent: poll it between
        ``socketio.sleep()`` calls)."""

    def __iter__(self) -> Iterator[_JsonDict]: ...
    def __next__(self) -> _JsonDict: ...
    def __aiter__(self) -> AsyncIterator[_JsonDict]: ...
    def __anext__(self) -> Awaitable[_JsonDict]: ...
