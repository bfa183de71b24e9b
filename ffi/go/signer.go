package kubepki

/*
#include <stdlib.h>
#include "kubepki.h"
extern uint32_t kubepkiGoSign(void *, uint8_t *, size_t, uint8_t *, size_t, uint8_t *, size_t, size_t *);
*/
import "C"

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Signer is a CA key held elsewhere: any Go crypto.Signer (a KMS client, a PKCS#11 library, a
// YubiKey), or a key on a PKCS#11 token opened by URI. Close it when done; CAs made from it
// keep working.
type Signer struct {
	ptr    *C.kubepki_signer
	handle *C.uintptr_t // C memory holding the cgo.Handle of the Go signer, or nil
}

type goSigner struct {
	signer crypto.Signer
	opts   crypto.SignerOpts
}

//export kubepkiGoSign
func kubepkiGoSign(userData unsafe.Pointer, message *C.uint8_t, messageLen C.size_t, digest *C.uint8_t, digestLen C.size_t, sig *C.uint8_t, sigCap C.size_t, sigLen *C.size_t) C.uint32_t {
	h := cgo.Handle(*(*C.uintptr_t)(userData))
	s, ok := h.Value().(*goSigner)
	if !ok {
		return 1
	}
	d := C.GoBytes(unsafe.Pointer(digest), C.int(digestLen))
	out, err := s.signer.Sign(rand.Reader, d, s.opts)
	if err != nil || len(out) > int(sigCap) {
		return 2
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(sig)), int(sigCap)), out)
	*sigLen = C.size_t(len(out))
	return 0
}

// NewSigner makes a Signer from a Go crypto.Signer whose public key is pub (ECDSA P-256 or
// P-384, RSA 2048, 3072 or 4096). Every signature it returns is checked before use.
func NewSigner(pub crypto.PublicKey, s crypto.Signer) (*Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	algorithm, opts, err := algorithmOf(pub)
	if err != nil {
		return nil, err
	}
	h := cgo.NewHandle(&goSigner{signer: s, opts: opts})
	slot := (*C.uintptr_t)(C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0)))))
	*slot = C.uintptr_t(h)
	ap, an := in([]byte(algorithm))
	dp, dn := in(der)
	var out *C.kubepki_signer
	var cerr *C.kubepki_error
	rc := C.kubepki_signer_new(ap, an, dp, dn, C.kubepki_sign_callback(C.kubepkiGoSign), unsafe.Pointer(slot), &out, &cerr)
	if err := check(rc, cerr); err != nil {
		h.Delete()
		C.free(unsafe.Pointer(slot))
		return nil, err
	}
	return newSigner(out, slot), nil
}

func newSigner(ptr *C.kubepki_signer, slot *C.uintptr_t) *Signer {
	s := &Signer{ptr: ptr, handle: slot}
	runtime.SetFinalizer(s, (*Signer).Close)
	return s
}

// SignerFromPKCS11 opens the private key a PKCS#11 URI names (RFC 7512); the PIN from the
// URI's pin-source or pin-value, else KUBEPKI_PKCS11_PIN.
func SignerFromPKCS11(uri string) (*Signer, error) {
	up, un := in([]byte(uri))
	var out *C.kubepki_signer
	var cerr *C.kubepki_error
	if err := check(C.kubepki_signer_from_pkcs11(up, un, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newSigner(out, nil), nil
}

// Close frees the signer. The Go crypto.Signer must stay usable while CAs made from this
// Signer sign, so its handle is released only when the library no longer needs it: here,
// which is safe only once those CAs are closed too.
func (s *Signer) Close() {
	if s.ptr != nil {
		C.kubepki_signer_free(s.ptr)
		s.ptr = nil
	}
}

// Release frees the Go side of a Signer made by NewSigner (its cgo handle); call it after
// Close and after closing every CA and ClusterParams use made from it.
func (s *Signer) Release() {
	s.Close()
	if s.handle != nil {
		cgo.Handle(*s.handle).Delete()
		C.free(unsafe.Pointer(s.handle))
		s.handle = nil
	}
}

// CAFromCertAndSigner makes a CA from its PEM certificate (and chain) and a Signer holding
// its key; the signer's public key must be the certificate's.
func CAFromCertAndSigner(certPEM []byte, signer *Signer) (*CA, error) {
	cp, cn := in(certPEM)
	var sp *C.kubepki_signer
	if signer != nil {
		sp = signer.ptr
	}
	var out *C.kubepki_ca
	var cerr *C.kubepki_error
	rc := C.kubepki_ca_from_cert_and_signer(cp, cn, sp, &out, &cerr)
	runtime.KeepAlive(signer)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCA(out), nil
}

// CAFromPKCS11 opens a CA whose key is on a PKCS#11 token: its certificate and the key's URI.
func CAFromPKCS11(certPEM []byte, uri string) (*CA, error) {
	cp, cn := in(certPEM)
	up, un := in([]byte(uri))
	var out *C.kubepki_ca
	var cerr *C.kubepki_error
	if err := check(C.kubepki_ca_from_pkcs11(cp, cn, up, un, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newCA(out), nil
}

var errUnsupportedKey = errors.New("kubepki: unsupported public key (want ECDSA P-256/P-384 or RSA 2048/3072/4096)")
