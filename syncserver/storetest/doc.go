// Package storetest is the conformance suite of syncserver.Storage: every
// backend's tests call Run with a constructor of fresh, empty stores.
package storetest
