/*
 * The whole workflow of an installer through the C ABI: a CA, a key, a CSR, a certificate
 * issued under a profile, verified, written as PEM files.
 *
 * usage: workflow OUT_DIR [NOW_UNIX] [BENCH_ITERATIONS]
 *   writes OUT_DIR/ca.crt, ca.key, admin.key, admin.csr, admin.crt;
 *   with BENCH_ITERATIONS > 0 also times that many issue calls and prints the median of
 *   5 runs in microseconds per call as "issue_us_per_call=<median>".
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubepki.h"

#define S(text) (const uint8_t *)(text), strlen(text)

static int fail(const char *what, kubepki_result rc, kubepki_error *err) {
    fprintf(stderr, "%s failed: %u (%s): %s\n", what, (unsigned)rc, kubepki_result_message(rc),
            err != NULL ? kubepki_error_message(err) : "(no message)");
    kubepki_error_free(err);
    return 1;
}

static int write_file(const char *dir, const char *name, const kubepki_bytes *bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t len = kubepki_bytes_len(bytes);
    size_t written = fwrite(kubepki_bytes_data(bytes), 1, len, f);
    if (fclose(f) != 0 || written != len) {
        perror(path);
        return 1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [NOW_UNIX] [BENCH_ITERATIONS]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int64_t now = argc > 2 ? (int64_t)strtoll(argv[2], NULL, 10) : 0;
    long iterations = argc > 3 ? strtol(argv[3], NULL, 10) : 0;

    int status = 1;
    kubepki_error *err = NULL;
    kubepki_result rc;
    kubepki_key *ca_key = NULL, *key = NULL;
    kubepki_profile *ca_profile = NULL, *admin = NULL;
    kubepki_ca *ca = NULL;
    kubepki_csr_builder *builder = NULL;
    kubepki_csr *csr = NULL, *parsed = NULL;
    kubepki_cert *cert = NULL;
    kubepki_bytes *ca_pem = NULL, *ca_key_pem = NULL, *key_pem = NULL, *csr_pem = NULL,
                  *cert_pem = NULL, *subject = NULL, *user = NULL;
    kubepki_strings *usages = NULL, *groups = NULL, *user_groups = NULL;

    printf("kubepki %s (header %d.%d.%d), abi %u\n", kubepki_version(), KUBEPKI_VERSION_MAJOR,
           KUBEPKI_VERSION_MINOR, KUBEPKI_VERSION_PATCH, (unsigned)kubepki_abi_version());
    if (kubepki_abi_version() != KUBEPKI_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header ABI %u\n", (unsigned)kubepki_abi_version(),
                (unsigned)KUBEPKI_ABI_VERSION);
        return 1;
    }

    /* The CA: kubeadm's "ca" profile, CN=kubernetes, ECDSA P-256. */
    if ((rc = kubepki_key_generate(S("ECDSA-P256"), &ca_key, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("ca key", rc, err);
        goto out;
    }
    if ((rc = kubepki_profile_builtin(S("ca"), NULL, 0, NULL, 0, &ca_profile, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("ca profile", rc, err);
        goto out;
    }
    if ((rc = kubepki_ca_self_signed(ca_key, NULL, 0, ca_profile, 0, now, &ca, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("self-signed ca", rc, err);
        goto out;
    }

    /* The admin's key and request, as a separate party would make them. */
    if ((rc = kubepki_key_generate(S("ECDSA-P256"), &key, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("key", rc, err);
        goto out;
    }
    if ((rc = kubepki_csr_builder_new(S("/O=kubeadm:cluster-admins/CN=kubernetes-admin"),
                                      &builder, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("csr builder", rc, err);
        goto out;
    }
    if ((rc = kubepki_csr_builder_build(builder, key, &csr, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("csr build", rc, err);
        goto out;
    }
    if ((rc = kubepki_csr_to_pem(csr, &csr_pem, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("csr pem", rc, err);
        goto out;
    }

    /* The CA side: parse the request (proof of possession) and issue under "admin". */
    if ((rc = kubepki_csr_parse(kubepki_bytes_data(csr_pem), kubepki_bytes_len(csr_pem),
                                &parsed, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("csr parse", rc, err);
        goto out;
    }
    if ((rc = kubepki_csr_groups(parsed, &groups, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("csr groups", rc, err);
        goto out;
    }
    for (size_t i = 0; i < kubepki_strings_len(groups); i++) {
        printf("requested group: %s\n", kubepki_strings_get(groups, i));
    }
    if ((rc = kubepki_profile_builtin(S("admin"), NULL, 0, NULL, 0, &admin, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("admin profile", rc, err);
        goto out;
    }
    if ((rc = kubepki_ca_issue(ca, parsed, admin, 0, now, &cert, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("issue", rc, err);
        goto out;
    }

    /* Inspect and verify what we got. */
    if ((rc = kubepki_cert_subject(cert, &subject, &err)) != KUBEPKI_RESULT_OK ||
        (rc = kubepki_cert_usages(cert, &usages, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("inspect", rc, err);
        goto out;
    }
    printf("issued: %s, not after %lld\n", (const char *)kubepki_bytes_data(subject),
           (long long)kubepki_cert_not_after(cert));
    for (size_t i = 0; i < kubepki_strings_len(usages); i++) {
        printf("usage: %s\n", kubepki_strings_get(usages, i));
    }
    if ((rc = kubepki_ca_cert_pem(ca, &ca_pem, &err)) != KUBEPKI_RESULT_OK ||
        (rc = kubepki_cert_pem(cert, &cert_pem, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("pem", rc, err);
        goto out;
    }
    if ((rc = kubepki_verify(kubepki_bytes_data(ca_pem), kubepki_bytes_len(ca_pem), NULL, 0,
                             kubepki_bytes_data(cert_pem), kubepki_bytes_len(cert_pem),
                             KUBEPKI_PURPOSE_CLIENT_AUTH, NULL, 0, now, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("verify", rc, err);
        goto out;
    }
    printf("verified: client auth chain to the CA\n");

    /* Who the API server (--client-ca-file ca.crt) would take the certificate for. */
    if ((rc = kubepki_kubernetes_identity(kubepki_bytes_data(ca_pem), kubepki_bytes_len(ca_pem),
                                          NULL, 0, kubepki_bytes_data(cert_pem),
                                          kubepki_bytes_len(cert_pem), now, &user, &user_groups,
                                          &err)) != KUBEPKI_RESULT_OK) {
        status = fail("identity", rc, err);
        goto out;
    }
    if (strcmp((const char *)kubepki_bytes_data(user), "kubernetes-admin") != 0 ||
        kubepki_strings_len(user_groups) != 1 ||
        strcmp(kubepki_strings_get(user_groups, 0), "kubeadm:cluster-admins") != 0) {
        fprintf(stderr, "identity: unexpected user %s\n", (const char *)kubepki_bytes_data(user));
        status = 1;
        goto out;
    }
    printf("kubernetes user: %s, group: %s\n", (const char *)kubepki_bytes_data(user),
           kubepki_strings_get(user_groups, 0));

    /* Write the files an installer leaves behind. */
    if ((rc = kubepki_key_to_pem(ca_key, KUBEPKI_KEY_FORMAT_TRADITIONAL, &ca_key_pem, &err)) !=
            KUBEPKI_RESULT_OK ||
        (rc = kubepki_key_to_pem(key, KUBEPKI_KEY_FORMAT_PKCS8, &key_pem, &err)) !=
            KUBEPKI_RESULT_OK) {
        status = fail("key pem", rc, err);
        goto out;
    }
    if (write_file(dir, "ca.crt", ca_pem) || write_file(dir, "ca.key", ca_key_pem) ||
        write_file(dir, "admin.key", key_pem) || write_file(dir, "admin.csr", csr_pem) ||
        write_file(dir, "admin.crt", cert_pem)) {
        goto out;
    }

    /* Optional: the cost of one issue call through the ABI. */
    if (iterations > 0) {
        double runs[5];
        for (int r = 0; r < 5; r++) {
            double start = now_seconds();
            for (long i = 0; i < iterations; i++) {
                kubepki_cert *c = NULL;
                if ((rc = kubepki_ca_issue(ca, parsed, admin, 0, now, &c, &err)) !=
                    KUBEPKI_RESULT_OK) {
                    status = fail("bench issue", rc, err);
                    goto out;
                }
                kubepki_cert_free(c);
            }
            runs[r] = (now_seconds() - start) / (double)iterations * 1e6;
        }
        qsort(runs, 5, sizeof runs[0], cmp_double);
        printf("issue_us_per_call=%.1f\n", runs[2]);
    }
    status = 0;

out:
    kubepki_strings_free(user_groups);
    kubepki_bytes_free(user);
    kubepki_strings_free(usages);
    kubepki_strings_free(groups);
    kubepki_bytes_free(subject);
    kubepki_bytes_free(cert_pem);
    kubepki_bytes_free(csr_pem);
    kubepki_bytes_free(key_pem);
    kubepki_bytes_free(ca_key_pem);
    kubepki_bytes_free(ca_pem);
    kubepki_cert_free(cert);
    kubepki_csr_free(parsed);
    kubepki_csr_free(csr);
    kubepki_csr_builder_free(builder);
    kubepki_ca_free(ca);
    kubepki_profile_free(admin);
    kubepki_profile_free(ca_profile);
    kubepki_key_free(key);
    kubepki_key_free(ca_key);
    return status;
}
