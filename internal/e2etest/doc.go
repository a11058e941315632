// Package e2etest runs fixture programs (built by package testenv) and
// instruments them with Sonde for end-to-end tests. Tests that use it need
// root: call testenv.RequireRoot first.
package e2etest
