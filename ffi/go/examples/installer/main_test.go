package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The same cluster as ffi/examples/c/installer.c and its Rust test (ffi/tests/c_examples.rs):
// node-1 at 10.0.0.5 behind k8s.example.test, one extra API server SAN.
func testOptions(dir string) options {
	o, err := parseFlags([]string{
		"-node-name", "node-1",
		"-advertise-address", "10.0.0.5",
		"-control-plane-endpoint", "k8s.example.test:6443",
		"-apiserver-cert-extra-sans", "10.0.0.100",
		"-algorithm", "ECDSA-P256",
		"-cert-dir", filepath.Join(dir, "kubernetes", "pki"),
		"-kubeconfig-dir", filepath.Join(dir, "kubernetes"),
	}, os.Stderr)
	if err != nil {
		panic(err)
	}
	return o
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestInstallerLaysOutTheTreeCheckedByCryptoX509(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	now := time.Unix(1800000000, 0)
	var out bytes.Buffer
	if err := install(o, now, &out); err != nil {
		t.Fatal(err)
	}
	// 3 CAs, 7 leaves, sa, 5 kubeconfig files: all written.
	if n := strings.Count(out.String(), "written"); n != 16 {
		t.Fatalf("%d files written, want 16:\n%s", n, out.String())
	}
	pki := o.certDir
	at := now.Add(time.Hour)

	// Each CA is a CA that signs certificates; each leaf chains to its CA for its purpose.
	for _, ca := range []string{"ca.crt", "front-proxy-ca.crt", "etcd/ca.crt"} {
		c := readCert(t, filepath.Join(pki, ca))
		if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s: IsCA %v, key usage %v", ca, c.IsCA, c.KeyUsage)
		}
	}
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	for _, tc := range []struct {
		ca, leaf string
		usages   []x509.ExtKeyUsage
	}{
		{"ca.crt", "apiserver.crt", []x509.ExtKeyUsage{server}},
		{"ca.crt", "apiserver-kubelet-client.crt", []x509.ExtKeyUsage{client}},
		{"front-proxy-ca.crt", "front-proxy-client.crt", []x509.ExtKeyUsage{client}},
		{"etcd/ca.crt", "etcd/server.crt", []x509.ExtKeyUsage{server, client}},
		{"etcd/ca.crt", "etcd/peer.crt", []x509.ExtKeyUsage{server, client}},
		{"etcd/ca.crt", "etcd/healthcheck-client.crt", []x509.ExtKeyUsage{client}},
		{"etcd/ca.crt", "apiserver-etcd-client.crt", []x509.ExtKeyUsage{client}},
	} {
		roots := x509.NewCertPool()
		roots.AddCert(readCert(t, filepath.Join(pki, tc.ca)))
		leaf := readCert(t, filepath.Join(pki, tc.leaf))
		for _, usage := range tc.usages {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s for %v: %v", tc.leaf, usage, err)
			}
		}
		if !slices.Equal(leaf.ExtKeyUsage, tc.usages) {
			t.Errorf("%s: extended key usages %v, want %v", tc.leaf, leaf.ExtKeyUsage, tc.usages)
		}
		if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
			t.Errorf("%s: IsCA %v, key usage %v", tc.leaf, leaf.IsCA, leaf.KeyUsage)
		}
	}

	// The API server's names, as kubeadm gives them.
	api := readCert(t, filepath.Join(pki, "apiserver.crt"))
	for _, dns := range []string{"node-1", "k8s.example.test", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
		if !slices.Contains(api.DNSNames, dns) {
			t.Errorf("apiserver lacks DNS:%s: %v", dns, api.DNSNames)
		}
	}
	for _, ip := range []string{"10.0.0.5", "10.0.0.100", "10.96.0.1"} {
		if !slices.ContainsFunc(api.IPAddresses, func(a net.IP) bool { return a.Equal(net.ParseIP(ip)) }) {
			t.Errorf("apiserver lacks IP:%s: %v", ip, api.IPAddresses)
		}
	}
	if api.Subject.CommonName != "kube-apiserver" {
		t.Errorf("apiserver CN %q", api.Subject.CommonName)
	}

	// Keys and kubeconfig files are 0600; the kubeconfig files point at the endpoint.
	for _, secret := range []string{
		filepath.Join(pki, "ca.key"), filepath.Join(pki, "apiserver.key"), filepath.Join(pki, "sa.key"),
		filepath.Join(o.kubeconfigDir, "admin.conf"), filepath.Join(o.kubeconfigDir, "kubelet.conf"),
	} {
		info, err := os.Stat(secret)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", secret, info.Mode(), err)
		}
	}
	admin, err := os.ReadFile(filepath.Join(o.kubeconfigDir, "admin.conf"))
	if err != nil || !bytes.Contains(admin, []byte("server: https://k8s.example.test:6443")) {
		t.Errorf("admin.conf: %v\n%s", err, admin)
	}

	// Run again: everything is kept.
	out.Reset()
	if err := install(o, now, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "kept"); n != 16 {
		t.Fatalf("%d files kept on the second run, want 16:\n%s", n, out.String())
	}
}

func TestInstallerRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	if _, err := parseFlags([]string{"-cert-dir", dir}, &bytes.Buffer{}); err == nil {
		t.Fatal("no -node-name accepted")
	}
	o := testOptions(dir)
	o.advertiseAddress = "10.0.0.500"
	if err := install(o, time.Time{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "10.0.0.500") {
		t.Fatalf("bad address: %v", err)
	}
	o = testOptions(dir)
	o.serviceCIDR = "10.96.0.0/99"
	if err := install(o, time.Time{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "10.96.0.0/99") {
		t.Fatalf("bad service CIDR: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubernetes", "pki", "ca.crt")); err == nil {
		t.Fatal("a refused run wrote files")
	}
}

// -apiserver-bind-port, as kubeadm's: the port of the local kubeconfig files (kubelet.conf,
// controller-manager.conf, scheduler.conf) and of an endpoint that names none.
func TestInstallerBindPort(t *testing.T) {
	now := time.Unix(1800000000, 0)
	server := func(t *testing.T, dir, conf string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, "kubernetes", conf))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "server: "); ok {
				return s
			}
		}
		t.Fatalf("%s names no server:\n%s", conf, data)
		return ""
	}
	for _, tc := range []struct {
		name, endpoint, port string
		admin, local         string
	}{
		{"default", "k8s.example.test", "", "https://k8s.example.test:6443", "https://10.0.0.5:6443"},
		{"endpoint without a port", "k8s.example.test", "16443", "https://k8s.example.test:16443", "https://10.0.0.5:16443"},
		{"endpoint with its port", "k8s.example.test:443", "16443", "https://k8s.example.test:443", "https://10.0.0.5:16443"},
		{"no endpoint", "", "16443", "https://10.0.0.5:16443", "https://10.0.0.5:16443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{
				"-node-name", "node-1", "-advertise-address", "10.0.0.5", "-algorithm", "ECDSA-P256",
				"-cert-dir", filepath.Join(dir, "kubernetes", "pki"), "-kubeconfig-dir", filepath.Join(dir, "kubernetes"),
			}
			if tc.endpoint != "" {
				args = append(args, "-control-plane-endpoint", tc.endpoint)
			}
			if tc.port != "" {
				args = append(args, "-apiserver-bind-port", tc.port)
			}
			o, err := parseFlags(args, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			if err := install(o, now, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			for conf, want := range map[string]string{
				"admin.conf": tc.admin, "super-admin.conf": tc.admin,
				"kubelet.conf": tc.local, "controller-manager.conf": tc.local, "scheduler.conf": tc.local,
			} {
				if got := server(t, dir, conf); got != want {
					t.Errorf("%s: server %s, want %s", conf, got, want)
				}
			}
		})
	}
	for _, port := range []string{"0", "65536", "-1", "https"} {
		_, err := parseFlags([]string{"-node-name", "node-1", "-apiserver-bind-port", port}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("-apiserver-bind-port %s accepted", port)
		} else if !strings.Contains(err.Error(), port) {
			t.Errorf("-apiserver-bind-port %s: %v does not name it", port, err)
		}
	}
}
