'use strict'
// The platforms lakelink ships a prebuilt liblakelink for. Each library is
// an npm package of its own (as esbuild and napi-rs packages do), which the
// main package lists as an optionalDependency (scripts/pack.js writes them
// when packing), so that npm installs only the one whose os/cpu/libc fields
// match the machine. build/dist/npm-platform.js writes those packages from
// build/dist/libs.sh's libraries; lib/native.js loads the running
// platform's.

/**
 * Each platform: its npm package, the os/cpu/libc values npm matches
 * (process.platform, process.arch, and glibc or musl on Linux), the
 * library's target in build/out/libs/ and its file name there.
 */
const PLATFORMS = [
  { pkg: 'lakelink-linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc', target: 'linux-x86_64', library: 'liblakelink.so' },
  { pkg: 'lakelink-linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc', target: 'linux-aarch64', library: 'liblakelink.so' },
  { pkg: 'lakelink-win32-x64', os: 'win32', cpu: 'x64', libc: null, target: 'windows-x86_64', library: 'lakelink.dll' }
]

/** The C library Node runs on, as npm's libc field names it: 'glibc' or 'musl' on Linux, null elsewhere. */
function libc () {
  if (process.platform !== 'linux') return null
  const header = process.report.getReport().header
  return header.glibcVersionRuntime ? 'glibc' : 'musl'
}

/** The running platform as `os-cpu[-libc]`, e.g. linux-x64-glibc. */
function describe () {
  return [process.platform, process.arch, libc()].filter(Boolean).join('-')
}

/** The running platform's entry of PLATFORMS, or undefined when lakelink has no library for it. */
function current () {
  const c = libc()
  return PLATFORMS.find((p) => p.os === process.platform && p.cpu === process.arch && p.libc === c)
}

/** What to say when no library fits: the platforms there are, and what to do instead. */
function unsupported () {
  const list = PLATFORMS.map((p) => [p.os, p.cpu, p.libc].filter(Boolean).join('-')).join(', ')
  const musl = libc() === 'musl' ? ' Go\'s shared libraries do not load under musl (golang/go#54805): use a glibc image.' : ''
  return `lakelink has no native library for ${describe()}; it ships one for ${list}.${musl} ` +
    'require(\'lakelink/wasm\') works everywhere Node runs (tokens and App calls, no Lakebase pool), ' +
    'or build liblakelink yourself (go build -buildmode=c-shared ./capi) and set LAKELINK_LIBRARY to it'
}

module.exports = { PLATFORMS, current, describe, unsupported }
