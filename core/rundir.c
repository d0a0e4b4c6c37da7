/*
 * rundir.c - the run directory of `lamina run`: where it is, what it
 * holds, and run.json, the run's provenance.
 *
 *   runs/<script>/<run-id>/   (or --out DIR; the base "runs" can be moved
 *                              with LAMINA_RUNS)
 *     run.json      status RUNNING -> COMPLETED | FAILED (+ error), lamina
 *                   version and build, command line, script path, SHA-256
 *                   and copy, parameters, root seed, simulations with model
 *                   instance ids, recordings, plugins (file, version,
 *                   SHA-256), host, start and end time
 *     result.json   the script's returned table
 *     data.npz      memory recordings (written by lua/lamina/run.lua)
 *     log           everything the run printed on stdout and stderr
 *     <script>.lua  the script as it ran
 *
 * run.json and result.json are written to a temporary file, fsync'ed and
 * renamed, so a reader (a sweep gathering results, a user) only ever sees
 * a whole file; result.json is in place before run.json says COMPLETED.
 * The log is captured by pointing fds 1 and 2 at pipes drained by a thread
 * that copies to the terminal and to the file, so plugin and library
 * output is captured too; the progress bar is drawn on the terminal only.
 */
#include "cmd_int.h"
#include "lamina.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct lam__rundir {
  char dir[PATH_MAX];
  cJSON *run;
  double t0;
  int log_fd, tty_out, tty_err;
  int pipe_out, pipe_err;      /* read ends, drained by the tee thread */
  pthread_t tee;
  int tee_on;
};

static double wall(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* ISO 8601 UTC with milliseconds. */
static void iso_time(double t, char *out, size_t n) {
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03dZ", base, (int)((t - (double)s) * 1000));
}

/* run.json and result.json: atomic and durable (see the top). */
static int save_json(lam__rundir *r, const char *name, const cJSON *doc) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", r->dir, name);
  int rc = lam__write_json(path, doc, 1);
  if (rc) fprintf(stderr, "lamina: %s: %s\n", path, strerror(errno));
  return rc;
}

/* The status recorded in dir/run.json, or "" when there is none. */
static void previous_status(const char *dir, char *out, size_t n) {
  out[0] = '\0';
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/run.json", dir);
  if (access(path, F_OK) != 0) return;
  cJSON *j = lam__read_json(path);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
  snprintf(out, n, "%s", cJSON_IsString(s) ? s->valuestring : "UNREADABLE");
  cJSON_Delete(j);
}

/* --out DIR may be reused only when it is empty or holds an attempt that
 * did not complete; that attempt's files move to DIR/attempt-<k>/, so
 * nothing is ever overwritten. */
static int prepare_out(const char *dir) {
  if (lam__mkdirs(dir) != 0) {
    fprintf(stderr, "lamina: --out %s: cannot create the directory: %s\n", dir, strerror(errno));
    return -1;
  }
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "lamina: --out %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int entries = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strncmp(e->d_name, "attempt-", 8);
  closedir(d);
  if (!entries) return 0;
  char status[64];
  previous_status(dir, status, sizeof status);
  if (!*status) {
    fprintf(stderr, "lamina: --out %s: the directory is not empty and holds no run.json; "
            "choose an empty or new directory\n", dir);
    return -1;
  }
  if (!strcmp(status, "COMPLETED")) {
    fprintf(stderr, "lamina: --out %s: it holds a completed run (run.json status COMPLETED); "
            "choose another directory\n", dir);
    return -1;
  }
  char keep[PATH_MAX + 32];
  for (int k = 1;; k++) {
    snprintf(keep, sizeof keep, "%s/attempt-%d", dir, k);
    if (mkdir(keep, 0755) == 0) break;
    if (errno != EEXIST) {
      fprintf(stderr, "lamina: %s: %s\n", keep, strerror(errno));
      return -1;
    }
  }
  d = opendir(dir);
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strncmp(e->d_name, "attempt-", 8))
      continue;
    char from[PATH_MAX + 300], to[PATH_MAX + 300];
    snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
    snprintf(to, sizeof to, "%s/%s", keep, e->d_name);
    if (rename(from, to) != 0) {
      fprintf(stderr, "lamina: keeping the earlier attempt: %s: %s\n", from, strerror(errno));
      closedir(d);
      return -1;
    }
  }
  if (d) closedir(d);
  fprintf(stderr, "lamina: the earlier attempt in %s (status %s) was moved to %s\n", dir, status, keep);
  return 0;
}

/* runs/<script stem>/<UTC time>-<4 hex>, made with mkdir so two runs
 * started in the same second never share a directory. */
static int new_run_dir(const char *script, char *out, size_t n) {
  const char *base = getenv("LAMINA_RUNS");
  if (!base || !*base) base = "runs";
  const char *name = strrchr(script, '/');
  name = name ? name + 1 : script;
  char stem[256];
  snprintf(stem, sizeof stem, "%s", name);
  char *dot = strrchr(stem, '.');
  if (dot && dot != stem) *dot = '\0';
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s/%s", base, stem);
  if (lam__mkdirs(parent) != 0) {
    fprintf(stderr, "lamina: %s: cannot create the directory: %s\n", parent, strerror(errno));
    return -1;
  }
  double t = wall();
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  unsigned tag = ((unsigned)getpid() * 2654435761u) ^ (unsigned)((t - (double)s) * 1e6);
  for (int k = 0; k < 1000; k++) {
    snprintf(out, n, "%s/%s-%04x", parent, stamp, (tag + (unsigned)k * 40503u) & 0xffff);
    if (mkdir(out, 0755) == 0) return 0;
    if (errno != EEXIST) break;
  }
  fprintf(stderr, "lamina: %s: cannot create a run directory: %s\n", parent, strerror(errno));
  return -1;
}

/* Copies the script into the run directory and returns its SHA-256. */
static int copy_script(const char *script, const char *dir, char *hex, size_t hexn) {
  FILE *in = fopen(script, "rb");
  if (!in) {
    fprintf(stderr, "lamina: %s: %s\n", script, strerror(errno));
    return -1;
  }
  const char *name = strrchr(script, '/');
  name = name ? name + 1 : script;
  char dst[PATH_MAX + 300];
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  FILE *out = fopen(dst, "wbx");
  if (!out) {
    fprintf(stderr, "lamina: %s: %s\n", dst, strerror(errno));
    fclose(in);
    return -1;
  }
  struct sha256_ctx c;
  sha256_init(&c);
  char buf[65536];
  size_t k;
  int bad = 0;
  while ((k = fread(buf, 1, sizeof buf, in)) > 0) {
    sha256_update(&c, k, (const uint8_t *)buf);
    bad |= fwrite(buf, 1, k, out) != k;
  }
  bad |= ferror(in);
  fclose(in);
  bad |= fclose(out) != 0;
  uint8_t dig[SHA256_DIGEST_SIZE];
  sha256_digest(&c, sizeof dig, dig);
  for (int i = 0; i < SHA256_DIGEST_SIZE && (size_t)(2 * i + 2) < hexn; i++)
    snprintf(hex + 2 * i, 3, "%02x", dig[i]);
  if (bad) fprintf(stderr, "lamina: copying %s to %s failed\n", script, dst);
  return bad ? -1 : 0;
}

/* ---- the log ----------------------------------------------------- */

static int write_fd(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void *tee_main(void *arg) {
  lam__rundir *r = arg;
  struct pollfd p[2] = {{r->pipe_out, POLLIN, 0}, {r->pipe_err, POLLIN, 0}};
  int dest[2] = {r->tty_out, r->tty_err};
  int open_ends = 2;
  char buf[8192];
  while (open_ends) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t k = read(p[i].fd, buf, sizeof buf);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        p[i].fd = -1;
        open_ends--;
        continue;
      }
      (void)write_fd(dest[i], buf, (size_t)k);
      (void)write_fd(r->log_fd, buf, (size_t)k);
    }
  }
  return NULL;
}

static int tee_start(lam__rundir *r) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/log", r->dir);
  r->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int po[2], pe[2];
  if (r->log_fd < 0 || pipe(po) != 0) return -1;
  if (pipe(pe) != 0) {
    close(po[0]);
    close(po[1]);
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  r->tty_out = dup(1);
  r->tty_err = dup(2);
  fcntl(r->tty_out, F_SETFD, FD_CLOEXEC);
  fcntl(r->tty_err, F_SETFD, FD_CLOEXEC);
  fcntl(po[0], F_SETFD, FD_CLOEXEC);
  fcntl(pe[0], F_SETFD, FD_CLOEXEC);
  r->pipe_out = po[0];
  r->pipe_err = pe[0];
  dup2(po[1], 1);
  dup2(pe[1], 2);
  close(po[1]);
  close(pe[1]);
  /* stdout is now a pipe; keep it line-buffered so the log interleaves
   * stdout and stderr lines as the terminal shows them. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  lam_set_progress_fd(r->tty_err);
  if (pthread_create(&r->tee, NULL, tee_main, r) != 0) {
    dup2(r->tty_out, 1);
    dup2(r->tty_err, 2);
    return -1;
  }
  r->tee_on = 1;
  return 0;
}

static void tee_stop(lam__rundir *r) {
  if (!r->tee_on) return;
  fflush(stdout);
  fflush(stderr);
  /* Putting the terminal back closes the pipes' last write ends, so the
   * thread drains what is left and sees end of file. */
  dup2(r->tty_out, 1);
  dup2(r->tty_err, 2);
  pthread_join(r->tee, NULL);
  lam_set_progress_fd(2);
  close(r->tty_out);
  close(r->tty_err);
  close(r->pipe_out);
  close(r->pipe_err);
  r->tee_on = 0;
}

/* ---- begin and end ----------------------------------------------- */

static void add_host(cJSON *run) {
  cJSON *h = cJSON_AddObjectToObject(run, "host");
  char name[256] = "";
  gethostname(name, sizeof name - 1);
  cJSON_AddStringToObject(h, "hostname", name);
  struct utsname u;
  if (uname(&u) == 0) {
    char os[600];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    cJSON_AddStringToObject(h, "os", os);
  }
  cJSON_AddNumberToObject(h, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
  const char *user = getenv("USER");
  if (user) cJSON_AddStringToObject(h, "user", user);
  cJSON_AddNumberToObject(h, "pid", (double)getpid());
}

lam__rundir *lam__rundir_begin(const lam__run_opts *o) {
  lam__rundir *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->log_fd = -1;
  r->t0 = wall();
  if (o->out ? prepare_out(o->out) : new_run_dir(o->script, r->dir, sizeof r->dir)) goto fail;
  if (o->out) snprintf(r->dir, sizeof r->dir, "%s", o->out);
  char hex[2 * SHA256_DIGEST_SIZE + 1] = "";
  if (copy_script(o->script, r->dir, hex, sizeof hex)) goto fail;

  cJSON *run = r->run = cJSON_CreateObject();
  cJSON_AddStringToObject(run, "status", "RUNNING");
  cJSON *lam = cJSON_AddObjectToObject(run, "lamina");
  cJSON_AddStringToObject(lam, "version", lam_version());
  cJSON_AddStringToObject(lam, "build", lam_build_info());
  cJSON *cmd = cJSON_AddArrayToObject(run, "command");
  for (int i = 0; i < o->argc; i++) cJSON_AddItemToArray(cmd, cJSON_CreateString(o->argv[i]));
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd)) cJSON_AddStringToObject(run, "cwd", cwd);
  cJSON *sc = cJSON_AddObjectToObject(run, "script");
  cJSON_AddStringToObject(sc, "path", o->script);
  cJSON_AddStringToObject(sc, "sha256", hex);
  const char *base = strrchr(o->script, '/');
  cJSON_AddStringToObject(sc, "copy", base ? base + 1 : o->script);
  cJSON *kv = cJSON_AddObjectToObject(run, "command_line_params");
  for (int i = 0; i < o->nkv; i++) {
    const char *eq = strchr(o->kv[i], '=');
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - o->kv[i]), o->kv[i]);
    cJSON_AddStringToObject(kv, key, eq + 1);
  }
  /* Seeds are 64-bit: as a string too, since JSON readers keep doubles. */
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
  cJSON_AddNumberToObject(run, "seed", (double)o->seed);
  cJSON_AddStringToObject(run, "seed_exact", seed);
  cJSON_AddBoolToObject(run, "seed_given", o->seed_given);
  add_host(run);
  char when[48];
  iso_time(r->t0, when, sizeof when);
  cJSON_AddStringToObject(run, "start", when);
  if (save_json(r, "run.json", r->run)) goto fail;
  if (tee_start(r)) {
    fprintf(stderr, "lamina: %s/log: cannot capture the output: %s\n", r->dir, strerror(errno));
    goto fail;
  }
  return r;
fail:
  if (r->log_fd >= 0) close(r->log_fd);
  cJSON_Delete(r->run);
  free(r);
  return NULL;
}

const char *lam__rundir_path(const lam__rundir *r) { return r->dir; }

int lam__rundir_end(lam__rundir *r, cJSON *info, cJSON *result, const char *error) {
  tee_stop(r);
  int rc = 0;
  if (result) {
    if (save_json(r, "result.json", result)) {
      if (!error) error = "result.json could not be written";
      rc = -1;
    }
    cJSON_Delete(result);
  }
  /* The Lua side's findings (sims, recordings, params, plugins) join the
   * document the command started. */
  if (info) {
    cJSON *item = info->child;
    while (item) {
      cJSON *next = item->next;
      cJSON *taken = cJSON_DetachItemViaPointer(info, item);
      cJSON_DeleteItemFromObjectCaseSensitive(r->run, taken->string);
      cJSON_AddItemToObject(r->run, taken->string, taken);
      item = next;
    }
    cJSON_Delete(info);
  }
  double t1 = wall();
  char when[48];
  iso_time(t1, when, sizeof when);
  cJSON_AddStringToObject(r->run, "end", when);
  cJSON_AddNumberToObject(r->run, "elapsed_s", t1 - r->t0);
  cJSON_ReplaceItemInObjectCaseSensitive(r->run, "status",
                                         cJSON_CreateString(error ? "FAILED" : "COMPLETED"));
  if (error) cJSON_AddStringToObject(r->run, "error", error);
  if (save_json(r, "run.json", r->run)) rc = -1;
  if (r->log_fd >= 0) close(r->log_fd);
  cJSON_Delete(r->run);
  free(r);
  return rc;
}
