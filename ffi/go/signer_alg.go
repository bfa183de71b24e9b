package kubepki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
)

// algorithmOf names pub as kubeadm does and says which hash the library signs with.
func algorithmOf(pub crypto.PublicKey) (string, crypto.SignerOpts, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ECDSA-P256", crypto.SHA256, nil
		case elliptic.P384():
			return "ECDSA-P384", crypto.SHA384, nil
		}
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen()), crypto.SHA256, nil
	}
	return "", nil, errUnsupportedKey
}
