// Package process finds and reads target processes in /proc.
package process
