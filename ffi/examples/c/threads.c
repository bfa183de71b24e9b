/*
 * One shared CA handle issuing on several threads at once: each thread builds its own key and
 * request and issues under the shared "client" profile from the shared const kubepki_ca.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kubepki.h"

#define S(text) (const uint8_t *)(text), strlen(text)
#define THREADS 8
#define PER_THREAD 8

struct shared {
    const kubepki_ca *ca;
    const kubepki_profile *profile;
    const kubepki_bytes *ca_pem;
};

struct job {
    const struct shared *shared;
    int index;
    int failures;
};

static void *worker(void *arg) {
    struct job *job = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        kubepki_error *err = NULL;
        kubepki_key *key = NULL;
        kubepki_csr_builder *builder = NULL;
        kubepki_csr *csr = NULL;
        kubepki_cert *cert = NULL;
        kubepki_bytes *pem = NULL;
        char subject[64];
        snprintf(subject, sizeof subject, "/O=dev/CN=user-%d-%d", job->index, i);
        kubepki_result rc = kubepki_key_generate(S("ECDSA-P256"), &key, &err);
        if (rc == KUBEPKI_RESULT_OK) rc = kubepki_csr_builder_new(S(subject), &builder, &err);
        if (rc == KUBEPKI_RESULT_OK) rc = kubepki_csr_builder_build(builder, key, &csr, &err);
        if (rc == KUBEPKI_RESULT_OK)
            rc = kubepki_ca_issue(job->shared->ca, csr, job->shared->profile, 3600, 0, &cert,
                                  &err);
        if (rc == KUBEPKI_RESULT_OK) rc = kubepki_cert_pem(cert, &pem, &err);
        if (rc == KUBEPKI_RESULT_OK)
            rc = kubepki_verify(kubepki_bytes_data(job->shared->ca_pem),
                                kubepki_bytes_len(job->shared->ca_pem), NULL, 0,
                                kubepki_bytes_data(pem), kubepki_bytes_len(pem),
                                KUBEPKI_PURPOSE_CLIENT_AUTH, NULL, 0, 0, &err);
        if (rc != KUBEPKI_RESULT_OK) {
            fprintf(stderr, "thread %d: %u %s\n", job->index, (unsigned)rc,
                    err ? kubepki_error_message(err) : "");
            job->failures++;
        }
        kubepki_error_free(err);
        kubepki_bytes_free(pem);
        kubepki_cert_free(cert);
        kubepki_csr_free(csr);
        kubepki_csr_builder_free(builder);
        kubepki_key_free(key);
    }
    return NULL;
}

int main(void) {
    kubepki_error *err = NULL;
    kubepki_key *ca_key = NULL;
    kubepki_profile *ca_profile = NULL, *client = NULL;
    kubepki_ca *ca = NULL;
    kubepki_bytes *ca_pem = NULL;
    int status = 1;
    kubepki_result rc = kubepki_key_generate(S("ECDSA-P256"), &ca_key, &err);
    if (rc == KUBEPKI_RESULT_OK)
        rc = kubepki_profile_builtin(S("ca"), NULL, 0, NULL, 0, &ca_profile, &err);
    if (rc == KUBEPKI_RESULT_OK)
        rc = kubepki_profile_builtin(S("client"), NULL, 0, NULL, 0, &client, &err);
    if (rc == KUBEPKI_RESULT_OK)
        rc = kubepki_ca_self_signed(ca_key, NULL, 0, ca_profile, 0, 0, &ca, &err);
    if (rc == KUBEPKI_RESULT_OK) rc = kubepki_ca_cert_pem(ca, &ca_pem, &err);
    if (rc != KUBEPKI_RESULT_OK) {
        fprintf(stderr, "setup: %u %s\n", (unsigned)rc, err ? kubepki_error_message(err) : "");
        goto out;
    }
    struct shared shared = {ca, client, ca_pem};
    pthread_t threads[THREADS];
    struct job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct job){&shared, t, 0};
        if (pthread_create(&threads[t], NULL, worker, &jobs[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    int failures = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        failures += jobs[t].failures;
    }
    if (failures == 0) {
        printf("issued and verified %d certificates on %d threads\n", THREADS * PER_THREAD,
               THREADS);
        status = 0;
    }
out:
    kubepki_error_free(err);
    kubepki_bytes_free(ca_pem);
    kubepki_ca_free(ca);
    kubepki_profile_free(client);
    kubepki_profile_free(ca_profile);
    kubepki_key_free(ca_key);
    return status;
}
