/* npy.c - libFuzzer harness of lam_npy_load (see tests/fuzz/fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lam_buf_free(lam_npy_load(fuzz_file(data, size, "npy")));
  return 0;
}
