"""The exception classes of shopify_sync: one base, one subclass per error kind.

Every error the Rust core reports arrives as an instance of the class named for its kind
(see ``tests/vectors/errors.json``), keeping the structured fields of the core's error
and its cause chained as ``__cause__``.
"""

from typing import Any, Dict, List, Optional, Tuple, Type

__all__ = [
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
]


class ShopifySyncError(Exception):
    """Base class of every error raised by shopify_sync.

    Attributes:
        message: the human message.
        kind: the error kind's snake_case name (``"auth"``, ``"throttled"`` ...); ``None``
            only for an internal error (a Rust panic caught at the boundary: a bug).
        retryable: whether trying the same call again may succeed.
        request_id: Shopify's ``X-Request-Id`` of the failed request, for support.
        graphql_errors: the response's GraphQL errors, as dicts
            ``{"message", "path", "code"}``.
        user_errors: a mutation's ``userErrors``, as dicts ``{"field", "message", "code"}``.
        json_path: for decode errors, the JSON path that failed.
    """

    kind: Optional[str] = None
    _default_retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        kind: Optional[str] = None,
        retryable: Optional[bool] = None,
        request_id: Optional[str] = None,
        graphql_errors: Optional[List[Dict[str, Any]]] = None,
        user_errors: Optional[List[Dict[str, Any]]] = None,
        json_path: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None or type(self) is ShopifySyncError:
            self.kind = kind
        self.retryable = self._default_retryable if retryable is None else retryable
        self.request_id = request_id
        self.graphql_errors = list(graphql_errors or [])
        self.user_errors = list(user_errors or [])
        self.json_path = json_path

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, kind={self.kind!r}, "
            f"retryable={self.retryable!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keep the fields through pickling (multiprocessing, task queues).
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "kind": self.kind,
                    "retryable": self.retryable,
                    "request_id": self.request_id,
                    "graphql_errors": self.graphql_errors,
                    "user_errors": self.user_errors,
                    "json_path": self.json_path,
                },
            ),
        )


def _rebuild(cls: Type[ShopifySyncError], message: str, fields: Dict[str, Any]) -> ShopifySyncError:
    return cls(message, **fields)


def _kind(name: str, retryable: bool, doc: str) -> Any:
    def decorate(cls: Type[ShopifySyncError]) -> Type[ShopifySyncError]:
        cls.kind = name
        cls._default_retryable = retryable
        cls.__doc__ = doc
        return cls

    return decorate


@_kind("not_configured", False, "A required setting is missing (e.g. ``SHOPIFY_SHOP``).")
class NotConfiguredError(ShopifySyncError):
    pass


@_kind("invalid_input", False, "The caller passed something unusable.")
class InvalidInputError(ShopifySyncError):
    pass


@_kind("auth", False, "The access token was refused (HTTP 401 or 403).")
class AuthError(ShopifySyncError):
    pass


@_kind("throttled", True, "Shopify throttled the request and retrying was not allowed or ran out.")
class ThrottledError(ShopifySyncError):
    pass


@_kind("transport", True, "The connection failed or was reset.")
class TransportError(ShopifySyncError):
    pass


@_kind("timeout", True, "No response in time (not the builtin ``TimeoutError``).")
class ShopifyTimeoutError(ShopifySyncError):
    pass


@_kind("server", True, "Shopify answered 5xx or ``INTERNAL_SERVER_ERROR``.")
class ServerError(ShopifySyncError):
    pass


@_kind("graphql", False, "Shopify answered with GraphQL errors (see ``graphql_errors``).")
class GraphqlError(ShopifySyncError):
    pass


@_kind("user_errors", False, "A mutation answered ``userErrors``: nothing was changed (see ``user_errors``).")
class UserErrorsError(ShopifySyncError):
    pass


@_kind("not_found", False, "The object asked for does not exist.")
class NotFoundError(ShopifySyncError):
    pass


@_kind("decode", False, "The response could not be decoded (see ``json_path``).")
class DecodeError(ShopifySyncError):
    pass


@_kind(
    "outcome_unknown",
    False,
    "A write may or may not have happened and was not retried: read the remote state to reconcile.",
)
class OutcomeUnknownError(ShopifySyncError):
    pass


@_kind("cost_exceeded", False, "The document costs more than Shopify's single-query limit.")
class CostExceededError(ShopifySyncError):
    pass


@_kind("cancelled", False, "The operation was cancelled (not ``asyncio.CancelledError``).")
class ShopifyCancelledError(ShopifySyncError):
    pass


#: The exception class of each error kind.
ERROR_CLASSES: Dict[str, Type[ShopifySyncError]] = {
    cls.kind: cls
    for cls in ShopifySyncError.__subclasses__()
    if cls.kind is not None
}


def _from_native(message: str, **fields: Any) -> ShopifySyncError:
    """Called by the native module: the exception instance for a core error. A kind
    this version does not know yet becomes the base class, keeping its ``kind``."""
    cls = ERROR_CLASSES.get(fields.get("kind") or "", ShopifySyncError)
    return cls(message, **fields)
