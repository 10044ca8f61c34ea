'use strict'
// What require('lakelink')'s App and require('lakelink/wasm')'s share
// without the native library: the app's URL, how an App shows, and how
// fetch's failure reads for the core's diagnosis. Where a request goes,
// and whether the token may go there, is the core's to say.

const util = require('node:util')

/**
 * An App's URL; lib/apps.js and wasm/index.js add fetch and token. The URL
 * is kept as given: the core checks it, and where each request may go, on
 * every request.
 */
class AppBase {
  constructor (url) {
    if (typeof url !== 'string') {
      throw new TypeError(`lakelink: App needs the app's URL (https://...) as a string, not ${util.inspect(url)}`)
    }
    /** The app's base URL, as given. */
    this.url = url
  }

  [util.inspect.custom] () {
    return this.toString()
  }

  /** "App <url>", without a user name, password or query the URL may wrongly carry. */
  toString () {
    const shown = this.url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/\?[^#]*/, '?[REDACTED]')
    return `App <${shown}>`
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
