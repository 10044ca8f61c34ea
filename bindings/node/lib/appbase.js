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
    const problem = originProblem(url)
    if (problem) throw new TypeError(`lakelink: ${problem}`)
    /** The app's base URL, without a trailing slash. */
    this.url = url.replace(/\/$/, '')
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
 * Why url is not an app's base URL (scheme://host[:port]), in the words of
 * the core's apps.parseBaseURL, which fetch would otherwise fail with for
 * every request; '' when it is one. The URL is shown without a user name,
 * password or query.
 */
function originProblem (url) {
  let u
  try {
    u = new URL(url)
  } catch (e) {
    return `app URL ${JSON.stringify(url.replace(/^(\w+:\/\/)[^/?#]*@/, '$1'))}: not a URL: ${e.message}`
  }
  const query = url.includes('?') && !url.slice(0, url.indexOf('?')).includes('#')
  const shown = `${u.origin}${u.pathname === '/' ? '' : u.pathname}${query ? '?[REDACTED]' : ''}${url.includes('#') ? u.hash || '#' : ''}`
  const fail = (problem) => `app URL ${JSON.stringify(shown)}: ${problem}`
  if (u.username || u.password) return fail('it must not carry a user name or password: the bearer token authenticates')
  if (u.pathname !== '/') {
    return fail(`it has the path ${JSON.stringify(u.pathname)}; give the app's base URL (scheme://host[:port]) and pass routes such as /api/whoami to fetch`)
  }
  if (query) return fail('it must not have a query (?...); pass it with the route to fetch')
  if (url.includes('#')) return fail('it must not have a fragment (#...)')
  return ''
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
