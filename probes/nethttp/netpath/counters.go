package netpath

// CounterNames names the counters of np_counters for Stats.Probes and the
// log; each says what happened to a request (or a socket).
var CounterNames = map[uint32]string{
	uint32(NetpathNpCounterNP_REQUESTS):      "netpath: requests seen",
	uint32(NetpathNpCounterNP_INSERTED):      "netpath: traceparent added",
	uint32(NetpathNpCounterNP_TRACESTATE):    "netpath: tracestate added",
	uint32(NetpathNpCounterNP_KEPT_APP):      "netpath: app traceparent kept",
	uint32(NetpathNpCounterNP_REPARENTED):    "netpath: forwarded traceparent reparented",
	uint32(NetpathNpCounterNP_SAME_NOT_SEEN): "netpath: forwarded traceparent not in first write (untouched)",
	uint32(NetpathNpCounterNP_NO_REQLINE):    "netpath: no request line in first write (untouched)",
	uint32(NetpathNpCounterNP_PULL_FAILED):   "netpath: pull failed (untouched)",
	uint32(NetpathNpCounterNP_PUSH_FAILED):   "netpath: push failed (untouched)",
	uint32(NetpathNpCounterNP_POPPED):        "netpath: pull after push failed, room removed (untouched)",
	uint32(NetpathNpCounterNP_DROPPED):       "netpath: pull and pop after push failed (write refused)",
	uint32(NetpathNpCounterNP_NOT_TCP):       "netpath: not plaintext TCP, e.g. HTTPS (not propagated)",
	uint32(NetpathNpCounterNP_NO_ADDR):       "netpath: connection addresses unreadable (not propagated)",
	uint32(NetpathNpCounterNP_SOCKETS):       "netpath: target sockets watched",
	uint32(NetpathNpCounterNP_PENDING_FULL):  "netpath: pending map full (not propagated)",
}
