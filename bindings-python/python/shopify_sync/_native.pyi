"""Type stubs of the native module ``shopify_sync._native`` (Rust, PyO3).

Checked against the compiled module in CI (``python -m mypy.stubtest``), so they cannot
drift from the code.
"""

import datetime
from typing import Any, Awaitable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from typing_extensions import TypeAlias, final

from ._errors import ShopifySyncError

__all__ = [
    "DEFAULT_API_VERSION",
    "ShopifyClient",
    "Simulator",
    "__version__",
    "_make_error",
    "_panic",
    "canonical_document",
    "compute_status",
    "compute_statuses",
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
_Headers: TypeAlias = Union[Mapping[str, Union[str, bytes]], Iterable[Tuple[str, Union[str, bytes]]]]

def _make_error(kind: str, message: str) -> ShopifySyncError:
    """The exception the core would raise for a new error of ``kind`` (not raised)."""

def _panic(message: str) -> None:
    """Panic in Rust on purpose (tests): raises ``ShopifySyncError`` with ``kind=None``."""

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

    def stop(self) -> None:
        """Stop serving and wait for in-flight requests. Idempotent."""

    def __enter__(self) -> Simulator: ...
    def __exit__(self, *_args: object) -> bool: ...
