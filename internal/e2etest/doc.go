// Package e2etest builds fixture programs, runs them, and instruments them
// with Sonde for end-to-end tests. Tests that use it need root.
package e2etest
