// Command todo is a small net/http + database/sql service, free of any
// OpenTelemetry code, that Sonde instruments from outside.
package main
