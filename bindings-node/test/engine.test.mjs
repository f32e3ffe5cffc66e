// SyncEngine against the simulator over real HTTP: pull, plan from local records,
// review in the store, apply with progress (callback and async iterator), statuses,
// abort.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ChangeStore,
  ShopifyClient,
  Simulator,
  SyncEngine,
  productSnapshot,
  computeStatus,
} from 'shopify-sync'
import { loadVectors, assertCode } from './helpers.mjs'

const eventShapes = new Map(loadVectors('events.json').cases.map((c) => [c.event.type, Object.keys(c.event)]))

async function setup(options = {}) {
  const sim = await Simulator.start({ products: 12, collections: 2, seed: 3, ...options })
  const client = new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
  return { sim, client }
}

/** The merchant's records: Shopify's products as they are, keyed by a local id. */
async function localRecords(client) {
  const records = []
  for await (const p of client.products()) {
    records.push({ local_id: `sku-${records.length}`, shopify_id: p.id, snapshot: productSnapshot(p) })
  }
  return records
}

test('pull, plan, approve, apply with onEvent, statuses: a merchant edits two titles', async () => {
  const { sim, client } = await setup()
  const dir = mkdtempSync(join(tmpdir(), 'shopify-sync-node-'))
  try {
    const store = ChangeStore.open(join(dir, 'sync.db'))
    const engine = new SyncEngine(client, store, { actor: 'node-test' })
    const pulled = await engine.pull({ mode: 'paginated' })
    assert.equal(pulled.products, 12)
    assert.equal(pulled.mode, 'paginated')
    assert.equal(pulled.incremental, false)
    assert.equal(typeof pulled.elapsed_ms, 'number')

    const local = await localRecords(client)
    const mask = ['title', 'vendor', 'tags']
    // Adopting the engine on a catalog in sync: the local records become the base.
    assert.equal(await engine.baseline({ products: local }, { mask }), 12)
    const unchanged = await engine.plan({ products: local }, { mask })
    assert.equal(unchanged.changes.length, 0)
    assert.ok((await engine.statuses(local, { mask })).every((s) => s.state === 'synced'))

    local[0].snapshot.title = 'Edited locally 0'
    local[1].snapshot.title = 'Edited locally 1'
    const plan = await engine.plan({ products: local }, { mask })
    assert.equal(plan.changes.length, 2)
    assert.ok(plan.changes.every((c) => c.state === 'staged' && c.operation === 'update'))
    assert.equal((await store.plan(plan.id)).id, plan.id)

    const before = await engine.statuses(local.slice(0, 3), { mask })
    assert.deepEqual(before.map((s) => s.state).slice(0, 2), ['pending', 'pending'])

    const review = await store.approve({ plan_id: plan.id }, { actor: 'ana', comment: 'ok' })
    assert.equal(review.changed.length, 2)

    const events = []
    const report = await engine.apply({ plan_id: plan.id }, { onEvent: (e) => events.push(e), operationId: 'op-node-1' })
    assert.equal(report.applied, 2)
    assert.equal(report.failed, 0)
    assert.equal(report.operation_id, 'op-node-1')
    // Every event reached the callback before the promise settled.
    assert.equal(events[0].type, 'operation_started')
    assert.equal(events.at(-1).type, 'finished')
    for (let i = 1; i < events.length; i++) assert.ok(events[i].seq > events[i - 1].seq)
    for (const e of events) {
      assert.equal(e.operation_id, 'op-node-1')
      assert.deepEqual(Object.keys(e), eventShapes.get(e.type), `event ${e.type} has the vector's keys`)
    }

    // Shopify has the titles; the status column says synced.
    assert.equal((await client.product(local[0].shopify_id)).title, 'Edited locally 0')
    const after = await engine.statuses(local, { mask })
    assert.equal(after.length, 12)
    assert.equal(after[0].state, 'synced')
    assert.equal(after[1].state, 'synced')
    const changes = await store.changes({ plan_id: plan.id })
    assert.deepEqual(changes.map((c) => c.state), ['applied', 'applied'])
    const audit = await store.exportAuditJsonl({ plan_id: plan.id })
    assert.ok(audit.split('\n').filter(Boolean).length >= 6)
    assert.match(audit, /"ana"/)
  } finally {
    await sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('applyEvents: the same events as an async iterator, then the report', async () => {
  const { sim, client } = await setup()
  try {
    const store = ChangeStore.memory()
    const engine = new SyncEngine(client, store)
    await engine.pull()
    const local = await localRecords(client)
    assert.equal(await engine.baseline({ products: local }, { mask: ['tags'] }), 12)
    local[2].snapshot.tags = ['node', 'async']
    const plan = await engine.plan({ products: local }, { mask: ['tags'] })
    assert.equal(plan.changes.length, 1)
    await store.approve(null, { actor: 'bo' })
    const run = engine.applyEvents({ plan_id: plan.id })
    const types = []
    for await (const e of run) types.push(e.type)
    assert.equal(types[0], 'operation_started')
    assert.equal(types.at(-1), 'finished')
    assert.ok(types.includes('job_succeeded'))
    const report = await run.report()
    assert.equal(report.applied, 1)
    await assertCode(() => run.report(), 'SHOPIFY_INVALID_INPUT', /already/)
    const statuses = await engine.statuses(local, { mask: ['tags'] })
    assert.equal(statuses[2].state, 'synced')
    // The engine's answers are computeStatus's answers.
    assert.deepEqual(computeStatus({ shopify_id: local[2].shopify_id, local_fingerprint: null }).state, 'assumed_synced')
  } finally {
    await sim.stop()
  }
})

test('engine: bad input is SHOPIFY_INVALID_INPUT; an aborted pull is SHOPIFY_CANCELLED', async () => {
  const { sim, client } = await setup({ products: 400, bucketSize: 60, restoreRate: 5 })
  try {
    const store = ChangeStore.memory()
    await assertCode(() => new SyncEngine(client, store, { nope: true }), 'SHOPIFY_INVALID_INPUT', /nope/)
    // The executor options are read as `new Executor(client, { config })` reads them.
    await assertCode(() => new SyncEngine(client, store, { executor: { minWorkers: 3, maxWorkers: 2 } }), 'SHOPIFY_INVALID_INPUT', /MAX_WORKERS/)
    await assertCode(() => new SyncEngine(client, store, { executor: { workers: 2 } }), 'SHOPIFY_INVALID_INPUT', /workers/)
    await assertCode(() => new SyncEngine(client, store, { writeMode: 'fast' }), 'SHOPIFY_INVALID_INPUT', /writeMode/)
    assert.ok(new SyncEngine(client, store, { writeMode: 'direct', bulkWriteThreshold: 10, executor: { maxWorkers: 4 } }))
    const engine = new SyncEngine(client, store)
    await assertCode(() => engine.pull({ mode: 'fast' }), 'SHOPIFY_INVALID_INPUT', /paginated/)
    await assertCode(() => engine.plan({ products: [{ snapshot: {} }] }), 'SHOPIFY_INVALID_INPUT', /local_id or a shopify_id/)
    await assertCode(() => engine.plan({ products: [], productScope: 'some' }), 'SHOPIFY_INVALID_INPUT', /productScope/)
    await assertCode(() => engine.statuses([{ local_id: '1', snapshot: { nope: 1 } }]), 'SHOPIFY_INVALID_INPUT')
    await assertCode(() => store.approve({ plan_id: 'x', bogus: 1 }, { actor: 'a' }), 'SHOPIFY_INVALID_INPUT')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    const started = Date.now()
    await assertCode(() => engine.pull({ mode: 'paginated', signal: controller.signal }), 'SHOPIFY_CANCELLED')
    assert.ok(Date.now() - started < 5000)
    await assertCode(() => engine.pull({ signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
  } finally {
    await sim.stop()
  }
})

test('an aborted apply is graceful: running writes are recorded, the rest stays approved', async () => {
  // One write per job: the abort comes while most jobs are still queued.
  const { sim, client } = await setup({ products: 30 })
  try {
    const store = ChangeStore.memory()
    const engine = new SyncEngine(client, store, { guardBatch: 1 })
    await engine.pull()
    const local = await localRecords(client)
    const mask = ['title']
    assert.equal(await engine.baseline({ products: local }, { mask }), 30)
    for (const [i, r] of local.entries()) r.snapshot.title = `Aborted apply ${i}`
    const plan = await engine.plan({ products: local }, { mask })
    assert.equal(plan.changes.length, 30)
    await store.approve({ plan_id: plan.id }, { actor: 'ana' })

    const controller = new AbortController()
    const events = []
    const e = await assertCode(
      () =>
        engine.apply(
          { plan_id: plan.id },
          {
            signal: controller.signal,
            onEvent: (ev) => {
              events.push(ev)
              if (ev.type === 'job_succeeded') controller.abort()
            },
          },
        ),
      'SHOPIFY_CANCELLED',
      /writes it had started are recorded/,
    )
    assert.equal(e.retryable, false)
    // The promise settled after the executor finished: its last event came first.
    assert.ok(events.some((ev) => ev.type === 'job_succeeded'))
    assert.ok(['cancelled', 'finished'].includes(events.at(-1).type), events.at(-1).type)
    const states = (await store.changes({ plan_id: plan.id })).map((c) => c.state)
    const count = (s) => states.filter((x) => x === s).length
    assert.equal(count('applying'), 0, 'no change is left applying')
    assert.equal(count('applied') + count('approved'), 30, states.join(','))
    assert.ok(count('applied') >= 1)
    assert.ok(count('approved') >= 1, 'the abort stopped the apply midway')
    // Shopify has exactly the applied titles.
    for (const c of await store.changes({ plan_id: plan.id })) {
      const title = (await client.product(c.target.shopify_id)).title
      assert.equal(title.startsWith('Aborted apply'), c.state === 'applied', `${c.target.shopify_id}: ${title}`)
    }
    // A later apply finishes the job; an already aborted signal starts nothing.
    await assertCode(() => engine.apply(null, { signal: AbortSignal.abort() }), 'SHOPIFY_CANCELLED')
    assert.equal(count('approved'), (await store.changes({ states: ['approved'] })).length)
    const rest = await engine.apply({ plan_id: plan.id })
    assert.equal(rest.applied, count('approved'))
    assert.deepEqual(new Set((await store.changes({ plan_id: plan.id })).map((c) => c.state)), new Set(['applied']))
  } finally {
    await sim.stop()
  }
})

test('applyEvents with an aborted signal: report() rejects once the running writes are recorded', async () => {
  const { sim, client } = await setup({ products: 20 })
  try {
    const store = ChangeStore.memory()
    const engine = new SyncEngine(client, store, { guardBatch: 1 })
    await engine.pull()
    const local = await localRecords(client)
    await engine.baseline({ products: local }, { mask: ['vendor'] })
    for (const r of local) r.snapshot.vendor = 'Aborted vendor'
    const plan = await engine.plan({ products: local }, { mask: ['vendor'] })
    await store.approve(null, { actor: 'bo' })
    const controller = new AbortController()
    const run = engine.applyEvents({ plan_id: plan.id }, { signal: controller.signal })
    for await (const ev of run) if (ev.type === 'job_succeeded') controller.abort()
    await assertCode(() => run.report(), 'SHOPIFY_CANCELLED')
    const states = (await store.changes({ plan_id: plan.id })).map((c) => c.state)
    assert.ok(!states.includes('applying'))
    assert.equal(states.filter((s) => s === 'applied' || s === 'approved').length, plan.changes.length)
  } finally {
    await sim.stop()
  }
})

test('pull reports its progress through onProgress, before the promise settles', async () => {
  const { sim, client } = await setup({ products: 230 })
  try {
    const engine = new SyncEngine(client, ChangeStore.memory())
    const seen = []
    const report = await engine.pull({ mode: 'paginated', onProgress: (p) => seen.push(p) })
    assert.deepEqual(
      seen.map((p) => p.stage),
      ['collections', 'membership', 'products', 'products', 'products', 'reconciled', 'done'],
    )
    assert.deepEqual(seen.slice(2, 5).map((p) => p.products), [100, 200, 230])
    assert.ok(seen.every((p) => p.total_products === 230 && p.incremental === false))
    const done = seen.at(-1)
    assert.equal(done.products, report.products)
    assert.equal(done.collections, report.collections)
    assert.equal(typeof done.elapsed_ms, 'number')

    seen.length = 0
    await engine.pull({ incremental: true, onProgress: (p) => seen.push(p) })
    assert.equal(seen.at(-1).stage, 'done')
    assert.ok(seen.every((p) => p.incremental === true && p.total_products === null))
    await assertCode(() => engine.pull({ onProgress: 42 }), 'SHOPIFY_INVALID_INPUT', /onProgress/)
  } finally {
    await sim.stop()
  }
})
