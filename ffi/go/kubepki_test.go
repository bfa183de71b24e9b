package kubepki

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// The issuing time of every test: certificates are checked by crypto/x509 at this time, so
// nothing depends on today's date.
var now = time.Unix(1700000000, 0)

// must unwraps a result; a failure panics, which fails the test with its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func der(t *testing.T, pemBytes []byte, label string) []byte {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != label {
		t.Fatalf("no %s PEM block in %q", label, pemBytes)
	}
	return block.Bytes
}

type fixture struct {
	caKey   *Key
	ca      *CA
	caPEM   []byte
	roots   *x509.CertPool
	closers []func()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.caKey = must(GenerateKey("ECDSA-P256"))
	caProfile := must(BuiltinProfile("ca", "", ""))
	f.ca = must(NewSelfSignedCA(f.caKey, "", caProfile, 0, now))
	caProfile.Close()
	f.caPEM = must(f.ca.CertPEM())
	root := must(x509.ParseCertificate(der(t, f.caPEM, "CERTIFICATE")))
	f.roots = x509.NewCertPool()
	f.roots.AddCert(root)
	t.Cleanup(func() {
		f.ca.Close()
		f.caKey.Close()
	})
	return f
}

func TestVersion(t *testing.T) {
	if Version() == "" {
		t.Fatal("empty version")
	}
}

func TestCSRCheckedByCryptoX509(t *testing.T) {
	for _, alg := range []string{"ECDSA-P256", "ECDSA-P384", "RSA-2048"} {
		key := must(GenerateKey(alg))
		defer key.Close()
		csr := must(NewCSR("/O=dev/O=ops/CN=jane", []string{"DNS:jane.example", "IP:10.0.0.7"}, key))
		defer csr.Close()
		csrPEM := must(csr.PEM())
		req := must(x509.ParseCertificateRequest(der(t, csrPEM, "CERTIFICATE REQUEST")))
		if err := req.CheckSignature(); err != nil {
			t.Fatalf("%s: Go rejects our CSR signature: %v", alg, err)
		}
		if req.Subject.CommonName != "jane" || len(req.Subject.Organization) != 2 {
			t.Fatalf("%s: subject %v", alg, req.Subject)
		}
		if len(req.DNSNames) != 1 || req.DNSNames[0] != "jane.example" || !req.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) {
			t.Fatalf("%s: SANs %v %v", alg, req.DNSNames, req.IPAddresses)
		}
		parsed := must(ParseCSR(csrPEM))
		if cn := must(parsed.CommonName()); cn != "jane" {
			t.Fatalf("common name %q", cn)
		}
		if g := must(parsed.Groups()); len(g) != 2 || g[0] != "dev" || g[1] != "ops" {
			t.Fatalf("groups %v", g)
		}
		if s := must(parsed.SANs()); len(s) != 2 || s[0] != "DNS:jane.example" {
			t.Fatalf("sans %v", s)
		}
		parsed.Close()
		parsed.Close() // idempotent
	}
}

func TestAdminClientCertVerifiedByCryptoX509(t *testing.T) {
	f := newFixture(t)
	key := must(GenerateKey("ECDSA-P256"))
	defer key.Close()
	csr := must(NewCSR("/O=kubeadm:cluster-admins/CN=kubernetes-admin", nil, key))
	defer csr.Close()
	admin := must(BuiltinProfile("admin", "", ""))
	defer admin.Close()
	cert := must(f.ca.Issue(csr, admin, 24*time.Hour, now))
	defer cert.Close()
	if got := cert.NotAfter(); !got.Equal(now.Add(24 * time.Hour)) {
		t.Fatalf("NotAfter %v", got)
	}
	usages := must(cert.Usages())
	if usages[len(usages)-1] != "client auth" {
		t.Fatalf("usages %v", usages)
	}
	leaf := must(x509.ParseCertificate(der(t, must(cert.PEM()), "CERTIFICATE")))
	opts := x509.VerifyOptions{Roots: f.roots, CurrentTime: now.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		t.Fatalf("Go rejects our client certificate: %v", err)
	}
	opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if _, err := leaf.Verify(opts); err == nil {
		t.Fatal("Go accepts a client certificate for server auth")
	}
	if leaf.Subject.CommonName != "kubernetes-admin" || leaf.Subject.Organization[0] != "kubeadm:cluster-admins" {
		t.Fatalf("subject %v", leaf.Subject)
	}
	// Our own verifier agrees, and refuses the wrong purpose with its code.
	if err := Verify(f.caPEM, nil, must(cert.PEM()), ClientAuth, "", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var kerr *Error
	err := Verify(f.caPEM, nil, must(cert.PEM()), ServerAuth, "", now.Add(time.Hour))
	if !errors.As(err, &kerr) || kerr.Code != CodeVerifyUsage {
		t.Fatalf("want usage error, got %v", err)
	}
	err = Verify(f.caPEM, nil, must(cert.PEM()), ClientAuth, "", now.Add(48*time.Hour))
	if !errors.As(err, &kerr) || kerr.Code != CodeVerifyExpired {
		t.Fatalf("want expired, got %v", err)
	}
	// And names the user and groups the API server would see, or why it would not.
	user, groups, err := KubernetesIdentity(f.caPEM, nil, must(cert.PEM()), now.Add(time.Hour))
	if err != nil || user != "kubernetes-admin" || len(groups) != 1 || groups[0] != "kubeadm:cluster-admins" {
		t.Fatalf("identity: %q %q %v", user, groups, err)
	}
	_, _, err = KubernetesIdentity(f.caPEM, nil, must(cert.PEM()), now.Add(48*time.Hour))
	if !errors.As(err, &kerr) || kerr.Code != CodeVerifyExpired {
		t.Fatalf("identity: want expired, got %v", err)
	}
}

func TestServingCertThroughIntermediateVerifiedByCryptoX509(t *testing.T) {
	f := newFixture(t)
	interKey := must(GenerateKey("ECDSA-P384"))
	defer interKey.Close()
	interProfile := must(CAProfile("kubernetes-intermediate"))
	defer interProfile.Close()
	inter := must(f.ca.IssueIntermediate(interKey, "/CN=kubernetes-intermediate", interProfile, 0, now))
	defer inter.Close()

	key := must(GenerateKey("RSA-2048"))
	defer key.Close()
	csr := must(NewCSR("/CN=api", []string{"DNS:api.example", "IP:192.0.2.10"}, key))
	defer csr.Close()
	server := must(BuiltinProfile("server", "", ""))
	defer server.Close()
	cert := must(inter.Issue(csr, server, 0, now))
	defer cert.Close()

	chain := must(cert.ChainPEM())
	leafPEM, rest := pem.Decode(chain)
	intermediates := x509.NewCertPool()
	if !intermediates.AppendCertsFromPEM(rest) {
		t.Fatal("no intermediate in the chain")
	}
	leaf := must(x509.ParseCertificate(leafPEM.Bytes))
	for _, name := range []string{"api.example", "192.0.2.10"} {
		opts := x509.VerifyOptions{
			Roots: f.roots, Intermediates: intermediates, DNSName: name,
			CurrentTime: now.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if _, err := leaf.Verify(opts); err != nil {
			t.Fatalf("Go rejects our serving certificate for %s: %v", name, err)
		}
	}
	if err := Verify(f.caPEM, nil, chain, ServerAuth, "api.example", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var kerr *Error
	err := Verify(f.caPEM, nil, chain, ServerAuth, "other.example", now.Add(time.Hour))
	if !errors.As(err, &kerr) || kerr.Code != CodeVerifyNameMismatch {
		t.Fatalf("want name mismatch, got %v", err)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	key := must(GenerateKey("ECDSA-P256"))
	defer key.Close()
	for _, format := range []KeyFormat{PKCS8, Traditional} {
		p := must(key.PEM(format))
		back := must(ParseKey(p, nil))
		if back.Algorithm() != "ECDSA-P256" {
			t.Fatalf("algorithm %s", back.Algorithm())
		}
		back.Close()
	}
	enc := must(key.EncryptedPEM([]byte("s3cret")))
	var kerr *Error
	if _, err := ParseKey(enc, nil); !errors.As(err, &kerr) || kerr.Code != CodeKeyPassphraseNeeded {
		t.Fatalf("want passphrase needed, got %v", err)
	}
	if _, err := ParseKey(enc, []byte("wrong")); !errors.As(err, &kerr) || kerr.Code != CodeKeyDecrypt {
		t.Fatalf("want decrypt error, got %v", err)
	}
	must(ParseKey(enc, []byte("s3cret"))).Close()
	pub := must(key.PublicKeyPEM())
	if _, err := x509.ParsePKIXPublicKey(der(t, pub, "PUBLIC KEY")); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCAFromPEM(t *testing.T) {
	f := newFixture(t)
	keyPEM := must(f.caKey.PEM(Traditional))
	loaded := must(LoadCA(f.caPEM, keyPEM, nil))
	defer loaded.Close()
	if got := must(loaded.CertPEM()); string(got) != string(f.caPEM) {
		t.Fatal("loaded CA has another certificate")
	}
	other := must(GenerateKey("ECDSA-P256"))
	defer other.Close()
	var kerr *Error
	if _, err := LoadCA(f.caPEM, must(other.PEM(PKCS8)), nil); !errors.As(err, &kerr) || kerr.Code != 403 {
		t.Fatalf("want key mismatch, got %v", err)
	}
}

func TestProfilesFromYAML(t *testing.T) {
	f := newFixture(t)
	yaml := []byte(`profiles:
  backup-client:
    usages: [digital signature, client auth]
    expiry: 2h
    max_expiry: 4h
`)
	p := must(ProfileFromYAML(yaml, "backup-client"))
	defer p.Close()
	key := must(GenerateKey("ECDSA-P256"))
	defer key.Close()
	csr := must(NewCSR("/CN=backup", nil, key))
	defer csr.Close()
	cert := must(f.ca.Issue(csr, p, 0, now))
	defer cert.Close()
	if got := cert.NotAfter().Sub(now); got != 2*time.Hour {
		t.Fatalf("validity %v", got)
	}
	var kerr *Error
	if _, err := f.ca.Issue(csr, p, 5*time.Hour, now); !errors.As(err, &kerr) || kerr.Code != CodeProfileValidity {
		t.Fatalf("want validity refused, got %v", err)
	}
}

func TestErrorsCarryCodeAndMessage(t *testing.T) {
	var kerr *Error
	_, err := GenerateKey("RSA-1024")
	if !errors.As(err, &kerr) || kerr.Code != CodeKeyUnknownAlgorithm || kerr.Message == "" {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseCSR([]byte("garbage")); !errors.As(err, &kerr) || kerr.Code != CodeCSRMalformed {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseCSR(nil); !errors.As(err, &kerr) || kerr.Code != CodeCSRMalformed {
		t.Fatalf("got %v", err)
	}
	if _, err := BuiltinProfile("no-such-profile", "", ""); !errors.As(err, &kerr) || kerr.Code != CodeProfileUnknown {
		t.Fatalf("got %v", err)
	}
	f := newFixture(t)
	key := must(GenerateKey("ECDSA-P256"))
	defer key.Close()
	csr := must(NewCSR("/O=system:masters/CN=eve", nil, key))
	defer csr.Close()
	admin := must(BuiltinProfile("admin", "", ""))
	defer admin.Close()
	if _, err := f.ca.Issue(csr, admin, 0, now); !errors.As(err, &kerr) || (kerr.Code != CodeProfileCNMismatch && kerr.Code != CodeProfileOrgRefused) {
		t.Fatalf("got %v", err)
	}
	if _, err := NewSelfSignedCA(key, "/CN=x", admin, 0, now); !errors.As(err, &kerr) || kerr.Code != CodeCAWrongProfileKind {
		t.Fatalf("got %v", err)
	}
}

func TestOneCAIssuesFromManyGoroutines(t *testing.T) {
	f := newFixture(t)
	client := must(BuiltinProfile("client", "", ""))
	defer client.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			key, err := GenerateKey("ECDSA-P256")
			if err != nil {
				errs <- err
				return
			}
			defer key.Close()
			csr, err := NewCSR("/O=dev/CN=user", nil, key)
			if err != nil {
				errs <- err
				return
			}
			defer csr.Close()
			cert, err := f.ca.Issue(csr, client, 0, now)
			if err != nil {
				errs <- err
				return
			}
			defer cert.Close()
			p, err := cert.PEM()
			if err == nil {
				err = Verify(f.caPEM, nil, p, ClientAuth, "", now.Add(time.Minute))
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
