//go:build !kubepki_release

package kubepki

// Links the debug build of the static library: `cargo build -p kubepki-ffi` first.
// Build with `-tags kubepki_release` to link target/release instead.

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/debug/libkubepki.a -lm -ldl -lpthread -lrt -lutil -lgcc_s
*/
import "C"
