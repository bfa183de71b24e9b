package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInstallerWritesAVerifiableAdminCert(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1700000000, 0)
	if err := install(dir, now); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(read("ca.crt")) {
		t.Fatal("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(read("admin.crt"))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cert.Verify(opts); err != nil {
		t.Fatal(err)
	}
	keyBlock, _ := pem.Decode(read("admin.key"))
	if keyBlock.Type != "EC PRIVATE KEY" {
		t.Fatalf("admin.key is %s", keyBlock.Type)
	}
	if _, err := x509.ParseECPrivateKey(keyBlock.Bytes); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "ca.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key mode %v %v", info.Mode(), err)
	}
	// A second run refuses to overwrite.
	if err := install(dir, now); err == nil {
		t.Fatal("second install overwrote the files")
	}
}
