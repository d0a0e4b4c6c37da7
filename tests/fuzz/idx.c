/* idx.c - libFuzzer harness of lam_idx_load (see tests/fuzz/fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lam_buf_free(lam_idx_load(fuzz_file(data, size, "idx")));
  return 0;
}
