//go:build kubepki_release

package kubepki

// Links the release build of the static library: `cargo build -p kubepki-ffi --release` first.

/*
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libkubepki_ffi.a -lm -ldl -lpthread -lrt -lutil -lgcc_s
*/
import "C"
