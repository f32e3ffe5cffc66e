// computeStatuses through the binding: a batch built by the bench as plain objects (the
// rows of a product table), conversion in and out included. Target: >= 1 million
// products per second. Also the per-call overhead of a single computeStatus.
//
//   npm run build:release && node bench/status.mjs [products]
import { computeStatus, computeStatuses } from 'shopify-sync'

const N = Number(process.argv[2] ?? 1_000_000)
const hex = (i) => i.toString(16).padStart(64, '0')
const legacy = [null, 'in sync', 'failed', 'queued', 'modified', '']

function row(i) {
  const f = hex(i % 97)
  switch (i % 6) {
    case 0:
      return { shopify_id: null, changes: { staged: i % 2 } }
    case 1:
      return { shopify_id: `gid://shopify/Product/${i + 1}`, local_fingerprint: `v1:${f}`, base_fingerprint: `v1:${f}`, remote_fingerprint: `v1:${f}` }
    case 2:
      return { shopify_id: `gid://shopify/Product/${i + 1}`, local_fingerprint: `v1:${hex(i % 89)}`, base_fingerprint: `v1:${f}`, remote_fingerprint: `v1:${f}` }
    case 3:
      return { shopify_id: String(i + 1), legacy_status: legacy[i % legacy.length] }
    case 4:
      return { shopify_id: i + 1, changes: { failed: 1 }, last_error: 'price: must be positive' }
    default:
      return { shopify_id: `gid://shopify/Product/${i + 1}`, remote_deleted: i % 12 === 5 }
  }
}

const inputs = Array.from({ length: N }, (_, i) => row(i))

function time(label, fn, runs = 5) {
  fn() // warm up
  const times = []
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint()
    fn()
    times.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  times.sort((a, b) => a - b)
  return { label, best: times[0], median: times[Math.floor(times.length / 2)] }
}

const batch = time('computeStatuses', () => {
  const out = computeStatuses(inputs)
  if (out.length !== N) throw new Error('length')
})
console.log(
  `computeStatuses, ${N} products (objects in, objects out): best ${batch.best.toFixed(3)} s = ${(N / batch.best / 1e6).toFixed(2)} M/s, median ${(N / batch.median / 1e6).toFixed(2)} M/s`,
)

const M = 200_000
const few = inputs.slice(0, M)
const single = time('computeStatus', () => {
  for (let i = 0; i < M; i++) computeStatus(few[i])
})
console.log(
  `computeStatus, one call per product: best ${((single.best / M) * 1e9).toFixed(0)} ns per call = ${(M / single.best / 1e6).toFixed(2)} M/s`,
)
const empty = time('computeStatus({})', () => {
  const e = {}
  for (let i = 0; i < M; i++) computeStatus(e)
})
console.log(`computeStatus({}), per-call overhead floor: best ${((empty.best / M) * 1e9).toFixed(0)} ns per call`)
