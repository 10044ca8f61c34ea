'use strict'
// What require('lakelink')'s App and require('lakelink/wasm')'s share
// without the native library: the app's URL, resolving a path against it,
// how an App shows, and how fetch's failure reads for the core's diagnosis.

const util = require('node:util')

/** An App's URL and what follows from it; lib/apps.js and wasm/index.js add fetch and token. */
class AppBase {
  constructor (url) {
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) {
      throw new TypeError(`lakelink: App needs the app's URL (https://...), not ${util.inspect(url)}`)
    }
    /** The app's base URL, without a trailing slash. */
    this.url = url.replace(/\/+$/, '')
  }

  /** An absolute URL for path (relative to the app's URL, or absolute). */
  resolve (path) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path
    return this.url + (path.startsWith('/') ? '' : '/') + path
  }

  [util.inspect.custom] () {
    return `App <${this.url}>`
  }

  toString () {
    return `App <${this.url}>`
  }
}

/**
 * How fetch's failure reads for the core ("CODE: text"): undici rejects
 * with TypeError('fetch failed') whose cause has the code (ECONNREFUSED,
 * ENOTFOUND, UND_ERR_CONNECT_TIMEOUT, a certificate's code...).
 */
function networkText (e) {
  const cause = e?.cause ?? e
  const text = cause?.message || e?.message || String(e)
  return cause?.code ? `${cause.code}: ${text}` : text
}

module.exports = { AppBase, networkText }
