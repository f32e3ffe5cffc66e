// Pulling 10,000 products from the in-process simulator through the binding, against the
// same pull in Rust (benches/benches/client.rs `pull_10k`: 10.8 s at 2,000 / 100 in
// benches/README.md). Default simulator and client, products read with `for await`.
//
//   npm run build:release && node bench/pull.mjs [products]
import { ShopifyClient, Simulator, ChangeStore, SyncEngine } from 'shopify-sync'

const N = Number(process.argv[2] ?? 10_000)
const sim = await Simulator.start({ products: N, collections: 57 })
try {
  const client = new ShopifyClient({ endpoint: sim.endpoint, shop: sim.shop, accessToken: sim.accessToken })
  let started = process.hrtime.bigint()
  let n = 0
  let variants = 0
  for await (const p of client.products()) {
    n++
    variants += p.variants.length
  }
  let elapsed = Number(process.hrtime.bigint() - started) / 1e9
  const s = sim.stats()
  console.log(`client.products(): ${n} products (${variants} variants) in ${elapsed.toFixed(1)} s (${Math.round((n / elapsed) * 60)} products/min)`)
  console.log(`  ${s.requests} requests, ${s.throttled} THROTTLED, cost requested ${s.costRequested} actual ${s.costActual}`)

  // The same catalog through the sync engine (pull into a memory store), paginated.
  const again = await Simulator.start({ products: N, collections: 57 })
  try {
    const c = new ShopifyClient({ endpoint: again.endpoint, accessToken: again.accessToken })
    const engine = new SyncEngine(c, ChangeStore.memory())
    started = process.hrtime.bigint()
    const report = await engine.pull({ mode: 'paginated' })
    elapsed = Number(process.hrtime.bigint() - started) / 1e9
    console.log(`engine.pull({ mode: 'paginated' }): ${report.products} products, ${report.collections} collections in ${elapsed.toFixed(1)} s`)
  } finally {
    await again.stop()
  }
} finally {
  await sim.stop()
}
