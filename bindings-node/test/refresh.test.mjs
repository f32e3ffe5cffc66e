// Webhooks in: a WebhookQueue receives signed deliveries (raw Buffer bodies), and
// engine.refresh(queue) re-reads what they marked into the store's remote snapshots.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { ChangeStore, ShopifyClient, Simulator, SyncEngine, WebhookQueue } from 'shopify-sync'
import { assertCode } from './helpers.mjs'

const SECRET = 'shpss_node_refresh'
const sign = (body) => createHmac('sha256', SECRET).update(body).digest('base64')

/** A products/update delivery as Shopify sends it: REST-shaped body, signed headers. */
function delivery(sim, numericId, { eventId = randomUUID(), triggeredAt = new Date().toISOString(), topic = 'products/update' } = {}) {
  const body = Buffer.from(JSON.stringify({ id: numericId, admin_graphql_api_id: `gid://shopify/Product/${numericId}`, title: 'ignored: the refresh re-reads' }))
  const headers = {
    'x-shopify-topic': topic,
    'x-shopify-hmac-sha256': sign(body),
    'x-shopify-shop-domain': sim.shop,
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-event-id': eventId,
    'x-shopify-triggered-at': triggeredAt,
    'x-shopify-api-version': '2026-07',
  }
  return { headers, body }
}

test('a signed products/update delivery, then refresh: the remote snapshot is Shopify’s now', async () => {
  const sim = await Simulator.start({ products: 8, collections: 1, seed: 5 })
  try {
    const client = new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
    const store = ChangeStore.memory()
    const engine = new SyncEngine(client, store)
    await engine.pull()
    const first = (await client.graphql('{ products(first: 1) { nodes { id } } }')).data.products.nodes[0].id
    const numeric = Number(first.split('/').pop())
    const before = await store.snapshot('remote', first)
    assert.equal(typeof before.snapshot.title, 'string')
    assert.equal(before.snapshot.kind, 'product')

    // The merchant edits the product in the admin; Shopify sends products/update.
    sim.editProduct(numeric, { title: 'Edited, then delivered' })
    const queue = new WebhookQueue([SECRET], { shop: sim.shop })
    const { headers, body } = delivery(sim, numeric, { eventId: 'evt-1' })
    const out = queue.receive(headers, body)
    assert.equal(out.outcome, 'marked')
    assert.equal(out.topic, 'products/update')
    assert.equal(out.product_id, first)
    assert.equal(out.collection_id, null)
    assert.equal(out.secret_index, 0)
    assert.equal(queue.pending, 1)
    // The same event again (a retry) is a duplicate; an older one for the product is stale.
    assert.equal(queue.receive(headers, body).outcome, 'duplicate')
    const older = delivery(sim, numeric, { triggeredAt: '2020-01-01T00:00:00Z' })
    assert.equal(queue.receive(older.headers, older.body).outcome, 'stale')
    // Deliveries of other topics are accepted and mark nothing.
    const other = delivery(sim, numeric, { topic: 'app/uninstalled' })
    assert.equal(queue.receive(other.headers, other.body).outcome, 'ignored')
    assert.equal(queue.pending, 1)

    // Still the old title until the refresh.
    assert.equal((await store.snapshot('remote', first)).snapshot.title, before.snapshot.title)
    const report = await engine.refresh(queue)
    assert.deepEqual(report, { products: 1, collections: 0, deleted: 0, memberships: 0, duplicates: 1, stale: 1, ignored: 1 })
    assert.equal(queue.pending, 0)
    const after = await store.snapshot('remote', first)
    assert.equal(after.snapshot.title, 'Edited, then delivered')
    assert.notEqual(after.fingerprint, before.fingerprint)
    assert.equal(await store.snapshot('base', first), null)

    // Marks by hand; a product Shopify does not have is deleted from the remote side.
    queue.markProduct('gid://shopify/Product/987654321')
    queue.markProduct(String(numeric))
    assert.equal(queue.pending, 2)
    const again = await engine.refresh(queue)
    assert.equal(again.products, 1)
    assert.equal(again.deleted, 1)
    await assertCode(() => queue.markProduct('gid://shopify/Collection/1'), 'SHOPIFY_INVALID_INPUT', /product id/)
    await assertCode(() => store.snapshot('sideways', first), 'SHOPIFY_INVALID_INPUT', /side/)
  } finally {
    await sim.stop()
  }
})

test('refused deliveries mark nothing and carry a code: bad HMAC, another shop, a string body', async () => {
  const sim = await Simulator.start({ products: 2, collections: 0, seed: 1 })
  try {
    const queue = new WebhookQueue([SECRET], { shop: sim.shop })
    const { headers, body } = delivery(sim, 1)
    const tampered = Buffer.concat([body, Buffer.from(' ')])
    const e = await assertCode(() => queue.receive(headers, tampered), 'SHOPIFY_AUTH')
    assert.equal(e.retryable, false)
    await assertCode(() => queue.receive({ ...headers, 'x-shopify-hmac-sha256': sign(Buffer.from('x')) }, body), 'SHOPIFY_AUTH')
    await assertCode(
      () => queue.receive({ ...headers, 'x-shopify-shop-domain': 'other-shop.myshopify.com' }, body),
      'SHOPIFY_INVALID_INPUT',
      /other-shop/,
    )
    await assertCode(() => queue.receive(headers, body.toString()), 'SHOPIFY_INVALID_INPUT', /Buffer/)
    const { 'x-shopify-topic': _, ...noTopic } = headers
    await assertCode(() => queue.receive(noTopic, body), 'SHOPIFY_INVALID_INPUT', /X-Shopify-Topic/i)
    assert.equal(queue.pending, 0)
    // A refused delivery is not remembered: the genuine one still marks.
    assert.equal(queue.receive(headers, body).outcome, 'marked')
    await assertCode(() => new WebhookQueue([SECRET], { nope: 1 }), 'SHOPIFY_INVALID_INPUT', /nope/)
    await assertCode(() => new WebhookQueue([]), 'SHOPIFY_INVALID_INPUT')
  } finally {
    await sim.stop()
  }
})

test('an aborted refresh requeues what it did not write', async () => {
  const sim = await Simulator.start({ products: 4, collections: 0, seed: 2 })
  try {
    const client = new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
    const engine = new SyncEngine(client, ChangeStore.memory())
    const queue = new WebhookQueue([SECRET])
    queue.markProduct('1')
    await assertCode(() => engine.refresh(queue, { signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
    assert.equal(queue.pending, 1)
  } finally {
    await sim.stop()
  }
})
