package kubepki

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#include <stdlib.h>
#include "kubepki.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// Result codes of the C ABI that callers commonly test for (see kubepki.h for all), taken
// from the header so that they cannot drift from it.
const (
	CodeNullParameter          uint32 = C.KUBEPKI_RESULT_NULL_PARAMETER
	CodeAlreadyUsed            uint32 = C.KUBEPKI_RESULT_ALREADY_USED
	CodeUnclassified           uint32 = C.KUBEPKI_RESULT_UNCLASSIFIED
	CodeKeyUnknownAlgorithm    uint32 = C.KUBEPKI_RESULT_KEY_UNKNOWN_ALGORITHM
	CodeKeyMalformed           uint32 = C.KUBEPKI_RESULT_KEY_MALFORMED
	CodeKeyPassphraseNeeded    uint32 = C.KUBEPKI_RESULT_KEY_PASSPHRASE_REQUIRED
	CodeKeyDecrypt             uint32 = C.KUBEPKI_RESULT_KEY_DECRYPT
	CodeCSRMalformed           uint32 = C.KUBEPKI_RESULT_CSR_MALFORMED
	CodeCSRProofOfPossession   uint32 = C.KUBEPKI_RESULT_CSR_PROOF_OF_POSSESSION
	CodeProfileUnknown         uint32 = C.KUBEPKI_RESULT_PROFILE_UNKNOWN
	CodeProfileCNMismatch      uint32 = C.KUBEPKI_RESULT_PROFILE_COMMON_NAME_MISMATCH
	CodeProfileOrgRefused      uint32 = C.KUBEPKI_RESULT_PROFILE_ORGANIZATION_REFUSED
	CodeProfileValidity        uint32 = C.KUBEPKI_RESULT_PROFILE_VALIDITY_REFUSED
	CodeCAWrongProfileKind     uint32 = C.KUBEPKI_RESULT_CA_WRONG_PROFILE_KIND
	CodeCertMalformed          uint32 = C.KUBEPKI_RESULT_CERT_MALFORMED
	CodeVerifyExpired          uint32 = C.KUBEPKI_RESULT_VERIFY_EXPIRED
	CodeVerifyUnknownIssuer    uint32 = C.KUBEPKI_RESULT_VERIFY_UNKNOWN_ISSUER
	CodeVerifyNameMismatch     uint32 = C.KUBEPKI_RESULT_VERIFY_NAME_MISMATCH
	CodeVerifyUsage            uint32 = C.KUBEPKI_RESULT_VERIFY_USAGE_NOT_ALLOWED
	CodeClusterMisfit          uint32 = C.KUBEPKI_RESULT_CLUSTER_MISFIT
	CodeClusterIO              uint32 = C.KUBEPKI_RESULT_CLUSTER_IO
	CodeClusterUnknownCert     uint32 = C.KUBEPKI_RESULT_CLUSTER_UNKNOWN_CERTIFICATE
	CodeClusterNoCAKey         uint32 = C.KUBEPKI_RESULT_CLUSTER_NO_CA_KEY
	CodeClusterRenewIncomplete uint32 = C.KUBEPKI_RESULT_CLUSTER_RENEW_INCOMPLETE
	CodeClusterCANotRenewed    uint32 = C.KUBEPKI_RESULT_CLUSTER_CA_NOT_RENEWED
	CodeClusterInvalidParam    uint32 = C.KUBEPKI_RESULT_CLUSTER_INVALID_PARAMETER
	CodeClusterRotationOrder   uint32 = C.KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER
	CodeClusterTokensValid     uint32 = C.KUBEPKI_RESULT_CLUSTER_TOKENS_STILL_VALID
	CodeClusterRotationFile    uint32 = C.KUBEPKI_RESULT_CLUSTER_ROTATION_FILE
	CodeClusterBadNewCA        uint32 = C.KUBEPKI_RESULT_CLUSTER_BAD_NEW_CA
	CodePKCS11Module           uint32 = C.KUBEPKI_RESULT_PKCS11_MODULE
	CodePKCS11Object           uint32 = C.KUBEPKI_RESULT_PKCS11_OBJECT
	CodePKCS11Pin              uint32 = C.KUBEPKI_RESULT_PKCS11_PIN
	CodeAPIInvalid             uint32 = C.KUBEPKI_RESULT_API_INVALID
	CodeAPIForbidden           uint32 = C.KUBEPKI_RESULT_API_FORBIDDEN
	CodeAPINotFound            uint32 = C.KUBEPKI_RESULT_API_NOT_FOUND
	CodeAPIAlreadyExists       uint32 = C.KUBEPKI_RESULT_API_ALREADY_EXISTS
	CodeAPIConflict            uint32 = C.KUBEPKI_RESULT_API_CONFLICT
	CodeAPIAlreadyDecided      uint32 = C.KUBEPKI_RESULT_API_ALREADY_DECIDED
	CodeAPISignerRefused       uint32 = C.KUBEPKI_RESULT_API_SIGNER_REFUSED
	CodeAPISignerExpired       uint32 = C.KUBEPKI_RESULT_API_SIGNER_EXPIRED
	CodeAPIDecode              uint32 = C.KUBEPKI_RESULT_API_DECODE
	CodeAPIStore               uint32 = C.KUBEPKI_RESULT_API_STORE
	CodeAPIUnknownSigner       uint32 = C.KUBEPKI_RESULT_API_UNKNOWN_SIGNER
	CodeAPIOther               uint32 = C.KUBEPKI_RESULT_API_OTHER
	CodeFSExists               uint32 = C.KUBEPKI_RESULT_FS_EXISTS
	CodeFSLocked               uint32 = C.KUBEPKI_RESULT_FS_LOCKED
	CodeFSJournal              uint32 = C.KUBEPKI_RESULT_FS_JOURNAL
	CodeFSIO                   uint32 = C.KUBEPKI_RESULT_FS_IO
	CodeFSOther                uint32 = C.KUBEPKI_RESULT_FS_OTHER
)

// Error is a failed call: the library's result code and its full message.
type Error struct {
	Code    uint32
	Message string
	// Renewed lists, for CodeClusterRenewIncomplete, the certificates renewed (and still
	// renewed) before the one that failed, in order.
	Renewed []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("kubepki: %s (code %d)", e.Message, e.Code)
}

// Version is the C library's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.kubepki_version())
}

// check turns a result and its error object into a Go error, freeing the object.
func check(rc C.kubepki_result, cerr *C.kubepki_error) error {
	if uint32(rc) == 0 {
		return nil
	}
	e := &Error{Code: uint32(rc)}
	if cerr != nil {
		e.Message = C.GoString(C.kubepki_error_message(cerr))
		for i := C.size_t(0); i < C.kubepki_error_renewed_len(cerr); i++ {
			e.Renewed = append(e.Renewed, C.GoString(C.kubepki_error_renewed_get(cerr, i)))
		}
		C.kubepki_error_free(cerr)
	} else {
		e.Message = C.GoString(C.kubepki_result_message(C.uint32_t(rc)))
	}
	return e
}

// in passes a byte slice to C: the pointer is only used during the call. Empty input is
// (NULL, 0), which the ABI reads as empty, and as absent for an optional input: so a nil or
// empty passphrase, subject or name is not given.
func in(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// takeBytes copies and frees (zeroizing) a kubepki_bytes.
func takeBytes(b *C.kubepki_bytes) []byte {
	defer C.kubepki_bytes_free(b)
	return C.GoBytes(unsafe.Pointer(C.kubepki_bytes_data(b)), C.int(C.kubepki_bytes_len(b)))
}

// takeStrings copies and frees a kubepki_strings.
func takeStrings(s *C.kubepki_strings) []string {
	defer C.kubepki_strings_free(s)
	n := int(C.kubepki_strings_len(s))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString(C.kubepki_strings_get(s, C.size_t(i))))
	}
	return out
}

// getBytes runs a C ABI getter that returns a kubepki_bytes for the handle ptr, whose Go
// object owner is kept alive until the call returns, and copies the result out.
func getBytes[H any](owner any, ptr H, f func(H, **C.kubepki_bytes, **C.kubepki_error) C.kubepki_result) ([]byte, error) {
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := f(ptr, &out, &cerr)
	runtime.KeepAlive(owner)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// getStrings is getBytes for a getter that returns a kubepki_strings.
func getStrings[H any](owner any, ptr H, f func(H, **C.kubepki_strings, **C.kubepki_error) C.kubepki_result) ([]string, error) {
	var out *C.kubepki_strings
	var cerr *C.kubepki_error
	rc := f(ptr, &out, &cerr)
	runtime.KeepAlive(owner)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeStrings(out), nil
}

func unixArg(t time.Time) C.int64_t {
	if t.IsZero() {
		return 0
	}
	u := t.Unix()
	if u == 0 {
		// 0 means "now" to the C ABI; the epoch itself is one second later here.
		u = 1
	}
	return C.int64_t(u)
}

func validityArg(d time.Duration) C.uint64_t {
	if d <= 0 {
		return 0
	}
	return C.uint64_t(d / time.Second)
}

// KeyFormat says how Key.PEM writes a key.
type KeyFormat uint32

const (
	// PKCS8 is PEM "PRIVATE KEY".
	PKCS8 KeyFormat = 0
	// Traditional is PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY", as kubeadm writes.
	Traditional KeyFormat = 1
)

// Key is a private key.
type Key struct{ ptr *C.kubepki_key }

func newKey(ptr *C.kubepki_key) *Key {
	k := &Key{ptr: ptr}
	runtime.SetFinalizer(k, (*Key).Close)
	return k
}

// GenerateKey makes a key by kubeadm's algorithm name: RSA-2048, RSA-3072, RSA-4096,
// ECDSA-P256 or ECDSA-P384.
func GenerateKey(algorithm string) (*Key, error) {
	name := []byte(algorithm)
	p, n := in(name)
	var out *C.kubepki_key
	var cerr *C.kubepki_error
	if err := check(C.kubepki_key_generate(p, n, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newKey(out), nil
}

// ParseKey reads a PEM or DER private key; passphrase may be nil unless it is encrypted.
func ParseKey(data, passphrase []byte) (*Key, error) {
	p, n := in(data)
	pp, pn := in(passphrase)
	var out *C.kubepki_key
	var cerr *C.kubepki_error
	if err := check(C.kubepki_key_parse(p, n, pp, pn, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newKey(out), nil
}

// PEM writes the private key.
func (k *Key) PEM(format KeyFormat) ([]byte, error) {
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := C.kubepki_key_to_pem(k.ptr, C.uint32_t(format), &out, &cerr)
	runtime.KeepAlive(k)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// EncryptedPEM writes the private key as PEM "ENCRYPTED PRIVATE KEY".
func (k *Key) EncryptedPEM(passphrase []byte) ([]byte, error) {
	p, n := in(passphrase)
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := C.kubepki_key_to_encrypted_pem(k.ptr, p, n, &out, &cerr)
	runtime.KeepAlive(k)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// PublicKeyPEM writes the public key as PEM "PUBLIC KEY".
func (k *Key) PublicKeyPEM() ([]byte, error) {
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := C.kubepki_key_public_pem(k.ptr, &out, &cerr)
	runtime.KeepAlive(k)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// Algorithm is kubeadm's name of the key's algorithm.
func (k *Key) Algorithm() string {
	s := C.GoString(C.kubepki_key_algorithm(k.ptr))
	runtime.KeepAlive(k)
	return s
}

// Close frees the key (zeroizing it). Safe to call twice.
func (k *Key) Close() {
	C.kubepki_key_free(k.ptr)
	k.ptr = nil
	runtime.SetFinalizer(k, nil)
}

// CSR is a certificate signing request whose proof of possession was checked.
type CSR struct{ ptr *C.kubepki_csr }

func newCSR(ptr *C.kubepki_csr) *CSR {
	c := &CSR{ptr: ptr}
	runtime.SetFinalizer(c, (*CSR).Close)
	return c
}

// NewCSR builds and signs a request for subject ("/O=dev/CN=jane" or "CN=jane,O=dev") with
// the given SANs ("DNS:name", "IP:addr", "URI:uri", "email:addr" or bare values).
func NewCSR(subject string, sans []string, key *Key) (*CSR, error) {
	sp, sn := in([]byte(subject))
	var builder *C.kubepki_csr_builder
	var cerr *C.kubepki_error
	if err := check(C.kubepki_csr_builder_new(sp, sn, &builder, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.kubepki_csr_builder_free(builder)
	for _, san := range sans {
		p, n := in([]byte(san))
		cerr = nil
		if err := check(C.kubepki_csr_builder_add_san(builder, p, n, &cerr), cerr); err != nil {
			return nil, err
		}
	}
	var out *C.kubepki_csr
	cerr = nil
	rc := C.kubepki_csr_builder_build(builder, key.ptr, &out, &cerr)
	runtime.KeepAlive(key)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCSR(out), nil
}

// ParseCSR reads a PEM or DER request and checks its signature (proof of possession).
func ParseCSR(data []byte) (*CSR, error) {
	p, n := in(data)
	var out *C.kubepki_csr
	var cerr *C.kubepki_error
	if err := check(C.kubepki_csr_parse(p, n, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newCSR(out), nil
}

type csrBytesFn func(*C.kubepki_csr, **C.kubepki_bytes, **C.kubepki_error) C.kubepki_result

func (c *CSR) bytes(f csrBytesFn) ([]byte, error) {
	return getBytes(c, c.ptr, f)
}

type csrStringsFn func(*C.kubepki_csr, **C.kubepki_strings, **C.kubepki_error) C.kubepki_result

func (c *CSR) strings(f csrStringsFn) ([]string, error) {
	return getStrings(c, c.ptr, f)
}

// PEM is the request as PEM "CERTIFICATE REQUEST".
func (c *CSR) PEM() ([]byte, error) {
	return c.bytes(func(p *C.kubepki_csr, o **C.kubepki_bytes, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_csr_to_pem(p, o, e)
	})
}

// CommonName is the request's common name (the Kubernetes user).
func (c *CSR) CommonName() (string, error) {
	b, err := c.bytes(func(p *C.kubepki_csr, o **C.kubepki_bytes, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_csr_common_name(p, o, e)
	})
	return string(b), err
}

// Groups are the request's organization values (the Kubernetes groups).
func (c *CSR) Groups() ([]string, error) {
	return c.strings(func(p *C.kubepki_csr, o **C.kubepki_strings, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_csr_groups(p, o, e)
	})
}

// SANs are the request's subject alternative names ("DNS:name", "IP:addr", ...).
func (c *CSR) SANs() ([]string, error) {
	return c.strings(func(p *C.kubepki_csr, o **C.kubepki_strings, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_csr_sans(p, o, e)
	})
}

// Close frees the request. Safe to call twice.
func (c *CSR) Close() {
	C.kubepki_csr_free(c.ptr)
	c.ptr = nil
	runtime.SetFinalizer(c, nil)
}

// Profile is a signing profile.
type Profile struct{ ptr *C.kubepki_profile }

func newProfile(ptr *C.kubepki_profile) *Profile {
	p := &Profile{ptr: ptr}
	runtime.SetFinalizer(p, (*Profile).Close)
	return p
}

// BuiltinProfile is one of kubeadm's profiles by name ("ca", "apiserver", "admin",
// "client", ...). nodeName and advertiseAddress may be "" when the profile needs neither.
func BuiltinProfile(name, nodeName, advertiseAddress string) (*Profile, error) {
	p, n := in([]byte(name))
	np, nn := in([]byte(nodeName))
	ap, an := in([]byte(advertiseAddress))
	var out *C.kubepki_profile
	var cerr *C.kubepki_error
	if err := check(C.kubepki_profile_builtin(p, n, np, nn, ap, an, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newProfile(out), nil
}

// CAProfile is a kubeadm-style CA profile for any common name.
func CAProfile(commonName string) (*Profile, error) {
	p, n := in([]byte(commonName))
	var out *C.kubepki_profile
	var cerr *C.kubepki_error
	if err := check(C.kubepki_profile_ca(p, n, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newProfile(out), nil
}

// ProfileFromYAML is the profile name from a profile file's text.
func ProfileFromYAML(yaml []byte, name string) (*Profile, error) {
	yp, yn := in(yaml)
	p, n := in([]byte(name))
	var out *C.kubepki_profile
	var cerr *C.kubepki_error
	if err := check(C.kubepki_profile_from_yaml(yp, yn, p, n, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newProfile(out), nil
}

// Close frees the profile. Safe to call twice.
func (p *Profile) Close() {
	C.kubepki_profile_free(p.ptr)
	p.ptr = nil
	runtime.SetFinalizer(p, nil)
}

// CA is a certificate authority; Issue may be called from many goroutines at once.
type CA struct{ ptr *C.kubepki_ca }

func newCA(ptr *C.kubepki_ca) *CA {
	c := &CA{ptr: ptr}
	runtime.SetFinalizer(c, (*CA).Close)
	return c
}

// NewSelfSignedCA makes a root CA holding a copy of key under a CA profile. subject "" takes
// the profile's; validity 0 the profile's default; a zero now the current time.
func NewSelfSignedCA(key *Key, subject string, profile *Profile, validity time.Duration, now time.Time) (*CA, error) {
	sp, sn := in([]byte(subject))
	var out *C.kubepki_ca
	var cerr *C.kubepki_error
	rc := C.kubepki_ca_self_signed(key.ptr, sp, sn, profile.ptr, validityArg(validity), unixArg(now), &out, &cerr)
	runtime.KeepAlive(key)
	runtime.KeepAlive(profile)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCA(out), nil
}

// LoadCA reads a CA from its PEM certificate (and chain) and key; passphrase may be nil.
func LoadCA(certPEM, keyPEM, passphrase []byte) (*CA, error) {
	cp, cn := in(certPEM)
	kp, kn := in(keyPEM)
	pp, pn := in(passphrase)
	var out *C.kubepki_ca
	var cerr *C.kubepki_error
	if err := check(C.kubepki_ca_from_pem(cp, cn, kp, kn, pp, pn, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newCA(out), nil
}

// IssueIntermediate makes a CA below this one holding a copy of key.
func (ca *CA) IssueIntermediate(key *Key, subject string, profile *Profile, validity time.Duration, now time.Time) (*CA, error) {
	sp, sn := in([]byte(subject))
	var out *C.kubepki_ca
	var cerr *C.kubepki_error
	rc := C.kubepki_ca_issue_intermediate(ca.ptr, key.ptr, sp, sn, profile.ptr, validityArg(validity), unixArg(now), &out, &cerr)
	runtime.KeepAlive(ca)
	runtime.KeepAlive(key)
	runtime.KeepAlive(profile)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCA(out), nil
}

// Issue signs a certificate for csr under profile. validity 0 takes the profile's default;
// a zero now the current time.
func (ca *CA) Issue(csr *CSR, profile *Profile, validity time.Duration, now time.Time) (*Certificate, error) {
	var out *C.kubepki_cert
	var cerr *C.kubepki_error
	rc := C.kubepki_ca_issue(ca.ptr, csr.ptr, profile.ptr, validityArg(validity), unixArg(now), &out, &cerr)
	runtime.KeepAlive(ca)
	runtime.KeepAlive(csr)
	runtime.KeepAlive(profile)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCertificate(out), nil
}

// CertPEM is the CA's own certificate as PEM.
func (ca *CA) CertPEM() ([]byte, error) {
	var out *C.kubepki_bytes
	var cerr *C.kubepki_error
	rc := C.kubepki_ca_cert_pem(ca.ptr, &out, &cerr)
	runtime.KeepAlive(ca)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// Close frees the CA (zeroizing its key). Safe to call twice.
func (ca *CA) Close() {
	C.kubepki_ca_free(ca.ptr)
	ca.ptr = nil
	runtime.SetFinalizer(ca, nil)
}

// Certificate is an issued or parsed certificate.
type Certificate struct{ ptr *C.kubepki_cert }

func newCertificate(ptr *C.kubepki_cert) *Certificate {
	c := &Certificate{ptr: ptr}
	runtime.SetFinalizer(c, (*Certificate).Close)
	return c
}

// ParseCertificate reads a PEM or DER certificate for inspection.
func ParseCertificate(data []byte) (*Certificate, error) {
	p, n := in(data)
	var out *C.kubepki_cert
	var cerr *C.kubepki_error
	if err := check(C.kubepki_cert_parse(p, n, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newCertificate(out), nil
}

type certBytesFn func(*C.kubepki_cert, **C.kubepki_bytes, **C.kubepki_error) C.kubepki_result

func (c *Certificate) bytes(f certBytesFn) ([]byte, error) {
	return getBytes(c, c.ptr, f)
}

type certStringsFn func(*C.kubepki_cert, **C.kubepki_strings, **C.kubepki_error) C.kubepki_result

func (c *Certificate) strings(f certStringsFn) ([]string, error) {
	return getStrings(c, c.ptr, f)
}

// PEM is the certificate as PEM.
func (c *Certificate) PEM() ([]byte, error) {
	return c.bytes(func(p *C.kubepki_cert, o **C.kubepki_bytes, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_cert_pem(p, o, e)
	})
}

// ChainPEM is the certificate followed by its CA chain below the root.
func (c *Certificate) ChainPEM() ([]byte, error) {
	return c.bytes(func(p *C.kubepki_cert, o **C.kubepki_bytes, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_cert_chain_pem(p, o, e)
	})
}

// Subject in OpenSSL's one-line form.
func (c *Certificate) Subject() (string, error) {
	b, err := c.bytes(func(p *C.kubepki_cert, o **C.kubepki_bytes, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_cert_subject(p, o, e)
	})
	return string(b), err
}

// SANs are the subject alternative names ("DNS:name", "IP:addr", ...).
func (c *Certificate) SANs() ([]string, error) {
	return c.strings(func(p *C.kubepki_cert, o **C.kubepki_strings, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_cert_sans(p, o, e)
	})
}

// Usages in Kubernetes' words ("digital signature", "client auth", ...).
func (c *Certificate) Usages() ([]string, error) {
	return c.strings(func(p *C.kubepki_cert, o **C.kubepki_strings, e **C.kubepki_error) C.kubepki_result {
		return C.kubepki_cert_usages(p, o, e)
	})
}

// NotAfter is the end of validity.
func (c *Certificate) NotAfter() time.Time {
	t := time.Unix(int64(C.kubepki_cert_not_after(c.ptr)), 0)
	runtime.KeepAlive(c)
	return t
}

// NotBefore is the start of validity.
func (c *Certificate) NotBefore() time.Time {
	t := time.Unix(int64(C.kubepki_cert_not_before(c.ptr)), 0)
	runtime.KeepAlive(c)
	return t
}

// Close frees the certificate. Safe to call twice.
func (c *Certificate) Close() {
	C.kubepki_cert_free(c.ptr)
	c.ptr = nil
	runtime.SetFinalizer(c, nil)
}

// Purpose is the extended key usage Verify requires of the leaf.
type Purpose uint32

const (
	// AnyPurpose requires no extended key usage.
	AnyPurpose Purpose = 0
	// ServerAuth requires TLS server authentication.
	ServerAuth Purpose = 1
	// ClientAuth requires TLS client authentication.
	ClientAuth Purpose = 2
)

// Verify checks that certPEM (leaf first, then any chain) leads to one of the roots in
// caPEM at now (zero: the current time), allows purpose, and carries name when not "".
// untrustedPEM may be nil.
func Verify(caPEM, untrustedPEM, certPEM []byte, purpose Purpose, name string, now time.Time) error {
	cp, cn := in(caPEM)
	up, un := in(untrustedPEM)
	lp, ln := in(certPEM)
	np, nn := in([]byte(name))
	var cerr *C.kubepki_error
	rc := C.kubepki_verify(cp, cn, up, un, lp, ln, C.uint32_t(purpose), np, nn, unixArg(now), &cerr)
	return check(rc, cerr)
}

// KubernetesIdentity says which user and groups the Kubernetes API server, with clientCAPEM
// as its --client-ca-file, would take the client certificate in certPEM for at now (zero:
// the current time): the common name and the organization values. The API server also adds
// system:authenticated, not listed. An error says why it would refuse the certificate.
// untrustedPEM may be nil.
func KubernetesIdentity(clientCAPEM, untrustedPEM, certPEM []byte, now time.Time) (string, []string, error) {
	cp, cn := in(clientCAPEM)
	up, un := in(untrustedPEM)
	lp, ln := in(certPEM)
	var user *C.kubepki_bytes
	var groups *C.kubepki_strings
	var cerr *C.kubepki_error
	rc := C.kubepki_kubernetes_identity(cp, cn, up, un, lp, ln, unixArg(now), &user, &groups, &cerr)
	if err := check(rc, cerr); err != nil {
		return "", nil, err
	}
	return string(takeBytes(user)), takeStrings(groups), nil
}
