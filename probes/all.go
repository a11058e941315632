// Package probes lists every library Sonde instruments; each subpackage
// owns one library (BPF C, generated objects, Go side).
package probes

import (
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/databasesql"
	"github.com/sonde-go/auto/probes/goroutines"
	"github.com/sonde-go/auto/probes/grpc"
	"github.com/sonde-go/auto/probes/kafkago"
	"github.com/sonde-go/auto/probes/nethttp"
	"github.com/sonde-go/auto/probes/otelglobal"
	"github.com/sonde-go/auto/probes/sondesdk"
)

// All returns every probe, in load order.
func All() []probe.Probe {
	return []probe.Probe{nethttp.Server{}, nethttp.XNetHTTP2Server{}, nethttp.Client{}, nethttp.Inject{}, nethttp.NetPath{}, databasesql.Probe{}, goroutines.Probe{}, grpc.Server{}, grpc.Client{}, grpc.Inject{}, otelglobal.Probe{}, sondesdk.Probe{}, kafkago.Probe{}}
}
