// Only includes the header: it must compile as C++ with every warning an error.
#include "kubepki.h"

int main() {
    kubepki_result rc = KUBEPKI_RESULT_OK;
    kubepki_error *err = nullptr;
    kubepki_error_free(err);
    return static_cast<int>(rc) + static_cast<int>(kubepki_result_message(0)[0] == 0);
}
