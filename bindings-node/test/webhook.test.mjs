// Webhook verification with the captured HMAC vectors (data/shopify/samples/hmac/), over
// raw Buffer bodies only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { verifyWebhook, verifyWebhookSignature, receiveWebhook } from 'shopify-sync'
import { assertCode } from './helpers.mjs'

const vectors = JSON.parse(
  readFileSync(new URL('../../data/shopify/samples/hmac/shopify-hmac-vectors.json', import.meta.url), 'utf8'),
)
const cases = vectors.webhook
const sign = (secret, body) => createHmac('sha256', secret).update(body).digest('base64')

test('captured vectors verify; rotation finds the older secret', async () => {
  assert.ok(cases.length > 0)
  for (const c of cases) {
    const body = Buffer.from(c.body_utf8, 'utf8')
    const signature = c.expected_base64
    assert.equal(verifyWebhookSignature([c.secret], signature, body), 0, c.id)
    assert.equal(verifyWebhookSignature(['a-newer-secret', c.secret], signature, body), 1, c.id)
    await assertCode(() => verifyWebhookSignature(['not-the-secret'], signature, body), 'SHOPIFY_AUTH')
    if (!('X-Shopify-Topic' in c.headers)) {
      await assertCode(() => verifyWebhook([c.secret], c.headers, body), 'SHOPIFY_INVALID_INPUT', /X-Shopify-Topic/)
      continue
    }
    const out = verifyWebhook([c.secret], c.headers, body)
    assert.equal(out.topic, c.headers['X-Shopify-Topic'])
    assert.equal(out.secret_index, 0)
    assert.equal(out.is_current_secret, true)
    // Express lower-cases header names; pairs and Fetch Headers work too; Uint8Array too.
    const lower = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]))
    assert.equal(verifyWebhook([c.secret], lower, body).topic, out.topic)
    assert.equal(verifyWebhook([c.secret], Object.entries(c.headers), new Uint8Array(body)).topic, out.topic)
    assert.equal(verifyWebhook([c.secret], new Headers(c.headers), body).topic, out.topic)
  }
})

test('a changed body or a wrong secret is SHOPIFY_AUTH with a cause; strings are refused', async () => {
  const c = cases[0]
  const body = Buffer.from(c.body_utf8, 'utf8')
  const headers = { 'X-Shopify-Topic': 'products/update', ...c.headers }
  const e = await assertCode(() => verifyWebhook([c.secret], headers, Buffer.concat([body, Buffer.from(' ')])), 'SHOPIFY_AUTH')
  assert.equal(e.retryable, false)
  await assertCode(() => verifyWebhook(['wrong'], headers, body), 'SHOPIFY_AUTH')
  await assertCode(() => verifyWebhook([c.secret], headers, c.body_utf8), 'SHOPIFY_INVALID_INPUT', /Buffer/)
  await assertCode(() => verifyWebhook([c.secret], headers, JSON.parse(c.body_utf8)), 'SHOPIFY_INVALID_INPUT', /Buffer/)
})

test('receiveWebhook decodes the product id of a products/update delivery', () => {
  const secret = 'shpss_test'
  const body = Buffer.from(JSON.stringify({ id: 788032119674292900, admin_graphql_api_id: 'gid://shopify/Product/788032119674292900', title: 'Tee' }))
  const headers = {
    'x-shopify-topic': 'products/update',
    'x-shopify-hmac-sha256': sign(secret, body),
    'x-shopify-shop-domain': 'sim-shop.myshopify.com',
    'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    'x-shopify-api-version': '2026-07',
  }
  const out = receiveWebhook([secret], headers, body)
  assert.equal(out.topic, 'products/update')
  assert.equal(out.sync_topic, 'PRODUCTS_UPDATE')
  assert.equal(out.product_id, 'gid://shopify/Product/788032119674292900')
  assert.equal(out.collection_id, null)
  assert.equal(out.shop_domain, 'sim-shop.myshopify.com')
})

test('secrets default to SHOPIFY_WEBHOOK_SECRETS', async () => {
  const body = Buffer.from('{}')
  const saved = process.env.SHOPIFY_WEBHOOK_SECRETS
  try {
    delete process.env.SHOPIFY_WEBHOOK_SECRETS
    await assertCode(() => verifyWebhookSignature(null, sign('s1', body), body), 'SHOPIFY_NOT_CONFIGURED')
    process.env.SHOPIFY_WEBHOOK_SECRETS = 'new,s1'
    assert.equal(verifyWebhookSignature(null, sign('s1', body), body), 1)
  } finally {
    if (saved === undefined) delete process.env.SHOPIFY_WEBHOOK_SECRETS
    else process.env.SHOPIFY_WEBHOOK_SECRETS = saved
  }
})
