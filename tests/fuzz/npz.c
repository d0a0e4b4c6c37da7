/* npz.c - libFuzzer harness of the .npz reader (see tests/fuzz/fuzz.h):
 * counts the members, lists their names and loads each one, then asks for
 * a member that is not there. */
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, "npz");
  (void)lam_npz_count(path);
  int64_t need = lam_npz_names(path, NULL, 0);
  if (need <= 0) return 0;
  char *names = malloc((size_t)need);
  if (!names) return 0;
  if (lam_npz_names(path, names, need) == need) {
    for (char *p = names, *nl; p; p = nl ? nl + 1 : NULL) {
      if ((nl = strchr(p, '\n'))) *nl = '\0';
      lam_buf_free(lam_npz_load(path, p));
    }
  }
  free(names);
  lam_buf_free(lam_npz_load(path, "\x01no such member"));
  return 0;
}
