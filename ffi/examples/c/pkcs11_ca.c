/*
 * A CA whose key never leaves a PKCS#11 token (an HSM, a YubiKey, SoftHSM2): the installer
 * has the CA certificate as a file and names the key by an RFC 7512 URI; the library signs on
 * the token. A wrong PIN is refused with KUBEPKI_RESULT_PKCS11_PIN and a message saying so.
 *
 * usage: pkcs11_ca CA_CERT URI WRONG_PIN_URI OUT_DIR
 *   writes OUT_DIR/jane.key and OUT_DIR/jane.crt (CN=jane, O=developers, client auth),
 *   issued by the token's key; prints "wrong pin: CODE: MESSAGE" for WRONG_PIN_URI.
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

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *data = malloc(cap);
    while (data != NULL) {
        n += fread(data + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        cap *= 2;
        uint8_t *bigger = realloc(data, cap);
        if (bigger == NULL) {
            free(data);
        }
        data = bigger;
    }
    if (ferror(f) || data == NULL) {
        perror(path);
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = n;
    return data;
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

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s CA_CERT URI WRONG_PIN_URI OUT_DIR\n", argv[0]);
        return 2;
    }
    const char *uri = argv[2], *wrong_pin_uri = argv[3], *dir = argv[4];
    int status = 1;
    kubepki_error *err = NULL;
    kubepki_result rc;
    kubepki_ca *ca = NULL, *refused = NULL;
    kubepki_key *key = NULL;
    kubepki_csr_builder *builder = NULL;
    kubepki_csr *csr = NULL;
    kubepki_profile *client = NULL;
    kubepki_cert *cert = NULL;
    kubepki_bytes *key_pem = NULL, *cert_pem = NULL, *ca_pem = NULL;
    size_t cert_len = 0;
    uint8_t *ca_cert = read_file(argv[1], &cert_len);
    if (ca_cert == NULL) {
        return 1;
    }

    /* A wrong PIN: a code of its own and a message that says what went wrong. */
    rc = kubepki_ca_from_pkcs11(ca_cert, cert_len, S(wrong_pin_uri), &refused, &err);
    if (rc != KUBEPKI_RESULT_PKCS11_PIN || refused != NULL || err == NULL ||
        kubepki_error_code(err) != (uint32_t)KUBEPKI_RESULT_PKCS11_PIN) {
        status = fail("wrong PIN was not refused as such", rc, err);
        err = NULL;
        goto out;
    }
    printf("wrong pin: %u: %s\n", (unsigned)rc, kubepki_error_message(err));
    kubepki_error_free(err);
    err = NULL;

    /* The CA: its certificate from the file, its key on the token. */
    if ((rc = kubepki_ca_from_pkcs11(ca_cert, cert_len, S(uri), &ca, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("ca from pkcs11", rc, err);
        goto out;
    }
    if ((rc = kubepki_ca_cert_pem(ca, &ca_pem, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("ca pem", rc, err);
        goto out;
    }

    /* A user's key and request (a file key: only the CA's key is on the token). */
    if ((rc = kubepki_key_generate(S("ECDSA-P256"), &key, &err)) != KUBEPKI_RESULT_OK ||
        (rc = kubepki_csr_builder_new(S("/O=developers/CN=jane"), &builder, &err)) !=
            KUBEPKI_RESULT_OK ||
        (rc = kubepki_csr_builder_build(builder, key, &csr, &err)) != KUBEPKI_RESULT_OK ||
        (rc = kubepki_profile_builtin(S("client"), NULL, 0, NULL, 0, &client, &err)) !=
            KUBEPKI_RESULT_OK) {
        status = fail("request", rc, err);
        goto out;
    }

    /* Signed on the token; the library checks the signature before returning it. */
    if ((rc = kubepki_ca_issue(ca, csr, client, 3600, 0, &cert, &err)) != KUBEPKI_RESULT_OK) {
        status = fail("issue on the token", rc, err);
        goto out;
    }
    if ((rc = kubepki_cert_pem(cert, &cert_pem, &err)) != KUBEPKI_RESULT_OK ||
        (rc = kubepki_key_to_pem(key, KUBEPKI_KEY_FORMAT_PKCS8, &key_pem, &err)) !=
            KUBEPKI_RESULT_OK) {
        status = fail("pem", rc, err);
        goto out;
    }
    if ((rc = kubepki_verify(kubepki_bytes_data(ca_pem), kubepki_bytes_len(ca_pem), NULL, 0,
                             kubepki_bytes_data(cert_pem), kubepki_bytes_len(cert_pem),
                             KUBEPKI_PURPOSE_CLIENT_AUTH, NULL, 0, 0, &err)) !=
        KUBEPKI_RESULT_OK) {
        status = fail("verify", rc, err);
        goto out;
    }
    if (write_file(dir, "jane.key", key_pem) || write_file(dir, "jane.crt", cert_pem)) {
        goto out;
    }
    printf("issued by the token's key: jane.crt\n");
    status = 0;

out:
    free(ca_cert);
    kubepki_bytes_free(key_pem);
    kubepki_bytes_free(cert_pem);
    kubepki_bytes_free(ca_pem);
    kubepki_cert_free(cert);
    kubepki_profile_free(client);
    kubepki_csr_free(csr);
    kubepki_csr_builder_free(builder);
    kubepki_key_free(key);
    kubepki_ca_free(ca);
    kubepki_ca_free(refused);
    return status;
}
