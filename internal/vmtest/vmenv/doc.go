// Package vmenv is the contract between the kernel-matrix runner, the test
// VM's /init and the tests that run inside the VM: environment variables,
// the manifest and the console protocol.
package vmenv
