package kubepki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var clusterNow = time.Unix(1800000000, 0)

func testParams() ClusterParams {
	p := NewClusterParams("node-1")
	p.AdvertiseAddress = []byte{10, 0, 0, 5}
	p.Algorithm = "ECDSA-P256"
	p.APIServerSANs = []string{"k8s.example.test"}
	return p
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("no PEM in %q", data)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verifyLeaf(t *testing.T, files map[string]File, ca, leaf string, usage x509.ExtKeyUsage, dns string) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, files[ca].Data))
	_, err := parseCert(t, files[leaf].Data).Verify(x509.VerifyOptions{
		Roots: roots, CurrentTime: clusterNow, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: dns,
	})
	if err != nil {
		t.Errorf("%s: %v", leaf, err)
	}
}

func TestGenerateClusterInMemory(t *testing.T) {
	files, err := GenerateCluster(testParams(), clusterNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 27 {
		t.Errorf("%d files", len(files))
	}
	if !files["pki/ca.key"].Secret || files["pki/ca.crt"].Secret || !files["admin.conf"].Secret {
		t.Error("secret flags wrong")
	}
	verifyLeaf(t, files, "pki/ca.crt", "pki/apiserver.crt", x509.ExtKeyUsageServerAuth, "k8s.example.test")
	verifyLeaf(t, files, "pki/ca.crt", "pki/apiserver.crt", x509.ExtKeyUsageServerAuth, "kubernetes.default.svc.cluster.local")
	verifyLeaf(t, files, "pki/ca.crt", "pki/apiserver-kubelet-client.crt", x509.ExtKeyUsageClientAuth, "")
	verifyLeaf(t, files, "pki/front-proxy-ca.crt", "pki/front-proxy-client.crt", x509.ExtKeyUsageClientAuth, "")
	verifyLeaf(t, files, "pki/etcd/ca.crt", "pki/etcd/server.crt", x509.ExtKeyUsageServerAuth, "node-1")
	verifyLeaf(t, files, "pki/etcd/ca.crt", "pki/etcd/peer.crt", x509.ExtKeyUsageClientAuth, "")
}

// Issue 24: the longest Kubernetes node name (253 characters) gets its tree, which Go's
// crypto/x509 verifies for that name; one character more is refused, named.
func TestLongestNodeNameGetsItsTree(t *testing.T) {
	label := strings.Repeat("a", 63)
	node := label + "." + label + "." + label + "." + strings.Repeat("b", 61)
	p := testParams()
	p.NodeName = node
	files, err := GenerateCluster(p, clusterNow)
	if err != nil {
		t.Fatal(err)
	}
	verifyLeaf(t, files, "pki/etcd/ca.crt", "pki/etcd/server.crt", x509.ExtKeyUsageServerAuth, node)
	verifyLeaf(t, files, "pki/ca.crt", "pki/apiserver.crt", x509.ExtKeyUsageServerAuth, node)
	if cn := parseCert(t, files["pki/etcd/server.crt"].Data).Subject.CommonName; cn != node {
		t.Errorf("etcd server CN %q", cn)
	}
	p.NodeName = node + "c"
	_, err = GenerateCluster(p, clusterNow)
	var e *Error
	if !errors.As(err, &e) || !contains(e.Message, "254 characters long, more than the limit of 253") {
		t.Fatalf("%v", err)
	}
}

func TestInitCheckRenew(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	report, err := InitCluster(testParams(), pki, dir, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range report.Entries {
		if e.Action != Written {
			t.Errorf("%s: %s", e.Name, e.Action)
		}
	}
	again, err := InitCluster(testParams(), pki, dir, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range again.Entries {
		if e.Action != Kept {
			t.Errorf("again %s: %s", e.Name, e.Action)
		}
	}
	rows, err := CheckExpiration(pki, dir, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rows {
		if r.Missing || r.NotAfter.IsZero() {
			t.Errorf("%+v", r)
		}
	}
	renewed, err := Renew(pki, dir, []string{"apiserver"}, 0, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(renewed.Entries) != 1 || renewed.Entries[0].Action != Renewed || renewed.Entries[0].Note == "" {
		t.Errorf("%+v", renewed)
	}
	// A CA cannot be renewed: the renewal stops there, and the error names what was renewed.
	_, err = Renew(pki, dir, []string{"apiserver", "admin.conf", "ca"}, 0, nil, time.Time{})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeClusterRenewIncomplete {
		t.Fatalf("renew up to a CA: %v", err)
	}
	if len(e.Renewed) != 2 || e.Renewed[0] != "apiserver" || e.Renewed[1] != "admin.conf" {
		t.Errorf("renewed before the CA: %q (%s)", e.Renewed, e.Message)
	}
	certPEM, _ := os.ReadFile(filepath.Join(pki, "ca.crt"))
	keyPEM, _ := os.ReadFile(filepath.Join(pki, "ca.key"))
	ca, err := LoadCA(certPEM, keyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	kc, err := KubeconfigUser(ca, "kubernetes", "https://10.0.0.5:6443", "jane", []string{"devs"}, "", time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kc) == 0 {
		t.Error("empty kubeconfig")
	}
}

func TestBadParameterIsNamed(t *testing.T) {
	p := testParams()
	p.ServiceCIDR = "10.96.0.0/99"
	err := p.Validate()
	var e *Error
	if !errors.As(err, &e) || !contains(e.Message, "10.96.0.0/99") {
		t.Fatalf("%v", err)
	}
}

func TestBadSANIsNamedWithItsList(t *testing.T) {
	for _, c := range []struct {
		list string
		set  func(p *ClusterParams)
	}{
		{"API server SAN", func(p *ClusterParams) { p.APIServerSANs = []string{"bad san!"} }},
		{"etcd server SAN", func(p *ClusterParams) { p.EtcdServerSANs = []string{"bad san!"} }},
		{"etcd peer SAN", func(p *ClusterParams) { p.EtcdPeerSANs = []string{"bad san!"} }},
	} {
		p := testParams()
		c.set(&p)
		err := p.Validate()
		var e *Error
		if !errors.As(err, &e) || !contains(e.Message, c.list) || !contains(e.Message, "bad san!") {
			t.Errorf("%s: %v", c.list, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// selfSignedCA makes a CA certificate for key with Go's crypto/x509.
func selfSignedCA(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             clusterNow.Add(-time.Hour),
		NotAfter:              clusterNow.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestExternalSignerIsTheClusterCA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner(key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Release()
	caPEM := selfSignedCA(t, key)
	ca, err := CAFromCertAndSigner(caPEM, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	kc, err := KubeconfigUser(ca, "kubernetes", "https://10.0.0.5:6443", "jane", nil, "", time.Hour, clusterNow)
	if err != nil || len(kc) == 0 {
		t.Fatal(err)
	}
	p := testParams()
	p.CASigner = signer
	files, err := GenerateCluster(p, clusterNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["pki/ca.key"]; ok {
		t.Error("ca.key in the bundle although the key is external")
	}
	if parseCert(t, files["pki/ca.crt"].Data).PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) == false {
		t.Error("ca.crt is not the signer's")
	}
	verifyLeaf(t, files, "pki/ca.crt", "pki/apiserver.crt", x509.ExtKeyUsageServerAuth, "node-1")
}

// lying signs with another key.
type lying struct{ crypto.Signer }

func (l lying) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return other.Sign(r, d, o)
}

// failing always fails.
type failing struct{ crypto.Signer }

func (failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("KMS unavailable")
}

func TestExternalSignerFailuresAreCodes(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caPEM := selfSignedCA(t, key)
	for _, tc := range []struct {
		s    crypto.Signer
		code uint32
	}{{lying{key}, 112}, {failing{key}, 111}} {
		signer, err := NewSigner(key.Public(), tc.s)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := CAFromCertAndSigner(caPEM, signer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = KubeconfigUser(ca, "kubernetes", "https://10.0.0.5:6443", "jane", nil, "", time.Hour, clusterNow)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("want code %d, got %v", tc.code, err)
		}
		ca.Close()
		signer.Release()
	}
}

func FuzzParseCertificate(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01})
	_ = key
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseCertificate(data); err == nil {
			c.Close()
		}
		if c, err := ParseCSR(data); err == nil {
			c.Close()
		}
		if k, err := ParseKey(data, nil); err == nil {
			k.Close()
		}
		if ca, err := CAFromCertAndSigner(data, nil); err == nil {
			ca.Close()
		}
	})
}
