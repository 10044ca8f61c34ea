//go:build !wasip1

package auth

// browserLogin tells whether this build can run the desktop flow.
const browserLogin = true
