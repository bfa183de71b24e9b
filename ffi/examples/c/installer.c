/*
 * A cluster installer through the C ABI: the whole kubeadm PKI and its kubeconfig files in
 * one call, then what an installer checks afterwards.
 *
 * usage: installer PKI_DIR KUBECONFIG_DIR NODE_NAME ADVERTISE_ADDRESS [NOW_UNIX]
 *   1. sets the cluster parameters (a bad value is refused at its setter, shown first);
 *   2. kubepki_cluster_init: writes the tree, prints each file and what was done;
 *   3. runs it again: every file is kept (idempotence);
 *   4. kubepki_check_expiration: prints each certificate's end of validity;
 *   5. kubepki_cluster_generate: the same tree in memory, prints its files.
 */
#define _POSIX_C_SOURCE 200809L
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

static const char *action_name(kubepki_action action) {
    switch (action) {
    case KUBEPKI_ACTION_WRITTEN: return "written";
    case KUBEPKI_ACTION_KEPT: return "kept";
    case KUBEPKI_ACTION_MISSING: return "missing";
    case KUBEPKI_ACTION_RENEWED: return "renewed";
    case KUBEPKI_ACTION_SKIPPED: return "skipped";
    }
    return "?";
}

/* Prints a report; returns how many rows have `counted` as their action. */
static size_t print_report(const char *label, const kubepki_report *report,
                           kubepki_action counted) {
    size_t n = 0;
    kubepki_report_row row;
    for (size_t i = 0; kubepki_report_row_get(report, i, &row); i++) {
        printf("%s: %-26s %-8s %s\n", label, row.name, action_name(row.action), row.path);
        if (row.action == counted) n++;
    }
    for (size_t i = 0; i < kubepki_report_warnings_len(report); i++) {
        printf("%s: warning: %s\n", label, kubepki_report_warning(report, i));
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s PKI_DIR KUBECONFIG_DIR NODE_NAME ADVERTISE_ADDRESS [NOW_UNIX]\n",
                argv[0]);
        return 2;
    }
    const char *pki = argv[1], *kubeconfigs = argv[2];
    int64_t now = argc > 5 ? strtoll(argv[5], NULL, 10) : 0;
    int status = 1;
    kubepki_result rc;
    kubepki_error *err = NULL;
    kubepki_cluster_params *params = NULL;
    kubepki_report *report = NULL, *again = NULL;
    kubepki_expiration_report *expiration = NULL;
    kubepki_bundle *bundle = NULL;

    if ((rc = kubepki_cluster_params_new(&params, &err)) != KUBEPKI_RESULT_OK) {
        return fail("params", rc, err);
    }
    /* A bad value fails at its setter, naming it, and changes nothing. */
    rc = kubepki_cluster_params_set_service_cidr(params, S("10.96.0.0/99"), &err);
    if (rc == KUBEPKI_RESULT_OK) {
        fprintf(stderr, "a bad service CIDR was accepted\n");
        goto out;
    }
    printf("refused: %s\n", kubepki_error_message(err));
    kubepki_error_free(err);
    err = NULL;

#define SET(what, call)                                                                    \
    if ((rc = (call)) != KUBEPKI_RESULT_OK) {                                              \
        status = fail(what, rc, err);                                                      \
        err = NULL;                                                                        \
        goto out;                                                                          \
    }
    SET("node name", kubepki_cluster_params_set_node_name(params, S(argv[3]), &err));
    SET("advertise address",
        kubepki_cluster_params_set_advertise_address(params, S(argv[4]), &err));
    SET("control-plane endpoint",
        kubepki_cluster_params_set_control_plane_endpoint(params, S("k8s.example.test:6443"), &err));
    SET("apiserver SAN", kubepki_cluster_params_add_apiserver_san(params, S("10.0.0.100"), &err));
    SET("service CIDR",
        kubepki_cluster_params_set_service_cidr(params, S("10.96.0.0/12,fd00:10:96::/112"), &err));
    SET("algorithm", kubepki_cluster_params_set_algorithm(params, S("ECDSA-P256"), &err));
    SET("cert validity", kubepki_cluster_params_set_cert_validity(params, 365u * 86400u, &err));
#undef SET

    /* The whole tree, in one call. */
    rc = kubepki_cluster_init(params, S(pki), S(kubeconfigs), now, &report, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        status = fail("init", rc, err);
        goto out;
    }
    size_t written = print_report("init", report, KUBEPKI_ACTION_WRITTEN);
    printf("init wrote %zu of %zu\n", written, kubepki_report_len(report));

    rc = kubepki_cluster_init(params, S(pki), S(kubeconfigs), now, &again, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        status = fail("init again", rc, err);
        goto out;
    }
    size_t kept = print_report("again", again, KUBEPKI_ACTION_KEPT);
    printf("init again kept %zu of %zu\n", kept, kubepki_report_len(again));

    rc = kubepki_check_expiration(S(pki), S(kubeconfigs), now, &expiration, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        status = fail("check expiration", rc, err);
        goto out;
    }
    kubepki_expiration_row row;
    for (size_t i = 0; kubepki_expiration_row_get(expiration, i, &row); i++) {
        printf("expires: %-26s %s not_after=%lld residual=%llds%s%s\n", row.name,
               row.is_ca ? "CA  " : "leaf", (long long)row.not_after,
               (long long)row.residual_seconds, row.missing ? " MISSING" : "",
               row.externally_managed ? " external" : "");
    }

    rc = kubepki_cluster_generate(params, now, &bundle, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        status = fail("generate", rc, err);
        goto out;
    }
    size_t secrets = 0;
    for (size_t i = 0; i < kubepki_bundle_len(bundle); i++) {
        size_t len = 0;
        const uint8_t *data = kubepki_bundle_data(bundle, i, &len);
        if (data == NULL || len == 0) {
            fprintf(stderr, "empty bundle entry %zu\n", i);
            goto out;
        }
        if (kubepki_bundle_is_secret(bundle, i)) secrets++;
        printf("bundle: %s (%zu bytes%s)\n", kubepki_bundle_path(bundle, i), len,
               kubepki_bundle_is_secret(bundle, i) ? ", secret" : "");
    }
    printf("bundle holds %zu files, %zu secret\n", kubepki_bundle_len(bundle), secrets);
    status = 0;

out:
    kubepki_bundle_free(bundle);
    kubepki_expiration_report_free(expiration);
    kubepki_report_free(again);
    kubepki_report_free(report);
    kubepki_cluster_params_free(params);
    return status;
}
