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
  // A slow simulator (a tiny bucket): the pull waits for points, the abort ends it. Pages
  // of two products fit the 60-point bucket (a page costing more than the whole bucket
  // fails with SHOPIFY_COST_EXCEEDED instead of waiting).
  const slow = await Simulator.start({ products: 300, bucketSize: 60, restoreRate: 5 })
  try {
    const c = new ShopifyClient({ endpoint: slow.endpoint, accessToken: slow.accessToken })
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 200)
    let n = 0
    const e = await assertCode(async () => {
      for await (const _ of c.products({ pageSize: 2 }, { signal: controller.signal })) n++
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

test('membership: add and remove products of a custom collection; a smart one refuses', async () => {
  const collections = []
  for await (const c of client.collections()) collections.push(c)
  const custom = collections.find((c) => c.ruleSet === null)
  const smart = collections.find((c) => c.ruleSet !== null)
  const members = async (id) => {
    const ids = []
    for await (const p of client.collectionProductIds(id)) ids.push(p)
    return ids
  }
  const before = await members(custom.id)
  const outsiders = []
  for await (const p of client.products()) if (!before.includes(p.id)) outsiders.push(p.id)
  assert.ok(outsiders.length >= 3)
  const added = outsiders.slice(0, 3)
  // Gids or numeric ids; adding a member again is harmless.
  assert.equal(await client.collectionAddProducts(custom.id, [added[0], added[1], added[2].split('/').pop()]), undefined)
  await client.collectionAddProducts(custom.id, [added[0]])
  const after = await members(custom.id)
  assert.equal(after.length, before.length + 3)
  for (const id of added) assert.ok(after.includes(id), id)
  await client.collectionRemoveProducts(custom.id, added)
  assert.deepEqual(new Set(await members(custom.id)), new Set(before))
  await client.collectionAddProducts(custom.id, []) // nothing to send
  if (smart) {
    const e = await assertCode(() => client.collectionAddProducts(smart.id, [added[0]]), 'SHOPIFY_USER_ERRORS')
    assert.ok(e.userErrors.length > 0)
  }
  await assertCode(() => client.collectionAddProducts(custom.id, ['gid://shopify/Collection/1']), 'SHOPIFY_INVALID_INPUT', /productIds \[0\]/)
  await assertCode(() => client.collectionRemoveProducts('nope', added), 'SHOPIFY_INVALID_INPUT', /collection id/)
  await assertCode(() => client.collectionAddProducts(custom.id, added, { signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
})

test('productSet: create by handle, upsert again, replace the variants; bad input refused', async () => {
  const input = {
    title: 'Set from Node',
    handle: 'set-from-node',
    vendor: 'Node',
    tags: ['b', 'a'],
    productOptions: [{ name: 'Size', values: [{ name: 'S' }, { name: 'M' }] }],
    variants: [
      { optionValues: [{ optionName: 'Size', name: 'S' }], price: '10.50', sku: 'SFN-S' },
      { optionValues: [{ optionName: 'Size', name: 'M' }], price: '11.00', sku: 'SFN-M' },
    ],
  }
  const created = await client.productSet(input, { handle: 'set-from-node' })
  assert.match(created.id, /^gid:\/\/shopify\/Product\/\d+$/)
  assert.equal(created.title, 'Set from Node')
  assert.equal(created.handle, 'set-from-node')
  assert.deepEqual(created.variants.map((v) => [v.sku, v.price]), [['SFN-S', '10.50'], ['SFN-M', '11.00']])
  // The same identifier upserts: the same product, the list fields replaced.
  const again = await client.productSet(
    { ...input, title: 'Set again', variants: [input.variants[1]], productOptions: [{ name: 'Size', values: [{ name: 'M' }] }] },
    { handle: 'set-from-node' },
  )
  assert.equal(again.id, created.id)
  assert.equal(again.title, 'Set again')
  assert.deepEqual(again.variants.map((v) => v.sku), ['SFN-M'])
  assert.equal((await client.product(created.id)).title, 'Set again')
  // By id.
  const byId = await client.productSet({ title: 'Set by id' }, { id: created.id })
  assert.equal(byId.id, created.id)
  assert.equal(byId.title, 'Set by id')
  await assertCode(() => client.productSet('not an object'), 'SHOPIFY_INVALID_INPUT', /productSet input/)
  // The input is sent as given: Shopify refuses an unknown field.
  await assertCode(() => client.productSet({ noSuchField: 1 }), 'SHOPIFY_GRAPHQL', /noSuchField/)
  const e = await assertCode(() => client.productSet({ title: 'x' }, { id: 'gid://shopify/Product/1' }), 'SHOPIFY_USER_ERRORS')
  assert.match(e.userErrors[0].message, /does not exist/)
  await assertCode(() => client.productSet(input, null, { signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
})

test('bulkQuery: the JSONL records as an async iterator, the operation once finished', async () => {
  const query = '{ products { edges { node { id title variants { edges { node { id sku } } } } } } }'
  const run = client.bulkQuery(query)
  assert.equal(run.operation, null)
  const records = []
  for await (const r of run) records.push(r)
  const products = records.filter((r) => r.__parentId === undefined)
  const variants = records.filter((r) => r.__parentId !== undefined)
  assert.equal(products.length, await client.productsCount())
  assert.ok(variants.length >= products.length)
  const ids = new Set(products.map((p) => p.id))
  for (const v of variants) {
    assert.match(v.id, /^gid:\/\/shopify\/ProductVariant\//)
    assert.ok(ids.has(v.__parentId), v.__parentId)
  }
  const op = run.operation
  assert.equal(op.status, 'COMPLETED')
  assert.equal(op.objectCount, records.length)
  assert.match(op.id, /^gid:\/\/shopify\/BulkOperation\//)
  // break closes the download; an aborted signal ends the run with SHOPIFY_CANCELLED.
  for await (const _ of client.bulkQuery(query, { groupObjects: true })) break
  await assertCode(async () => {
    for await (const _ of client.bulkQuery(query, { signal: AbortSignal.abort() }));
  }, 'SHOPIFY_CANCELLED')
  const refused = await assertCode(async () => {
    for await (const _ of client.bulkQuery('{ shop }'));
  }, 'SHOPIFY_USER_ERRORS', /bulkOperationRunQuery/)
  assert.ok(refused.userErrors.length > 0)
  await assertCode(() => client.bulkQuery(query, { timeoutMs: -1 }), 'SHOPIFY_INVALID_INPUT', /timeoutMs/)
})

test('bulkMutation: one line per variables object, matched by index; a refused line; bad input refused before sending', async () => {
  const TAGS = 'mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }'
  const ids = (await client.graphql('{ products(first: 3) { nodes { id } } }')).data.products.nodes.map((n) => n.id)
  const variables = [
    { id: ids[0], tags: ['bulk-a'] },
    { id: 'gid://shopify/Product/987654321', tags: ['bulk-a'] },
    { id: ids[1], tags: ['bulk-b', 'bulk-c'] },
    { id: ids[2], tags: ['bulk-b'] },
  ]
  const result = await client.bulkMutation(TAGS, variables, { pollIntervalMs: 50, timeoutMs: 60_000 })
  assert.equal(result.operation.status, 'COMPLETED')
  assert.equal(result.operation.type, 'MUTATION')
  assert.equal(result.partial, false)
  assert.deepEqual(result.missing, [])
  assert.deepEqual(result.lines.map((l) => l.line_number), [0, 1, 2, 3])
  assert.deepEqual(result.lines.map((l) => l.ok), [true, false, true, true])
  assert.equal(result.lines[2].data.tagsAdd.node.id, ids[1])
  assert.deepEqual(result.lines[1].errors, [])
  assert.match(result.lines[1].user_errors[0].message, /does not exist/)
  // The lines that ran are on Shopify.
  assert.ok((await client.product(ids[0])).tags.includes('bulk-a'))
  const tags = (await client.product(ids[1])).tags
  assert.ok(tags.includes('bulk-b') && tags.includes('bulk-c'), tags.join(','))

  await assertCode(() => client.bulkMutation('mutation { nope }', [{}]), 'SHOPIFY_INVALID_INPUT', /does not validate/)
  await assertCode(() => client.bulkMutation(TAGS, [[1]]), 'SHOPIFY_INVALID_INPUT', /#0 are not a JSON object/)
  await assertCode(() => client.bulkMutation(TAGS, { id: ids[0] }), 'SHOPIFY_INVALID_INPUT', /variables/)
  await assertCode(() => client.bulkMutation(TAGS, variables, { pollIntervalMs: 0 }), 'SHOPIFY_INVALID_INPUT', /pollIntervalMs/)
  await assertCode(() => client.bulkMutation(TAGS, variables, { signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
})

test('an aborted bulk query or bulk mutation is canceled on Shopify, not left running', async () => {
  // A slow export (20 rows a second), so that the abort lands while it runs.
  const slow = await Simulator.start({ products: 200, bulkRowsPerSecond: 20 })
  try {
    const c = new ShopifyClient({ endpoint: slow.endpoint, accessToken: slow.accessToken })
    const current = async (type) =>
      (await c.graphql(`{ currentBulkOperation(type: ${type}) { id status } }`)).data.currentBulkOperation
    const waitFor = async (type, statuses) => {
      for (let i = 0; i < 200; i++) {
        const op = await current(type)
        if (op && statuses.includes(op.status)) return op
        await new Promise((r) => setTimeout(r, 25))
      }
      throw new Error(`no ${type} operation reached ${statuses}: ${JSON.stringify(await current(type))}`)
    }
    const query = '{ products { edges { node { id title } } } }'
    const controller = new AbortController()
    const reading = (async () => {
      for await (const _ of c.bulkQuery(query, { signal: controller.signal, pollIntervalMs: 20 }));
    })()
    await waitFor('QUERY', ['RUNNING'])
    controller.abort()
    await assertCode(() => reading, 'SHOPIFY_CANCELLED')
    await waitFor('QUERY', ['CANCELING', 'CANCELED'])

    const ids = []
    for await (const p of c.products()) ids.push(p.id)
    const TAGS = 'mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }'
    const mutating = new AbortController()
    const writing = c.bulkMutation(TAGS, ids.map((id) => ({ id, tags: ['slow'] })), { signal: mutating.signal, pollIntervalMs: 20 })
    await waitFor('MUTATION', ['RUNNING'])
    mutating.abort()
    await assertCode(() => writing, 'SHOPIFY_CANCELLED')
    await waitFor('MUTATION', ['CANCELING', 'CANCELED'])
  } finally {
    await slow.stop()
  }
})
