// Basic types and the BPF helper headers every Sonde program includes.
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef _Bool bool;
#define true 1
#define false 0

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

char __license[] SEC("license") = "Dual MIT/GPL";
