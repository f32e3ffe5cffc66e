// The executor with your own GraphQL documents, against the simulator over real HTTP:
// priorities, responses, a refused job, bad documents, events (callback and async
// iterator) in the vector shape, pause / cancel, an AbortSignal on finish().
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Executor, ShopifyClient, Simulator } from 'shopify-sync'
import { loadVectors, assertCode } from './helpers.mjs'

const TAGS = 'mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }'
const READ = 'query P($id: ID!) { product(id: $id) { tags } }'
const eventShapes = new Map(loadVectors('events.json').cases.map((c) => [c.event.type, Object.keys(c.event)]))

let sim
let client
let ids

before(async () => {
  sim = await Simulator.start({ products: 6, collections: 0, seed: 5 })
  client = new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
  // The simulator's ids are not 1..N: read them.
  ids = (await client.graphql('{ products(first: 6) { nodes { id } } }')).data.products.nodes.map((n) => n.id)
  assert.equal(ids.length, 6)
})

after(async () => {
  await sim.stop()
})

async function tagsOf(id) {
  return (await client.graphql(READ, { id })).data.product.tags
}

test('jobs run by priority, leave their responses and land on Shopify; a refused job fails with its userErrors', async () => {
  const seen = []
  const executor = new Executor(client, {
    config: { minWorkers: 1, maxWorkers: 1 },
    operationId: 'op-node-exec',
    onEvent: (e) => seen.push(e),
  })
  assert.equal(executor.operationId, 'op-node-exec')
  const events = executor.events()
  executor.pause()
  const low = await executor.submit(TAGS, { id: ids[0], tags: ['exec-low'] }, { priority: -10, key: 'low' })
  const normal = await executor.submit(TAGS, { id: ids[1], tags: ['exec-normal'] })
  const high = await executor.submit(TAGS, { id: ids[2], tags: ['exec-high'] }, { priority: 10 })
  const refused = await executor.submit(TAGS, { id: 'gid://shopify/Product/987654321', tags: ['x'] }, { priority: 5, maxAttempts: 1 })
  const again = await executor.submit(TAGS, { id: ids[0], tags: ['exec-low'] }, { key: 'low' })
  assert.deepEqual(again, { job_id: low.job_id, duplicate: true })
  assert.equal(low.duplicate, false)
  const waiting = executor.progress()
  assert.equal(waiting.queued, 4)
  assert.equal(waiting.total, 4)
  assert.equal(waiting.done, 0)
  executor.resume()

  const streamed = []
  const reading = (async () => {
    for await (const e of events) streamed.push(e)
  })()
  const report = await executor.finish()
  // onEvent saw the last event before finish() resolved.
  assert.equal(seen.at(-1).type, 'finished')
  await reading

  // One worker: the jobs started in priority order.
  const started = seen.filter((e) => e.type === 'job_started').map((e) => e.job_id)
  assert.deepEqual(started, [high.job_id, refused.job_id, normal.job_id, low.job_id])

  assert.equal(report.summary.total, 4)
  assert.equal(report.summary.succeeded, 3)
  assert.equal(report.summary.failed, 1)
  assert.equal(report.summary.deduplicated, 1)
  assert.deepEqual(report.cancelled, [])
  assert.equal(report.failed.length, 1)
  const failure = report.failed[0]
  assert.equal(failure.job_id, refused.job_id)
  assert.equal(failure.key, null)
  assert.equal(failure.attempts, 1)
  assert.equal(failure.effect, 'not_done')
  assert.equal(failure.error.name, 'ShopifySyncError')
  assert.equal(failure.error.code, 'SHOPIFY_USER_ERRORS')
  assert.match(failure.error.userErrors[0].message, /does not exist/)

  assert.deepEqual(Object.keys(report.responses).map(Number).sort(), [low.job_id, normal.job_id, high.job_id].sort())
  assert.equal(report.responses[high.job_id].data.tagsAdd.node.id, ids[2])
  assert.deepEqual(report.responses[high.job_id].errors, [])
  assert.ok((await tagsOf(ids[0])).includes('exec-low'))
  assert.ok((await tagsOf(ids[1])).includes('exec-normal'))
  assert.ok((await tagsOf(ids[2])).includes('exec-high'))

  // Events: the vector shape, the same sequence for the callback and the iterator
  // (called before the first submit: from operation_started on).
  assert.equal(seen[0].type, 'operation_started')
  for (const e of seen) {
    assert.equal(e.operation_id, 'op-node-exec')
    assert.deepEqual(Object.keys(e), eventShapes.get(e.type), `event ${e.type} has the vector's keys`)
  }
  for (const type of ['job_queued', 'paused', 'resumed', 'job_succeeded', 'job_failed', 'finished']) {
    assert.ok(seen.some((e) => e.type === type), type)
  }
  const nonProgress = (list) => list.filter((e) => e.type !== 'progress').map((e) => e.seq)
  assert.deepEqual(nonProgress(streamed), nonProgress(seen))
  assert.equal(seen.find((e) => e.type === 'finished').failed, 1)

  await assertCode(() => executor.finish(), 'SHOPIFY_INVALID_INPUT', /already/)
  await assertCode(() => executor.submit(TAGS, { id: ids[0], tags: ['late'] }), 'SHOPIFY_INVALID_INPUT', /finish\(\) was called/)
})

test('bad documents and options are SHOPIFY_INVALID_INPUT before anything is queued', async () => {
  await assertCode(() => new Executor(client, { nope: 1 }), 'SHOPIFY_INVALID_INPUT', /nope/)
  await assertCode(() => new Executor(client, { config: { minWorkers: 0 } }), 'SHOPIFY_INVALID_INPUT', /MIN_WORKERS/)
  await assertCode(() => new Executor(client, { config: { workers: 3 } }), 'SHOPIFY_INVALID_INPUT', /workers/)
  const executor = new Executor(client)
  await assertCode(() => executor.submit('query { nope }'), 'SHOPIFY_INVALID_INPUT', /nope/)
  await assertCode(() => executor.submit(TAGS, { id: ids[0], tags: ['a'] }, { priority: 'high' }), 'SHOPIFY_INVALID_INPUT', /submit options/)
  await assertCode(() => executor.submit(TAGS, { id: ids[0], tags: ['a'] }, { maxAttempts: 0 }), 'SHOPIFY_INVALID_INPUT', /maxAttempts/)
  await assertCode(() => executor.submit(TAGS, [1, 2]), 'SHOPIFY_INVALID_INPUT', /variables must be a JSON object/)
  const report = await executor.finish()
  assert.equal(report.summary.total, 0)
})

test('cancel(): the queued jobs are reported cancelled, not done, and never run', async () => {
  const executor = new Executor(client)
  executor.pause()
  const jobs = []
  for (const id of ids.slice(3)) jobs.push((await executor.submit(TAGS, { id, tags: ['exec-cancelled'] })).job_id)
  const later = executor.events()
  executor.cancel()
  const report = await executor.finish()
  assert.equal(report.summary.cancel, 'graceful')
  assert.equal(report.summary.succeeded, 0)
  assert.deepEqual(report.summary.cancelled, { done: 0, not_done: 3, unknown: 0 })
  assert.deepEqual(report.cancelled.map((r) => r.job_id).sort(), jobs.sort())
  for (const r of report.cancelled) {
    assert.equal(r.effect, 'not_done')
    assert.equal(r.attempts, 0)
  }
  assert.deepEqual(report.responses, {})
  for (const id of ids.slice(3)) assert.ok(!(await tagsOf(id)).includes('exec-cancelled'))
  // An iterator made after the first submit sees the events from then on.
  const types = []
  for await (const e of later) types.push(e.type)
  assert.equal(types.at(-1), 'finished')
  assert.ok(types.includes('job_cancelled') && !types.includes('operation_started'), types.join(','))
})

test('finish({ signal }): an abort cancels the queued jobs and rejects with SHOPIFY_CANCELLED', async () => {
  const executor = new Executor(client)
  executor.pause()
  for (const id of ids.slice(0, 2)) await executor.submit(TAGS, { id, tags: ['exec-aborted'] })
  const controller = new AbortController()
  // Paused: finish() waits until the signal fires.
  const finished = executor.finish({ signal: controller.signal })
  controller.abort()
  await assertCode(() => finished, 'SHOPIFY_CANCELLED')
  const progress = executor.progress()
  assert.equal(progress.cancelled, 2)
  assert.equal(progress.done, 0)
  for (const id of ids.slice(0, 2)) assert.ok(!(await tagsOf(id)).includes('exec-aborted'))

  const second = new Executor(client)
  second.pause()
  await second.submit(TAGS, { id: ids[5], tags: ['exec-pre-aborted'] })
  await assertCode(() => second.finish({ signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
})
