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

// TRACEPARENT_LEN is the length of a version-00 traceparent value.
#define TRACEPARENT_LEN 55

// traceparent_hex writes n bytes of src as 2n lowercase hex digits at dst.
static __always_inline void traceparent_hex(u8 *dst, const u8 *src, int n)
{
	for (int i = 0; i < n; i++) {
		u8 hi = (src[i] >> 4) & 0xf, lo = src[i] & 0xf;
		dst[2 * i] = hi < 10 ? '0' + hi : 'a' + hi - 10;
		dst[2 * i + 1] = lo < 10 ? '0' + lo : 'a' + lo - 10;
	}
}

// format_traceparent writes the TRACEPARENT_LEN-byte W3C traceparent of
// sc (version 00, its sampled flag) at b, for outgoing propagation.
static __always_inline void format_traceparent(u8 *b, const struct span_context *sc)
{
	__builtin_memcpy(b, "00-", 3);
	traceparent_hex(b + 3, sc->trace_id, 16);
	b[35] = '-';
	traceparent_hex(b + 36, sc->span_id, 8);
	b[52] = '-';
	b[53] = '0';
	b[54] = sampled(sc) ? '1' : '0';
}
