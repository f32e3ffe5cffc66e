// Review against the simulator over real HTTP: conflicts resolved (take local, remote,
// a value), approved and applied; the audit trail queried by change and by plan; plan
// summaries, review rows and plan files (round trip, refusals); snapshots and
// checkpoints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ChangeStore,
  ShopifyClient,
  Simulator,
  SyncEngine,
  planFromFileJson,
  planReviewRows,
  planSummary,
  planToFileJson,
  productSnapshot,
  readPlanFile,
  writePlanFile,
} from 'shopify-sync'
import { assertCode } from './helpers.mjs'

const MASK = ['title', 'vendor']

/** A shop whose first three products were edited on both sides since the baseline. */
async function conflicted() {
  const sim = await Simulator.start({ products: 6, collections: 0, seed: 11 })
  const client = new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
  const store = ChangeStore.memory()
  const engine = new SyncEngine(client, store, { actor: 'node-review' })
  await engine.pull({ mode: 'paginated' })
  const local = []
  for await (const p of client.products()) {
    local.push({ local_id: `sku-${local.length}`, shopify_id: p.id, snapshot: productSnapshot(p) })
  }
  assert.equal(await engine.baseline({ products: local }, { mask: MASK }), 6)
  for (const i of [0, 1, 2]) {
    local[i].snapshot.title = `Local ${i}`
    sim.editProduct(Number(local[i].shopify_id.split('/').pop()), { title: `Remote ${i}` })
  }
  await engine.pull({ mode: 'paginated' })
  const plan = await engine.plan({ products: local }, { mask: MASK })
  return { sim, client, store, engine, local, plan }
}

test('conflicts: resolved with take local, remote and a value, then approved and applied; the audit trail', async () => {
  const { sim, client, store, engine, local, plan } = await conflicted()
  try {
    assert.equal(plan.changes.length, 3)
    const summary = planSummary(plan)
    assert.equal(summary.changes, 3)
    assert.equal(summary.conflicts, 3)
    assert.equal(summary.by_state.staged, 3)
    const rows = planReviewRows(plan)
    assert.equal(rows.length, 3)
    for (const [i, row] of rows.entries()) {
      assert.equal(row.change_id, plan.changes[i].id)
      assert.equal(row.target.shopify_id, local[i].shopify_id)
      assert.equal(row.kind, 'conflict')
      assert.equal(row.path, 'title')
      assert.equal(row.local, `Local ${i}`)
      assert.equal(row.remote, `Remote ${i}`)
      assert.equal(row.state, 'staged')
    }

    // A conflict is not approved until it is resolved.
    const blocked = await store.approve({ plan_id: plan.id }, { actor: 'ana' })
    assert.deepEqual(blocked.changed, [])
    assert.equal(blocked.skipped.length, 3)

    const [c0, c1, c2] = plan.changes.map((c) => c.id)
    const r0 = await store.resolve(c0, 'local', { actor: 'ana', comment: 'ours' })
    assert.equal(r0.rows[0].resolution.take, 'local')
    await store.resolve(c1, 'remote', { actor: 'ana' })
    await assertCode(() => store.resolve(c2, 'value', { actor: 'ana' }), 'SHOPIFY_INVALID_INPUT', /needs a value/)
    await assertCode(() => store.resolve(c2, 'mine', { actor: 'ana' }), 'SHOPIFY_INVALID_INPUT', /take/)
    const r2 = await store.resolve(c2, 'value', { path: 'title', value: 'Chosen 2', actor: 'ana' })
    assert.equal(r2.rows[0].resolution.value, 'Chosen 2')
    await assertCode(() => store.resolve(c2, 'local', { actor: 'ana' }), 'SHOPIFY_INVALID_INPUT', /no unresolved conflict/)
    assert.equal(planSummary(await store.plan(plan.id)).conflicts, 0)

    const review = await store.approve({ plan_id: plan.id }, { actor: 'bo', comment: 'resolved' })
    assert.deepEqual(review.skipped, [])
    assert.deepEqual([...review.changed].sort(), [c0, c1, c2].sort())
    assert.deepEqual(await store.inFlight(), [])
    const report = await engine.apply({ plan_id: plan.id })
    assert.equal(report.failed, 0)
    const titles = await Promise.all([0, 1, 2].map(async (i) => (await client.product(local[i].shopify_id)).title))
    assert.deepEqual(titles, ['Local 0', 'Remote 1', 'Chosen 2'])
    assert.equal((await store.change(c0)).state, 'applied')
    assert.equal(await store.change('chg-nope'), null)

    // The audit trail of one change: planned, resolved, approved, then the apply.
    const trail = await store.audit({ change_id: c0 })
    assert.deepEqual(trail.slice(0, 3).map((e) => e.action), ['planned', 'resolved', 'approved'])
    assert.ok(trail.every((e) => e.change_id === c0 && e.plan_id === plan.id))
    assert.equal(trail[1].actor, 'ana')
    assert.equal(trail[1].comment, 'ours')
    assert.equal(trail[2].actor, 'bo')
    assert.equal(trail.at(-1).action, 'applied')
    for (let i = 1; i < trail.length; i++) assert.ok(trail[i].seq > trail[i - 1].seq)
    // By plan: every change's entries; paging with after_seq and limit.
    const all = await store.audit({ plan_id: plan.id })
    assert.deepEqual(new Set(all.map((e) => e.change_id)), new Set([c0, c1, c2]))
    assert.equal(all.filter((e) => e.action === 'resolved').length, 3)
    const page = await store.audit({ plan_id: plan.id, after_seq: all[0].seq, limit: 2 })
    assert.deepEqual(page.map((e) => e.seq), all.slice(1, 3).map((e) => e.seq))
    await assertCode(() => store.audit({ planId: plan.id }), 'SHOPIFY_INVALID_INPUT', /planId/)
  } finally {
    await sim.stop()
  }
})

test('plan files: a round trip through text and a file, saved in another store; damaged, edited, foreign and newer files refused', async () => {
  const { sim, plan } = await conflicted()
  const dir = mkdtempSync(join(tmpdir(), 'shopify-sync-plan-'))
  try {
    const text = planToFileJson(plan)
    const file = JSON.parse(text)
    assert.equal(file.format, 'shopify-sync-plan')
    assert.equal(file.version, 1)
    assert.match(file.digest, /^sha256:[0-9a-f]{64}$/)
    assert.deepEqual(planFromFileJson(text), plan)

    const path = join(dir, 'plan.json')
    writePlanFile(plan, path)
    const read = readPlanFile(path)
    assert.deepEqual(read, plan)

    // Another store (a reviewer's machine) takes the plan and reviews it there.
    const other = ChangeStore.memory()
    const saved = await other.savePlan(read, { actor: 'carol', comment: 'from the file' })
    assert.deepEqual(saved, { plan_id: plan.id, changes: 3, superseded: [] })
    assert.deepEqual((await other.plan(plan.id)).changes.map((c) => c.id), plan.changes.map((c) => c.id))
    const planned = await other.audit({ plan_id: plan.id })
    assert.deepEqual(planned.map((e) => [e.action, e.actor]), plan.changes.map(() => ['planned', 'carol']))
    await assertCode(() => other.savePlan(read, { actor: 'carol' }), 'SHOPIFY_INVALID_INPUT')

    // Edited: the digest no longer matches.
    const edited = JSON.parse(text)
    edited.plan.changes[0].rows[0].local = 'Sneaked in'
    writeFileSync(path, JSON.stringify(edited))
    await assertCode(() => readPlanFile(path), 'SHOPIFY_INVALID_INPUT', /damaged or was edited/)
    // Damaged: cut short.
    writeFileSync(path, text.slice(0, text.length / 2))
    await assertCode(() => readPlanFile(path), 'SHOPIFY_INVALID_INPUT', /not valid JSON/)
    await assertCode(() => planFromFileJson(JSON.stringify({ format: 'something-else', version: 1 })), 'SHOPIFY_INVALID_INPUT', /not a plan file/)
    await assertCode(() => planFromFileJson(JSON.stringify({ ...file, version: 2 })), 'SHOPIFY_INVALID_INPUT', /newer version/)
    const shape = JSON.parse(text)
    shape.plan.changes[0].state = 'bogus'
    const e = await assertCode(() => planFromFileJson(JSON.stringify(shape)), 'SHOPIFY_INVALID_INPUT')
    assert.equal(e.jsonPath, 'plan.changes[0].state')
    await assertCode(() => readPlanFile(join(dir, 'missing.json')), 'SHOPIFY_INVALID_INPUT', /cannot read plan file/)
    assert.equal(readFileSync(path, 'utf8').length < text.length, true)
  } finally {
    await sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('snapshots by side and checkpoints', async () => {
  const { sim, store, local } = await conflicted()
  try {
    const remote = await store.snapshots('remote')
    assert.deepEqual(Object.keys(remote).sort(), local.map((r) => r.shopify_id).sort())
    assert.equal(remote[local[0].shopify_id].snapshot.title, 'Remote 0')
    assert.deepEqual(remote[local[3].shopify_id], await store.snapshot('remote', local[3].shopify_id))
    const base = await store.snapshots('base')
    assert.equal(base[local[0].shopify_id].local_id, 'sku-0')
    await assertCode(() => store.snapshots('left'), 'SHOPIFY_INVALID_INPUT', /side/)

    assert.match(await store.checkpoint('sync.full_pull.at'), /^\d{4}-\d{2}-\d{2}T/)
    assert.equal(await store.checkpoint('my.cursor'), null)
    await store.setCheckpoint('my.cursor', 'page-7')
    assert.equal(await store.checkpoint('my.cursor'), 'page-7')
  } finally {
    await sim.stop()
  }
})
