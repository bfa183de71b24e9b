package kubepki

/*
#include <stdlib.h>
#include "kubepki.h"
*/
import "C"

import (
	"errors"
	"net"
	"runtime"
	"time"
	"unsafe"
)

// ClusterParams are the options of `kubepki init`. NewClusterParams fills in kubeadm's
// defaults; NodeName has none (kubeadm takes the host name) and must be set.
type ClusterParams struct {
	NodeName             string        // the control-plane node's name
	AdvertiseAddress     net.IP        // default 127.0.0.1
	BindPort             uint16        // default 6443
	ControlPlaneEndpoint string        // HOST[:PORT] of a load balancer; "" for none
	ClusterName          string        // default "kubernetes"
	ServiceCIDR          string        // default "10.96.0.0/12"; "V4CIDR,V6CIDR" for dual stack
	DNSDomain            string        // default "cluster.local"
	APIServerSANs        []string      // extra SANs of the API server certificate
	EtcdServerSANs       []string      // extra SANs of the etcd server certificate
	EtcdPeerSANs         []string      // extra SANs of the etcd peer certificate
	Algorithm            string        // default "RSA-2048"
	CertValidity         time.Duration // default 1 year
	CAValidity           time.Duration // default 10 years
	ExternalEtcd         bool          // no etcd CA or etcd certificates
	Kubeadm128Groups     bool          // admin.conf in system:masters, no super-admin.conf
	ExternalCAPEM        []byte        // external CA mode: ca.crt without its key (InitCluster only)
	CASigner             *Signer       // the cluster CA's key held elsewhere (KMS, HSM)
}

// NewClusterParams returns kubeadm's defaults for a node.
func NewClusterParams(nodeName string) ClusterParams {
	return ClusterParams{
		NodeName:         nodeName,
		AdvertiseAddress: net.IPv4(127, 0, 0, 1),
		BindPort:         6443,
		ClusterName:      "kubernetes",
		ServiceCIDR:      "10.96.0.0/12",
		DNSDomain:        "cluster.local",
		Algorithm:        "RSA-2048",
		CertValidity:     365 * 24 * time.Hour,
		CAValidity:       10 * 365 * 24 * time.Hour,
	}
}

type textSetter func(*C.kubepki_cluster_params, *C.uint8_t, C.size_t, **C.kubepki_error) C.kubepki_result

// build makes the C parameters; every value is checked by its setter.
func (p *ClusterParams) build() (*C.kubepki_cluster_params, error) {
	var params *C.kubepki_cluster_params
	var cerr *C.kubepki_error
	if err := check(C.kubepki_cluster_params_new(&params, &cerr), cerr); err != nil {
		return nil, err
	}
	fail := func(err error) (*C.kubepki_cluster_params, error) {
		C.kubepki_cluster_params_free(params)
		return nil, err
	}
	set := func(f textSetter, value string) error {
		ptr, n := in([]byte(value))
		var cerr *C.kubepki_error
		return check(f(params, ptr, n, &cerr), cerr)
	}
	type text struct {
		f     textSetter
		value string
	}
	texts := []text{
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_node_name(a, b, c, d)
		}, p.NodeName},
	}
	if p.AdvertiseAddress != nil {
		texts = append(texts, text{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_advertise_address(a, b, c, d)
		}, p.AdvertiseAddress.String()})
	}
	optional := []struct {
		f     textSetter
		value string
	}{
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_control_plane_endpoint(a, b, c, d)
		}, p.ControlPlaneEndpoint},
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_cluster_name(a, b, c, d)
		}, p.ClusterName},
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_service_cidr(a, b, c, d)
		}, p.ServiceCIDR},
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_dns_domain(a, b, c, d)
		}, p.DNSDomain},
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_algorithm(a, b, c, d)
		}, p.Algorithm},
		{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_set_external_ca(a, b, c, d)
		}, string(p.ExternalCAPEM)},
	}
	for _, o := range optional {
		if o.value != "" {
			texts = append(texts, text{o.f, o.value})
		}
	}
	for _, san := range p.APIServerSANs {
		texts = append(texts, text{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_add_apiserver_san(a, b, c, d)
		}, san})
	}
	for _, san := range p.EtcdServerSANs {
		texts = append(texts, text{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_add_etcd_server_san(a, b, c, d)
		}, san})
	}
	for _, san := range p.EtcdPeerSANs {
		texts = append(texts, text{func(a *C.kubepki_cluster_params, b *C.uint8_t, c C.size_t, d **C.kubepki_error) C.kubepki_result {
			return C.kubepki_cluster_params_add_etcd_peer_san(a, b, c, d)
		}, san})
	}
	for _, t := range texts {
		if err := set(t.f, t.value); err != nil {
			return fail(err)
		}
	}
	var errs []error
	call := func(rc C.kubepki_result, cerr *C.kubepki_error) {
		if err := check(rc, cerr); err != nil {
			errs = append(errs, err)
		}
	}
	if p.BindPort != 0 {
		cerr = nil
		call(C.kubepki_cluster_params_set_bind_port(params, C.uint16_t(p.BindPort), &cerr), cerr)
	}
	if p.CertValidity > 0 {
		cerr = nil
		call(C.kubepki_cluster_params_set_cert_validity(params, validityArg(p.CertValidity), &cerr), cerr)
	}
	if p.CAValidity > 0 {
		cerr = nil
		call(C.kubepki_cluster_params_set_ca_validity(params, validityArg(p.CAValidity), &cerr), cerr)
	}
	cerr = nil
	call(C.kubepki_cluster_params_set_external_etcd(params, C.bool(p.ExternalEtcd), &cerr), cerr)
	cerr = nil
	call(C.kubepki_cluster_params_set_kubeadm_1_28_groups(params, C.bool(p.Kubeadm128Groups), &cerr), cerr)
	if p.CASigner != nil {
		cerr = nil
		call(C.kubepki_cluster_params_set_ca_signer(params, p.CASigner.ptr, &cerr), cerr)
		runtime.KeepAlive(p.CASigner)
	}
	if len(errs) > 0 {
		return fail(errors.Join(errs...))
	}
	return params, nil
}

// Validate checks every parameter as InitCluster would, without making anything.
func (p *ClusterParams) Validate() error {
	params, err := p.build()
	if err != nil {
		return err
	}
	C.kubepki_cluster_params_free(params)
	return nil
}

// Action says what was done to a file.
type Action uint32

const (
	Written Action = 0 // created now
	Kept    Action = 1 // existed and fits
	Missing Action = 2 // its CA's key is absent (external CA): sign it elsewhere
	Renewed Action = 3 // new key and certificate
	Skipped Action = 4 // not renewed: its CA is external
)

func (a Action) String() string {
	switch a {
	case Written:
		return "written"
	case Kept:
		return "kept"
	case Missing:
		return "missing"
	case Renewed:
		return "renewed"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}

// ReportEntry is one file of a report.
type ReportEntry struct {
	Name   string // kubeadm's name: ca, apiserver, admin.conf, sa
	Path   string // the file; "" when not known
	Action Action
	CA     string // the CA concerned, for Missing and Skipped
	Note   string // the component to restart, for Renewed
}

// Report is what InitCluster or Renew did.
type Report struct {
	Entries  []ReportEntry
	Warnings []string
}

func takeReport(r *C.kubepki_report) *Report {
	defer C.kubepki_report_free(r)
	out := &Report{}
	var row C.kubepki_report_row
	for i := 0; C.kubepki_report_row_get(r, C.size_t(i), &row); i++ {
		out.Entries = append(out.Entries, ReportEntry{
			Name:   C.GoString(row.name),
			Path:   C.GoString(row.path),
			Action: Action(row.action),
			CA:     C.GoString(row.ca),
			Note:   C.GoString(row.note),
		})
	}
	n := int(C.kubepki_report_warnings_len(r))
	for i := 0; i < n; i++ {
		out.Warnings = append(out.Warnings, C.GoString(C.kubepki_report_warning(r, C.size_t(i))))
	}
	return out
}

// InitCluster lays out kubeadm's tree in certDir (/etc/kubernetes/pki) and kubeconfigDir
// (/etc/kubernetes), as `kubepki init`: what exists and fits is kept, a misfit is refused
// before anything is written. A zero now issues at the current time.
func InitCluster(params ClusterParams, certDir, kubeconfigDir string, now time.Time) (*Report, error) {
	p, err := params.build()
	if err != nil {
		return nil, err
	}
	defer C.kubepki_cluster_params_free(p)
	cp, cn := in([]byte(certDir))
	kp, kn := in([]byte(kubeconfigDir))
	var out *C.kubepki_report
	var cerr *C.kubepki_error
	if err := check(C.kubepki_cluster_init(p, cp, cn, kp, kn, unixArg(now), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeReport(out), nil
}

// File is one file of a generated tree.
type File struct {
	Data   []byte
	Secret bool // a private key: write it with mode 0600
}

// GenerateCluster makes the tree InitCluster would write, in memory, keyed by its path
// under /etc/kubernetes ("pki/ca.crt", "admin.conf"). A zero now issues at the current time.
func GenerateCluster(params ClusterParams, now time.Time) (map[string]File, error) {
	p, err := params.build()
	if err != nil {
		return nil, err
	}
	defer C.kubepki_cluster_params_free(p)
	var b *C.kubepki_bundle
	var cerr *C.kubepki_error
	if err := check(C.kubepki_cluster_generate(p, unixArg(now), &b, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.kubepki_bundle_free(b)
	n := int(C.kubepki_bundle_len(b))
	files := make(map[string]File, n)
	for i := 0; i < n; i++ {
		var size C.size_t
		data := C.kubepki_bundle_data(b, C.size_t(i), &size)
		files[C.GoString(C.kubepki_bundle_path(b, C.size_t(i)))] = File{
			Data:   C.GoBytes(unsafe.Pointer(data), C.int(size)),
			Secret: bool(C.kubepki_bundle_is_secret(b, C.size_t(i))),
		}
	}
	return files, nil
}

// ExpirationEntry is one row of CheckExpiration.
type ExpirationEntry struct {
	Name              string
	NotAfter          time.Time // zero when missing
	Residual          time.Duration
	CA                string // the signing CA; "" for a CA or a missing file
	IsCA              bool
	ExternallyManaged bool
	Missing           bool
}

// CheckExpiration reads every certificate's end of validity, as
// `kubepki certs check-expiration`. A zero now reads at the current time.
func CheckExpiration(certDir, kubeconfigDir string, now time.Time) ([]ExpirationEntry, error) {
	cp, cn := in([]byte(certDir))
	kp, kn := in([]byte(kubeconfigDir))
	var r *C.kubepki_expiration_report
	var cerr *C.kubepki_error
	if err := check(C.kubepki_check_expiration(cp, cn, kp, kn, unixArg(now), &r, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.kubepki_expiration_report_free(r)
	var rows []ExpirationEntry
	var row C.kubepki_expiration_row
	for i := 0; C.kubepki_expiration_row_get(r, C.size_t(i), &row); i++ {
		e := ExpirationEntry{
			Name:              C.GoString(row.name),
			Residual:          time.Duration(row.residual_seconds) * time.Second,
			CA:                C.GoString(row.ca),
			IsCA:              bool(row.is_ca),
			ExternallyManaged: bool(row.externally_managed),
			Missing:           bool(row.missing),
		}
		if !e.Missing {
			e.NotAfter = time.Unix(int64(row.not_after), 0)
		}
		rows = append(rows, e)
	}
	return rows, nil
}

// strList passes a []string as a C array of kubepki_str; free releases the C memory.
func strList(items []string) (*C.kubepki_str, C.size_t, func()) {
	if len(items) == 0 {
		return nil, 0, func() {}
	}
	size := C.size_t(unsafe.Sizeof(C.kubepki_str{}))
	arr := (*[1 << 20]C.kubepki_str)(C.malloc(size * C.size_t(len(items))))[:len(items):len(items)]
	var texts []unsafe.Pointer
	for i, s := range items {
		p := C.CBytes([]byte(s))
		texts = append(texts, p)
		arr[i] = C.kubepki_str{data: (*C.uint8_t)(p), len: C.size_t(len(s))}
	}
	return &arr[0], C.size_t(len(items)), func() {
		for _, p := range texts {
			C.free(p)
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
}

// Renew renews certificates of the tree (kubeadm's names, or none for all), each with a new
// key, for validity (0: 1 year). clusterCA, when not nil, signs for the cluster CA (its key
// on a token); the other CAs are read from the tree. A zero now renews at the current time.
func Renew(certDir, kubeconfigDir string, names []string, validity time.Duration, clusterCA *CA, now time.Time) (*Report, error) {
	cp, cn := in([]byte(certDir))
	kp, kn := in([]byte(kubeconfigDir))
	np, nn, free := strList(names)
	defer free()
	var ca *C.kubepki_ca
	if clusterCA != nil {
		ca = clusterCA.ptr
	}
	var out *C.kubepki_report
	var cerr *C.kubepki_error
	rc := C.kubepki_renew(cp, cn, kp, kn, np, nn, validityArg(validity), ca, unixArg(now), &out, &cerr)
	runtime.KeepAlive(clusterCA)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeReport(out), nil
}

// KubeconfigUser writes a kubeconfig file for a new user (kubeadm's `kubeconfig user`): a
// fresh key of algorithm ("" for ECDSA-P256), CN user, O groups, signed by ca for validity
// (0: 24 hours), for cluster clusterName at server ("https://HOST:PORT").
func KubeconfigUser(ca *CA, clusterName, server, user string, groups []string, algorithm string, validity time.Duration, now time.Time) ([]byte, error) {
	cnp, cnn := in([]byte(clusterName))
	sp, sn := in([]byte(server))
	up, un := in([]byte(user))
	ap, an := in([]byte(algorithm))
	gp, gn, free := strList(groups)
	defer free()
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := C.kubepki_kubeconfig_user(ca.ptr, cnp, cnn, sp, sn, up, un, gp, gn, ap, an, validityArg(validity), unixArg(now), &out, &cerr)
	runtime.KeepAlive(ca)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}
