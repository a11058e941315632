// The client span of each net/http request in flight, for the propagation
// probe, which runs on the goroutine that writes the request's bytes.
//
// The span is stored under the *http.Request and under its *url.URL: a
// request with a body is written as a shallow copy made inside
// (*Transport).roundTrip, which shares the original's URL.
#pragma once

#include "sonde/span.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64); // *http.Request or *url.URL
	__type(value, struct span_context);
	__uint(max_entries, MAX_INFLIGHT);
} spans_by_request SEC(".maps");

// request_span_set records sc as the client span of req and url.
static __always_inline void request_span_set(u64 req, u64 url,
					     const struct span_context *sc)
{
	bpf_map_update_elem(&spans_by_request, &req, sc, BPF_ANY);
	if (url)
		bpf_map_update_elem(&spans_by_request, &url, sc, BPF_ANY);
}

// request_span_clear undoes request_span_set; the url entry is left alone
// when another request sharing that URL has replaced it since.
static __always_inline void request_span_clear(u64 req, u64 url,
					       const struct span_context *sc)
{
	bpf_map_delete_elem(&spans_by_request, &req);
	if (!url)
		return;
	struct span_context *cur = bpf_map_lookup_elem(&spans_by_request, &url);
	if (!cur)
		return;
	if (same_span(cur, sc))
		bpf_map_delete_elem(&spans_by_request, &url);
}

// request_span finds the client span of the request req (or of its copy)
// whose URL is url.
static __always_inline struct span_context *request_span(u64 req, u64 url)
{
	struct span_context *sc = bpf_map_lookup_elem(&spans_by_request, &req);
	if (!sc && url)
		sc = bpf_map_lookup_elem(&spans_by_request, &url);
	return sc;
}
