/*
 * rec.c - recorders: spike ports as (tick, index) events, streaming to
 * .npy files with bounded memory, the .partial naming and crash safety
 * under SIGKILL.  Models come from $LAMINA_TEST_BUILD/tests/abi/good.so:
 * good.spiker (unit i fires at every (i + 1)-th step, so every event is
 * known in advance) and good.counter (with gain 1 and dt 1, x = t + 1 after
 * tick t, so every recorded value is known).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lamina.h"
#include "tap.h"
#include "good.h"

static lam_registry *reg;
static char dir[PATH_MAX];

#define NUM(k, v) ((lam_arg){.key = (k), .num = (v), .kind = LAM_ARG_NUM})

static lam_sim *spiker(int64_t n) {
  lam_sim *s = lam_sim_new(reg, 1.0, 7);
  if (s && lam_sim_add(s, "sp", "good.spiker", (lam_arg[]){NUM("n", (double)n)}, 1, 1)) {
    diag("add good.spiker: %s", lam_last_error());
    lam_sim_free(s);
    return NULL;
  }
  return s;
}

static lam_sim *counter(int64_t n) {
  lam_sim *s = lam_sim_new(reg, 1.0, 7);
  if (s && lam_sim_add(s, "c", "good.counter",
                       (lam_arg[]){NUM("n", (double)n), NUM("gain", 1)}, 2, 1)) {
    diag("add good.counter: %s", lam_last_error());
    lam_sim_free(s);
    return NULL;
  }
  return s;
}

/* The events good.spiker must produce in ticks [0, T) for n units,
 * sampled at ticks from, from + every, ... below `to`: at tick t the model
 * has taken k = t + 1 steps and unit i fires iff k % (i + 1) == 0. */
static int64_t expected(int64_t n, int64_t T, int64_t every, int64_t from, int64_t to,
                        int64_t *ticks, int64_t *idx) {
  int64_t m = 0;
  for (int64_t t = from; t < T && (to < 0 || t < to); t += every)
    for (int64_t i = 0; i < n; i++)
      if ((t + 1) % (i + 1) == 0) {
        if (ticks) ticks[m] = t, idx[m] = i;
        m++;
      }
  return m;
}

static int same_events(lam_rec *r, int64_t n, int64_t T, int64_t every, int64_t from,
                       int64_t to) {
  int64_t m = expected(n, T, every, from, to, NULL, NULL);
  int64_t *et = malloc((size_t)(m + 1) * sizeof *et), *ei = malloc((size_t)(m + 1) * sizeof *ei);
  expected(n, T, every, from, to, et, ei);
  lam_buf *d = lam_rec_data(r), *t = lam_rec_ticks(r);
  int good = d && t && d->dtype == LAM_I64 && t->dtype == LAM_I64 && d->ndim == 1 &&
             d->size == m && t->size == m && lam_rec_count(r) == m &&
             !memcmp(d->data, ei, (size_t)m * sizeof *ei) &&
             !memcmp(t->data, et, (size_t)m * sizeof *et);
  if (!good)
    diag("got %lld events (count %lld), expected %lld", d ? (long long)d->size : -1LL,
         (long long)lam_rec_count(r), (long long)m);
  lam_buf_free(d);
  lam_buf_free(t);
  free(et);
  free(ei);
  return good;
}

static void test_spike_memory(void) {
  lam_sim *s = spiker(8);
  lam_rec *all = lam_sim_record(s, "sp.spikes", 1, 0, -1);
  lam_rec *win = lam_sim_record(s, "sp.spikes", 2, 10, 50);
  ok(all && win, "spike recorders made");
  ok(lam_rec_is_spikes(all), "a LAM_PORT_SPIKES port is recorded as events");
  is_int(lam_sim_run(s, 60), LAM_OK, "run 60 ticks");
  ok(same_events(all, 8, 60, 1, 0, -1),
     "every event (tick, index) of 8 units over 60 ticks, in tick then index order");
  ok(same_events(win, 8, 60, 2, 10, 50), "every 2 ticks in [10, 50): only the sampled ticks");
  is_int(lam_sim_run(s, 40), LAM_OK, "run 40 more");
  ok(same_events(all, 8, 100, 1, 0, -1), "events accumulate across runs");
  is_int(lam_sim_reset(s), LAM_OK, "reset");
  is_int(lam_rec_count(all), 0, "reset clears a memory spike recorder");
  lam_sim_free(s);

  /* 5000 units over 300 ticks: far more events than the first reserve,
   * so the loop pauses and grows the storage several times. */
  s = spiker(5000);
  lam_rec *big = lam_sim_record(s, "sp.spikes", 1, 0, -1);
  is_int(lam_sim_run(s, 300), LAM_OK, "5000 units, 300 ticks");
  int64_t m = expected(5000, 300, 1, 0, -1, NULL, NULL);
  ok(same_events(big, 5000, 300, 1, 0, -1),
     "all %lld events kept while the storage grew between ticks", (long long)m);
  is_int(lam_sim_tick(s), 300, "the run still ends at its tick");
  lam_sim_free(s);
}

static int64_t file_rows(const char *path) {
  lam_buf *b = lam_npy_load(path);
  int64_t n = b ? b->shape[0] : -1;
  lam_buf_free(b);
  return n;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void test_stream_dense(void) {
  char f[PATH_MAX + 32], fp[PATH_MAX + 64], tk[PATH_MAX + 64], tkp[PATH_MAX + 64];
  snprintf(f, sizeof f, "%s/x.npy", dir);
  snprintf(fp, sizeof fp, "%s/x.npy.partial", dir);
  snprintf(tk, sizeof tk, "%s/x.ticks.npy", dir);
  snprintf(tkp, sizeof tkp, "%s/x.ticks.npy.partial", dir);
  lam_sim *s = counter(3);
  lam_rec *mem = lam_sim_record(s, "c.x", 1, 0, -1);
  lam_rec *st = lam_sim_record(s, "c.x", 1, 0, -1);
  is_int(lam_rec_stream(st, f, 0), LAM_OK, "stream c.x to x.npy");
  ok(exists(fp) && exists(tkp) && !exists(f), "while recording: x.npy.partial and x.ticks.npy.partial, no x.npy");
  is_int(file_rows(fp), 0, "the fresh .partial is a valid empty .npy");
  is_int(lam_sim_run(s, 100000), LAM_OK, "run 100000 ticks");
  is_int(file_rows(fp), 100000, "after a run the .partial holds every sample (header patched)");
  is_int(lam_rec_count(st), 100000, "count of a stream");
  lam_buf *back = lam_rec_data(st), *ref = lam_rec_data(mem);
  ok(back && ref && back->size == ref->size && back->dtype == LAM_F64 &&
         !memcmp(back->data, ref->data, (size_t)ref->size * 8),
     "the streamed file equals the memory recording bit for bit");
  lam_buf_free(back);
  lam_buf_free(ref);
  is_int(lam_sim_run(s, 5), LAM_OK, "run 5 more");
  is_int(lam_rec_close(st), LAM_OK, "close the stream");
  ok(exists(f) && exists(tk) && !exists(fp) && !exists(tkp), "closed: final names, no .partial left");
  lam_buf *x = lam_npy_load(f), *t = lam_npy_load(tk);
  int good = x && t && x->ndim == 2 && x->shape[0] == 100005 && x->shape[1] == 3 && t->size == 100005;
  for (int64_t r = 0; good && r < 100005; r++)
    good = ((int64_t *)t->data)[r] == r && ((double *)x->data)[r * 3 + 2] == (double)(r + 1);
  ok(good, "x.npy [100005, 3] holds x = t + 1 and x.ticks.npy the ticks 0..100004");
  lam_buf_free(x);
  lam_buf_free(t);
  is_int(lam_sim_run(s, 5), LAM_OK, "running after close is fine");
  is_int(lam_rec_count(st), 100005, "... a closed stream takes no more samples");

  /* No result is ever overwritten or truncated. */
  lam_rec *again = lam_sim_record(s, "c.x", 1, 0, -1);
  is_int(lam_rec_stream(again, f, 0), LAM_EIO, "streaming onto an existing file is refused");
  like(lam_last_error(), "file exists", "... and the error says so (%s)", lam_last_error());
  is_int(file_rows(f), 100005, "... the file is untouched");
  lam_sim_free(s);

  char g[PATH_MAX + 32], gp[PATH_MAX + 64];
  snprintf(g, sizeof g, "%s/left.npy", dir);
  snprintf(gp, sizeof gp, "%s/left.npy.partial", dir);
  FILE *fh = fopen(gp, "w");
  if (fh) fclose(fh);
  s = counter(1);
  lam_rec *r = lam_sim_record(s, "c.x", 1, 0, -1);
  is_int(lam_rec_stream(r, g, 0), LAM_EIO, "an interrupted recording's .partial is never truncated");
  like(lam_last_error(), "interrupted", "... the error names it (%s)", lam_last_error());
  is_int(lam_sim_run(s, 3), LAM_OK, "run 3 (recorder stays in memory)");
  is_int(lam_rec_stream(r, g, 1), LAM_ESTATE, "streaming chosen after samples exist is refused");
  lam_sim_free(s);
  remove(gp);

  /* A reset ends a stream (a file is a result, never truncated). */
  char h[PATH_MAX + 32];
  snprintf(h, sizeof h, "%s/reset.npy", dir);
  s = counter(2);
  r = lam_sim_record(s, "c.x", 1, 0, -1);
  lam_rec_stream(r, h, 0);
  lam_sim_run(s, 7);
  is_int(lam_sim_reset(s), LAM_OK, "reset with a stream");
  ok(exists(h), "reset gave the stream its final name");
  lam_sim_run(s, 4);
  is_int(file_rows(h), 7, "... and the 7 samples before the reset stay as they were");
  lam_sim_free(s);

  /* lam_sim_free closes streams too. */
  char k[PATH_MAX + 32];
  snprintf(k, sizeof k, "%s/free.npy", dir);
  s = counter(2);
  r = lam_sim_record(s, "c.x", 3, 0, 30);
  lam_rec_stream(r, k, 0);
  lam_sim_run(s, 100);
  lam_sim_free(s);
  is_int(file_rows(k), 10, "lam_sim_free closes a stream: every 3 in [0, 30) = 10 rows");
}

static void test_stream_spikes(void) {
  char f[PATH_MAX + 32], tk[PATH_MAX + 64];
  snprintf(f, sizeof f, "%s/sp.npy", dir);
  snprintf(tk, sizeof tk, "%s/sp.ticks.npy", dir);
  lam_sim *s = spiker(3000);
  lam_rec *mem = lam_sim_record(s, "sp.spikes", 1, 0, -1);
  lam_rec *st = lam_sim_record(s, "sp.spikes", 1, 0, -1);
  is_int(lam_rec_stream(st, f, 0), LAM_OK, "stream spike events");
  is_int(lam_sim_run(s, 2000), LAM_OK, "3000 units, 2000 ticks");
  is_int(lam_rec_close(st), LAM_OK, "close");
  lam_buf *i = lam_npy_load(f), *t = lam_npy_load(tk);
  lam_buf *mi = lam_rec_data(mem), *mt = lam_rec_ticks(mem);
  ok(i && t && mi && mt && i->dtype == LAM_I64 && i->size == mi->size && t->size == mt->size &&
         !memcmp(i->data, mi->data, (size_t)i->size * 8) && !memcmp(t->data, mt->data, (size_t)t->size * 8),
     "streamed events (%lld) equal the memory recorder's", i ? (long long)i->size : -1LL);
  ok(same_events(mem, 3000, 2000, 1, 0, -1), "... which are exactly the expected events");
  lam_buf_free(i);
  lam_buf_free(t);
  lam_buf_free(mi);
  lam_buf_free(mt);
  lam_sim_free(s);
}

static long max_rss_kb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/* Streaming keeps memory bounded: 64 f64 per tick for 400000 ticks is
 * 205 MB of samples, recorded while the peak resident size grows by less
 * than 20 MB (the chunk is 1 MiB; the bound leaves room for the
 * allocator and page-table noise, and is 10x below the data). */
static void test_bounded(void) {
  char f[PATH_MAX + 32];
  snprintf(f, sizeof f, "%s/big.npy", dir);
  lam_sim *s = counter(64);
  lam_rec *st = lam_sim_record(s, "c.x", 1, 0, -1);
  lam_rec_stream(st, f, 0);
  lam_sim_set_check(s, 0);
  long before = max_rss_kb();
  int rc = LAM_OK;
  for (int i = 0; i < 4 && !rc; i++) rc = lam_sim_run(s, 100000);
  long after = max_rss_kb();
  is_int(rc, LAM_OK, "stream 400000 rows of 64 f64 (205 MB)");
  is_int(lam_rec_close(st), LAM_OK, "close");
  struct stat sb;
  ok(stat(f, &sb) == 0 && sb.st_size > 400000LL * 512, "big.npy holds them (%lld bytes)",
     (long long)sb.st_size);
  ok(after - before < 20 * 1024, "peak resident size grew by %ld kB (< 20 MB)", after - before);
  remove(f);
  snprintf(f, sizeof f, "%s/big.ticks.npy", dir);
  remove(f);
  lam_sim_free(s);
}

/* A child streams forever; the parent kills it with SIGKILL at a random
 * moment, then reads the .partial files back.  Everything the header
 * counts must be there and be right, and no file may carry the final name. */
static void test_sigkill(void) {
  unsigned seed = 12345;
  int all_good = 1, reads = 0;
  for (int round = 0; round < 8; round++) {
    char f[PATH_MAX + 32], fp[PATH_MAX + 64], tp[PATH_MAX + 64];
    snprintf(f, sizeof f, "%s/kill%d.npy", dir, round);
    snprintf(fp, sizeof fp, "%s/kill%d.npy.partial", dir, round);
    snprintf(tp, sizeof tp, "%s/kill%d.ticks.npy.partial", dir, round);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      lam_sim *s = counter(5);
      lam_rec *st = lam_sim_record(s, "c.x", 1, 0, -1);
      if (lam_rec_stream(st, f, 0)) _exit(3);
      for (;;)
        if (lam_sim_run(s, 1000)) _exit(4);
    }
    /* 20..200 ms: several chunks of 1 MiB get written meanwhile. */
    seed = seed * 1103515245u + 12345u;
    struct timespec d = {0, (long)(20 + (seed >> 16) % 180) * 1000000L};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    int killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    lam_buf *x = lam_npy_load(fp), *t = lam_npy_load(tp);
    int good = killed && x && t && !exists(f) && x->ndim == 2 && x->shape[1] == 5;
    int64_t n = good ? (x->shape[0] < t->size ? x->shape[0] : t->size) : 0;
    for (int64_t r = 0; good && r < n; r++)
      good = ((int64_t *)t->data)[r] == r && ((double *)x->data)[r * 5] == (double)(r + 1);
    if (!good)
      diag("round %d: killed %d, data %s", round, killed, x ? "read" : lam_last_error());
    reads += good && n > 0;
    all_good &= good;
    lam_buf_free(x);
    lam_buf_free(t);
    remove(fp);
    remove(tp);
  }
  ok(all_good, "8 SIGKILLs at random moments: both .partial files always load, every "
     "counted row is right, and no final-named file appears");
  ok(reads >= 6, "... and most of them had rows flushed already (%d of 8)", reads);
}

/* A garbage collector (Lua's at exit) may free the registry before the
 * simulations made from it: the simulation must still run and free
 * cleanly (ASan would catch a use after free). */
static void test_registry_first(void) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/tests/abi/good.so", getenv("LAMINA_TEST_BUILD"));
  lam_registry *r = lam_registry_new();
  lam_registry_load(r, path);
  lam_sim *s = lam_sim_new(r, 1.0, 3);
  is_int(lam_sim_add(s, "c", "good.counter", (lam_arg[]){NUM("n", 2), NUM("gain", 1)}, 2, 1),
         LAM_OK, "a simulation from a second registry");
  lam_rec *rec = lam_sim_record(s, "c.x", 1, 0, -1);
  lam_registry_free(r);
  is_int(lam_sim_run(s, 10), LAM_OK, "the registry freed first: the simulation still runs");
  is_int(lam_rec_count(rec), 10, "... and records");
  lam_sim_free(s); /* frees the registry too */
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/lamina-rec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int status;
  reg = good_registry(50, &status);
  if (!reg) return status;
  if (!mkdtemp(dir)) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  test_spike_memory();
  test_stream_dense();
  test_stream_spikes();
  test_bounded();
  test_sigkill();
  test_registry_first();
  int rc = tap_done();
  lam_registry_free(reg);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) diag("could not remove %s", dir);
  return rc;
}
