/*
 * A CA rotation through the C ABI, as an installer automates it: a tree laid out, then the
 * three phases of `kubepki ca rotate` for all of the cluster, front-proxy and etcd CAs and
 * the service-account key, with the status read between them and the restart order printed.
 *
 * usage: ca_rotate PKI_DIR KUBECONFIG_DIR NOW_UNIX
 *   1. kubepki_cluster_init lays out the tree at NOW_UNIX;
 *   2. promote before start is refused with KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER;
 *   3. start (a dry run first, then for real), promote, and finish, each one minute after
 *      the previous (finish with a token lifetime of 60 s), printing each report;
 *   4. the status after each phase: "status: CA PHASE" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubepki.h"

#define S(text) (const uint8_t *)(text), strlen(text)

static int fail(const char *what, kubepki_result rc, kubepki_error *err) {
    fprintf(stderr, "%s failed: %u (%s): %s\n", what, (unsigned)rc, kubepki_result_message(rc),
            err != NULL ? kubepki_error_message(err) : "(no message)");
    kubepki_error_free(err);
    return 1;
}

static void print_report(const char *label, const kubepki_ca_rotate_report *report) {
    kubepki_ca_rotate_row row;
    kubepki_ca_rotate_step step;
    for (size_t i = 0; kubepki_ca_rotate_report_ca_get(report, i, &row); i++) {
        printf("%s: %s %s -> %s%s\n", label, row.ca, row.from, row.phase,
               row.changed ? "" : " (unchanged)");
    }
    for (size_t i = 0; kubepki_ca_rotate_report_step_get(report, i, &step); i++) {
        printf("%s: restart %zu %s (%zu flag changes)\n", label, i + 1, step.component,
               step.flags_len);
    }
    for (size_t i = 0; i < kubepki_ca_rotate_report_notes_len(report); i++) {
        printf("%s: note: %s\n", label, kubepki_ca_rotate_report_note(report, i));
    }
    printf("%s: json of %zu bytes\n", label, strlen(kubepki_ca_rotate_report_json(report)));
}

static int status(const char *pki, const char *conf) {
    kubepki_ca_rotate_report *report = NULL;
    kubepki_error *err = NULL;
    kubepki_result rc =
        kubepki_ca_rotate_status(S(pki), S(conf), S("all"), &report, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        return fail("kubepki_ca_rotate_status", rc, err);
    }
    kubepki_ca_rotate_row row;
    for (size_t i = 0; kubepki_ca_rotate_report_ca_get(report, i, &row); i++) {
        printf("status: %s %s\n", row.ca, row.phase);
    }
    for (size_t i = 0; i < kubepki_ca_rotate_report_warnings_len(report); i++) {
        printf("status: INCONSISTENT %s\n", kubepki_ca_rotate_report_warning(report, i));
    }
    kubepki_ca_rotate_report_free(report);
    return 0;
}

typedef kubepki_result (*phase_fn)(const uint8_t *, size_t, const uint8_t *, size_t,
                                   const uint8_t *, size_t,
                                   const kubepki_ca_rotate_options *, int64_t,
                                   kubepki_ca_rotate_report **, kubepki_error **);

static int phase(const char *label, phase_fn fn, const char *pki, const char *conf,
                 const kubepki_ca_rotate_options *options, int64_t now) {
    kubepki_ca_rotate_report *report = NULL;
    kubepki_error *err = NULL;
    kubepki_result rc = fn(S(pki), S(conf), S("all"), options, now, &report, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        return fail(label, rc, err);
    }
    print_report(label, report);
    kubepki_ca_rotate_report_free(report);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PKI_DIR KUBECONFIG_DIR NOW_UNIX\n", argv[0]);
        return 2;
    }
    const char *pki = argv[1];
    const char *conf = argv[2];
    int64_t now = strtoll(argv[3], NULL, 10);
    kubepki_cluster_params *params = NULL;
    kubepki_report *init_report = NULL;
    kubepki_error *err = NULL;
    kubepki_result rc = kubepki_cluster_params_new(&params, &err);
    if (rc == KUBEPKI_RESULT_OK) {
        rc = kubepki_cluster_params_set_node_name(params, S("node-1"), &err);
    }
    if (rc == KUBEPKI_RESULT_OK) {
        rc = kubepki_cluster_params_set_algorithm(params, S("ECDSA-P256"), &err);
    }
    if (rc == KUBEPKI_RESULT_OK) {
        rc = kubepki_cluster_init(params, S(pki), S(conf), now, &init_report, &err);
    }
    kubepki_cluster_params_free(params);
    kubepki_report_free(init_report);
    if (rc != KUBEPKI_RESULT_OK) {
        return fail("kubepki_cluster_init", rc, err);
    }

    kubepki_ca_rotate_report *report = NULL;
    rc = kubepki_ca_rotate_promote(S(pki), S(conf), S("all"), NULL, now + 60, &report, &err);
    if (rc != KUBEPKI_RESULT_CLUSTER_ROTATION_ORDER || report != NULL) {
        fprintf(stderr, "promote before start: %u, want ROTATION_ORDER\n", (unsigned)rc);
        return 1;
    }
    printf("refused: %s\n", kubepki_error_message(err));
    kubepki_error_free(err);

    kubepki_ca_rotate_options options;
    memset(&options, 0, sizeof options);
    options.dry_run = true;
    if (phase("dry-run start", kubepki_ca_rotate_start, pki, conf, &options, now + 60) ||
        status(pki, conf) ||
        phase("start", kubepki_ca_rotate_start, pki, conf, NULL, now + 60) ||
        status(pki, conf) ||
        phase("promote", kubepki_ca_rotate_promote, pki, conf, NULL, now + 120) ||
        status(pki, conf)) {
        return 1;
    }
    memset(&options, 0, sizeof options);
    options.token_lifetime_seconds = 60;
    if (phase("finish", kubepki_ca_rotate_finish, pki, conf, &options, now + 240) ||
        status(pki, conf)) {
        return 1;
    }
    return 0;
}
