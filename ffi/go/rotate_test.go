package kubepki

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func phasesOf(r *RotateReport) map[string]string {
	out := map[string]string{}
	for _, c := range r.CAs {
		out[c.CA] = c.Phase
	}
	return out
}

func wantAll(t *testing.T, what string, r *RotateReport, phase string) {
	t.Helper()
	got := phasesOf(r)
	for _, ca := range []string{"cluster", "front-proxy", "etcd", "sa"} {
		if got[ca] != phase {
			t.Errorf("%s: %s is %q, want %q (%v)", what, ca, got[ca], phase, got)
		}
	}
}

func wantCode(t *testing.T, err error, code uint32) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("want code %d, got %v", code, err)
	}
}

// TestRotateAll runs a whole rotation of all on a temp tree: status between the phases, a
// phase out of order and a finish too early refused with their codes, a dry run that writes
// nothing, and Go's crypto/x509 verifying the reissued API server certificate under the new
// CA only at the end.
func TestRotateAll(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if _, err := InitCluster(testParams(), pki, dir, clusterNow); err != nil {
		t.Fatal(err)
	}
	oldCA, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	status, err := RotateStatus(pki, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "status", status, "idle")

	_, err = RotatePromote(pki, dir, "all", RotateOptions{}, clusterNow.Add(time.Minute))
	wantCode(t, err, CodeClusterRotationOrder)

	dry, err := RotateStart(pki, dir, "all", RotateOptions{DryRun: true}, clusterNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "dry run", dry, "started")
	if after, _ := os.ReadFile(filepath.Join(pki, "ca.crt")); !bytes.Equal(after, oldCA) {
		t.Error("a dry run changed ca.crt")
	}
	if status, err = RotateStatus(pki, dir, "all"); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "status after dry run", status, "idle")

	started, err := RotateStart(pki, dir, "all", RotateOptions{}, clusterNow.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "start", started, "started")
	if len(started.Steps) == 0 || started.Steps[0].Component != "etcd" {
		t.Errorf("restart order: %+v", started.Steps)
	}
	var plan struct {
		Phase string `json:"phase"`
		Plan  struct {
			Steps []struct {
				Component string `json:"component"`
			} `json:"steps"`
		} `json:"plan"`
	}
	if err := json.Unmarshal(started.JSON, &plan); err != nil {
		t.Fatalf("%v: %s", err, started.JSON)
	}
	if plan.Phase != "start" || len(plan.Plan.Steps) != len(started.Steps) {
		t.Errorf("JSON: %s", started.JSON)
	}
	if status, err = RotateStatus(pki, dir, ""); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "status after start", status, "started")

	promoted, err := RotatePromote(pki, dir, "all", RotateOptions{}, clusterNow.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "promote", promoted, "promoted")

	_, err = RotateFinish(pki, dir, "all", RotateOptions{}, clusterNow.Add(4*time.Minute))
	wantCode(t, err, CodeClusterTokensValid)
	finished, err := RotateFinish(pki, dir, "all", RotateOptions{TokenLifetime: time.Minute}, clusterNow.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "finish", finished, "finished")
	if status, err = RotateStatus(pki, dir, ""); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "status after finish", status, "finished")
	if len(status.Warnings) != 0 {
		t.Errorf("inconsistencies: %v", status.Warnings)
	}

	// The new CA alone is trusted, and it verifies the reissued API server certificate;
	// the old CA does not.
	newCA, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := os.ReadFile(filepath.Join(pki, "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, leaf)
	verifyAt := clusterNow.Add(time.Hour)
	for _, c := range []struct {
		name   string
		pem    []byte
		verify bool
	}{{"new", newCA, true}, {"old", oldCA, false}} {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(c.pem) {
			t.Fatalf("%s ca.crt does not read", c.name)
		}
		_, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: verifyAt, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != c.verify {
			t.Errorf("%s CA verifies the reissued apiserver.crt: %v, want %v", c.name, err == nil, c.verify)
		}
	}
}

func TestRotateBadCAIsNamed(t *testing.T) {
	dir := t.TempDir()
	_, err := RotateStart(filepath.Join(dir, "pki"), dir, "kubelet", RotateOptions{}, clusterNow)
	wantCode(t, err, CodeClusterInvalidParam)
}
