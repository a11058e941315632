package netpath

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Program and map names of netpath.c.
const (
	progRequest = "netpath_request"
	progSockOps = "netpath_sockops"
	progMsg     = "netpath_msg"
	mapSocks    = "np_socks"
	// CounterMap is the name of the map of counters (enum np_counter).
	CounterMap = "np_counters"
)

// Links are the attachments of the socket programs: sock_ops on the
// target's cgroup (a BPF link: it goes away with the agent's file
// descriptor) and sk_msg on the socket map (it goes away with the map,
// which only the agent's descriptors and the sock_ops program hold; nothing
// is pinned).
type Links struct {
	once    sync.Once
	sockOps link.Link
	msgProg *ebpf.Program
	socks   *ebpf.Map
	// Cgroup is the cgroup v2 directory the sock_ops program is attached to.
	Cgroup string
}

// Attach attaches coll's sock_ops program to the cgroup of process pid
// and its sk_msg program to its socket map.
func Attach(coll *ebpf.Collection, pid int) (*Links, error) {
	sockOps, msg, socks := coll.Programs[progSockOps], coll.Programs[progMsg], coll.Maps[mapSocks]
	if sockOps == nil || msg == nil || socks == nil {
		return nil, errors.New("socket programs or map missing from the collection")
	}
	dir, err := ProcessCgroup(pid)
	if err != nil {
		return nil, err
	}
	cg, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup: %w", err)
	}
	defer cg.Close()
	// Attach sk_msg first: a socket the sock_ops program adds is then
	// edited from its first write on.
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: socks.FD(), Program: msg, Attach: ebpf.AttachSkMsgVerdict,
	}); err != nil {
		return nil, fmt.Errorf("attaching sk_msg to the socket map: %w", err)
	}
	// A raw BPF link, never the prog-attach fallback that AttachCgroup
	// takes on old kernels: that attachment would outlive the agent.
	l, err := link.AttachRawLink(link.RawLinkOptions{
		Target: int(cg.Fd()), Program: sockOps, Attach: ebpf.AttachCGroupSockOps,
	})
	if err != nil {
		_ = link.RawDetachProgram(link.RawDetachProgramOptions{Target: socks.FD(), Program: msg, Attach: ebpf.AttachSkMsgVerdict})
		return nil, fmt.Errorf("attaching sock_ops to cgroup %s: %w", dir, err)
	}
	return &Links{sockOps: l, msgProg: msg, socks: socks, Cgroup: dir}, nil
}

// Close detaches sock_ops (no new socket is added) and then sk_msg (no
// write is edited). Closing twice is a no-op.
func (l *Links) Close() error {
	var err error
	l.once.Do(func() {
		err = errors.Join(l.sockOps.Close(),
			link.RawDetachProgram(link.RawDetachProgramOptions{Target: l.socks.FD(), Program: l.msgProg, Attach: ebpf.AttachSkMsgVerdict}))
	})
	return err
}

// ProcessCgroup returns the directory of the cgroup v2 that process pid
// belongs to.
func ProcessCgroup(pid int) (string, error) {
	root, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("reading the target's cgroup: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(root, filepath.Clean("/"+rest)), nil
		}
	}
	return "", fmt.Errorf("process %d is in no cgroup v2", pid)
}

// cgroup2Mount finds where cgroup v2 is mounted.
func cgroup2Mount() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// id parent major:minor root mountpoint options... - fstype source ...
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		if f := strings.Fields(post); len(f) > 0 && f[0] == "cgroup2" {
			if pf := strings.Fields(pre); len(pf) >= 5 {
				return unescapeMount(pf[4]), nil
			}
		}
	}
	return "", errors.New("cgroup v2 is not mounted")
}

// unescapeMount undoes the octal escapes of mountinfo paths (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
