"""shopify_sync: keep a merchant's catalog in sync with Shopify.

A thin Python layer over the Rust core (the native module ``shopify_sync._native``):
every behaviour lives in Rust, so Python, Rust and Node give the same answers on the same
inputs. Data crosses as plain dicts in the JSON shapes of ``tests/vectors/`` (snake_case
keys, the strings Rust's serde writes).

What this version exposes:

- errors: :class:`ShopifySyncError` and one subclass per error kind;
- :func:`compute_status` / :func:`compute_statuses`: the sync status of products;
- :func:`fingerprint`, :func:`fingerprint_product`, :func:`fingerprint_collection`,
  :func:`canonical_document`, :func:`normalize_snapshot`: snapshots and fingerprints;
- :class:`ShopifyClient`: the GraphQL client (blocking, GIL released, and asyncio);
- :func:`verify_webhook`, :func:`verify_webhook_signature`, :func:`receive_webhook`:
  webhook HMAC verification, header parsing and sync-topic payloads;
- :class:`Simulator`: the offline Shopify simulator, in-process (with fault injection);
  with the pytest fixture ``shopify_sim`` in :mod:`shopify_sync.testing`;
- :class:`SyncEngine`: pull, plan, apply (progress events through a callable, an
  iterator or an async iterator: :class:`ApplyOperation`), statuses, webhook refresh
  (:class:`WebhookQueue`);
- :class:`Executor`: the application's own GraphQL documents as jobs (priorities,
  deduplication, retries, the shop's shared cost budget, pause / resume / cancel, the
  same events), ending in an :class:`ExecutorReport` (:class:`JobRecord`,
  responses by job id);
- :class:`SqliteStore` / :class:`MemoryStore` (:class:`ChangeStore`): review, changes,
  audit, snapshots; :class:`Plan` (summary, review rows, plan files); :func:`diff`;
- typed results with ``to_dict()`` / ``from_dict()`` (:class:`Product`,
  :class:`Collection`, :class:`PullReport`, :class:`ApplyReport`, :class:`Change`,
  :class:`AuditEntry`, :class:`SavedPlan`, :class:`BulkQueryResult`,
  :class:`BulkMutationResult` ...): money as ``Decimal``, timestamps as aware
  ``datetime``; ``to_dict()`` gives the core's JSON shape with those values.

Fork safety: the native runtime is per process and rebuilt in a forked child, and so is
each client's connection pool; a :class:`Simulator` serves only in the process that
started it.
"""

from ._errors import (
    ERROR_CLASSES,
    AuthError,
    CostExceededError,
    DecodeError,
    GraphqlError,
    InvalidInputError,
    NotConfiguredError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ShopifyCancelledError,
    ShopifySyncError,
    ShopifyTimeoutError,
    ThrottledError,
    TransportError,
    UserErrorsError,
)
from ._native import (
    DEFAULT_API_VERSION,
    ApplyOperation,
    ChangeStore,
    Executor,
    ItemIterator,
    MemoryStore,
    Plan,
    ShopifyClient,
    Simulator,
    SqliteStore,
    SyncEngine,
    WebhookQueue,
    __version__,
    canonical_document,
    compute_status,
    compute_statuses,
    diff,
    fingerprint,
    fingerprint_collection,
    fingerprint_product,
    normalize_snapshot,
    receive_webhook,
    verify_webhook,
    verify_webhook_signature,
)
from ._types import (
    ApplyReport,
    ApplyResult,
    AuditEntry,
    BulkMutationLine,
    BulkMutationResult,
    BulkOperation,
    BulkQueryResult,
    Change,
    ChangeRow,
    ChangeTarget,
    Collection,
    CollectionRule,
    CollectionRuleSet,
    ExecutorReport,
    IdMapping,
    VariantIdMapping,
    JobRecord,
    PlanSummary,
    PreflightIssue,
    Product,
    ProductOption,
    PullReport,
    Record,
    RefreshReport,
    Resolution,
    ReviewReport,
    SavedPlan,
    SelectedOption,
    Seo,
    StaleGuard,
    Submission,
    Variant,
)

__all__ = [
    "__version__",
    "DEFAULT_API_VERSION",
    "ERROR_CLASSES",
    "ShopifySyncError",
    "NotConfiguredError",
    "InvalidInputError",
    "AuthError",
    "ThrottledError",
    "TransportError",
    "ShopifyTimeoutError",
    "ServerError",
    "GraphqlError",
    "UserErrorsError",
    "NotFoundError",
    "DecodeError",
    "OutcomeUnknownError",
    "CostExceededError",
    "ShopifyCancelledError",
    "compute_status",
    "compute_statuses",
    "fingerprint",
    "fingerprint_product",
    "fingerprint_collection",
    "canonical_document",
    "normalize_snapshot",
    "ShopifyClient",
    "Simulator",
    "verify_webhook",
    "verify_webhook_signature",
    "receive_webhook",
    "diff",
    "Plan",
    "ChangeStore",
    "SqliteStore",
    "MemoryStore",
    "SyncEngine",
    "ApplyOperation",
    "WebhookQueue",
    "Executor",
    "ItemIterator",
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
    "VariantIdMapping",
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
