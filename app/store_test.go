package app

import "testing"

// openTestStore opens the store the tests run against.
func openTestStore(t *testing.T) Store {
	t.Helper()
	return newFakeStore(t.TempDir())
}
