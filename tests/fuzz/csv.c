/* csv.c - libFuzzer harness of lam_csv_load (see tests/fuzz/fuzz.h): each
 * input is read with the default options and once more with options picked
 * by its first byte (header mode, delimiter, dtype), asking for the names. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, "csv");
  lam_buf_free(lam_csv_load(path, NULL, NULL));
  static const char delims[] = {0, ',', '\t', ';', '|', ':', ' '};
  uint8_t k = size ? data[0] : 0;
  lam_csv_opts o = {k % 3, delims[(k / 3) % 7], (k & 0x80) ? LAM_F32 : LAM_F64, 0};
  char *names = NULL;
  lam_buf *b = lam_csv_load(path, &o, &names);
  /* A header's names are one per column. */
  if (b && names) {
    int64_t cols = 1;
    for (const char *p = names; *p; p++) cols += *p == '\n';
    if (cols != b->shape[1]) abort();
  }
  lam_buf_free(b);
  lam_csv_free_names(names);
  return 0;
}
