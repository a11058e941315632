// Reading a gRPC status (*status.Status of google.golang.org/grpc/internal/status,
// which holds a *spb.Status, the generated google.rpc.Status message).
#pragma once

#include "sonde/go.h"

volatile const u64 status_s_off = 0;    // internal/status.Status.s
volatile const u64 spb_code_off = 0;    // genproto rpc/status.Status.Code
volatile const u64 spb_message_off = 0; // genproto rpc/status.Status.Message

#define GRPC_MESSAGE_MAX 128

// read_status fills code and message from the *status.Status st; a nil
// status (or message) is OK.
static __always_inline void read_status(u64 st, __s32 *code, u8 *message)
{
	*code = 0;
	message[0] = 0;
	if (!st)
		return;
	u64 spb = read_u64(st + status_s_off);
	if (!spb)
		return;
	bpf_probe_read_user(code, sizeof(*code), (void *)(spb + spb_code_off));
	struct go_string m = {};
	if (bpf_probe_read_user(&m, sizeof(m), (void *)(spb + spb_message_off)))
		return;
	u64 n = m.len < 0 ? 0 : (u64)m.len;
	if (n > GRPC_MESSAGE_MAX - 1)
		n = GRPC_MESSAGE_MAX - 1;
	if (n > 0 && bpf_probe_read_user(message, n & (GRPC_MESSAGE_MAX - 1), (void *)m.ptr))
		n = 0;
	message[n & (GRPC_MESSAGE_MAX - 1)] = 0;
}
