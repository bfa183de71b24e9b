//go:build kubepki_external

package kubepki

// Links a static library found elsewhere (a CARGO_TARGET_DIR outside the repository, a
// packaged libkubepki.a): build with `-tags kubepki_external` and name the library in
// CGO_LDFLAGS, e.g. `CGO_LDFLAGS=/opt/kubepki/lib/libkubepki.a go build -tags kubepki_external`.

/*
#cgo LDFLAGS: -lm -ldl -lpthread -lrt -lutil -lgcc_s
*/
import "C"
