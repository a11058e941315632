// Package notests is a package without tests, for TestBuildInitrdRejects.
package notests
