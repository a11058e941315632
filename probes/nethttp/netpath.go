package nethttp

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/nethttp/netpath"
)

var (
	bufioWriterWr = field("bufio.Writer", "wr")
	pconnConn     = field("net/http.persistConn", "conn")
	tcpConnConn   = field("net.TCPConn", "conn")
	netConnFD     = field("net.conn", "fd")
	netFDLaddr    = field("net.netFD", "laddr")
	netFDRaddr    = field("net.netFD", "raddr")
	tcpAddrIP     = field("net.TCPAddr", "IP")
	tcpAddrPort   = field("net.TCPAddr", "Port")
)

// ErrNetPathCaps reports that the agent lacks a capability the network
// path needs (CAP_NET_ADMIN for sock_ops and sk_msg, CAP_BPF, CAP_PERFMON).
var ErrNetPathCaps = errors.New("missing capabilities for network-path propagation")

// NetPath propagates the trace context of net/http client spans where
// bpf_probe_write_user is refused (kernel lockdown): sock_ops and sk_msg
// programs add a traceparent (and the trace's tracestate) to the request
// head as the kernel sends it, on plaintext HTTP/1.x connections the
// target opened after the agent attached. HTTPS and HTTP/2 are not
// propagated. It needs the Client probe, loaded first.
type NetPath struct{}

// Name implements probe.Probe.
func (NetPath) Name() string { return "net/http client propagation (network path)" }

// Library implements probe.Probe.
func (NetPath) Library() string { return "std" }

// Spec implements probe.Probe.
func (NetPath) Spec() (*ebpf.CollectionSpec, error) { return netpath.LoadNetpath() }

// Hooks implements probe.Probe.
func (NetPath) Hooks() []probe.Hook {
	return []probe.Hook{{Symbol: requestWriteSymbol, Entry: "netpath_request"}}
}

// Fields implements probe.Probe.
func (NetPath) Fields() (required, optional []offsets.Field) {
	return []offsets.Field{reqHeader, reqURL, bufioWriterWr, pconnConn, tcpConnConn, netConnFD,
		netFDLaddr, netFDRaddr, tcpAddrIP, tcpAddrPort}, nil
}

// Settings implements probe.Configurable.
func (NetPath) Settings() []probe.Setting { return propagationSettings }

// NetPathCaps reports which of the capabilities the network path needs
// has lacks, as measured on 6.18 as uid 65534: CAP_NET_ADMIN for the
// socket map (without it: map create: operation not permitted), CAP_PERFMON
// for the uprobe, CAP_BPF; CAP_SYS_ADMIN alone stands in for all three.
func NetPathCaps(has func(int) bool) []string {
	var miss []string
	if !has(unix.CAP_NET_ADMIN) && !has(unix.CAP_SYS_ADMIN) {
		miss = append(miss, "cap_net_admin")
	}
	if !has(unix.CAP_BPF) && !has(unix.CAP_SYS_ADMIN) {
		miss = append(miss, "cap_bpf")
	}
	if !has(unix.CAP_PERFMON) && !has(unix.CAP_SYS_ADMIN) {
		miss = append(miss, "cap_perfmon")
	}
	return miss
}

// Vars implements probe.Probe.
func (NetPath) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	mode, err := propagationMode(t)
	if err != nil {
		return nil, err
	}
	if mode != PropagationNetwork {
		return nil, fmt.Errorf("propagation by the uprobe write path (bpf_probe_write_user works): %w", probe.ErrDisabled)
	}
	if t.Facts != nil {
		if miss := NetPathCaps(t.Facts.Caps.Has); len(miss) > 0 {
			return nil, fmt.Errorf("%w: %v", ErrNetPathCaps, miss)
		}
	}
	itabs := map[string]uint64{
		"itab_bufio_writer": t.Itab("*bufio.Writer", "io.Writer"),
		"itab_pconn_writer": t.Itab("net/http.persistConnWriter", "io.Writer"),
		"itab_tcp_conn":     t.Itab("*net.TCPConn", "net.Conn"),
		"itab_tcp_addr":     t.Itab("*net.TCPAddr", "net.Addr"),
	}
	vars := []probe.Var{
		{Name: "target_tgid", Value: uint32(t.PID)},
		{Name: "req_header_off", Value: o.Get(reqHeader)},
		{Name: "req_url_off", Value: o.Get(reqURL)},
		{Name: "bufio_writer_wr_off", Value: o.Get(bufioWriterWr)},
		{Name: "pconn_conn_off", Value: o.Get(pconnConn)},
		{Name: "tcpconn_fd_off", Value: o.Get(tcpConnConn) + o.Get(netConnFD)},
		{Name: "netfd_laddr_off", Value: o.Get(netFDLaddr)},
		{Name: "netfd_raddr_off", Value: o.Get(netFDRaddr)},
		{Name: "tcpaddr_ip_off", Value: o.Get(tcpAddrIP)},
		{Name: "tcpaddr_port_off", Value: o.Get(tcpAddrPort)},
	}
	for _, name := range []string{"itab_bufio_writer", "itab_pconn_writer", "itab_tcp_conn", "itab_tcp_addr"} {
		if itabs[name] == 0 {
			return nil, fmt.Errorf("%s: itab not in the symbol table", name)
		}
		vars = append(vars, probe.Var{Name: name, Value: itabs[name]})
	}
	return vars, nil
}

// Link implements probe.Linker: sock_ops on the target's cgroup, sk_msg
// on its socket map. It says once in the log what is not propagated.
func (NetPath) Link(t *probe.Target, coll *ebpf.Collection) (io.Closer, error) {
	l, err := netpath.Attach(coll, t.PID)
	if err != nil {
		return nil, err
	}
	t.Logger.Info("outgoing trace context on the network path (sock_ops + sk_msg)",
		"cgroup", l.Cgroup, "propagated", "plaintext HTTP/1.x on connections opened from now on",
		"not propagated", "HTTPS, HTTP/2")
	return l, nil
}

// CounterMap implements probe.OwnCounters.
func (NetPath) CounterMap() string { return netpath.CounterMap }

// CounterNames implements probe.OwnCounters.
func (NetPath) CounterNames() map[uint32]string { return netpath.CounterNames }

// Decoders implements probe.Probe: NetPath emits no events.
func (NetPath) Decoders(*probe.Target) map[string]pipeline.Decoder { return nil }

// KernelTests implements probe.Probe.
func (NetPath) KernelTests() probe.KernelTests {
	// The end-to-end tests need a kernel in lockdown or a forced mode
	// and run on the host (CI here is in lockdown).
	return probe.KernelTests{Tests: []string{"TestNetPathTarget"},
		Fixtures: map[string]string{"netpath": "./probes/nethttp/testdata/netpath"}, Short: true,
		Settings: map[string]string{EnvPropagation: PropagationNetwork}}
}
