/*
 * fuzz.h - shared part of the libFuzzer harnesses of the file readers:
 * the readers take a path, so each input is written to a per-process file
 * in $LAMINA_FUZZ_DIR, else /dev/shm (memory, no disk wear), else $TMPDIR.
 */
#ifndef LAM_FUZZ_H
#define LAM_FUZZ_H

#include "lamina.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path_[512];

static void fuzz_cleanup_(void) {
  if (fuzz_path_[0]) unlink(fuzz_path_);
}

/* Writes the input to the scratch file and returns its path. */
static const char *fuzz_file(const uint8_t *data, size_t size, const char *ext) {
  if (!fuzz_path_[0]) {
    /* make fuzz names a scratch directory it removes afterwards, since
     * libFuzzer ends a timed run without running atexit handlers. */
    const char *dir = getenv("LAMINA_FUZZ_DIR");
    if (!dir && access("/dev/shm", W_OK) == 0) dir = "/dev/shm";
    if (!dir) dir = getenv("TMPDIR");
    snprintf(fuzz_path_, sizeof fuzz_path_, "%s/lamina-fuzz-%ld.%s", dir ? dir : "/tmp",
             (long)getpid(), ext);
    atexit(fuzz_cleanup_);
  }
  FILE *f = fopen(fuzz_path_, "wb");
  if (!f) abort();  /* the harness, not the reader, failed */
  if (size && fwrite(data, 1, size, f) != size) abort();
  if (fclose(f) != 0) abort();
  return fuzz_path_;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
