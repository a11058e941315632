// Parsing a W3C traceparent header value (version-traceid-parentid-flags).
#pragma once

#include "span.h"

static __always_inline int hexval(u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

// hex_decode decodes 2*n lowercase hex characters from s into out.
static __always_inline bool hex_decode(const u8 *s, u8 *out, int n)
{
	u8 any = 0;
	for (int i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (hi << 4) | lo;
		any |= out[i];
	}
	return any != 0; // all-zero IDs are invalid
}

// parse_traceparent fills sc (trace ID and the caller's span ID) from a
// traceparent value of length n. It returns false when the value is
// malformed: then the server starts a new trace.
static __always_inline bool parse_traceparent(const u8 *v, u32 n,
					      struct span_context *sc)
{
	if (n < 55)
		return false;
	u8 ver[1];
	if (!hex_decode(v, ver, 1) && !(v[0] == '0' && v[1] == '0'))
		return false;
	if (v[0] == 'f' && v[1] == 'f')
		return false; // version ff is invalid
	if (v[0] == '0' && v[1] == '0' && n != 55)
		return false; // version 00 has exactly four fields
	if (n > 55 && v[55] != '-')
		return false;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-')
		return false;
	if (hexval(v[53]) < 0 || hexval(v[54]) < 0)
		return false; // trace flags
	sc->flags = ((hexval(v[53]) << 4) | hexval(v[54])) & SPAN_SAMPLED;
	return hex_decode(v + 3, sc->trace_id, 16) &&
	       hex_decode(v + 36, sc->span_id, 8);
}
