package kubepki

/*
#include <stdlib.h>
#include "kubepki.h"
*/
import "C"

import (
	"time"
)

// RotateOptions are the options of a CA rotation phase, as the CLI's flags. The zero value
// is the defaults: write, no force, no shred, a token lifetime of 3607 s, a new CA made.
type RotateOptions struct {
	DryRun bool // report the change, write nothing
	Force  bool // finish: do not wait for the token lifetime
	Shred  bool // finish: overwrite the old keys set aside, then unlink them
	// TokenLifetime is, for finish, how long a service-account token signed before promote
	// may stay in use; 0 for the default (3607 s).
	TokenLifetime time.Duration
	// NewCACert and NewCAKey (PEM), for start of one X.509 CA: the new CA to use instead of
	// a new one made here. Both or neither.
	NewCACert, NewCAKey []byte
}

// RotateCA is one CA of a rotation report.
type RotateCA struct {
	CA      string // cluster, front-proxy, etcd, sa
	From    string // the phase before the call; for RotateStatus, the recorded one ("" none)
	Phase   string // idle, started, promoted, finished
	Changed bool   // whether the call changed it (false for a rerun and for status)
}

// RotateStep is one component to restart, in order; its flag changes are in the JSON.
type RotateStep struct {
	Component string // etcd, kube-apiserver, kube-controller-manager, ...
	Flags     int    // the number of flag changes
	Why       string // what the restart makes it read
}

// RotateReport is what a rotation phase did (or, for a dry run, would do), or the status.
type RotateReport struct {
	CAs      []RotateCA
	Steps    []RotateStep
	Notes    []string // what to check before the next phase; the last: whether it can be rolled back
	Warnings []string // a half-done phase repaired; for RotateStatus, each inconsistency
	JSON     []byte   // what the CLI's `-o json` prints
}

func takeRotateReport(r *C.kubepki_ca_rotate_report) *RotateReport {
	defer C.kubepki_ca_rotate_report_free(r)
	out := &RotateReport{}
	var row C.kubepki_ca_rotate_row
	for i := 0; C.kubepki_ca_rotate_report_ca_get(r, C.size_t(i), &row); i++ {
		out.CAs = append(out.CAs, RotateCA{
			CA:      C.GoString(row.ca),
			From:    C.GoString(row.from),
			Phase:   C.GoString(row.phase),
			Changed: bool(row.changed),
		})
	}
	var step C.kubepki_ca_rotate_step
	for i := 0; C.kubepki_ca_rotate_report_step_get(r, C.size_t(i), &step); i++ {
		out.Steps = append(out.Steps, RotateStep{
			Component: C.GoString(step.component),
			Flags:     int(step.flags_len),
			Why:       C.GoString(step.why),
		})
	}
	n := int(C.kubepki_ca_rotate_report_notes_len(r))
	for i := 0; i < n; i++ {
		out.Notes = append(out.Notes, C.GoString(C.kubepki_ca_rotate_report_note(r, C.size_t(i))))
	}
	n = int(C.kubepki_ca_rotate_report_warnings_len(r))
	for i := 0; i < n; i++ {
		out.Warnings = append(out.Warnings, C.GoString(C.kubepki_ca_rotate_report_warning(r, C.size_t(i))))
	}
	out.JSON = []byte(C.GoString(C.kubepki_ca_rotate_report_json(r)))
	return out
}

// RotateStatus reads the rotation phase of ca (cluster, front-proxy, etcd, sa, or "" / all)
// from the files themselves, writing nothing; Warnings lists what is inconsistent.
func RotateStatus(certDir, kubeconfigDir, ca string) (*RotateReport, error) {
	cp, cn := in([]byte(certDir))
	kp, kn := in([]byte(kubeconfigDir))
	ap, an := in([]byte(ca))
	var out *C.kubepki_ca_rotate_report
	var cerr *C.kubepki_error
	if err := check(C.kubepki_ca_rotate_status(cp, cn, kp, kn, ap, an, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeRotateReport(out), nil
}

type rotatePhase func(*C.uint8_t, C.size_t, *C.uint8_t, C.size_t, *C.uint8_t, C.size_t,
	*C.kubepki_ca_rotate_options, C.int64_t, **C.kubepki_ca_rotate_report, **C.kubepki_error) C.kubepki_result

// cCopy copies b into C memory (cgo forbids a Go pointer inside a struct passed to C); the
// function returned zeroes and frees it.
func cCopy(b []byte) (*C.uint8_t, C.size_t, func()) {
	if len(b) == 0 {
		return nil, 0, func() {}
	}
	p := C.CBytes(b)
	return (*C.uint8_t)(p), C.size_t(len(b)), func() {
		c := (*[1 << 30]byte)(p)[:len(b):len(b)]
		for i := range c {
			c[i] = 0
		}
		C.free(p)
	}
}

func rotate(phase rotatePhase, certDir, kubeconfigDir, ca string, opts RotateOptions, now time.Time) (*RotateReport, error) {
	cp, cn := in([]byte(certDir))
	kp, kn := in([]byte(kubeconfigDir))
	ap, an := in([]byte(ca))
	o := C.kubepki_ca_rotate_options{
		dry_run: C.bool(opts.DryRun),
		force:   C.bool(opts.Force),
		shred:   C.bool(opts.Shred),
	}
	if opts.TokenLifetime > 0 {
		secs := (opts.TokenLifetime + time.Second - 1) / time.Second
		o.token_lifetime_seconds = C.uint64_t(secs)
	}
	var freeCert, freeKey func()
	o.new_ca_cert, o.new_ca_cert_len, freeCert = cCopy(opts.NewCACert)
	defer freeCert()
	o.new_ca_key, o.new_ca_key_len, freeKey = cCopy(opts.NewCAKey)
	defer freeKey()
	var out *C.kubepki_ca_rotate_report
	var cerr *C.kubepki_error
	if err := check(phase(cp, cn, kp, kn, ap, an, &o, unixArg(now), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeRotateReport(out), nil
}

// The C functions as Go values (cgo does not allow taking a C function's address directly).
func cRotateStart(a *C.uint8_t, b C.size_t, c *C.uint8_t, d C.size_t, e *C.uint8_t, f C.size_t, o *C.kubepki_ca_rotate_options, t C.int64_t, r **C.kubepki_ca_rotate_report, err **C.kubepki_error) C.kubepki_result {
	return C.kubepki_ca_rotate_start(a, b, c, d, e, f, o, t, r, err)
}

func cRotatePromote(a *C.uint8_t, b C.size_t, c *C.uint8_t, d C.size_t, e *C.uint8_t, f C.size_t, o *C.kubepki_ca_rotate_options, t C.int64_t, r **C.kubepki_ca_rotate_report, err **C.kubepki_error) C.kubepki_result {
	return C.kubepki_ca_rotate_promote(a, b, c, d, e, f, o, t, r, err)
}

func cRotateFinish(a *C.uint8_t, b C.size_t, c *C.uint8_t, d C.size_t, e *C.uint8_t, f C.size_t, o *C.kubepki_ca_rotate_options, t C.int64_t, r **C.kubepki_ca_rotate_report, err **C.kubepki_error) C.kubepki_result {
	return C.kubepki_ca_rotate_finish(a, b, c, d, e, f, o, t, r, err)
}

func cRotateRollback(a *C.uint8_t, b C.size_t, c *C.uint8_t, d C.size_t, e *C.uint8_t, f C.size_t, o *C.kubepki_ca_rotate_options, t C.int64_t, r **C.kubepki_ca_rotate_report, err **C.kubepki_error) C.kubepki_result {
	return C.kubepki_ca_rotate_rollback(a, b, c, d, e, f, o, t, r, err)
}

// RotateStart starts the rotation of ca (cluster, front-proxy, etcd, sa, or "" / all), as
// `kubepki ca rotate start`: a new CA (or opts.NewCACert/NewCAKey) is set aside and every
// trust location holds old and new; the old one still signs. A zero now is the current
// time. The report's Steps say which components to restart, in order.
func RotateStart(certDir, kubeconfigDir, ca string, opts RotateOptions, now time.Time) (*RotateReport, error) {
	return rotate(cRotateStart, certDir, kubeconfigDir, ca, opts, now)
}

// RotatePromote reissues every leaf and kubeconfig client certificate under the new CA,
// which then signs (`kubepki ca rotate promote`). CodeClusterRotationOrder for a CA not
// started.
func RotatePromote(certDir, kubeconfigDir, ca string, opts RotateOptions, now time.Time) (*RotateReport, error) {
	return rotate(cRotatePromote, certDir, kubeconfigDir, ca, opts, now)
}

// RotateFinish removes the old CA and service-account key from every trust location
// (`kubepki ca rotate finish`). CodeClusterRotationOrder for a CA not promoted,
// CodeClusterTokensValid before opts.TokenLifetime has passed since promote, unless
// opts.Force.
func RotateFinish(certDir, kubeconfigDir, ca string, opts RotateOptions, now time.Time) (*RotateReport, error) {
	return rotate(cRotateFinish, certDir, kubeconfigDir, ca, opts, now)
}

// RotateRollback undoes a started rotation (`kubepki ca rotate rollback`); a promoted one
// cannot be rolled back: CodeClusterRotationOrder.
func RotateRollback(certDir, kubeconfigDir, ca string, opts RotateOptions, now time.Time) (*RotateReport, error) {
	return rotate(cRotateRollback, certDir, kubeconfigDir, ca, opts, now)
}
