// Package kubernetes holds Sonde's Kubernetes examples (sidecar.yaml,
// daemonset.yaml) and the tests that decode them strictly into the
// Kubernetes API types and check their security settings, and that build
// the image from the repository's Containerfile. It is its own module so
// that k8s.io/api stays out of the library's dependencies.
package kubernetes
