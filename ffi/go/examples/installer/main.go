// Command installer lays out a control plane's whole PKI as kubeadm does (the cluster,
// front-proxy and etcd CAs, every leaf certificate, the service-account key pair and the
// kubeconfig files), from flags, in one call through the kubepki Go binding
// (kubepki.InitCluster). Run again, it keeps what is valid.
//
// usage: installer -node-name NAME [-advertise-address IP] [-apiserver-bind-port PORT]
//
//	[-control-plane-endpoint HOST[:PORT]] [-service-cidr CIDR[,CIDR]] [-service-dns-domain DOMAIN]
//	[-apiserver-cert-extra-sans SAN,...] [-algorithm ALG] [-cert-dir DIR] [-kubeconfig-dir DIR]
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	kubepki "github.com/kubepki/kubepki/ffi/go"
)

// options are the installer's flags, named as kubeadm init names them.
type options struct {
	nodeName             string
	advertiseAddress     string
	bindPort             uint
	controlPlaneEndpoint string
	serviceCIDR          string
	dnsDomain            string
	sans                 string
	algorithm            string
	certDir              string
	kubeconfigDir        string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("installer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.nodeName, "node-name", "", "the control-plane node's name (required)")
	fs.StringVar(&o.advertiseAddress, "advertise-address", "127.0.0.1", "the API server's advertise address")
	fs.UintVar(&o.bindPort, "apiserver-bind-port", 6443, "the API server's port: in the local kubeconfig files, and of a -control-plane-endpoint that names none")
	fs.StringVar(&o.controlPlaneEndpoint, "control-plane-endpoint", "", "HOST[:PORT] of a load balancer in front of the API servers")
	fs.StringVar(&o.serviceCIDR, "service-cidr", "10.96.0.0/12", "the service network (V4,V6 for dual stack)")
	fs.StringVar(&o.dnsDomain, "service-dns-domain", "cluster.local", "the cluster DNS domain")
	fs.StringVar(&o.sans, "apiserver-cert-extra-sans", "", "extra SANs (IPs or DNS names) of the API server certificate, comma-separated")
	fs.StringVar(&o.algorithm, "algorithm", "RSA-2048", "key algorithm: RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384")
	fs.StringVar(&o.certDir, "cert-dir", "/etc/kubernetes/pki", "where the certificates and keys go")
	fs.StringVar(&o.kubeconfigDir, "kubeconfig-dir", "/etc/kubernetes", "where the kubeconfig files go")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.nodeName == "" {
		return o, fmt.Errorf("-node-name is required")
	}
	if o.bindPort < 1 || o.bindPort > 65535 {
		return o, fmt.Errorf("-apiserver-bind-port %d is not a port (1 to 65535)", o.bindPort)
	}
	return o, nil
}

// params turns the flags into cluster parameters (kubeadm's defaults for the rest).
func (o options) params() (kubepki.ClusterParams, error) {
	p := kubepki.NewClusterParams(o.nodeName)
	ip := net.ParseIP(o.advertiseAddress)
	if ip == nil {
		return p, fmt.Errorf("-advertise-address %q is not an IP address", o.advertiseAddress)
	}
	p.AdvertiseAddress = ip
	p.BindPort = uint16(o.bindPort)
	p.ControlPlaneEndpoint = o.controlPlaneEndpoint
	p.ServiceCIDR = o.serviceCIDR
	p.DNSDomain = o.dnsDomain
	p.Algorithm = o.algorithm
	for _, san := range strings.Split(o.sans, ",") {
		if san = strings.TrimSpace(san); san != "" {
			p.APIServerSANs = append(p.APIServerSANs, san)
		}
	}
	return p, nil
}

// install lays out the tree; a zero now issues at the current time. It prints what was done
// to each file.
func install(o options, now time.Time, stdout io.Writer) error {
	p, err := o.params()
	if err != nil {
		return err
	}
	report, err := kubepki.InitCluster(p, o.certDir, o.kubeconfigDir, now)
	if err != nil {
		return err
	}
	for _, e := range report.Entries {
		fmt.Fprintf(stdout, "%-8s %s\n", e.Action, e.Path)
	}
	for _, w := range report.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(os.Stderr, "installer:", err)
		}
		os.Exit(2)
	}
	if err := install(o, time.Time{}, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "installer:", err)
		os.Exit(1)
	}
}
