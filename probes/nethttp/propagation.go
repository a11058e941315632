package nethttp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sonde-go/auto/internal/probe"
)

// Propagation settings, read by both propagation probes (Inject on the
// uprobe write path, NetPath on the network path).
const (
	// EnvPropagation forces the propagation mechanism.
	EnvPropagation = "OTEL_GO_AUTO_PROPAGATION"
	// EnvPropagators is the standard OpenTelemetry list: "none" (or a list
	// without tracecontext) turns outgoing propagation off.
	EnvPropagators = "OTEL_PROPAGATORS"
)

// Propagation mechanisms (values of OTEL_GO_AUTO_PROPAGATION).
const (
	PropagationAuto    = "auto"    // uprobe where bpf_probe_write_user works, else network
	PropagationUprobe  = "uprobe"  // write the header into the request buffer (Inject)
	PropagationNetwork = "network" // add the header to the bytes sent (NetPath)
	PropagationOff     = "off"
)

var propagationModes = []string{PropagationAuto, PropagationUprobe, PropagationNetwork, PropagationOff}

func checkPropagation(v string) error {
	if !slices.Contains(propagationModes, strings.TrimSpace(v)) {
		return fmt.Errorf("not one of %s", strings.Join(propagationModes, ", "))
	}
	return nil
}

// knownPropagators are the names OTEL_PROPAGATORS may list (the
// OpenTelemetry specification's); only tracecontext matters here.
var knownPropagators = []string{"tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none"}

func checkPropagators(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if !slices.Contains(knownPropagators, strings.TrimSpace(p)) {
			return fmt.Errorf("%q is not one of %s", strings.TrimSpace(p), strings.Join(knownPropagators, ", "))
		}
	}
	return nil
}

// propagationSettings are the settings both propagation probes declare.
var propagationSettings = []probe.Setting{
	{Env: EnvPropagation, Default: PropagationAuto, Check: checkPropagation,
		Doc: "outgoing traceparent for net/http clients: auto (uprobe where bpf_probe_write_user works, else network: sock_ops+sk_msg, plaintext HTTP/1.x), uprobe, network or off"},
	{Env: EnvPropagators, Default: "tracecontext,baggage", Check: checkPropagators,
		Doc: "none (or a list without tracecontext) turns outgoing traceparent off"},
}

// propagationMode returns the mechanism the settings and the kernel
// choose for t: PropagationUprobe or PropagationNetwork, or an error
// wrapping probe.ErrDisabled when propagation is off.
func propagationMode(t *probe.Target) (string, error) {
	if v, ok := t.Settings[EnvPropagators]; ok {
		list := strings.Split(v, ",")
		for i := range list {
			list[i] = strings.TrimSpace(list[i])
		}
		if slices.Contains(list, "none") || !slices.Contains(list, "tracecontext") {
			return "", fmt.Errorf("%s=%s: %w", EnvPropagators, v, probe.ErrDisabled)
		}
	}
	mode := strings.TrimSpace(t.Settings[EnvPropagation])
	switch mode {
	case PropagationOff:
		return "", fmt.Errorf("%s=off: %w", EnvPropagation, probe.ErrDisabled)
	case PropagationUprobe, PropagationNetwork:
		return mode, nil
	}
	if t.Facts != nil && t.Facts.WriteUser == nil {
		return PropagationUprobe, nil
	}
	return PropagationNetwork, nil
}

// PropagationSummary says, for sonde check, how outgoing requests of t
// would carry the trace context and what would not carry it.
func PropagationSummary(t *probe.Target) (how, notPropagated string) {
	mode, err := propagationMode(t)
	switch {
	case err != nil:
		return "off: " + err.Error(), "every request"
	case mode == PropagationUprobe && t.Facts != nil && t.Facts.WriteUser != nil:
		return "off: uprobe path forced but bpf_probe_write_user refused: " + t.Facts.WriteUser.Error(), "every request"
	case mode == PropagationUprobe:
		return "uprobe write path (bpf_probe_write_user into the request buffer)", "HTTP/2"
	}
	if t.Facts != nil {
		if miss := NetPathCaps(t.Facts.Caps.Has); len(miss) > 0 {
			return fmt.Sprintf("off: the network path needs %s", strings.Join(miss, ", ")), "every request"
		}
	}
	return "network path (sock_ops + sk_msg: plaintext HTTP/1.x)", "HTTPS, HTTP/2, connections opened before attach"
}
