//go:build wasip1

package auth

// browserLogin is false in the WASI build: it can open no browser, and its
// network is the host's HTTP client, with no listener for the callback.
const browserLogin = false
