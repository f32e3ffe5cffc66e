"""Webhook verification with the captured HMAC vectors."""

import base64
import datetime
import hashlib
import hmac
import json

import pytest

import shopify_sync
from conftest import HMAC_VECTORS

WEBHOOK_CASES = json.loads(HMAC_VECTORS.read_text(encoding="utf-8"))["webhook"]


@pytest.mark.parametrize("case", WEBHOOK_CASES, ids=[c["id"] for c in WEBHOOK_CASES])
def test_captured_vectors_verify(case):
    body = case["body_utf8"].encode("utf-8")
    signature = case["expected_base64"]
    assert case["headers"]["X-Shopify-Hmac-Sha256"] == signature
    secret = case["secret"]
    assert shopify_sync.verify_webhook_signature([secret], signature, body) == 0
    # During a rotation the old secret may still sign: any secret of the list matches.
    assert shopify_sync.verify_webhook_signature(["a-newer-secret", secret], signature, body) == 1
    with pytest.raises(shopify_sync.AuthError):
        shopify_sync.verify_webhook_signature(["not-the-secret"], signature, body)

    if "X-Shopify-Topic" not in case["headers"]:
        # The core refuses a request without a topic before looking at the signature.
        with pytest.raises(shopify_sync.InvalidInputError, match="X-Shopify-Topic"):
            shopify_sync.verify_webhook([secret], case["headers"], body)
        return
    out = shopify_sync.verify_webhook([secret], case["headers"], body)
    assert out["topic"] == case["headers"]["X-Shopify-Topic"]
    assert out["shop_domain"] == case["headers"].get("X-Shopify-Shop-Domain")
    assert out["secret_index"] == 0 and out["is_current_secret"] is True
    rotated = shopify_sync.verify_webhook(["a-newer-secret", secret], case["headers"], body)
    assert rotated["secret_index"] == 1 and rotated["is_current_secret"] is False
    # Header names are case-insensitive; pairs work as well as a mapping; bytes values too.
    pairs = [(k.lower(), v.encode()) for k, v in case["headers"].items()]
    assert shopify_sync.verify_webhook([secret], pairs, body)["topic"] == out["topic"]


@pytest.mark.parametrize("case", WEBHOOK_CASES, ids=[c["id"] for c in WEBHOOK_CASES])
def test_a_changed_body_or_secret_is_an_auth_error(case):
    body = case["body_utf8"].encode("utf-8")
    headers = {"X-Shopify-Topic": "products/update", **case["headers"]}
    with pytest.raises(shopify_sync.AuthError) as info:
        shopify_sync.verify_webhook([case["secret"]], headers, body + b" ")
    assert info.value.retryable is False
    # The core's webhook error is chained as the cause.
    assert isinstance(info.value.__cause__, Exception)
    assert "signature" in str(info.value.__cause__)
    with pytest.raises(shopify_sync.AuthError):
        shopify_sync.verify_webhook(["wrong"], headers, body)


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_sync_topic_payload_and_headers():
    body = b'{"id": 788032119674292922}'
    headers = {
        "X-Shopify-Topic": "products/delete",
        "X-Shopify-Hmac-Sha256": sign("s3cret", body),
        "X-Shopify-Shop-Domain": "my-store.myshopify.com",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2026-03-01T12:00:00.123456Z",
        "X-Shopify-API-Version": "2026-07",
    }
    out = shopify_sync.receive_webhook(["s3cret"], headers, body)
    assert out["sync_topic"] == "PRODUCTS_DELETE"
    assert out["product_id"] == "gid://shopify/Product/788032119674292922"
    assert out["collection_id"] is None
    assert out["event_id"] == headers["X-Shopify-Event-Id"]
    assert out["webhook_id"] == headers["X-Shopify-Webhook-Id"]
    assert out["api_version"] == "2026-07"
    assert out["triggered_at"] == datetime.datetime(
        2026, 3, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc
    )


def test_missing_signature_empty_body_and_bad_payload():
    headers = {"X-Shopify-Topic": "products/delete"}
    with pytest.raises(shopify_sync.AuthError):
        shopify_sync.verify_webhook(["s"], headers, b"{}")
    body = b'{"id": "not a number"}'
    with pytest.raises(shopify_sync.DecodeError) as info:
        shopify_sync.receive_webhook(
            ["s"], {**headers, "X-Shopify-Hmac-Sha256": sign("s", body)}, body
        )
    assert info.value.json_path is not None
    # verify_webhook does not decode the payload.
    ok = shopify_sync.verify_webhook(["s"], {**headers, "X-Shopify-Hmac-Sha256": sign("s", body)}, body)
    assert ok["sync_topic"] == "PRODUCTS_DELETE"
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.verify_webhook(["s"], {**headers, "X-Shopify-Hmac-Sha256": sign("s", b"")}, b"")


def test_secrets_from_the_environment(monkeypatch):
    body = b'{"id": 1}'
    headers = {"X-Shopify-Topic": "products/delete", "X-Shopify-Hmac-Sha256": sign("b", body)}
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRETS", "a, b")
    assert shopify_sync.verify_webhook(None, headers, body)["secret_index"] == 1
    monkeypatch.delenv("SHOPIFY_WEBHOOK_SECRETS")
    with pytest.raises(shopify_sync.NotConfiguredError, match="SHOPIFY_WEBHOOK_SECRETS"):
        shopify_sync.verify_webhook(None, headers, body)
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.verify_webhook([], headers, body)
    with pytest.raises(shopify_sync.InvalidInputError):
        shopify_sync.verify_webhook("b", headers, body)
