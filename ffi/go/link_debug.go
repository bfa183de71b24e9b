//go:build !kubepki_release && !kubepki_external

package kubepki

// Links the debug build of the static library: `cargo build -p kubepki-ffi` first.
// Build with `-tags kubepki_release` to link target/release instead, or with
// `-tags kubepki_external` and CGO_LDFLAGS naming the library (see link_external.go).

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/debug/libkubepki_ffi.a -lm -ldl -lpthread -lrt -lutil -lgcc_s
*/
import "C"
