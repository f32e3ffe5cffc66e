// Gradual adoption in TypeScript tooling: fill the dashboard's status column for a list
// of products, then run a pull and an apply and print their progress, then your own
// mutations through the executor.
//
// It talks to an in-process simulator unless SHOPIFY_SHOP (or SHOPIFY_ENDPOINT) and
// SHOPIFY_ACCESS_TOKEN point at a real store. Compiled by `npm test` (tsc --noEmit).
import {
  ChangeStore,
  Executor,
  ShopifyClient,
  ShopifySyncError,
  Simulator,
  SyncEngine,
  computeStatuses,
  fingerprintProduct,
  planSummary,
  productSnapshot,
  type ExecutorEvent,
  type Field,
  type LocalRecord,
  type StatusInput,
  type SyncStatus,
} from 'shopify-sync'

/** A row of the existing product table (Postgres, say). */
interface ProductRow {
  id: number
  shopify_product_id: string | null
  shopify_sync_status: string | null
  title: string
  price: string
}

/** Step 1, no engine at all: the status column from what the table already knows. */
function statusColumn(rows: ProductRow[]): SyncStatus[] {
  const inputs: StatusInput[] = rows.map((row) => ({
    shopify_id: row.shopify_product_id,
    local_fingerprint: fingerprintProduct({ title: row.title, variants: [{ price: row.price }] }),
    legacy_status: row.shopify_sync_status,
  }))
  return computeStatuses(inputs)
}

function printEvent(event: ExecutorEvent): void {
  switch (event.type) {
    case 'progress':
      console.log(`  ${event.done}/${event.total} done, ${event.failed} failed, eta ${event.eta_ms ?? '?'} ms`)
      break
    case 'job_failed':
      console.log(`  ${event.key}: ${event.error.kind}: ${event.error.message}`)
      break
    case 'finished':
      console.log(`  finished: ${event.succeeded} succeeded, ${event.failed} failed in ${event.elapsed_ms} ms`)
      break
    default:
      break
  }
}

async function main(): Promise<void> {
  const rows: ProductRow[] = [
    { id: 1, shopify_product_id: null, shopify_sync_status: null, title: 'New tee', price: '19.99' },
    { id: 2, shopify_product_id: 'gid://shopify/Product/2', shopify_sync_status: 'in sync', title: 'Old tee', price: '9' },
    { id: 3, shopify_product_id: '3', shopify_sync_status: 'failed', title: 'Mug', price: '7.50' },
  ]
  statusColumn(rows).forEach((s, i) => console.log(`row ${rows[i].id}: ${s.state} (${s.reason})`))

  // Step 2: the engine. A real store when configured, else the simulator.
  const real = Boolean(process.env.SHOPIFY_ACCESS_TOKEN)
  const sim = real ? null : await Simulator.start({ products: 50 })
  try {
    const client = sim
      ? new ShopifyClient({ endpoint: sim.endpoint, accessToken: sim.accessToken })
      : ShopifyClient.fromEnv()
    const store = ChangeStore.memory()
    const engine = new SyncEngine(client, store, { actor: 'dashboard' })

    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), 120_000)
    const pulled = await engine.pull({
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'products') console.log(`  pulled ${p.products}/${p.total_products ?? '?'} products`)
      },
    })
    clearTimeout(timer)
    console.log(`pulled ${pulled.products} products, ${pulled.collections} collections in ${pulled.elapsed_ms} ms`)

    const mask: Field[] = ['title', 'tags']
    const local: LocalRecord[] = []
    for await (const product of client.products()) {
      local.push({ local_id: `row-${local.length}`, shopify_id: product.id, snapshot: productSnapshot(product) })
      if (local.length === 5) break
    }
    await engine.baseline({ products: local }, { mask })
    local[0].snapshot.title = `${local[0].snapshot.title} (edited)`

    const plan = await engine.plan({ products: local }, { mask })
    const summary = planSummary(plan)
    console.log(`plan ${plan.id}: ${summary.changes} changes, ${summary.conflicts} conflicts`)
    await store.approve({ plan_id: plan.id }, { actor: 'ana' })
    const report = await engine.apply({ plan_id: plan.id }, { onEvent: printEvent })
    console.log(`applied ${report.applied}, stale ${report.stale}, failed ${report.failed}`)

    const statuses = await engine.statuses(local, { mask })
    console.log(statuses.map((s) => s.state).join(', '))

    // Step 3: your own GraphQL documents on the same executor, budget and events.
    const executor = new Executor(client, { config: { maxWorkers: 4 }, onEvent: printEvent })
    const TAG = 'mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }'
    for (const r of local) await executor.submit(TAG, { id: r.shopify_id, tags: ['dashboard'] }, { key: `tag:${r.shopify_id}` })
    const tagged = await executor.finish()
    for (const job of tagged.failed) console.log(`job ${job.job_id} failed (${job.effect}): ${job.error?.code}`)
  } catch (e) {
    if (e instanceof ShopifySyncError && e.code === 'SHOPIFY_NOT_CONFIGURED') {
      console.error(`not configured: ${e.message}`)
      process.exitCode = 2
      return
    }
    throw e
  } finally {
    await sim?.stop()
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
