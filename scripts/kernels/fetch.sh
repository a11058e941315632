#!/usr/bin/env bash
# Fetches the Debian cloud kernels of the VM test matrix into a cache
# (default $HOME/.cache/sonde-kernels, override with SONDE_KERNEL_CACHE)
# and makes sure qemu-system-x86 is installed.
#
# For each series below it picks the newest package that apt knows, downloads
# it with `apt-get download`, keeps only boot/vmlinuz-* (as vmlinuz), the
# kernel config and the release string, and writes the picked set to
# $cache/kernels.list, which internal/vmtest reads. A kernel already in the
# cache is not downloaded again. When apt cannot be reached, the newest cached
# kernel of a series is used instead.
set -euo pipefail

cache="${SONDE_KERNEL_CACHE:-$HOME/.cache/sonde-kernels}"

# Package name patterns (extended regex, anchored), one per kernel series.
series=(
	'linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned'
	'linux-image-6\.12\.[0-9]+\+deb[0-9]+-cloud-amd64-unsigned'
)

log() { echo "kernels: $*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

updated=0
apt_update() {
	[ "$updated" -eq 1 ] && return 0
	log "apt-get update"
	as_root apt-get update -qq >/dev/null || return 1
	updated=1
}

ensure_qemu() {
	command -v qemu-system-x86_64 >/dev/null && return 0
	log "installing qemu-system-x86"
	apt_update || true
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq qemu-system-x86 --no-install-recommends >/dev/null
}

# newest_available PATTERN: newest package name apt knows for PATTERN.
newest_available() {
	apt-cache search --names-only "^$1\$" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1
}

# newest_cached PATTERN: newest package in the cache for PATTERN.
newest_cached() {
	find "$cache" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null |
		grep -E "^$1\$" | sort -V | tail -n 1 || true
}

# fetch NAME: download and unpack package NAME into $cache/NAME.
fetch() {
	local name=$1 dir=$cache/$1 tmp
	tmp=$(mktemp -d)
	chmod 0777 "$tmp" # apt's sandbox user writes the download here
	if ! (cd "$tmp" && apt-get download -qq "$name" >/dev/null 2>&1); then
		# The list may be stale (the mirror dropped that build): refresh once.
		apt_update && (cd "$tmp" && apt-get download -qq "$name" >/dev/null) || {
			rm -rf "$tmp"
			return 1
		}
	fi
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	local img
	img=$(find "$tmp/x/boot" -name 'vmlinuz-*' | head -n 1)
	[ -n "$img" ] || { log "no vmlinuz in $name"; rm -rf "$tmp"; return 1; }
	local release=${img##*/vmlinuz-}
	mkdir -p "$dir.part"
	cp "$img" "$dir.part/vmlinuz"
	cp "$tmp/x/boot/config-$release" "$dir.part/config" 2>/dev/null || true
	echo "$release" >"$dir.part/release"
	rm -rf "$dir" "$tmp"
	mv "$dir.part" "$dir"
}

main() {
	ensure_qemu
	mkdir -p "$cache"
	local picked=() pattern name
	for pattern in "${series[@]}"; do
		name=$(newest_available "$pattern")
		if [ -z "$name" ]; then
			apt_update || log "apt-get update failed"
			name=$(newest_available "$pattern")
		fi
		if [ -n "$name" ] && [ -s "$cache/$name/vmlinuz" ]; then
			log "using $name ($(cat "$cache/$name/release"), cached)"
		elif [ -n "$name" ] && fetch "$name"; then
			log "using $name ($(cat "$cache/$name/release"), downloaded)"
		else
			name=$(newest_cached "$pattern")
			if [ -z "$name" ]; then
				log "no kernel found for $pattern (apt and cache both empty)"
				exit 1
			fi
			log "apt failed; using cached $name ($(cat "$cache/$name/release"))"
		fi
		picked+=("$name")
	done
	printf '%s\n' "${picked[@]}" >"$cache/kernels.list.tmp"
	mv "$cache/kernels.list.tmp" "$cache/kernels.list"
	log "wrote $cache/kernels.list"
}

main "$@"
