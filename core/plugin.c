/*
 * plugin.c - the plugin loader: discovery, the ABI handshake, descriptor
 * validation and the registry of loaded models.
 *
 * Every plugin's descriptor is copied into host-owned structs of the host's
 * own layout when it is loaded.  That is what makes the struct-size rule
 * work for arrays: a plugin built against a newer header walks its model,
 * parameter and port arrays with a larger stride, and the host reads each
 * element with the plugin's stride (checking that the unknown tail is zero)
 * and from then on only sees its own layout.
 */
#include "lamina.h"
#include "lam_int.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

typedef struct entry {
  lam_plugin_info info;        /* handed out; points into the fields below */
  void *dl;
  char *path, *sha, *reason;
  char *declared;              /* the name its descriptor gave, even if refused */
  int32_t pin_gen;             /* refused by the pins of this generation, or 0 */
  lam_plugin_desc desc;        /* host-layout copy of the descriptor */
  lam_model_def *models;       /* host-layout copies, NULL-name terminated */
  void **owned;                /* every array allocated for the copies */
  int32_t nowned;
} entry;

typedef struct dir {
  char *path;
  const char *origin;
} dir;

/* A pin: plugin `name` must have this SHA-256 and/or at least this version. */
typedef struct pin {
  char *name;
  char *minv;                  /* NULL: any version */
  char sha[65];                /* "" : any file */
} pin;

struct lam_registry {
  dir *dirs;                   /* discovery order, filled lazily */
  int32_t ndirs;
  char **user;                 /* --plugin-path directories */
  int32_t nuser;
  entry **e;
  int32_t n, cap;
  char *listing;               /* lam_registry_paths result */
  char *env;                   /* LAMINA_PLUGIN_PATH at creation, or NULL */
  pin *pins;
  int32_t npins;
  int32_t pin_gen;             /* bumped by every lam_registry_pin */
  char *whytext;               /* lam_registry_why result */
  int32_t orphaned;            /* lam_registry_free came while sims lived */
  int32_t sims;                /* live simulations using this registry */
};

char *lam__strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---------------------------------------------------------------- */
/* The host API table                                                 */
/* ---------------------------------------------------------------- */

static void *api_alloc(size_t n) { return calloc(1, n ? n : 1); }
static void api_free(void *p) { free(p); }

static void api_set_error(void *host, const char *fmt, ...) {
  lam__host_handle *h = host;
  va_list ap;
  va_start(ap, fmt);
  if (h) {
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    char *nl = strchr(h->err, '\n');
    if (nl) *nl = '\0';
  }
  va_end(ap);
}

static void api_log(void *host, int32_t level, const char *fmt, ...) {
  lam__host_handle *h = host;
  static const char *names[] = {"debug", "info", "warning"};
  if (level < LAM_LOG_INFO && !getenv("LAMINA_DEBUG")) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lamina: %s: %s: ", h && h->name ? h->name : "plugin",
          names[level < 0 ? 0 : level > 2 ? 2 : level]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int32_t api_param_index(void *host, const char *name) {
  lam__host_handle *h = host;
  for (int32_t i = 0; h && name && i < h->nparams; i++)
    if (!strcmp(h->def->params[i].name, name)) return i;
  return -1;
}

static int32_t api_port_index(void *host, const char *name) {
  lam__host_handle *h = host;
  for (int32_t i = 0; h && name && i < h->nports; i++)
    if (!strcmp(h->def->ports[i].name, name)) return i;
  return -1;
}

/* BLAS through OpenBLAS's CBLAS interface, row-major. */
#include <cblas.h>
static void api_dgemm(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k,
                      double alpha, const double *a, int64_t lda,
                      const double *b, int64_t ldb, double beta, double *c,
                      int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
              (int)lda, b, (int)ldb, beta, c, (int)ldc);
}
static void api_sgemm(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k,
                      float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
              (int)lda, b, (int)ldb, beta, c, (int)ldc);
}
static void api_dgemv(int32_t ta, int64_t m, int64_t n, double alpha,
                      const double *a, int64_t lda, const double *x,
                      double beta, double *y) {
  cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              alpha, a, (int)lda, x, 1, beta, y, 1);
}
static void api_sgemv(int32_t ta, int64_t m, int64_t n, float alpha,
                      const float *a, int64_t lda, const float *x, float beta,
                      float *y) {
  cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              alpha, a, (int)lda, x, 1, beta, y, 1);
}

static const lam_host_api host_api = {
    .struct_size = sizeof(lam_host_api),
    .alloc = api_alloc,
    .free = api_free,
    .set_error = api_set_error,
    .log = api_log,
    .rng_init = lam_rng_init,
    .rng_u32 = lam_rng_u32,
    .rng_uniform = lam_rng_uniform,
    .rng_normal = lam_rng_normal,
    .rng_exponential = lam_rng_exponential,
    .rng_poisson = lam_rng_poisson,
    .rng_binomial = lam_rng_binomial,
    .buf_new = lam_buf_new,
    .buf_free = lam_buf_free,
    .dgemm = api_dgemm,
    .sgemm = api_sgemm,
    .dgemv = api_dgemv,
    .sgemv = api_sgemv,
    .param_index = api_param_index,
    .port_index = api_port_index,
    .rng_normal_each = lam_rng_normal_each,
};

const lam_host_api *lam_host_api_get(void) { return &host_api; }

/* ---------------------------------------------------------------- */
/* Registry and discovery                                             */
/* ---------------------------------------------------------------- */

lam_registry *lam_registry_new(void) {
  lam_registry *r = calloc(1, sizeof *r);
  if (!r) {
    lam_set_error(LAM_ENOMEM, "registry: out of memory");
    return NULL;
  }
  const char *env = getenv("LAMINA_PLUGIN_PATH");
  if (env && !(r->env = lam__strdup(env))) {
    free(r);
    lam_set_error(LAM_ENOMEM, "registry: out of memory");
    return NULL;
  }
  return r;
}

static void free_dirs(lam_registry *r) {
  for (int32_t i = 0; i < r->ndirs; i++) free(r->dirs[i].path);
  free(r->dirs);
  r->dirs = NULL;
  r->ndirs = 0;
}

static void free_entry(entry *e, int unload) {
  if (!e) return;
  for (int32_t i = 0; i < e->nowned; i++) free(e->owned[i]);
  free(e->owned);
  free(e->path);
  free(e->sha);
  free(e->reason);
  free(e->declared);
  if (unload && e->dl) dlclose(e->dl);
  free(e);
}

void lam_registry_free(lam_registry *r) {
  if (!r) return;
  /* Unloading while an instance lives would leave code pointers dangling
   * (the NEST and NEURON experience), and the instances still read the
   * descriptors the registry holds, so a registry still in use is only
   * marked here: the last simulation's lam_sim_free frees it.  (A garbage
   * collector, such as Lua's at exit, may finalize the registry before
   * the simulations made from it.) */
  if (r->sims > 0) {
    r->orphaned = 1;
    return;
  }
  for (int32_t i = 0; i < r->n; i++) free_entry(r->e[i], 1);
  free(r->e);
  for (int32_t i = 0; i < r->nuser; i++) free(r->user[i]);
  free(r->user);
  free_dirs(r);
  free(r->listing);
  free(r->env);
  for (int32_t i = 0; i < r->npins; i++) free(r->pins[i].name), free(r->pins[i].minv);
  free(r->pins);
  free(r->whytext);
  free(r);
}

void lam__registry_ref(lam_registry *r, int delta) {
  r->sims += delta;
  if (r->sims == 0 && r->orphaned) lam_registry_free(r);
}

int lam_registry_add_path(lam_registry *r, const char *d) {
  if (!r || !d || !*d) return lam_set_error(LAM_EINVAL, "plugin path is empty");
  char **u = realloc(r->user, (size_t)(r->nuser + 1) * sizeof *u);
  if (!u) return lam_set_error(LAM_ENOMEM, "registry: out of memory");
  r->user = u;
  if (!(u[r->nuser] = lam__strdup(d)))
    return lam_set_error(LAM_ENOMEM, "registry: out of memory");
  r->nuser++;
  free_dirs(r);
  return LAM_OK;
}

static int push_dir(lam_registry *r, const char *path, const char *origin) {
  if (!*path) return 0;
  for (int32_t i = 0; i < r->ndirs; i++)
    if (!strcmp(r->dirs[i].path, path)) return 0;
  dir *d = realloc(r->dirs, (size_t)(r->ndirs + 1) * sizeof *d);
  if (!d) return -1;
  r->dirs = d;
  if (!(d[r->ndirs].path = lam__strdup(path))) return -1;
  d[r->ndirs].origin = origin;
  r->ndirs++;
  return 0;
}

/* The plugin directory beside this very library: lib/lamina/plugins both
 * in the build tree and in an install tree, since the build tree mirrors
 * the install layout. */
static int own_plugin_dir(char *out, size_t n) {
  Dl_info info;
  if (!dladdr((void *)&lam_registry_new, &info) || !info.dli_fname) return -1;
  char real[PATH_MAX];
  if (!realpath(info.dli_fname, real)) return -1;
  char *slash = strrchr(real, '/');
  if (!slash) return -1;
  *slash = '\0';
  return snprintf(out, n, "%s/lamina/plugins", real) >= (int)n ? -1 : 0;
}

static int build_dirs(lam_registry *r) {
  if (r->dirs) return 0;
  for (int32_t i = 0; i < r->nuser; i++)
    if (push_dir(r, r->user[i], "--plugin-path")) return -1;
  const char *env = r->env;
  if (env) {
    char *copy = lam__strdup(env), *save = NULL;
    if (!copy) return -1;
    for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
      if (push_dir(r, t, "LAMINA_PLUGIN_PATH")) {
        free(copy);
        return -1;
      }
    free(copy);
  }
  /* The directory beside this liblamina is the install libdir of an
   * installed lamina and the build tree's of a build (the trees mirror
   * each other).  A compiled-in install path would be wrong for the other
   * case and, for a build, would mix in plugins of another version. */
  char own[PATH_MAX];
  if (own_plugin_dir(own, sizeof own) == 0 && push_dir(r, own, "beside liblamina")) return -1;
  return 0;
}

const char *lam_registry_paths(lam_registry *r) {
  if (!r) return "";
  if (build_dirs(r)) {
    lam_set_error(LAM_ENOMEM, "registry: out of memory");
    return "";
  }
  size_t len = 1;
  for (int32_t i = 0; i < r->ndirs; i++)
    len += strlen(r->dirs[i].origin) + strlen(r->dirs[i].path) + 2;
  free(r->listing);
  r->listing = malloc(len);
  if (!r->listing) return "";
  char *p = r->listing;
  *p = '\0';
  for (int32_t i = 0; i < r->ndirs; i++)
    p += sprintf(p, "%s\t%s\n", r->dirs[i].origin, r->dirs[i].path);
  return r->listing;
}

/* ---------------------------------------------------------------- */
/* SHA-256 of a file                                                  */
/* ---------------------------------------------------------------- */

static char *file_sha256(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return lam__strdup("");
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&ctx, n, buf);
  int bad = ferror(f);
  fclose(f);
  if (bad) return lam__strdup("");
  uint8_t dig[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof dig, dig);
  char *hex = malloc(2 * sizeof dig + 1);
  if (!hex) return NULL;
  for (size_t i = 0; i < sizeof dig; i++) sprintf(hex + 2 * i, "%02x", dig[i]);
  return hex;
}

/* ---------------------------------------------------------------- */
/* Descriptor validation and copying                                  */
/* ---------------------------------------------------------------- */

/* Checks bytes [known, size) of a struct for zero (the struct-size rule). */
static int tail_is_zero(const void *p, size_t known, size_t size) {
  const unsigned char *c = p;
  for (size_t i = known; i < size; i++)
    if (c[i]) return 0;
  return 1;
}

static int valid_ident(const char *s) {
  if (!s || !*s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return 0;
  return 1;
}

/* Allocation owned by the entry (freed with it). */
static void *own(entry *e, size_t n) {
  void **o = realloc(e->owned, (size_t)(e->nowned + 1) * sizeof *o);
  if (!o) return NULL;
  e->owned = o;
  void *p = calloc(1, n ? n : 1);
  if (p) e->owned[e->nowned++] = p;
  return p;
}

/* Counts a plugin array of `elem`-sized structs whose first field is a
 * name pointer, ending with a NULL name.  Gives up past `limit` entries so
 * that a missing terminator cannot walk off into memory forever. */
static int32_t count_named(const void *arr, size_t elem, int32_t limit) {
  if (!arr) return 0;
  const char *p = arr;
  int32_t n = 0;
  while (n <= limit && *(const char *const *)(p + (size_t)n * elem)) n++;
  return n;
}

/* Copies `n` elements of plugin stride `pst` into host stride `hst`,
 * refusing non-zero tails; the copy gets one zeroed terminator element. */
static void *copy_array(entry *e, const void *src, int32_t n, size_t pst,
                        size_t hst, const char *what, char *why, size_t whylen) {
  char *dst = own(e, (size_t)(n + 1) * hst);
  if (!dst) {
    snprintf(why, whylen, "out of memory");
    return NULL;
  }
  for (int32_t i = 0; i < n; i++) {
    const char *s = (const char *)src + (size_t)i * pst;
    if (pst > hst && !tail_is_zero(s, hst, pst)) {
      snprintf(why, whylen,
               "%s #%d uses fields this host does not know (its struct is %zu "
               "bytes, the host's %zu, and the extra bytes are not zero): "
               "needs a newer host",
               what, (int)i, pst, hst);
      return NULL;
    }
    memcpy(dst + (size_t)i * hst, s, pst < hst ? pst : hst);
  }
  return dst;
}

/* Checks one shape expression against the parameter list. */
static int check_shape(const lam_model_def *m, const lam_port_def *pt,
                       char *why, size_t whylen) {
  const char *s = pt->shape;
  if (!s || !*s) return 0;
  char tok[64];
  int ndim = 0;
  while (*s) {
    size_t k = strcspn(s, ",");
    if (k == 0 || k >= sizeof tok) goto bad;
    memcpy(tok, s, k);
    tok[k] = '\0';
    if (++ndim > LAM_MAX_DIMS) goto bad;
    if (isdigit((unsigned char)tok[0])) {
      char *end;
      long long v = strtoll(tok, &end, 10);
      if (*end || v < 1) goto bad;
    } else {
      int found = 0;
      for (const lam_param_def *p = m->params; p && p->name; p++)
        if (!strcmp(p->name, tok) && p->type == LAM_PARAM_I64 && p->min >= 0 &&
            !(p->flags & LAM_PARAM_MUTABLE))
          found = 1;
      if (!found) {
        snprintf(why, whylen,
                 "model %s port '%s': shape names '%s', which is not an "
                 "immutable non-negative integer parameter of the model",
                 m->name, pt->name, tok);
        return -1;
      }
    }
    s += k;
    if (*s == ',') s++;
  }
  return 0;
bad:
  snprintf(why, whylen,
           "model %s port '%s': bad shape '%s' (expected up to %d "
           "comma-separated parameter names or positive integers)",
           m->name, pt->name, pt->shape, LAM_MAX_DIMS);
  return -1;
}

static int count_choices(const char *c) {
  if (!c || !*c) return 0;
  int n = 1;
  for (; *c; c++)
    if (*c == '|') n++;
  return n;
}

static int check_param(const lam_model_def *m, const lam_param_def *p,
                       char *why, size_t whylen) {
  const char *mn = m->name;
  if (!valid_ident(p->name)) {
    snprintf(why, whylen, "model %s: parameter name '%s' is not an identifier",
             mn, p->name);
    return -1;
  }
  switch (p->type) {
  case LAM_PARAM_F64:
  case LAM_PARAM_I64:
    if (!(p->min <= p->max)) {
      snprintf(why, whylen, "model %s parameter '%s': min %g > max %g", mn,
               p->name, p->min, p->max);
      return -1;
    }
    if (!(p->def >= p->min && p->def <= p->max)) {
      snprintf(why, whylen,
               "model %s parameter '%s': default %g outside its own range "
               "[%g, %g]",
               mn, p->name, p->def, p->min, p->max);
      return -1;
    }
    if (p->type == LAM_PARAM_I64 && p->def != floor(p->def)) {
      snprintf(why, whylen,
               "model %s parameter '%s': integer parameter has default %g",
               mn, p->name, p->def);
      return -1;
    }
    return 0;
  case LAM_PARAM_BOOL:
    if (p->def != 0 && p->def != 1) {
      snprintf(why, whylen,
               "model %s parameter '%s': boolean default %g is not 0 or 1", mn,
               p->name, p->def);
      return -1;
    }
    return 0;
  case LAM_PARAM_ENUM: {
    int n = count_choices(p->choices);
    if (n == 0 || !(p->def >= 0 && p->def < n && p->def == floor(p->def))) {
      snprintf(why, whylen,
               "model %s parameter '%s': enum default index %g outside its "
               "%d choices '%s'",
               mn, p->name, p->def, n, p->choices ? p->choices : "");
      return -1;
    }
    return 0;
  }
  default:
    snprintf(why, whylen, "model %s parameter '%s': unknown type %d", mn,
             p->name, (int)p->type);
    return -1;
  }
}

/* Validates and copies the models of a plugin into e->models. */
static int take_models(entry *e, const lam_plugin_desc *d, char *why,
                       size_t whylen) {
  const size_t hm = sizeof(lam_model_def), hpa = sizeof(lam_param_def),
               hpo = sizeof(lam_port_def), hme = sizeof(lam_method_def);
  /* A field absent from an older descriptor reads as 0: "same as mine". */
  size_t pm = d->model_size ? d->model_size : hm;
  size_t ppa = d->param_size ? d->param_size : hpa;
  size_t ppo = d->port_size ? d->port_size : hpo;
  size_t pme = d->method_size ? d->method_size : hme;
  if (pm < hm || ppa < hpa || ppo < hpo || pme < hme) {
    snprintf(why, whylen, "schema structs are smaller than ABI %d.0 allows",
             LAM_ABI_MAJOR);
    return -1;
  }
  int32_t nm = count_named(d->models, pm, 10000);
  if (nm == 0) {
    snprintf(why, whylen, "plugin declares no models");
    return -1;
  }
  lam_model_def *ms = copy_array(e, d->models, nm, pm, hm, "model", why, whylen);
  if (!ms) return -1;
  size_t flen = strlen(d->name);
  for (int32_t i = 0; i < nm; i++) {
    lam_model_def *m = &ms[i];
    if (strncmp(m->name, d->name, flen) || m->name[flen] != '.' ||
        !valid_ident(m->name + flen + 1)) {
      snprintf(why, whylen,
               "model name '%s' must be '%s.<identifier>' (family.model)",
               m->name, d->name);
      return -1;
    }
    for (int32_t j = 0; j < i; j++)
      if (!strcmp(ms[j].name, m->name)) {
        snprintf(why, whylen, "duplicate model name '%s'", m->name);
        return -1;
      }
    if (!m->create || !m->step || !m->destroy) {
      snprintf(why, whylen, "model %s lacks create, step or destroy", m->name);
      return -1;
    }
    int32_t np = count_named(m->params, ppa, 4096);
    int32_t no = count_named(m->ports, ppo, 4096);
    int32_t nx = count_named(m->methods, pme, 4096);
    if (!(m->params = copy_array(e, m->params, np, ppa, hpa, "parameter", why, whylen)) ||
        !(m->ports = copy_array(e, m->ports, no, ppo, hpo, "port", why, whylen)) ||
        !(m->methods = copy_array(e, m->methods, nx, pme, hme, "method", why, whylen)))
      return -1;
    for (int32_t j = 0; j < np; j++) {
      if (check_param(m, &m->params[j], why, whylen)) return -1;
      for (int32_t k = 0; k < j; k++)
        if (!strcmp(m->params[k].name, m->params[j].name)) {
          snprintf(why, whylen, "model %s: duplicate parameter '%s'", m->name,
                   m->params[j].name);
          return -1;
        }
    }
    for (int32_t j = 0; j < no; j++) {
      const lam_port_def *pt = &m->ports[j];
      if (!valid_ident(pt->name) || !lam_dtype_size(pt->dtype) ||
          pt->dir < LAM_PORT_IN || pt->dir > LAM_PORT_STATE) {
        snprintf(why, whylen,
                 "model %s port '%s': bad name, dtype %d or direction %d",
                 m->name, pt->name, (int)pt->dtype, (int)pt->dir);
        return -1;
      }
      for (int32_t k = 0; k < j; k++)
        if (!strcmp(m->ports[k].name, pt->name)) {
          snprintf(why, whylen, "model %s: duplicate port '%s'", m->name, pt->name);
          return -1;
        }
      if (check_shape(m, pt, why, whylen)) return -1;
    }
    for (int32_t j = 0; j < nx; j++) {
      if (!valid_ident(m->methods[j].name) || !m->methods[j].fn) {
        snprintf(why, whylen, "model %s method '%s': bad name or no function",
                 m->name, m->methods[j].name);
        return -1;
      }
      for (int32_t k = 0; k < j; k++)
        if (!strcmp(m->methods[k].name, m->methods[j].name)) {
          snprintf(why, whylen, "model %s: duplicate method '%s'", m->name,
                   m->methods[j].name);
          return -1;
        }
    }
  }
  e->models = ms;
  return 0;
}

static entry *find_loaded(lam_registry *r, const char *family) {
  for (int32_t i = 0; i < r->n; i++)
    if (r->e[i]->info.status == LAM_PLUGIN_LOADED && !strcmp(r->e[i]->desc.name, family))
      return r->e[i];
  return NULL;
}

static entry *find_path(lam_registry *r, const char *path) {
  for (int32_t i = 0; i < r->n; i++)
    if (!strcmp(r->e[i]->path, path)) return r->e[i];
  return NULL;
}

/* ---------------------------------------------------------------- */
/* Pins                                                               */
/* ---------------------------------------------------------------- */

int lam__version_parse(const char *v, long out[3]) {
  out[0] = out[1] = out[2] = 0;
  if (!v || !isdigit((unsigned char)*v)) return -1;
  for (int i = 0; i < 3; i++) {
    char *end;
    out[i] = strtol(v, &end, 10);
    if (*end != '.' || i == 2 || !isdigit((unsigned char)end[1])) break;
    v = end + 1;
  }
  return 0;
}

static int version_cmp(const long a[3], const long b[3]) {
  for (int i = 0; i < 3; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

static const pin *find_pin(const lam_registry *r, const char *name) {
  for (int32_t i = 0; i < r->npins; i++)
    if (!strcmp(r->pins[i].name, name)) return &r->pins[i];
  return NULL;
}

/* 0 when a plugin of this version and file hash satisfies the pin;
 * otherwise -1 with both sides in `why`. */
static int pin_refuses(const pin *p, const char *version, const char *sha,
                       char *why, size_t whylen) {
  if (*p->sha && (!sha || strcmp(p->sha, sha))) {
    snprintf(why, whylen, "pinned to sha256 %s, but this file's sha256 is %s",
             p->sha, sha && *sha ? sha : "(unreadable)");
    return -1;
  }
  long want[3], have[3];
  if (p->minv && lam__version_parse(p->minv, want) == 0 &&
      (lam__version_parse(version, have) || version_cmp(have, want) < 0)) {
    snprintf(why, whylen, "pinned to version >= %s, but this file is version %s",
             p->minv, version && *version ? version : "(none)");
    return -1;
  }
  return 0;
}

/* Validates the handshake result; fills why and returns -1 on refusal. */
static int check_desc(lam_registry *r, entry *e, const lam_plugin_desc *d,
                      char *why, size_t whylen) {
  const size_t hs = sizeof(lam_plugin_desc);
  if (d->struct_size < hs) {
    snprintf(why, whylen, "descriptor is %zu bytes, smaller than ABI %d's %zu",
             d->struct_size, LAM_ABI_MAJOR, hs);
    return -1;
  }
  if (d->struct_size > hs && !tail_is_zero(d, hs, d->struct_size)) {
    snprintf(why, whylen,
             "descriptor is %zu bytes and uses fields past the host's %zu: "
             "needs a newer host",
             d->struct_size, hs);
    return -1;
  }
  if (d->abi_major != LAM_ABI_MAJOR) {
    snprintf(why, whylen, "built for ABI major %d, this host implements %d",
             (int)d->abi_major, LAM_ABI_MAJOR);
    return -1;
  }
  if (d->abi_minor > LAM_ABI_MINOR || d->abi_minor < 0) {
    snprintf(why, whylen,
             "needs ABI %d.%d, this host provides %d.0 to %d.%d (upgrade "
             "lamina)",
             (int)d->abi_major, (int)d->abi_minor, LAM_ABI_MAJOR, LAM_ABI_MAJOR,
             LAM_ABI_MINOR);
    return -1;
  }
  if (!valid_ident(d->name)) {
    snprintf(why, whylen, "plugin name '%s' is not an identifier",
             d->name ? d->name : "(null)");
    return -1;
  }
  entry *other = find_loaded(r, d->name);
  if (other) {
    snprintf(why, whylen, "a plugin named '%s' is already loaded from %s",
             d->name, other->path);
    return -1;
  }
  const pin *pn = find_pin(r, d->name);
  if (pn && pin_refuses(pn, d->version, e->sha, why, whylen)) {
    e->pin_gen = r->pin_gen; /* another pin may accept it: try again then */
    return -1;
  }
  e->desc = *d;
  e->desc.struct_size = hs;
  if (!e->desc.version) e->desc.version = "";
  if (!e->desc.authors) e->desc.authors = "";
  if (!e->desc.licence) e->desc.licence = "";
  if (!e->desc.citation) e->desc.citation = "";
  if (!e->desc.doc) e->desc.doc = "";
  if (!e->desc.build) e->desc.build = "";
  if (take_models(e, d, why, whylen)) return -1;
  e->desc.models = e->models;
  return 0;
}

static entry *add_entry(lam_registry *r, const char *path, const char *origin) {
  if (r->n == r->cap) {
    int32_t cap = r->cap ? 2 * r->cap : 8;
    entry **ne = realloc(r->e, (size_t)cap * sizeof *ne);
    if (!ne) return NULL;
    r->e = ne;
    r->cap = cap;
  }
  entry *e = calloc(1, sizeof *e);
  if (!e || !(e->path = lam__strdup(path))) {
    free(e);
    return NULL;
  }
  e->info.origin = origin;
  r->e[r->n++] = e;
  return e;
}

static void finish_info(entry *e, int loaded) {
  e->info.path = e->path;
  e->info.sha256 = e->sha ? e->sha : "";
  e->info.reason = e->reason ? e->reason : "";
  e->info.status = loaded ? LAM_PLUGIN_LOADED : LAM_PLUGIN_REJECTED;
  e->info.desc = loaded ? &e->desc : NULL;
}

/* Loads one file.  Returns the entry (loaded or rejected), NULL when out of
 * memory.  Never fails silently: a rejected entry carries its reason. */
static entry *load_file(lam_registry *r, const char *path, const char *origin) {
  char real[PATH_MAX];
  const char *p = realpath(path, real) ? real : path;
  entry *e = find_path(r, p);
  if (e && !(e->pin_gen && e->pin_gen != r->pin_gen)) return e;
  if (e) { /* refused by an earlier pin: judge it again under the new one */
    free(e->sha);
    free(e->reason);
    free(e->declared);
    e->sha = e->reason = e->declared = NULL;
    e->pin_gen = 0;
  } else if (!(e = add_entry(r, p, origin))) {
    return NULL;
  }
  char why[768] = "";
  e->sha = file_sha256(p);
  e->dl = dlopen(p, RTLD_NOW | RTLD_LOCAL);
  if (!e->dl) {
    const char *de = dlerror();
    snprintf(why, sizeof why, "dlopen failed: %s", de ? de : "unknown error");
    goto refuse;
  }
  dlerror();
  lam_plugin_init_fn init;
  *(void **)&init = dlsym(e->dl, "lamina_plugin_init");
  if (!init) {
    const char *de = dlerror();
    snprintf(why, sizeof why, "%s does not export the symbol lamina_plugin_init (%s)",
             p, de ? de : "no such symbol");
    goto refuse;
  }
  lam_host_info hi = {
      .struct_size = sizeof hi,
      .host_version = lam_version(),
      .api = &host_api,
      .api_size = sizeof host_api,
      .abi_major = LAM_ABI_MAJOR,
      .abi_minor_min = 0,
      .abi_minor_max = LAM_ABI_MINOR,
  };
  char perr[512] = "";
  const lam_plugin_desc *d = init(&hi, perr, sizeof perr);
  if (d && d->struct_size >= sizeof *d && d->name) e->declared = lam__strdup(d->name);
  if (!d) {
    snprintf(why, sizeof why, "lamina_plugin_init refused: %s",
             *perr ? perr : "(no reason given)");
    goto refuse;
  }
  if (check_desc(r, e, d, why, sizeof why)) goto refuse;
  finish_info(e, 1);
  return e;
refuse:
  e->reason = lam__strdup(why);
  for (int32_t i = 0; i < e->nowned; i++) free(e->owned[i]);
  free(e->owned);
  e->owned = NULL;
  e->nowned = 0;
  e->models = NULL;
  memset(&e->desc, 0, sizeof e->desc);
  if (e->dl) dlclose(e->dl);
  e->dl = NULL;
  finish_info(e, 0);
  return e;
}

int lam_registry_load(lam_registry *r, const char *path) {
  if (!r || !path) return lam_set_error(LAM_EINVAL, "plugin load: NULL argument");
  struct stat st;
  if (stat(path, &st) != 0)
    return lam_set_error(LAM_ENOTFOUND, "plugin %s: %s", path, strerror(errno));
  entry *e = load_file(r, path, "explicit");
  if (!e) return lam_set_error(LAM_ENOMEM, "plugin %s: out of memory", path);
  if (e->info.status != LAM_PLUGIN_LOADED)
    return lam_set_error(LAM_EABI, "plugin %s refused: %s", e->path, e->reason);
  return LAM_OK;
}

static int has_so_suffix(const char *n) {
  size_t k = strlen(n);
  return k > 3 && !strcmp(n + k - 3, ".so");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int32_t lam_registry_scan(lam_registry *r) {
  if (!r) return 0;
  if (build_dirs(r)) {
    lam_set_error(LAM_ENOMEM, "registry: out of memory");
    return 0;
  }
  int32_t loaded = 0;
  for (int32_t i = 0; i < r->ndirs; i++) {
    DIR *dd = opendir(r->dirs[i].path);
    if (!dd) continue;
    /* Sorted, so that which of two same-named plugins wins does not depend
     * on directory order. */
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dd))) {
      if (!has_so_suffix(de->d_name)) continue;
      char **nn = realloc(names, (n + 1) * sizeof *nn);
      if (!nn) break;
      names = nn;
      if ((names[n] = lam__strdup(de->d_name))) n++;
    }
    closedir(dd);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t k = 0; k < n; k++) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", r->dirs[i].path, names[k]);
      entry *e = load_file(r, path, r->dirs[i].origin);
      if (e && e->info.status == LAM_PLUGIN_LOADED) loaded++;
      free(names[k]);
    }
    free(names);
  }
  return loaded;
}

static const lam_model_def *model_in(entry *e, const char *name) {
  for (const lam_model_def *m = e->models; m && m->name; m++)
    if (!strcmp(m->name, name)) return m;
  return NULL;
}

static const lam_model_def *missing_model(entry *e, const char *name) {
  char list[512] = "";
  size_t used = 0;
  for (const lam_model_def *m = e->models; m && m->name; m++) {
    int k = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", m->name);
    if (k < 0 || (size_t)k >= sizeof list - used) break;
    used += (size_t)k;
  }
  lam_set_error(LAM_ENOTFOUND, "plugin %s (%s) has no model '%s' (it has: %s)",
                e->desc.name, e->path, name, list);
  return NULL;
}

/* The loaded plugin called `family`, loading it if needed: first
 * <family>.so in each directory in discovery order, then (a file may carry
 * a family under another name) every file.  NULL with an error listing
 * every path tried and why each was refused. */
static entry *load_family(lam_registry *r, const char *family) {
  entry *e = find_loaded(r, family);
  if (e) return e;
  if (build_dirs(r)) {
    lam_set_error(LAM_ENOMEM, "registry: out of memory");
    return NULL;
  }
  char tried[4096] = "";
  size_t used = 0;
  for (int32_t i = 0; i < r->ndirs; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.so", r->dirs[i].path, family);
    const char *why;
    struct stat st;
    if (stat(path, &st) != 0) {
      why = "no such file";
    } else {
      entry *f = load_file(r, path, r->dirs[i].origin);
      if (!f) {
        lam_set_error(LAM_ENOMEM, "registry: out of memory");
        return NULL;
      }
      if (f->info.status == LAM_PLUGIN_LOADED && !strcmp(f->desc.name, family)) return f;
      why = f->info.status == LAM_PLUGIN_LOADED ? "provides another plugin" : f->reason;
    }
    int k = snprintf(tried + used, sizeof tried - used, "%s%s (%s)", used ? "; " : "", path, why);
    if (k > 0 && (size_t)k < sizeof tried - used) used += (size_t)k;
  }
  lam_registry_scan(r);
  if ((e = find_loaded(r, family))) return e;
  lam_set_error(LAM_ENOTFOUND, "no plugin '%s' in the search path; tried %s", family,
                r->ndirs ? tried : "no directories (set LAMINA_PLUGIN_PATH)");
  return NULL;
}

const lam_model_def *lam_registry_model(lam_registry *r, const char *name) {
  if (!r || !name) {
    lam_set_error(LAM_EINVAL, "model: NULL argument");
    return NULL;
  }
  const char *dot = strchr(name, '.');
  char family[128];
  size_t flen = dot ? (size_t)(dot - name) : 0;
  if (!dot || flen == 0 || flen >= sizeof family || !dot[1]) {
    lam_set_error(LAM_EINVAL, "model name '%s' must be family.model (e.g. stim.poisson)", name);
    return NULL;
  }
  memcpy(family, name, flen);
  family[flen] = '\0';
  entry *e = load_family(r, family);
  if (!e) {
    char msg[4608];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    lam_set_error(LAM_ENOTFOUND, "model '%s' not found: %s", name, msg);
    return NULL;
  }
  return model_in(e, name) ? model_in(e, name) : missing_model(e, name);
}

const lam_plugin_info *lam_registry_find(lam_registry *r, const char *family) {
  if (!r || !family) {
    lam_set_error(LAM_EINVAL, "find: NULL argument");
    return NULL;
  }
  entry *e = load_family(r, family);
  return e ? &e->info : NULL;
}

int lam_registry_pin(lam_registry *r, const char *name, const char *sha256,
                     const char *min_version) {
  if (!r || !valid_ident(name))
    return lam_set_error(LAM_EINVAL, "pin: plugin name '%s' is not an identifier",
                         name ? name : "(null)");
  int has_sha = sha256 && *sha256, has_v = min_version && *min_version;
  if (!has_sha && !has_v)
    return lam_set_error(LAM_EINVAL, "pin %s: give a sha256, a minimum version or both", name);
  char sha[65] = "";
  if (has_sha) {
    size_t n = strlen(sha256);
    for (size_t i = 0; i < n && n == 64; i++)
      if (!isxdigit((unsigned char)sha256[i])) n = 0;
    if (n != 64)
      return lam_set_error(LAM_EINVAL, "pin %s: sha256 '%s' is not 64 hexadecimal digits", name,
                           sha256);
    for (size_t i = 0; i < 64; i++) sha[i] = (char)tolower((unsigned char)sha256[i]);
  }
  long v[3];
  if (has_v && lam__version_parse(min_version, v))
    return lam_set_error(LAM_EINVAL, "pin %s: min_version '%s' is not MAJOR.MINOR.PATCH", name,
                         min_version);
  pin *p = (pin *)find_pin(r, name);
  if (!p) {
    pin *np = realloc(r->pins, (size_t)(r->npins + 1) * sizeof *np);
    if (!np) return lam_set_error(LAM_ENOMEM, "pin: out of memory");
    r->pins = np;
    p = &np[r->npins];
    memset(p, 0, sizeof *p);
    if (!(p->name = lam__strdup(name))) return lam_set_error(LAM_ENOMEM, "pin: out of memory");
    r->npins++;
  }
  free(p->minv);
  p->minv = has_v ? lam__strdup(min_version) : NULL;
  r->pin_gen++;
  memcpy(p->sha, sha, sizeof sha);
  /* Already loaded: check now.  A mismatch takes the plugin out of the
   * registry's reach (its code stays mapped for instances already made). */
  entry *e = find_loaded(r, name);
  char why[512];
  if (e && pin_refuses(p, e->desc.version, e->sha, why, sizeof why)) {
    free(e->reason);
    e->reason = lam__strdup(why);
    e->info.status = LAM_PLUGIN_REJECTED;
    e->info.reason = e->reason ? e->reason : "";
    e->info.desc = NULL;
    return lam_set_error(LAM_EABI, "plugin %s (%s) refused: %s", name, e->path, why);
  }
  return LAM_OK;
}

/* Appends a formatted line to a growing string; returns -1 out of memory. */
static int addf(char **s, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *n = k < 0 ? NULL : realloc(*s, *len + (size_t)k + 1);
  if (!n) return -1;
  va_start(ap, fmt);
  vsnprintf(n + *len, (size_t)k + 1, fmt, ap);
  va_end(ap);
  *s = n;
  *len += (size_t)k;
  return 0;
}

const char *lam_registry_why(lam_registry *r, const char *family) {
  if (!r || !family) return "";
  entry *chosen = load_family(r, family);
  char err[4608];
  snprintf(err, sizeof err, "%s", chosen ? "" : lam_last_error());
  lam_registry_scan(r); /* every other candidate, with its reason */
  char *s = NULL;
  size_t n = 0;
  int bad = 0;
  if (chosen)
    bad |= addf(&s, &n, "plugin '%s': %s\n  version %s, ABI %d.%d, sha256 %s, found via %s\n",
                family, chosen->path, chosen->desc.version, (int)chosen->desc.abi_major,
                (int)chosen->desc.abi_minor, chosen->sha ? chosen->sha : "", chosen->info.origin);
  else
    bad |= addf(&s, &n, "plugin '%s': not found\n  %s\n", family, err);
  bad |= addf(&s, &n,
              "search order (each directory's %s.so is tried in this order, then every other "
              "*.so; the first that loads wins):\n", family);
  for (int32_t i = 0; i < r->ndirs; i++) {
    char path[PATH_MAX], real[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.so", r->dirs[i].path, family);
    entry *f = realpath(path, real) ? find_path(r, real) : NULL;
    const char *state = !f ? "no such file"
                        : f == chosen ? "CHOSEN"
                        : f->info.status == LAM_PLUGIN_LOADED ? "loaded, but it is another plugin"
                        : f->reason;
    bad |= addf(&s, &n, "  %d. %s (%s)\n       %s.so: %s\n", (int)i + 1, r->dirs[i].path,
                r->dirs[i].origin, family, state);
  }
  if (!r->ndirs) bad |= addf(&s, &n, "  (no directories)\n");
  int others = 0;
  for (int32_t i = 0; i < r->n; i++) {
    entry *f = r->e[i];
    if (f == chosen || !f->declared || strcmp(f->declared, family)) continue;
    if (!others++) bad |= addf(&s, &n, "other files that declare plugin '%s' (not chosen):\n", family);
    bad |= addf(&s, &n, "  %s (%s)\n       %s\n", f->path, f->info.origin,
                f->reason && *f->reason ? f->reason : "an earlier file was chosen");
  }
  const pin *p = find_pin(r, family);
  if (p)
    bad |= addf(&s, &n, "pinned: sha256 %s, minimum version %s\n", *p->sha ? p->sha : "(any)",
                p->minv ? p->minv : "(any)");
  /* Loading from the working directory is never implicit (a shared
   * directory could plant a same-named plugin); say whether it is asked. */
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd)) {
    const char *asked = NULL;
    char real[PATH_MAX];
    for (int32_t i = 0; i < r->ndirs; i++)
      if (realpath(r->dirs[i].path, real) && !strcmp(real, cwd)) asked = r->dirs[i].origin;
    if (asked)
      bad |= addf(&s, &n, "the current directory %s is searched because %s names it\n", cwd, asked);
    else
      bad |= addf(&s, &n,
                  "the current directory %s is not searched (name it with --plugin-path or "
                  "LAMINA_PLUGIN_PATH to search it)\n", cwd);
  }
  if (bad) {
    free(s);
    lam_set_error(LAM_ENOMEM, "why: out of memory");
    return "";
  }
  free(r->whytext);
  r->whytext = s;
  return s ? s : "";
}

const lam_plugin_info *lam_registry_owner(lam_registry *r, const char *model) {
  if (!r || !model) return NULL;
  for (int32_t i = 0; i < r->n; i++)
    if (r->e[i]->info.status == LAM_PLUGIN_LOADED && model_in(r->e[i], model))
      return &r->e[i]->info;
  return NULL;
}

int32_t lam_registry_count(const lam_registry *r) { return r ? r->n : 0; }

const lam_plugin_info *lam_registry_info(const lam_registry *r, int32_t i) {
  if (!r || i < 0 || i >= r->n) return NULL;
  return &r->e[i]->info;
}

/* ---------------------------------------------------------------- */
/* Schema helpers                                                     */
/* ---------------------------------------------------------------- */

int32_t lam_model_nparams(const lam_model_def *m) {
  return m ? count_named(m->params, sizeof *m->params, 1 << 20) : 0;
}
int32_t lam_model_nports(const lam_model_def *m) {
  return m ? count_named(m->ports, sizeof *m->ports, 1 << 20) : 0;
}
int32_t lam_model_nmethods(const lam_model_def *m) {
  return m ? count_named(m->methods, sizeof *m->methods, 1 << 20) : 0;
}
const lam_param_def *lam_model_param(const lam_model_def *m, int32_t i) {
  return i >= 0 && i < lam_model_nparams(m) ? &m->params[i] : NULL;
}
const lam_port_def *lam_model_port(const lam_model_def *m, int32_t i) {
  return i >= 0 && i < lam_model_nports(m) ? &m->ports[i] : NULL;
}
const lam_method_def *lam_model_method(const lam_model_def *m, int32_t i) {
  return i >= 0 && i < lam_model_nmethods(m) ? &m->methods[i] : NULL;
}
