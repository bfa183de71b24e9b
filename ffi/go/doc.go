// Package kubepki wraps the kubepki C ABI (include/kubepki.h, libkubepki.a): keys, CSRs,
// signing profiles, CAs, issuing and chain verification for Kubernetes PKI.
//
// Every type holds a C handle and has a Close method; Close is idempotent, and a finalizer
// frees handles that were not closed. Values may be shared across goroutines for reading
// and issuing (a *CA may issue from many goroutines at once), but must not be used after
// Close. Errors are *Error values carrying the library's code and full message.
//
// # Linking the C library
//
// The package links the static library libkubepki.a with cgo; a build tag says where it is
// (link_debug.go, link_release.go, link_external.go):
//
//   - no tag: the debug build in this repository, target/debug/libkubepki_ffi.a, from
//     `cargo build -p kubepki-ffi` (the repository's own tests and examples).
//   - kubepki_release: the release build, target/release/libkubepki_ffi.a, from
//     `cargo build -p kubepki-ffi --release`.
//   - kubepki_external: a library installed elsewhere, named by the environment: the mode
//     for a module required from another repository, whose copy in the module cache has
//     neither the header nor the library.
//
// For kubepki_external, install the header and the library with ffi/stage.sh from a
// checkout of this repository, then build with their paths:
//
//	ffi/stage.sh --release --static-only /opt/kubepki
//	CGO_CFLAGS=-I/opt/kubepki/include CGO_LDFLAGS=/opt/kubepki/lib/libkubepki.a go build -tags kubepki_external ./...
package kubepki
