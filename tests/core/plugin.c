/*
 * plugin.c - tests of the plugin loader (core/plugin.c): the ABI handshake
 * against the real test plugins in tests/plugins/abi/ (built into
 * $LAMINA_TEST_BUILD/tests/abi/), refusal reasons, the registry listing
 * with SHA-256 digests, discovery order and the schema helpers.
 *
 * Needs LAMINA_TEST_BUILD (set by `make test` to the absolute build
 * directory); skips otherwise.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lamina.h"
#include "tap.h"

static char abi_dir[PATH_MAX];

/* Path of a test plugin: <build>/tests/abi/<name>.so. */
static const char *so(const char *name) {
  static char buf[8][PATH_MAX];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, PATH_MAX, "%s/%s.so", abi_dir, name);
  return p;
}

/* realpath() into a rotating static buffer, for comparing with the
 * registry's canonical paths. */
static const char *real(const char *path) {
  static char buf[4][PATH_MAX];
  static int k;
  char *p = buf[k++ % 4];
  if (!realpath(path, p)) snprintf(p, PATH_MAX, "%s", path);
  return p;
}

/* The digest `sha256sum` computes, independently of nettle. */
static const char *sha256sum(const char *path) {
  static char out[4][80];
  static int k;
  char *o = out[k++ % 4];
  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
  o[0] = '\0';
  FILE *f = popen(cmd, "r");
  if (!f) return o;
  if (!fgets(o, 80, f)) o[0] = '\0';
  pclose(f);
  if (strlen(o) >= 64) o[64] = '\0';
  return o;
}

static int is_hex64(const char *s) {
  if (!s || strlen(s) != 64) return 0;
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s)) return 0;
  return 1;
}

/* The registry entry for a path (canonicalised), or NULL. */
static const lam_plugin_info *entry_for(lam_registry *r, const char *path) {
  const char *want = real(path);
  for (int32_t i = 0; i < lam_registry_count(r); i++) {
    const lam_plugin_info *in = lam_registry_info(r, i);
    if (in && !strcmp(in->path, want)) return in;
  }
  return NULL;
}

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  int rc = a && b ? 0 : -1;
  char buf[65536];
  size_t n;
  while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
    if (fwrite(buf, 1, n, b) != n) rc = -1;
  if (a) fclose(a);
  if (b && fclose(b)) rc = -1;
  return rc;
}

static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  return fclose(f);
}

/* Position of `needle` in `hay`, or -1. */
static long find(const char *hay, const char *needle) {
  const char *p = strstr(hay, needle);
  return p ? (long)(p - hay) : -1;
}

/* One refusal: load status, last error and the listed entry. */
static void refused(lam_registry *r, const char *name, const char *why1,
                    const char *why2) {
  const char *path = so(name);
  int rc = lam_registry_load(r, path);
  char err[1024];
  snprintf(err, sizeof err, "%s", lam_last_error());
  is_int(rc, LAM_EABI, "%s: refused with LAM_EABI", name);
  like(err, why1, "%s: error says '%s'", name, why1);
  if (why2) like(err, why2, "%s: error says '%s'", name, why2);
  like(err, real(path), "%s: error names the file", name);
  const lam_plugin_info *in = entry_for(r, path);
  ok(in && in->status == LAM_PLUGIN_REJECTED && in->desc == NULL,
     "%s: listed as rejected, without a descriptor", name);
  like(in ? in->reason : NULL, why1, "%s: the listed reason says '%s'", name, why1);
  ok(in && !strcmp(in->origin, "explicit"), "%s: origin is 'explicit'", name);
}

int main(void) {
  const char *build = getenv("LAMINA_TEST_BUILD");
  if (!build || !*build) {
    printf("TAP version 13\n1..0 # SKIP LAMINA_TEST_BUILD is not set (make test "
           "sets it to the build directory holding tests/abi/*.so)\n");
    return 0;
  }
  snprintf(abi_dir, sizeof abi_dir, "%s/tests/abi", build);
  struct stat st;
  if (stat(so("good"), &st) != 0) {
    printf("TAP version 13\n1..0 # SKIP %s not built (make %s/tests/abi/good.so)\n",
           so("good"), build);
    return 0;
  }
  /* Discovery below must not see the caller's plugin path. */
  unsetenv("LAMINA_PLUGIN_PATH");
  tap_plan(175);

  /* ---- explicit loads: the good plugin ------------------------------ */
  lam_registry *r = lam_registry_new();
  ok(r != NULL, "registry created");
  is_int(lam_registry_count(r), 0, "a new registry lists nothing");
  is_int(lam_registry_load(r, "/nonexistent/dir/missing.so"), LAM_ENOTFOUND,
         "a missing file: LAM_ENOTFOUND");
  like(lam_last_error(), "/nonexistent/dir/missing.so", "... the error names the path");
  is_int(lam_registry_count(r), 0, "... and nothing is listed");
  is_int(lam_registry_load(NULL, so("good")), LAM_EINVAL, "NULL registry: LAM_EINVAL");
  is_int(lam_registry_load(r, NULL), LAM_EINVAL, "NULL path: LAM_EINVAL");

  is_int(lam_registry_load(r, so("good")), LAM_OK, "good.so loads");
  is_int(lam_registry_count(r), 1, "one entry listed");
  const lam_plugin_info *gi = lam_registry_info(r, 0);
  ok(gi != NULL, "info(0) exists");
  ok(lam_registry_info(r, 1) == NULL && lam_registry_info(r, -1) == NULL,
     "info out of range is NULL");
  is_int(gi->status, LAM_PLUGIN_LOADED, "good: status loaded");
  is_str(gi->reason, "", "good: empty reason");
  is_str(gi->origin, "explicit", "good: origin 'explicit'");
  is_str(gi->path, real(so("good")), "good: canonical path");
  ok(is_hex64(gi->sha256), "good: sha256 is 64 lowercase hex digits (%s)", gi->sha256);
  is_str(gi->sha256, sha256sum(so("good")), "good: sha256 equals sha256sum's");
  ok(gi->desc != NULL, "good: descriptor available");
  is_str(gi->desc->name, "good", "good: name");
  is_str(gi->desc->version, "1.2.3", "good: version");
  is_str(gi->desc->licence, "MIT", "good: licence");
  is_str(gi->desc->citation, "doi:10.0000/lamina.test", "good: citation");
  is_int(gi->desc->abi_major, LAM_ABI_MAJOR, "good: abi_major");
  is_int((long long)gi->desc->struct_size, (long long)sizeof(lam_plugin_desc),
         "good: host copy has the host's struct size");
  ok(gi->desc->build && strlen(gi->desc->build) > 0, "good: build info present (%s)", gi->desc->build);
  ok(gi->desc->models && gi->desc->models[0].name &&
         !strcmp(gi->desc->models[0].name, "good.counter") &&
         !strcmp(gi->desc->models[1].name, "good.plain") &&
         !strcmp(gi->desc->models[2].name, "good.spiker") && !gi->desc->models[3].name,
     "good: models good.counter, good.plain, good.spiker, then the terminator");
  is_int(lam_registry_load(r, so("good")), LAM_OK, "loading the same file again is a no-op");
  is_int(lam_registry_count(r), 1, "... still one entry");

  /* ---- refusals ------------------------------------------------------ */
  char need[64];
  snprintf(need, sizeof need, "needs ABI %d.%d", LAM_ABI_MAJOR, LAM_ABI_MINOR + 1);
  refused(r, "newer_minor", need, "upgrade lamina");
  refused(r, "other_major", "ABI major 2", NULL);
  refused(r, "big_tail_nonzero", "needs a newer host", NULL);
  refused(r, "big_model_nonzero", "needs a newer host", "model #1");
  refused(r, "dup_model", "duplicate model name 'dup_model.tiny'", NULL);
  refused(r, "good2", "a plugin named 'good' is already loaded", real(so("good")));
  refused(r, "bad_default", "parameter 'gain'", "default 25 outside its own range [-10, 10]");
  refused(r, "no_init", "lamina_plugin_init", "does not export");
  refused(r, "init_refuses", "init_refuses: wants a host with ABI minor 99", NULL);

  const lam_plugin_info *ri = entry_for(r, so("newer_minor"));
  ok(ri && is_hex64(ri->sha256), "a rejected file is still hashed");
  is_str(ri ? ri->sha256 : NULL, sha256sum(so("newer_minor")),
         "... and its sha256 equals sha256sum's");
  is_int(lam_registry_load(r, so("newer_minor")), LAM_EABI,
         "loading a rejected file again: still refused");
  like(lam_last_error(), need, "... with the same reason");

  /* Files that are not plugins at all. */
  char tmp[] = "/tmp/lamina-plugin-test-XXXXXX";
  ok(mkdtemp(tmp) != NULL, "temporary directory %s", tmp);
  char text[PATH_MAX];
  snprintf(text, sizeof text, "%s/notelf.so", tmp);
  ok(write_text(text, "this is not a shared library\n") == 0, "wrote a text file named .so");
  is_int(lam_registry_load(r, text), LAM_EABI, "a text file: refused");
  like(lam_last_error(), "dlopen failed", "... dlopen's failure is reported");
  like(lam_last_error(), "notelf.so", "... naming the file");

  /* Accepted: appended fields that are zero. */
  is_int(lam_registry_load(r, so("big_tail_zero")), LAM_OK,
         "big_tail_zero: a larger descriptor with a zero tail is accepted");
  const lam_plugin_info *bz = entry_for(r, so("big_tail_zero"));
  ok(bz && bz->desc && bz->desc->struct_size == sizeof(lam_plugin_desc),
     "big_tail_zero: the host's copy has the host's size");
  ok(lam_registry_model(r, "big_tail_zero.tiny") != NULL, "big_tail_zero.tiny is available");
  is_int(lam_registry_load(r, so("big_model_zero")), LAM_OK,
         "big_model_zero: larger model structs with zero tails are accepted");
  const lam_model_def *m1 = lam_registry_model(r, "big_model_zero.first");
  const lam_model_def *m2 = lam_registry_model(r, "big_model_zero.second");
  ok(m1 && m2, "big_model_zero: both models found (the plugin's stride is honoured)");
  ok(m1 && m2 && lam_model_nparams(m2) == 2 && lam_model_nports(m2) == 1 &&
         m2->step != NULL && !strcmp(m2->params[0].name, "gain"),
     "big_model_zero.second: schema read correctly");

  /* The registry after all those failures. */
  const lam_model_def *gc = lam_registry_model(r, "good.counter");
  ok(gc != NULL, "after refusals the registry still finds good.counter");
  const lam_plugin_info *own = lam_registry_owner(r, "good.counter");
  ok(own && own == gi, "lam_registry_owner gives good.so's entry");
  ok(lam_registry_owner(r, "nosuch.model") == NULL, "owner of an unknown model is NULL");
  is_int(lam_registry_count(r), 13, "13 files listed (3 loaded, 10 rejected)");
  int nloaded = 0;
  for (int32_t i = 0; i < lam_registry_count(r); i++)
    nloaded += lam_registry_info(r, i)->status == LAM_PLUGIN_LOADED;
  is_int(nloaded, 3, "... of which 3 loaded");

  /* ---- schema helpers ------------------------------------------------ */
  is_int(lam_model_nparams(gc), 8, "good.counter: 8 parameters");
  is_int(lam_model_nports(gc), 5, "good.counter: 5 ports");
  is_int(lam_model_nmethods(gc), 3, "good.counter: 3 methods");
  is_str(lam_model_param(gc, 0)->name, "gain", "param 0 is gain");
  is_int(lam_model_param(gc, 0)->type, LAM_PARAM_F64, "gain is f64");
  is_double(lam_model_param(gc, 0)->max, 1000, 0, "gain max 1000");
  is_str(lam_model_param(gc, 7)->choices, "echo|sum", "param 7 (mode) choices");
  ok(lam_model_param(gc, 8) == NULL && lam_model_param(gc, -1) == NULL,
     "param out of range is NULL");
  is_str(lam_model_port(gc, 1)->name, "x", "port 1 is x");
  ok(lam_model_port(gc, 1)->dir == LAM_PORT_OUT && lam_model_port(gc, 1)->dtype == LAM_F64 &&
         !strcmp(lam_model_port(gc, 1)->shape, "n"),
     "x: out, f64, shape 'n'");
  ok(lam_model_port(gc, 5) == NULL, "port out of range is NULL");
  is_str(lam_model_method(gc, 1)->name, "fail", "method 1 is fail");
  ok(lam_model_method(gc, 3) == NULL, "method out of range is NULL");
  const lam_model_def *gp = lam_registry_model(r, "good.plain");
  ok(gp != NULL, "good.plain found");
  is_int(lam_model_nmethods(gp), 0, "good.plain: no methods");
  ok(lam_model_method(gp, 0) == NULL, "good.plain: method(0) is NULL");
  ok(lam_model_nparams(NULL) == 0 && lam_model_nports(NULL) == 0 &&
         lam_model_nmethods(NULL) == 0 && lam_model_param(NULL, 0) == NULL,
     "helpers on NULL give 0 / NULL");
  ok(lam_registry_model(r, "good.nosuch") == NULL, "an unknown model of a loaded plugin: NULL");
  like(lam_last_error(), "no model 'good.nosuch'", "... the error names it");
  like(lam_last_error(), "good.counter, good.plain", "... and lists the plugin's models");
  ok(lam_registry_model(r, "nodot") == NULL, "a name without a family: NULL");
  like(lam_last_error(), "family.model", "... the error explains the form");

  const lam_host_api *api = lam_host_api_get();
  ok(api && api->struct_size == sizeof(lam_host_api), "host api: struct_size");
  ok(api && api->alloc && api->free && api->set_error && api->log && api->rng_init &&
         api->rng_u32 && api->rng_uniform && api->rng_normal && api->rng_exponential &&
         api->rng_poisson && api->rng_binomial && api->buf_new && api->buf_free &&
         api->dgemm && api->sgemm && api->dgemv && api->sgemv && api->param_index &&
         api->port_index,
     "host api: every entry is filled");
  ok(LAM_API_HAS(api, port_index), "LAM_API_HAS sees the last field");
  lam_registry_free(r);
  lam_registry_free(NULL);
  ok(1, "lam_registry_free(NULL) is a no-op");

  /* ---- discovery ----------------------------------------------------- */
  char alt[PATH_MAX], alt2[PATH_MAX], alt_good[PATH_MAX];
  snprintf(alt, sizeof alt, "%s/first", tmp);
  snprintf(alt2, sizeof alt2, "%s/second", tmp);
  snprintf(alt_good, sizeof alt_good, "%s/good.so", alt);
  ok(mkdir(alt, 0700) == 0 && mkdir(alt2, 0700) == 0, "two search directories");
  ok(copy_file(so("good"), alt_good) == 0, "a copy of good.so in the first");

  setenv("LAMINA_PLUGIN_PATH", abi_dir, 1);
  lam_registry *e = lam_registry_new();
  const char *paths = lam_registry_paths(e);
  char line[PATH_MAX + 64];
  snprintf(line, sizeof line, "LAMINA_PLUGIN_PATH\t%s\n", abi_dir);
  is_int(find(paths, line), 0, "paths: LAMINA_PLUGIN_PATH comes first without --plugin-path");
  const lam_model_def *em = lam_registry_model(e, "good.counter");
  ok(em != NULL, "good.counter found through LAMINA_PLUGIN_PATH");
  const lam_plugin_info *eo = lam_registry_owner(e, "good.counter");
  is_str(eo ? eo->origin : NULL, "LAMINA_PLUGIN_PATH", "... origin LAMINA_PLUGIN_PATH");
  is_str(eo ? eo->path : NULL, real(so("good")), "... from the abi directory");
  is_str(eo ? eo->sha256 : NULL, sha256sum(so("good")), "... with its sha256");
  is_int(lam_registry_count(e), 1, "... by opening <family>.so only");
  lam_registry_free(e);

  /* --plugin-path (lam_registry_add_path) wins over the environment. */
  lam_registry *a = lam_registry_new();
  is_int(lam_registry_add_path(a, alt), LAM_OK, "add_path(first)");
  is_int(lam_registry_add_path(a, alt2), LAM_OK, "add_path(second)");
  is_int(lam_registry_add_path(a, ""), LAM_EINVAL, "add_path(\"\"): LAM_EINVAL");
  is_int(lam_registry_add_path(a, NULL), LAM_EINVAL, "add_path(NULL): LAM_EINVAL");
  paths = lam_registry_paths(a);
  diag("search path:");
  for (const char *c = paths; *c;) {
    size_t k = strcspn(c, "\n");
    diag("  %.*s", (int)k, c);
    c += k + (c[k] == '\n');
  }
  char l1[PATH_MAX + 64], l2[PATH_MAX + 64];
  snprintf(l1, sizeof l1, "--plugin-path\t%s\n", alt);
  snprintf(l2, sizeof l2, "--plugin-path\t%s\n", alt2);
  /* The last line: the plugin directory beside liblamina (build tree or
   * install libdir, whatever its label). */
  long plen = (long)strlen(paths), p4 = plen - 1;
  while (p4 > 0 && paths[p4 - 1] != '\n') p4--;
  const char *suffix = "/lamina/plugins\n";
  int own_last = plen >= (long)strlen(suffix) &&
                 !strcmp(paths + plen - (long)strlen(suffix), suffix);
  long p1 = find(paths, l1), p2 = find(paths, l2), p3 = find(paths, line);
  is_int(p1, 0, "paths: the first --plugin-path is first");
  ok(p2 > p1, "paths: the second --plugin-path after the first");
  ok(p3 > p2, "paths: LAMINA_PLUGIN_PATH after --plugin-path");
  ok(p4 > p3 && own_last, "paths: the plugin directory beside liblamina last");
  int nlines = 0;
  for (const char *c = paths; *c; c++) nlines += *c == '\n';
  is_int(nlines, 4, "paths: four directories, one per line");
  ok(lam_registry_model(a, "good.counter") != NULL, "good.counter found");
  const lam_plugin_info *ao = lam_registry_owner(a, "good.counter");
  is_str(ao ? ao->origin : NULL, "--plugin-path", "... origin --plugin-path");
  is_str(ao ? ao->path : NULL, real(alt_good), "... the copy in the first directory wins");
  lam_registry_free(a);

  /* Several LAMINA_PLUGIN_PATH entries, empty ones skipped, in order. */
  char multi[3 * PATH_MAX];
  snprintf(multi, sizeof multi, "%s::%s:", alt2, abi_dir);
  setenv("LAMINA_PLUGIN_PATH", multi, 1);
  lam_registry *mm = lam_registry_new();
  paths = lam_registry_paths(mm);
  snprintf(l2, sizeof l2, "LAMINA_PLUGIN_PATH\t%s\n", alt2);
  is_int(find(paths, l2), 0, "LAMINA_PLUGIN_PATH a::b: a first");
  ok(find(paths, line) > 0, "... then b");
  ok(find(paths, "LAMINA_PLUGIN_PATH\t\n") < 0, "... empty entries skipped");
  lam_registry_free(mm);

  /* Not found: every path tried, each with its reason. */
  setenv("LAMINA_PLUGIN_PATH", abi_dir, 1);
  lam_registry *nf = lam_registry_new();
  lam_registry_add_path(nf, alt);
  ok(lam_registry_model(nf, "nosuch.model") == NULL, "an unknown family: NULL");
  char err[4096];
  snprintf(err, sizeof err, "%s", lam_last_error());
  like(err, "model 'nosuch.model' not found", "... the error names the model");
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want, "%s/nosuch.so (no such file)", alt);
  like(err, want, "... lists the --plugin-path candidate and why");
  snprintf(want, sizeof want, "%s/nosuch.so (no such file)", abi_dir);
  like(err, want, "... lists the LAMINA_PLUGIN_PATH candidate and why");
  ok(lam_registry_model(nf, "other_major.tiny") == NULL, "a family whose file is refused: NULL");
  snprintf(err, sizeof err, "%s", lam_last_error());
  snprintf(want, sizeof want, "%s/other_major.so (built for ABI major 2", abi_dir);
  like(err, want, "... the error gives the file and its refusal");
  snprintf(want, sizeof want, "%s/other_major.so (no such file)", alt);
  like(err, want, "... and the directories without it");
  const lam_plugin_info *om = entry_for(nf, so("other_major"));
  ok(om && om->status == LAM_PLUGIN_REJECTED, "the refused file is listed as rejected");
  is_str(om ? om->origin : NULL, "LAMINA_PLUGIN_PATH", "... with the origin of its directory");
  lam_registry_free(nf);

  /* Scanning: every *.so in the search path; the first "good" wins. */
  lam_registry *sc = lam_registry_new();
  int32_t nsc = lam_registry_scan(sc);
  int abi_loaded = 0, abi_seen = 0;
  for (int32_t i = 0; i < lam_registry_count(sc); i++) {
    const lam_plugin_info *in = lam_registry_info(sc, i);
    if (strncmp(in->path, real(abi_dir), strlen(real(abi_dir)))) continue;
    abi_seen++;
    abi_loaded += in->status == LAM_PLUGIN_LOADED;
  }
  int nfiles = 0;
  DIR *dd = opendir(abi_dir);
  for (struct dirent *de; dd && (de = readdir(dd));) {
    size_t k = strlen(de->d_name);
    nfiles += k > 3 && !strcmp(de->d_name + k - 3, ".so");
  }
  if (dd) closedir(dd);
  ok(nsc >= 3, "scan: returns the number loaded (%d)", (int)nsc);
  is_int(abi_seen, nfiles, "scan: every .so of the abi directory seen (%d)", nfiles);
  ok(abi_loaded >= 3, "scan: at least good, big_tail_zero and big_model_zero loaded (%d)",
     abi_loaded);
  int want_state = 1;
  static const char *const good_ones[] = {"good", "big_tail_zero", "big_model_zero"};
  static const char *const bad_ones[] = {"newer_minor", "other_major", "big_tail_nonzero",
                                         "big_model_nonzero", "dup_model", "good2",
                                         "bad_default", "no_init", "init_refuses"};
  for (size_t i = 0; i < sizeof good_ones / sizeof *good_ones; i++) {
    const lam_plugin_info *in = entry_for(sc, so(good_ones[i]));
    if (!in || in->status != LAM_PLUGIN_LOADED) want_state = 0, diag("%s not loaded", good_ones[i]);
  }
  for (size_t i = 0; i < sizeof bad_ones / sizeof *bad_ones; i++) {
    const lam_plugin_info *in = entry_for(sc, so(bad_ones[i]));
    if (!in || in->status != LAM_PLUGIN_REJECTED || !*in->reason)
      want_state = 0, diag("%s not rejected with a reason", bad_ones[i]);
  }
  ok(want_state, "scan: the good plugins loaded, every bad one rejected with a reason");
  const lam_plugin_info *g2 = entry_for(sc, so("good2"));
  like(g2 ? g2->reason : NULL, "already loaded", "scan: good2.so (sorted after good.so) rejected");
  lam_registry_free(sc);

  /* The environment is read when the registry is created. */
  unsetenv("LAMINA_PLUGIN_PATH");
  lam_registry *late = lam_registry_new();
  setenv("LAMINA_PLUGIN_PATH", abi_dir, 1);
  paths = lam_registry_paths(late);
  ok(find(paths, "LAMINA_PLUGIN_PATH") < 0,
     "LAMINA_PLUGIN_PATH set after lam_registry_new is not used (read at creation)");
  lam_registry_free(late);
  unsetenv("LAMINA_PLUGIN_PATH");

  /* A plugin copy loaded explicitly under another name is the same plugin. */
  lam_registry *two = lam_registry_new();
  is_int(lam_registry_load(two, alt_good), LAM_OK, "a copy of good.so loads");
  is_int(lam_registry_load(two, so("good")), LAM_EABI, "the original then: refused");
  like(lam_last_error(), real(alt_good), "... naming the copy already loaded");
  lam_registry_free(two);

  unlink(alt_good);
  unlink(text);
  rmdir(alt);
  rmdir(alt2);
  ok(rmdir(tmp) == 0, "temporary directory removed");
  return tap_done();
}
