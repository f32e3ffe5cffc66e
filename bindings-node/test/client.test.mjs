// ShopifyClient and Simulator over real HTTP on loopback: configuration, raw GraphQL,
// listings as async iterators, errors with codes and fields, AbortSignal.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { ShopifyClient, Simulator, ShopifySyncError } from 'shopify-sync'
import { assertCode } from './helpers.mjs'

let sim
let client

before(async () => {
  sim = await Simulator.start({ products: 30, collections: 4, seed: 7 })
  client = new ShopifyClient({ endpoint: sim.endpoint, shop: sim.shop, accessToken: sim.accessToken })
})

after(async () => {
  await sim.stop()
})

test('the simulator serves on loopback and describes itself', () => {
  assert.match(sim.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(sim.running, true)
  assert.deepEqual(sim.env(), {
    SHOPIFY_ENDPOINT: sim.endpoint,
    SHOPIFY_SHOP: sim.shop,
    SHOPIFY_ACCESS_TOKEN: sim.accessToken,
  })
  assert.equal(client.shop, sim.shop)
  assert.equal(client.graphqlUrl, `${sim.endpoint}/admin/api/${client.apiVersion}/graphql.json`)
  assert.ok(!String(client).includes(sim.accessToken), 'the token never prints')
})

test('graphql: data, request id and cost come back in the wire shape', async () => {
  const r = await client.graphql('{ shop { name } products(first: 2) { nodes { id title } } }')
  assert.equal(r.data.products.nodes.length, 2)
  assert.deepEqual(r.errors, [])
  assert.equal(typeof r.request_id, 'string')
  assert.equal(typeof r.cost.requested, 'number')
  assert.equal(typeof r.cost.restore_rate, 'number')
  const one = await client.graphql('query P($id: ID!) { product(id: $id) { id } }', {
    id: r.data.products.nodes[0].id,
  })
  assert.equal(one.data.product.id, r.data.products.nodes[0].id)
})

test('graphql: a document that does not validate is refused before sending', async () => {
  const e = await assertCode(() => client.graphql('{ shop { noSuchField } }'), 'SHOPIFY_INVALID_INPUT', /noSuchField/)
  assert.equal(e.requestId, null)
})

test('graphql: errors from Shopify are SHOPIFY_GRAPHQL with graphqlErrors and the request id', async () => {
  const e = await assertCode(() => client.graphql('{ node(id: "nonsense") { id } }'), 'SHOPIFY_GRAPHQL')
  assert.ok(e instanceof ShopifySyncError)
  assert.equal(e.graphqlErrors.length, 1)
  assert.deepEqual(Object.keys(e.graphqlErrors[0]), ['message', 'path', 'code'])
  assert.match(e.graphqlErrors[0].message, /nonsense/)
  assert.equal(typeof e.requestId, 'string')
  assert.equal(e.retryable, false)
})

test('a wrong token is SHOPIFY_AUTH, with the request id', async () => {
  const bad = new ShopifyClient({ endpoint: sim.endpoint, accessToken: 'shpat_wrong', maxAttempts: 1 })
  const e = await assertCode(() => bad.graphql('{ shop { name } }'), 'SHOPIFY_AUTH')
  assert.equal(e.kind, 'auth')
  assert.equal(e.retryable, false)
})

test('products: every product, as an async iterator', async () => {
  const seen = []
  for await (const p of client.products()) seen.push(p)
  assert.equal(seen.length, 30)
  assert.match(seen[0].id, /^gid:\/\/shopify\/Product\/\d+$/)
  assert.ok(Array.isArray(seen[0].variants))
  assert.equal(await client.productsCount(), 30)
  // Prices are exact decimal strings.
  const priced = seen.flatMap((p) => p.variants).find((v) => v.price !== null)
  assert.equal(typeof priced.price, 'string')
  // A search and a small page size go through pagination.
  const paged = []
  for await (const p of client.products({ pageSize: 7, sort: 'title' })) paged.push(p)
  assert.equal(paged.length, 30)
  // `break` closes the stream; a product by id.
  for await (const p of client.products()) {
    assert.deepEqual(await client.product(p.id), p)
    break
  }
  assert.equal(await client.product('gid://shopify/Product/999999999'), null)
})

test('collections and membership as async iterators', async () => {
  const collections = []
  for await (const c of client.collections()) collections.push(c)
  assert.equal(collections.length, 4)
  let members = 0
  for (const c of collections) {
    for await (const id of client.collectionProductIds(c.id)) {
      assert.match(id, /^gid:\/\/shopify\/Product\//)
      members++
    }
  }
  assert.ok(members > 0)
  assert.equal((await client.collection(collections[0].id)).id, collections[0].id)
})

test('bad options and bad arguments are SHOPIFY_INVALID_INPUT', async () => {
  await assertCode(() => new ShopifyClient({ accessToken: 'x' }), 'SHOPIFY_INVALID_INPUT', /shop or an endpoint/)
  await assertCode(() => new ShopifyClient({ shop: 'a', accessToken: 'x', nope: 1 }), 'SHOPIFY_INVALID_INPUT', /nope/)
  await assertCode(() => new ShopifyClient({ shop: 'bad shop!', accessToken: 'x' }), 'SHOPIFY_INVALID_INPUT')
  await assertCode(
    () => new ShopifyClient({ shop: 'a', accessToken: 'x', apiVersion: 'latest' }),
    'SHOPIFY_INVALID_INPUT',
    /YYYY-MM/,
  )
  await assertCode(() => client.products({ sort: 'price' }), 'SHOPIFY_INVALID_INPUT', /sort/)
  await assertCode(() => client.product('not-a-gid'), 'SHOPIFY_INVALID_INPUT')
})

test('fromEnv reads SHOPIFY_* and names a missing variable', async () => {
  const saved = { ...process.env }
  try {
    for (const k of Object.keys(process.env)) if (k.startsWith('SHOPIFY_')) delete process.env[k]
    const e = await assertCode(() => ShopifyClient.fromEnv(), 'SHOPIFY_NOT_CONFIGURED', /SHOPIFY_/)
    assert.equal(e.retryable, false)
    Object.assign(process.env, sim.env())
    const fromEnv = ShopifyClient.fromEnv()
    assert.equal((await fromEnv.graphql('{ shop { name } }')).data.shop.name.length > 0, true)
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
})

test('abort: an aborted signal rejects with SHOPIFY_CANCELLED before and during a call', async () => {
  await assertCode(
    () => client.graphql('{ shop { name } }', null, { signal: AbortSignal.abort() }),
    'SHOPIFY_CANCELLED',
  )
  // A slow simulator (a tiny bucket): the pull waits for points, the abort ends it.
  const slow = await Simulator.start({ products: 300, bucketSize: 60, restoreRate: 5 })
  try {
    const c = new ShopifyClient({ endpoint: slow.endpoint, accessToken: slow.accessToken })
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 200)
    let n = 0
    const e = await assertCode(async () => {
      for await (const _ of c.products({ pageSize: 10 }, { signal: controller.signal })) n++
    }, 'SHOPIFY_CANCELLED')
    assert.ok(n < 300, `read ${n} before the abort`)
    assert.ok(Date.now() - started < 5000)
    assert.equal(e.retryable, false)
    const controller2 = new AbortController()
    setTimeout(() => controller2.abort(), 100)
    await assertCode(
      () => c.productsCount(null, { signal: controller2.signal }).then(() => c.graphql('{ products(first: 250) { nodes { id variants(first: 100) { nodes { id } } } } }', null, { signal: controller2.signal })),
      'SHOPIFY_CANCELLED',
    )
  } finally {
    await slow.stop()
  }
})

test('the simulator: edit a product out of band, stats, dump, restart from a dump', async () => {
  const first = (await client.graphql('{ products(first: 1) { nodes { id } } }')).data.products.nodes[0].id
  const numeric = Number(first.split('/').pop())
  const edited = sim.editProduct(numeric, { title: 'Edited in the admin' })
  assert.equal(edited.title, 'Edited in the admin')
  assert.equal((await client.product(first)).title, 'Edited in the admin')
  assert.equal(typeof sim.stats(), 'object')
  const dump = sim.dump()
  // JSON data: numbers are numbers (never BigInt), as JSON.parse would read them.
  assert.equal(typeof dump.products[0].id, 'number')
  const copy = await Simulator.start({ catalog: dump })
  try {
    const c = new ShopifyClient({ endpoint: copy.endpoint, accessToken: copy.accessToken })
    assert.equal((await c.product(first)).title, 'Edited in the admin')
  } finally {
    await copy.stop()
    await copy.stop() // idempotent
  }
  assert.equal(copy.running, false)
  await assertCode(() => copy.stats(), 'SHOPIFY_INVALID_INPUT', /stopped/)
  await assertCode(() => Simulator.start({ catalog: dump, products: 3 }), 'SHOPIFY_INVALID_INPUT')
})
