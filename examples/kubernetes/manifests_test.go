package kubernetes

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// decodeStrict turns YAML into JSON and decodes it into v with unknown
// fields as errors (a misspelt or misplaced key would be silently dropped
// by kubectl's lenient mode only with a warning).
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// wantCaps is what each manifest's Sonde container adds, in order; the
// README's capability table says why.
var wantCaps = map[string][]corev1.Capability{
	"sidecar.yaml":   {"BPF", "PERFMON"},
	"daemonset.yaml": {"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH"},
}

// checkPod checks the pod template: every container non-root, not
// privileged, no privilege escalation, read-only root, seccomp
// RuntimeDefault, all capabilities dropped and only the listed ones added
// to the sonde container, each explained by a comment in the file.
func checkPod(t *testing.T, file string, spec corev1.PodSpec, raw string) {
	t.Helper()
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", file)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod runAsUser is unset or 0", file)
	}
	if sc := spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault", file)
	}
	var sonde *corev1.Container
	for i := range spec.Containers {
		c := &spec.Containers[i]
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: container %s has no securityContext", file, c.Name)
			continue
		case sc.Privileged == nil || *sc.Privileged:
			t.Errorf("%s: container %s: privileged is not false", file, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s: container %s: allowPrivilegeEscalation is not false", file, c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s: container %s: readOnlyRootFilesystem is not true", file, c.Name)
		case sc.RunAsUser != nil && *sc.RunAsUser == 0:
			t.Errorf("%s: container %s runs as root", file, c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
			t.Errorf("%s: container %s does not drop ALL capabilities", file, c.Name)
		}
		if c.Name == "sonde" {
			sonde = c
		} else if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: container %s adds %v", file, c.Name, sc.Capabilities.Add)
		}
	}
	if sonde == nil {
		t.Fatalf("%s: no sonde container", file)
	}
	if got := sonde.SecurityContext.Capabilities.Add; !slices.Equal(got, wantCaps[file]) {
		t.Errorf("%s: sonde adds %v, want %v", file, got, wantCaps[file])
	}
	// Each added capability is explained: a comment right above its line.
	lines := strings.Split(raw, "\n")
	for _, c := range sonde.SecurityContext.Capabilities.Add {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "- "+string(c) })
		if i < 1 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			t.Errorf("%s: capability %s has no comment above it", file, c)
		}
	}
	env := map[string]string{}
	for _, e := range sonde.Env {
		env[e.Name] = e.Value
	}
	if env["OTEL_GO_AUTO_TARGET_EXE"] == "" || !strings.Contains(env["OTEL_GO_AUTO_REQUIRE"], "spans") {
		t.Errorf("%s: sonde env %v lacks a target or OTEL_GO_AUTO_REQUIRE=spans", file, env)
	}
	for _, forbidden := range []string{"SYS_ADMIN", "ALL", "NET_ADMIN"} {
		if slices.Contains(sonde.SecurityContext.Capabilities.Add, corev1.Capability(forbidden)) {
			t.Errorf("%s: sonde adds %s", file, forbidden)
		}
	}
}

func TestSidecar(t *testing.T) {
	var d appsv1.Deployment
	decodeStrict(t, "sidecar.yaml", &d)
	raw, _ := os.ReadFile("sidecar.yaml")
	if d.Kind != "Deployment" || d.APIVersion != "apps/v1" {
		t.Errorf("kind %s/%s", d.APIVersion, d.Kind)
	}
	spec := d.Spec.Template.Spec
	if spec.ShareProcessNamespace == nil || !*spec.ShareProcessNamespace {
		t.Error("sidecar: shareProcessNamespace is not true: sonde would not see the app")
	}
	if spec.HostPID {
		t.Error("sidecar: hostPID")
	}
	if len(spec.Containers) != 2 {
		t.Errorf("sidecar: %d containers, want the app and sonde", len(spec.Containers))
	}
	checkPod(t, "sidecar.yaml", spec, string(raw))
	// Same user as the app: no cap_sys_ptrace needed.
	for _, c := range spec.Containers {
		if c.SecurityContext.RunAsUser != nil {
			t.Errorf("sidecar: container %s overrides the pod's user: app and sonde must share it", c.Name)
		}
	}
}

func TestDaemonSet(t *testing.T) {
	var d appsv1.DaemonSet
	decodeStrict(t, "daemonset.yaml", &d)
	raw, _ := os.ReadFile("daemonset.yaml")
	if d.Kind != "DaemonSet" || d.APIVersion != "apps/v1" {
		t.Errorf("kind %s/%s", d.APIVersion, d.Kind)
	}
	spec := d.Spec.Template.Spec
	if !spec.HostPID {
		t.Error("daemonset: hostPID is not true: sonde would not see the node's processes")
	}
	if spec.HostNetwork || spec.HostIPC {
		t.Error("daemonset: shares the host network or IPC namespace")
	}
	if len(spec.Volumes) > 0 {
		t.Errorf("daemonset: volumes %v (no host paths, no bpffs)", spec.Volumes)
	}
	checkPod(t, "daemonset.yaml", spec, string(raw))
}

// TestStrictDecodingRejects: the strict path does catch a misplaced key.
func TestStrictDecodingRejects(t *testing.T) {
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          securityContex:\n            privileged: false\n")
	js, err := yaml.YAMLToJSONStrict(bad)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var d appsv1.Deployment
	if err := dec.Decode(&d); err == nil || !strings.Contains(err.Error(), "securityContex") {
		t.Errorf("misspelt securityContext decoded: %v", err)
	}
}
