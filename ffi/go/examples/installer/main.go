// Command installer writes a cluster CA and a signed admin client certificate to a folder,
// as a Kubernetes installer would, through the kubepki Go binding.
//
// usage: installer -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	kubepki "example.invalid/kubepki/ffi/go"
)

func main() {
	out := flag.String("out", "", "folder to write ca.crt, ca.key, admin.crt, admin.key into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: installer -out DIR")
		os.Exit(2)
	}
	if err := install(*out, time.Time{}); err != nil {
		fmt.Fprintln(os.Stderr, "installer:", err)
		os.Exit(1)
	}
}

// install writes the files; a zero now issues at the current time.
func install(dir string, now time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	caKey, err := kubepki.GenerateKey("ECDSA-P256")
	if err != nil {
		return err
	}
	defer caKey.Close()
	caProfile, err := kubepki.BuiltinProfile("ca", "", "")
	if err != nil {
		return err
	}
	defer caProfile.Close()
	ca, err := kubepki.NewSelfSignedCA(caKey, "", caProfile, 0, now)
	if err != nil {
		return err
	}
	defer ca.Close()

	key, err := kubepki.GenerateKey("ECDSA-P256")
	if err != nil {
		return err
	}
	defer key.Close()
	csr, err := kubepki.NewCSR("/O=kubeadm:cluster-admins/CN=kubernetes-admin", nil, key)
	if err != nil {
		return err
	}
	defer csr.Close()
	admin, err := kubepki.BuiltinProfile("admin", "", "")
	if err != nil {
		return err
	}
	defer admin.Close()
	cert, err := ca.Issue(csr, admin, 0, now)
	if err != nil {
		return err
	}
	defer cert.Close()

	caPEM, err := ca.CertPEM()
	if err != nil {
		return err
	}
	caKeyPEM, err := caKey.PEM(kubepki.Traditional)
	if err != nil {
		return err
	}
	certPEM, err := cert.PEM()
	if err != nil {
		return err
	}
	keyPEM, err := key.PEM(kubepki.Traditional)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.crt", caPEM, 0o644},
		{"ca.key", caKeyPEM, 0o600},
		{"admin.crt", certPEM, 0o644},
		{"admin.key", keyPEM, 0o600},
	} {
		if err := writeNew(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// writeNew writes a file that must not exist yet, and syncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
