// Command x509check verifies certificates with Go's crypto/x509, as Kubernetes components
// do. Each line of the spec file (argument 1) is:
//
//	CERT CA EKU [HOST...]
//
// with EKU "server" or "client"; the certificate must verify against the CA for that
// usage, and, for each HOST (a DNS name or an IP address), for that host name.
package main

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

func load(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no CERTIFICATE PEM block", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func check(fields []string) error {
	if len(fields) < 3 {
		return fmt.Errorf("short line %q", strings.Join(fields, " "))
	}
	cert, err := load(fields[0])
	if err != nil {
		return err
	}
	ca, err := load(fields[1])
	if err != nil {
		return err
	}
	if !ca.IsCA {
		return fmt.Errorf("%s is not a CA", fields[1])
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	usage := x509.ExtKeyUsageServerAuth
	if fields[2] == "client" {
		usage = x509.ExtKeyUsageClientAuth
	}
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}
	if _, err := cert.Verify(opts); err != nil {
		return fmt.Errorf("%s (%s): %v", fields[0], fields[2], err)
	}
	for _, host := range fields[3:] {
		opts.DNSName = host
		if _, err := cert.Verify(opts); err != nil {
			return fmt.Errorf("%s for host %s: %v", fields[0], host, err)
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: x509check SPEC")
		os.Exit(2)
	}
	file, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer file.Close()
	failed, count := 0, 0
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		count++
		if err := check(fields); err != nil {
			fmt.Println("FAIL", err)
			failed++
		} else {
			fmt.Println("ok", fields[0])
		}
	}
	fmt.Printf("%d verified, %d failed\n", count-failed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
