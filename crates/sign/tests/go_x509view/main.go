// go_x509view prints what Go's crypto/x509 (kube-apiserver, kubectl, the Kubernetes
// approvers) reads in certificate requests and certificates: the differential oracle of
// crates/sign/tests/go_differential.rs.
//
// Input (stdin), repeated: one byte 'R' (a PKCS#10 request) or 'C' (a certificate), a 4-byte
// big-endian length, that many DER bytes. Output (stdout): one JSON line per blob, in order:
// {"cn":…,"o":[…],"ou":[…],"dns":[…],"ip":[…],"uri":[…],"email":[…],"key":"ECDSA-256"}
// or {"error":"…"}. Standard library only.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
)

type view struct {
	CN    string   `json:"cn"`
	O     []string `json:"o"`
	OU    []string `json:"ou"`
	DNS   []string `json:"dns"`
	IP    []string `json:"ip"`
	URI   []string `json:"uri"`
	Email []string `json:"email"`
	Key   string   `json:"key"`
}

type failure struct {
	Error string `json:"error"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func keyName(key any) string {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return fmt.Sprintf("ECDSA-%d", k.Curve.Params().BitSize)
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("%T", key)
	}
}

func makeView(subject pkix.Name, dns, email []string, ips []net.IP, uris []*url.URL, key any) view {
	v := view{
		CN:    subject.CommonName,
		O:     nonNil(subject.Organization),
		OU:    nonNil(subject.OrganizationalUnit),
		DNS:   nonNil(dns),
		Email: nonNil(email),
		IP:    []string{},
		URI:   []string{},
		Key:   keyName(key),
	}
	for _, ip := range ips {
		v.IP = append(v.IP, ip.String())
	}
	for _, u := range uris {
		v.URI = append(v.URI, u.String())
	}
	return v
}

func parse(kind byte, der []byte) (result any) {
	defer func() {
		if r := recover(); r != nil {
			result = failure{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	switch kind {
	case 'R':
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return failure{Error: err.Error()}
		}
		return makeView(csr.Subject, csr.DNSNames, csr.EmailAddresses, csr.IPAddresses, csr.URIs, csr.PublicKey)
	case 'C':
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return failure{Error: err.Error()}
		}
		return makeView(cert.Subject, cert.DNSNames, cert.EmailAddresses, cert.IPAddresses, cert.URIs, cert.PublicKey)
	default:
		return failure{Error: fmt.Sprintf("unknown blob kind %q", kind)}
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var header [5]byte
	for {
		if _, err := io.ReadFull(in, header[:]); err != nil {
			if err == io.EOF {
				return
			}
			fmt.Fprintln(os.Stderr, "reading a header:", err)
			os.Exit(2)
		}
		der := make([]byte, binary.BigEndian.Uint32(header[1:]))
		if _, err := io.ReadFull(in, der); err != nil {
			fmt.Fprintln(os.Stderr, "reading a blob:", err)
			os.Exit(2)
		}
		if err := enc.Encode(parse(header[0], der)); err != nil {
			fmt.Fprintln(os.Stderr, "writing:", err)
			os.Exit(2)
		}
		// The Rust side writes a batch, then reads its answers: flush once the input runs dry.
		if in.Buffered() == 0 {
			out.Flush()
		}
	}
}
