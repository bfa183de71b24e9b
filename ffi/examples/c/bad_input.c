/*
 * Feeds the C ABI NULLs, zero lengths, garbage bytes and a consumed builder: every call must
 * return its error code (and a message through err_out), never crash, never write outputs.
 */
#include <stdio.h>
#include <string.h>

#include "kubepki.h"

#define S(text) (const uint8_t *)(text), strlen(text)

static int failures = 0;

/* Runs CALL (which names `&err`), then checks its code and message. */
#define EXPECT(what, call, want)                    \
    do {                                            \
        kubepki_error *err = NULL;                  \
        kubepki_result rc_ = (call);                \
        check((what), rc_, (uint32_t)(want), err);  \
    } while (0)

/* Checks the code, that the message is there, then frees it. */
static void check(const char *what, kubepki_result got, uint32_t want, kubepki_error *err) {
    if ((uint32_t)got != want) {
        fprintf(stderr, "FAIL %s: got %u (%s), want %u (%s): %s\n", what, (unsigned)got,
                kubepki_result_message(got), (unsigned)want, kubepki_result_message(want),
                err ? kubepki_error_message(err) : "(no error)");
        failures++;
    } else if (want != KUBEPKI_RESULT_OK &&
               (err == NULL || kubepki_error_code(err) != want ||
                strlen(kubepki_error_message(err)) == 0)) {
        fprintf(stderr, "FAIL %s: no error message\n", what);
        failures++;
    } else {
        printf("ok %s: %s\n", what, err ? kubepki_error_message(err) : "ok");
    }
    kubepki_error_free(err);
}

int main(void) {
    static const uint8_t garbage[] = {0x30, 0x82, 0xff, 0xff, 0x00, 0x01, 0x02, 0xde, 0xad};
    static const uint8_t empty[1] = {0};
    kubepki_key *key = NULL;
    kubepki_csr *csr = NULL;
    kubepki_csr_builder *builder = NULL;
    kubepki_profile *profile = NULL;
    kubepki_ca *ca = NULL;
    kubepki_cert *cert = NULL;
    kubepki_bytes *bytes = NULL;
    kubepki_strings *strings = NULL;

    /* NULLs everywhere: NULL with a length above 0 is refused. */
    EXPECT("generate NULL name", kubepki_key_generate(NULL, 10, &key, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("generate NULL out", kubepki_key_generate(S("ECDSA-P256"), NULL, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    /* err_out may be NULL: the code alone comes back. */
    if (kubepki_key_parse(NULL, 10, NULL, 0, &key, NULL) != KUBEPKI_RESULT_NULL_PARAMETER) {
        fprintf(stderr, "FAIL parse NULL without err_out\n");
        failures++;
    }
    EXPECT("to_pem NULL key", kubepki_key_to_pem(NULL, KUBEPKI_KEY_FORMAT_PKCS8, &bytes, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("csr parse NULL", kubepki_csr_parse(NULL, 10, &csr, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("issue NULL ca", kubepki_ca_issue(NULL, NULL, NULL, 0, 0, &cert, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("verify NULL", kubepki_verify(NULL, 10, NULL, 0, NULL, 10, 0, NULL, 0, 0, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("identity NULL",
           kubepki_kubernetes_identity(NULL, 10, NULL, 0, NULL, 10, 0, &bytes, &strings, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("identity NULL out",
           kubepki_kubernetes_identity(garbage, sizeof garbage, NULL, 0, garbage, sizeof garbage,
                                       0, &bytes, NULL, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);
    EXPECT("builder add_san NULL", kubepki_csr_builder_add_san(NULL, S("a.example"), &err),
           KUBEPKI_RESULT_NULL_PARAMETER);

    EXPECT("optional passphrase NULL with a length",
           kubepki_key_parse(garbage, sizeof garbage, NULL, 3, &key, &err),
           KUBEPKI_RESULT_NULL_PARAMETER);

    /* Zero lengths: empty input, whatever the pointer (NULL included). */
    EXPECT("generate NULL empty name", kubepki_key_generate(NULL, 0, &key, &err),
           KUBEPKI_RESULT_KEY_UNKNOWN_ALGORITHM);
    if (kubepki_key_parse(NULL, 0, NULL, 0, &key, NULL) != KUBEPKI_RESULT_KEY_MALFORMED) {
        fprintf(stderr, "FAIL parse NULL, 0 without err_out\n");
        failures++;
    }
    EXPECT("csr parse NULL empty", kubepki_csr_parse(NULL, 0, &csr, &err),
           KUBEPKI_RESULT_CSR_MALFORMED);
    EXPECT("generate empty name", kubepki_key_generate(empty, 0, &key, &err),
           KUBEPKI_RESULT_KEY_UNKNOWN_ALGORITHM);
    EXPECT("key parse empty", kubepki_key_parse(empty, 0, NULL, 0, &key, &err),
           KUBEPKI_RESULT_KEY_MALFORMED);
    EXPECT("csr parse empty", kubepki_csr_parse(empty, 0, &csr, &err),
           KUBEPKI_RESULT_CSR_MALFORMED);
    EXPECT("cert parse empty", kubepki_cert_parse(empty, 0, &cert, &err),
           KUBEPKI_RESULT_CERT_MALFORMED);
    EXPECT("builder empty subject", kubepki_csr_builder_new(empty, 0, &builder, &err),
           KUBEPKI_RESULT_CSR_INVALID_SUBJECT);
    EXPECT("profile empty name",
           kubepki_profile_builtin(empty, 0, NULL, 0, NULL, 0, &profile, &err),
           KUBEPKI_RESULT_PROFILE_UNKNOWN);

    /* Garbage. */
    EXPECT("key parse garbage", kubepki_key_parse(garbage, sizeof garbage, NULL, 0, &key, &err),
           KUBEPKI_RESULT_KEY_MALFORMED);
    EXPECT("csr parse garbage", kubepki_csr_parse(garbage, sizeof garbage, &csr, &err),
           KUBEPKI_RESULT_CSR_MALFORMED);
    EXPECT("csr parse wrong label", kubepki_csr_parse(S("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"), &csr, &err),
           KUBEPKI_RESULT_CSR_WRONG_PEM_LABEL);
    EXPECT("cert parse garbage", kubepki_cert_parse(garbage, sizeof garbage, &cert, &err),
           KUBEPKI_RESULT_CERT_MALFORMED);
    EXPECT("verify garbage",
           kubepki_verify(garbage, sizeof garbage, NULL, 0, garbage, sizeof garbage, 0, NULL, 0,
                          0, &err),
           KUBEPKI_RESULT_VERIFY_MALFORMED);
    EXPECT("identity garbage",
           kubepki_kubernetes_identity(garbage, sizeof garbage, NULL, 0, garbage, sizeof garbage,
                                       0, &bytes, &strings, &err),
           KUBEPKI_RESULT_VERIFY_MALFORMED);
    if (bytes != NULL || strings != NULL) {
        fprintf(stderr, "FAIL identity wrote outputs on failure\n");
        failures++;
    }
    EXPECT("invalid utf-8 name", kubepki_key_generate((const uint8_t *)"\xff\xfe", 2, &key, &err),
           KUBEPKI_RESULT_INVALID_UTF8);
    EXPECT("weak algorithm", kubepki_key_generate(S("RSA-1024"), &key, &err),
           KUBEPKI_RESULT_KEY_UNKNOWN_ALGORITHM);
    EXPECT("bad yaml", kubepki_profile_from_yaml(S("profiles: [1"), S("x"), &profile, &err),
           KUBEPKI_RESULT_PROFILE_INVALID_FILE);
    EXPECT("builder", kubepki_csr_builder_new(S("/CN=x"), &builder, &err), KUBEPKI_RESULT_OK);
    EXPECT("add bad san", kubepki_csr_builder_add_san(builder, S("IP:300.1.1.1"), &err),
           KUBEPKI_RESULT_CSR_INVALID_SAN);

    /* Nothing was written on failure. */
    if (key || csr || profile || ca || cert || bytes) {
        fprintf(stderr, "FAIL an output was written on failure\n");
        failures++;
    }

    /* A consumed builder. */
    EXPECT("generate", kubepki_key_generate(S("ecdsa-p256"), &key, &err), KUBEPKI_RESULT_OK);
    EXPECT("build once", kubepki_csr_builder_build(builder, key, &csr, &err), KUBEPKI_RESULT_OK);
    kubepki_csr *again = NULL;
    EXPECT("build twice", kubepki_csr_builder_build(builder, key, &again, &err),
           KUBEPKI_RESULT_ALREADY_USED);
    EXPECT("add san after build", kubepki_csr_builder_add_san(builder, S("a.example"), &err),
           KUBEPKI_RESULT_ALREADY_USED);
    if (again != NULL) {
        fprintf(stderr, "FAIL second build wrote an output\n");
        failures++;
    }
    kubepki_bytes *key_pem = NULL;
    EXPECT("key pem", kubepki_key_to_pem(key, KUBEPKI_KEY_FORMAT_PKCS8, &key_pem, &err),
           KUBEPKI_RESULT_OK);
    EXPECT("ca from garbage certificate",
           kubepki_ca_from_pem(garbage, sizeof garbage, kubepki_bytes_data(key_pem),
                               kubepki_bytes_len(key_pem), NULL, 0, &ca, &err),
           KUBEPKI_RESULT_CERT_MALFORMED);
    kubepki_bytes_free(key_pem);
    EXPECT("bad key format", kubepki_key_to_pem(key, 7, &bytes, &err),
           KUBEPKI_RESULT_INVALID_PARAMETER);
    EXPECT("empty passphrase", kubepki_key_to_encrypted_pem(key, empty, 0, &bytes, &err),
           KUBEPKI_RESULT_KEY_EMPTY_PASSPHRASE);

    /* A leaf profile cannot make a CA; a request outside the profile is refused. */
    EXPECT("admin profile", kubepki_profile_builtin(S("admin"), NULL, 0, NULL, 0, &profile, &err),
           KUBEPKI_RESULT_OK);
    EXPECT("ca from leaf profile",
           kubepki_ca_self_signed(key, S("/CN=x"), profile, 0, 1700000000, &ca, &err),
           KUBEPKI_RESULT_CA_WRONG_PROFILE_KIND);

    /* Unknown codes and NULL accessors. */
    if (strcmp(kubepki_result_message(4242), "unknown result code") != 0 ||
        kubepki_error_message(NULL) != NULL || kubepki_bytes_len(NULL) != 0 ||
        kubepki_strings_get(NULL, 0) != NULL || kubepki_key_algorithm(NULL) != NULL) {
        fprintf(stderr, "FAIL NULL accessors\n");
        failures++;
    }
    /* Every _free accepts NULL. */
    kubepki_key_free(NULL);
    kubepki_csr_free(NULL);
    kubepki_csr_builder_free(NULL);
    kubepki_profile_free(NULL);
    kubepki_ca_free(NULL);
    kubepki_cert_free(NULL);
    kubepki_bytes_free(NULL);
    kubepki_strings_free(NULL);
    kubepki_error_free(NULL);

    kubepki_profile_free(profile);
    kubepki_csr_free(csr);
    kubepki_csr_builder_free(builder);
    kubepki_key_free(key);
    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("all bad inputs refused\n");
    return 0;
}
