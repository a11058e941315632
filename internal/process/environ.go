package process

import (
	"bytes"
	"fmt"
	"os"
)

// Environ returns the environment the target process started with, read
// from /proc/PID/environ. When a name appears twice, the first one wins, as
// with getenv(3) and os.Getenv.
func Environ(pid int) (map[string]string, error) {
	data, err := os.ReadFile(procPath(pid, "environ"))
	if err != nil {
		return nil, fmt.Errorf("reading environment of process %d: %w", pid, wrapExited(pid, err))
	}
	if len(data) == 0 && !Alive(pid) {
		// A zombie's environ reads as empty.
		return nil, fmt.Errorf("reading environment of process %d: %w", pid, ErrExited)
	}
	return parseEnviron(data), nil
}

func parseEnviron(data []byte) map[string]string {
	env := make(map[string]string)
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok || len(k) == 0 {
			continue
		}
		if _, dup := env[string(k)]; !dup {
			env[string(k)] = string(v)
		}
	}
	return env
}
