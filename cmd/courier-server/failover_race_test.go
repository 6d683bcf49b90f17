//go:build race

package main

// serverBuildFlags are those of this test binary, so that building the
// server reuses its cached packages.
var serverBuildFlags = []string{"-race"}
