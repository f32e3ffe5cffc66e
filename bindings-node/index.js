'use strict'
// The CommonJS entry of shopify-sync: the native module (loaded by the napi-rs loader in
// native.js, which picks the prebuilt binary of this platform) plus the few things that
// live in JS: the ShopifySyncError class and `Symbol.asyncIterator` on the stream
// classes (a native `next()` / `close()` pair underneath).

const native = require('./native.js')
const { ShopifySyncError } = require('./errors.js')

native._setErrorClass(ShopifySyncError)

for (const Stream of [native.ProductStream, native.CollectionStream, native.IdStream, native.ApplyRun]) {
  Object.defineProperty(Stream.prototype, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: async function* iterate() {
      try {
        for (;;) {
          const item = await this.next()
          if (item === null) return
          yield item
        }
      } finally {
        this.close()
      }
    },
  })
}

module.exports = { ...native, ShopifySyncError }
