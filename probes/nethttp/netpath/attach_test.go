package netpath

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// envCapsRun lets TestAttach run as a non-root user with only some
// capabilities (setpriv --reuid=65534 --ambient-caps=...), to measure
// which the network path needs; it then logs the error instead of failing.
const envCapsRun = "SONDE_NETPATH_CAPS_RUN"

// TestAttach: the programs load, sock_ops attaches to this process's
// cgroup as a link and sk_msg to the socket map; Close detaches both.
func TestAttach(t *testing.T) {
	capsRun := os.Getenv(envCapsRun) != ""
	if !capsRun {
		testenv.RequireRoot(t)
	}
	spec, err := LoadNetpath()
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Variables["target_tgid"].Set(uint32(os.Getpid())); err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) && capsRun {
			t.Logf("verifier: %+v", ve)
		}
		if capsRun {
			t.Logf("RESULT load: %v", err)
			return
		}
		t.Fatalf("loading: %v", err)
	}
	defer coll.Close()
	l, err := Attach(coll, os.Getpid())
	if capsRun {
		t.Logf("RESULT load ok; attach: %v", err)
		if err == nil {
			l.Close()
		}
		return
	}
	if err != nil {
		t.Fatalf("attaching: %v", err)
	}
	info, err := l.sockOps.Info()
	if err != nil || info.Program == 0 {
		t.Errorf("sock_ops link info %+v, %v", info, err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestProcessCgroup(t *testing.T) {
	dir, err := ProcessCgroup(os.Getpid())
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("cgroup %s: %v", dir, err)
	}
	if got := unescapeMount(`/a\040b`); got != "/a b" {
		t.Errorf("unescapeMount = %q", got)
	}
}
