// Package vmtest runs this module's test binaries inside other Linux kernels
// under qemu emulation: it builds static test binaries into an initrd whose
// /init runs them, boots each kernel, and collects the results from the
// serial console.
package vmtest
