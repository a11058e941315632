//go:build ignore

// One operation of sonde/gslot.h per run, on a table of four slots.
#include "sonde/gslot.h"

struct val {
	u64 x;
};

GSLOT_MAPS(slots, struct val, 4);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64);
	__type(value, struct val);
	__uint(max_entries, 8);
} spill SEC(".maps");

enum op {
	OP_FIND = 1,     // x: the value found, found: 1 when found
	OP_CLAIM = 2,    // sets the entry's value to x; found: 1 when made or found, in_hash
	OP_DROP = 3,     // gslot_drop
	OP_DROP_AT = 4,  // gslot_drop_at with in_hash
};

struct cmd {
	u32 op;
	u32 in_hash;
	u64 key;
	u64 x;
	u32 found;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, struct cmd);
	__uint(max_entries, 1);
} cmds SEC(".maps");

const struct cmd *unused_cmd __attribute__((unused));

SEC("socket")
int run(struct __sk_buff *skb)
{
	u32 zero = 0;
	struct cmd *c = bpf_map_lookup_elem(&cmds, &zero);
	if (!c)
		return 0;
	struct val init = {.x = c->x};
	struct val *v;
	bool in_hash = false;
	switch (c->op) {
	case OP_FIND:
		v = gslot_find(&slots, 3, &spill, c->key);
		c->found = v != NULL;
		c->x = v ? v->x : 0;
		break;
	case OP_CLAIM:
		v = gslot_claim_at(&slots, 3, &spill, c->key, &init, &in_hash);
		c->found = v != NULL;
		c->in_hash = in_hash;
		if (v)
			v->x = c->x;
		break;
	case OP_DROP:
		gslot_drop(&slots, 3, &spill, c->key);
		break;
	case OP_DROP_AT:
		gslot_drop_at(&slots, 3, &spill, c->key, c->in_hash);
		break;
	}
	return 0;
}
