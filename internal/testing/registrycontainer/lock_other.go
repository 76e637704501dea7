//go:build !unix

package registrycontainer

// lockFile does not lock where flock(2) is missing: concurrent test
// processes then each compile the registry, which is only slower.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
