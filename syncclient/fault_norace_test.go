//go:build !race

package syncclient_test

// buildFlags are the flags buildServer builds courier-server with: those
// of this test binary, so the build reuses its cached packages.
var buildFlags []string
