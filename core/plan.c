/*
 * plan.c - a protocol's sweep expanded into points, with stable ids and
 * seeds.
 *
 * Order: a sweep mapping is the product of its factors in the order
 * written (first slowest), a grid the product of its keys likewise, a
 * union the concatenation of its parts; replicates of one point are
 * adjacent.  A point's parameters are the protocol's `params`, then the
 * swept values, then the command-line overrides (later wins).
 *
 * Seeds: the root is the point's `seed` parameter if it has one, else the
 * protocol's `seed` (default 1); the point runs with
 * lam_seed_derive(root, H, replicate) (hashing, never adding; NetPyNE's
 * summed seeds collided), where H is the first 64 bits of the SHA-256 of
 * the canonical parameters, cut to 53 bits so it travels exactly through
 * `lamina run --seed`.
 *
 * Id: the first 12 hex digits (48 bits) of the SHA-256 of the canonical
 * JSON {"params":{...sorted keys...},"seed":N}; it depends only on the
 * values (1 and 1.0 are one point), not on the point's position, so a
 * protocol that grows keeps the ids of the points it had.
 */
#include "lamina.h"
#include "sweep_int.h"

#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 10000000

void lam__sha256_text(const char *s, size_t n, char out[65]) {
  struct sha256_ctx c;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&c);
  sha256_update(&c, n, (const uint8_t *)s);
  sha256_digest(&c, sizeof d, d);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int lam__sha256_file(const char *path, char out[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  struct sha256_ctx c;
  uint8_t d[SHA256_DIGEST_SIZE], buf[1 << 16];
  sha256_init(&c);
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&c, k, buf);
  int bad = ferror(f);
  fclose(f);
  if (bad) return -1;
  sha256_digest(&c, sizeof d, d);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
  return 0;
}

/* ---- rows of assignments ---------------------------------------------------- */
typedef struct row {
  int n;
  lam__kv *kv;
} row;
typedef struct rows {
  int64_t n, cap;
  row *r;
} rows;

typedef struct ex {
  lam__protocol *p;
  char *err;
  size_t errn;
} ex;

static int oom(ex *e) {
  snprintf(e->err, e->errn, "out of memory while expanding the sweep");
  return -1;
}

static int push(ex *e, rows *rs, row r) {
  if (rs->n >= MAX_POINTS) {
    snprintf(e->err, e->errn, "%s: the sweep expands to more than %d points", e->p->file, MAX_POINTS);
    return -1;
  }
  if (rs->n == rs->cap) {
    int64_t cap = rs->cap ? 2 * rs->cap : 16;
    row *g = realloc(rs->r, sizeof *g * (size_t)cap);
    if (!g) return oom(e);
    rs->r = g;
    rs->cap = cap;
  }
  rs->r[rs->n++] = r;
  return 0;
}

static void rows_free(rows *rs) {
  free(rs->r);
  rs->r = NULL;
  rs->n = rs->cap = 0;
}

/* a x b: every row of a joined with every row of b (a varies slowest),
 * into out (which may be a); a is freed either way.  A parameter set by
 * both is an error naming both places. */
static int product(ex *e, rows *a, const rows *b, rows *out) {
  rows o = {0};
  if (a->n && b->n) {
    const row *x = &a->r[0], *y = &b->r[0];
    for (int i = 0; i < x->n; i++)
      for (int j = 0; j < y->n; j++)
        if (!strcmp(x->kv[i].key, y->kv[j].key)) {
          snprintf(e->err, e->errn, "%s:%d:%d: parameter '%s' is swept twice (also at line %d); "
                   "a point can give it only one value", e->p->file, y->kv[j].line, y->kv[j].col,
                   y->kv[j].key, x->kv[i].line);
          rows_free(a);
          return -1;
        }
  }
  for (int64_t i = 0; i < a->n; i++)
    for (int64_t j = 0; j < b->n; j++) {
      row r = {a->r[i].n + b->r[j].n, NULL};
      r.kv = lam__arena_alloc(e->p->arena, sizeof *r.kv * (size_t)(r.n + 1));
      if (!r.kv) {
        rows_free(&o);
        rows_free(a);
        return oom(e);
      }
      if (a->r[i].n) memcpy(r.kv, a->r[i].kv, sizeof *r.kv * (size_t)a->r[i].n);
      if (b->r[j].n) memcpy(r.kv + a->r[i].n, b->r[j].kv, sizeof *r.kv * (size_t)b->r[j].n);
      if (push(e, &o, r)) {
        rows_free(&o);
        rows_free(a);
        return -1;
      }
    }
  rows_free(a);
  *out = o;
  return 0;
}

static int one_kv(ex *e, rows *out, const lam__axis *ax, const lam__val *v) {
  row r = {1, lam__arena_alloc(e->p->arena, sizeof(lam__kv))};
  if (!r.kv) return oom(e);
  r.kv->key = ax->key;
  r.kv->v = *v;
  r.kv->line = ax->line;
  r.kv->col = ax->col;
  return push(e, out, r);
}

/* FNV-1a: a parameter's name keys its random stream, so adding another
 * random parameter leaves the samples of the others as they were. */
static uint64_t name_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
  return h;
}

/* Stream instance for protocol sampling ("SWEEP"), apart from any model. */
#define SWEEP_INSTANCE 0x5357454550ULL

static int random_rows(ex *e, const lam__factor *f, rows *out) {
  for (int64_t j = 0; j < f->n; j++) {
    row r = {f->naxes, lam__arena_alloc(e->p->arena, sizeof(lam__kv) * (size_t)f->naxes)};
    if (!r.kv) return oom(e);
    for (int k = 0; k < f->naxes; k++) {
      const lam__axis *ax = &f->axes[k];
      lam_rng g;
      lam_rng_init(&g, f->seed, SWEEP_INSTANCE, name_hash(ax->key), (uint64_t)j);
      lam__kv *kv = &r.kv[k];
      kv->key = ax->key;
      kv->line = ax->line;
      kv->col = ax->col;
      kv->v.kind = LAM__V_NUM;
      kv->v.line = ax->line;
      kv->v.col = ax->col;
      double u = lam_rng_uniform(&g); /* in (0, 1) */
      switch (ax->dist) {
      case LAM__D_UNIFORM: kv->v.num = ax->a + (ax->b - ax->a) * u; break;
      case LAM__D_LOGUNIFORM: kv->v.num = exp(log(ax->a) + (log(ax->b) - log(ax->a)) * u); break;
      case LAM__D_NORMAL: kv->v.num = ax->a + ax->b * lam_rng_normal(&g); break;
      case LAM__D_INTEGER: {
        double x = floor(ax->a + (ax->b - ax->a + 1) * u);
        kv->v.num = x > ax->b ? ax->b : x;
        break;
      }
      default: { /* choice */
        int i = (int)(u * ax->nvals);
        kv->v = ax->vals[i < ax->nvals ? i : ax->nvals - 1];
      }
      }
    }
    if (push(e, out, r)) return -1;
  }
  return 0;
}

static int expand(ex *e, const lam__sweep *s, rows *out);

static int factor_rows(ex *e, const lam__factor *f, rows *out) {
  rows acc = {0}, part = {0};
  int rc = 0;
  switch (f->kind) {
  case LAM__S_GRID:
    rc = push(e, &acc, (row){0, NULL});
    for (int k = 0; k < f->naxes && !rc; k++) {
      for (int v = 0; v < f->axes[k].nvals && !rc; v++)
        rc = one_kv(e, &part, &f->axes[k], &f->axes[k].vals[v]);
      if (!rc) rc = product(e, &acc, &part, &acc);
      rows_free(&part);
    }
    break;
  case LAM__S_ZIP:
    for (int v = 0; v < f->axes[0].nvals && !rc; v++) {
      row r = {f->naxes, lam__arena_alloc(e->p->arena, sizeof(lam__kv) * (size_t)f->naxes)};
      if (!r.kv) {
        rc = oom(e);
        break;
      }
      for (int k = 0; k < f->naxes; k++)
        r.kv[k] = (lam__kv){f->axes[k].key, f->axes[k].vals[v], f->axes[k].line, f->axes[k].col};
      rc = push(e, &acc, r);
    }
    break;
  case LAM__S_LIST:
    for (int i = 0; i < f->npoints && !rc; i++) rc = push(e, &acc, (row){f->point_len[i], f->points[i]});
    break;
  case LAM__S_RANDOM:
    rc = random_rows(e, f, &acc);
    break;
  case LAM__S_PRODUCT:
    rc = push(e, &acc, (row){0, NULL});
    for (int i = 0; i < f->nsub && !rc; i++) {
      rc = expand(e, f->sub[i], &part);
      if (!rc) rc = product(e, &acc, &part, &acc);
      rows_free(&part);
    }
    break;
  default: /* union: the parts one after the other */
    for (int i = 0; i < f->nsub && !rc; i++) {
      rc = expand(e, f->sub[i], &part);
      for (int64_t j = 0; j < part.n && !rc; j++) rc = push(e, &acc, part.r[j]);
      rows_free(&part);
    }
  }
  if (rc) {
    rows_free(&acc);
    return -1;
  }
  *out = acc;
  return 0;
}

static int expand(ex *e, const lam__sweep *s, rows *out) {
  rows acc = {0};
  if (push(e, &acc, (row){0, NULL})) return -1;
  for (int i = 0; s && i < s->nfactors; i++) {
    rows f = {0};
    if (factor_rows(e, &s->factors[i], &f)) {
      rows_free(&acc);
      return -1;
    }
    int rc = product(e, &acc, &f, &acc);
    rows_free(&f);
    if (rc) return -1;
  }
  *out = acc;
  return 0;
}

/* ---- canonical JSON ------------------------------------------------------------ */
typedef struct sbuf {
  char *s;
  size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *g = realloc(b->s, cap);
    if (!g) return; /* callers check b->s at the end */
    b->s = g;
    b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_string(sbuf *b, const char *s) {
  puts_(b, "\"");
  for (; *s; s++) {
    char esc[8];
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      put(b, esc, 2);
    } else if (ch < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      puts_(b, esc);
    } else {
      put(b, (const char *)&ch, 1);
    }
  }
  puts_(b, "\"");
}

static void put_params(sbuf *b, const lam__kv *kv, int n) {
  puts_(b, "{");
  for (int i = 0; i < n; i++) {
    if (i) puts_(b, ",");
    put_json_string(b, kv[i].key);
    puts_(b, ":");
    char t[64];
    if (kv[i].v.kind == LAM__V_STR) {
      put_json_string(b, kv[i].v.str);
    } else {
      lam__val_text(&kv[i].v, t, sizeof t);
      puts_(b, t);
    }
  }
  puts_(b, "}");
}

static int cmp_kv(const void *a, const void *b) {
  return strcmp(((const lam__kv *)a)->key, ((const lam__kv *)b)->key);
}

/* Sets kv (sorted by key) into res: replaces an existing key. */
static void assign(lam__kv *res, int *n, const lam__kv *kv) {
  for (int i = 0; i < *n; i++)
    if (!strcmp(res[i].key, kv->key)) {
      res[i] = *kv;
      return;
    }
  res[(*n)++] = *kv;
}

typedef struct idx_id {
  const char *id;
  int64_t i;
} idx_id;
static int cmp_id(const void *a, const void *b) {
  const idx_id *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

int lam__plan_build(lam__protocol *p, char **overrides, int noverrides, lam__plan *out,
                    char *err, size_t errn) {
  ex e = {p, err, errn};
  memset(out, 0, sizeof *out);
  lam__kv *ov = lam__arena_alloc(p->arena, sizeof *ov * (size_t)(noverrides + 1));
  if (!ov) return oom(&e);
  for (int i = 0; i < noverrides; i++) {
    const char *eq = strchr(overrides[i], '=');
    if (!eq || eq == overrides[i]) {
      snprintf(err, errn, "'%s' is not key=value", overrides[i]);
      return -1;
    }
    char *key = lam__arena_strdup(p->arena, overrides[i]);
    if (!key) return oom(&e);
    key[eq - overrides[i]] = '\0';
    ov[i].key = key;
    char why[256];
    if (lam__scalar(p->arena, eq + 1, &ov[i].v, why, sizeof why)) {
      snprintf(err, errn, "command line %s: %s", overrides[i], why);
      return -1;
    }
  }
  rows rs = {0};
  if (expand(&e, p->sweep, &rs)) return -1;
  int64_t total = rs.n * p->replicates;
  if (total > MAX_POINTS) {
    rows_free(&rs);
    snprintf(err, errn, "%s: the sweep expands to %lld points; at most %d", p->file, (long long)total, MAX_POINTS);
    return -1;
  }
  out->points = lam__arena_alloc(p->arena, sizeof *out->points * (size_t)(total + 1));
  if (!out->points) {
    rows_free(&rs);
    return oom(&e);
  }
  sbuf b = {0};
  int rc = 0;
  for (int64_t i = 0; i < rs.n && !rc; i++) {
    int cap = p->nparams + rs.r[i].n + noverrides + 1, n = 0;
    lam__kv *res = lam__arena_alloc(p->arena, sizeof *res * (size_t)cap);
    if (!res) {
      rc = oom(&e);
      break;
    }
    for (int k = 0; k < p->nparams; k++) assign(res, &n, &p->params[k]);
    for (int k = 0; k < rs.r[i].n; k++) assign(res, &n, &rs.r[i].kv[k]);
    for (int k = 0; k < noverrides; k++) assign(res, &n, &ov[k]);
    qsort(res, (size_t)n, sizeof *res, cmp_kv);
    uint64_t root = p->seed;
    for (int k = 0; k < n; k++) {
      if (strcmp(res[k].key, "seed")) continue;
      const lam__val *v = &res[k].v;
      if (v->kind != LAM__V_NUM || v->num != floor(v->num) || v->num < 0 || v->num >= 9007199254740992.0) {
        if (res[k].line)
          snprintf(err, errn, "%s:%d:%d: seed: expected a whole number in [0, 2^53)", p->file, res[k].line, res[k].col);
        else
          snprintf(err, errn, "command line seed: expected a whole number in [0, 2^53)");
        rc = -1;
        break;
      }
      root = (uint64_t)v->num;
      memmove(&res[k], &res[k + 1], sizeof *res * (size_t)(n - k - 1));
      n--;
      break;
    }
    if (rc) break;
    b.n = 0;
    put_params(&b, res, n);
    if (!b.s) {
      rc = oom(&e);
      break;
    }
    char h[65];
    lam__sha256_text(b.s, b.n, h);
    uint64_t h64 = strtoull((char[17]){h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
                                       h[10], h[11], h[12], h[13], h[14], h[15], 0},
                            NULL, 16);
    for (int r = 0; r < p->replicates; r++) {
      lam__point *pt = &out->points[out->npoints];
      pt->index = out->npoints;
      pt->replicate = r;
      pt->seed = lam_seed_derive(root, h64, (uint64_t)r) & ((1ULL << 53) - 1);
      pt->nparams = n;
      pt->params = res;
      b.n = 0;
      puts_(&b, "{\"params\":");
      put_params(&b, res, n);
      char s[32];
      snprintf(s, sizeof s, ",\"seed\":%llu}", (unsigned long long)pt->seed);
      puts_(&b, s);
      if (!b.s || !(pt->canon = lam__arena_strdup(p->arena, b.s))) {
        rc = oom(&e);
        break;
      }
      lam__sha256_text(pt->canon, strlen(pt->canon), h);
      memcpy(pt->id, h, 12);
      pt->id[12] = '\0';
      out->npoints++;
    }
  }
  free(b.s);
  rows_free(&rs);
  if (rc) return -1;
  /* The same parameters and seed twice (a repeated list entry, or an
   * override that fixes a swept key) are one point: run it once. */
  idx_id *ids = malloc(sizeof *ids * (size_t)(out->npoints + 1));
  char *dup = calloc((size_t)out->npoints + 1, 1);
  if (!ids || !dup) {
    free(ids);
    free(dup);
    return oom(&e);
  }
  for (int i = 0; i < out->npoints; i++) ids[i] = (idx_id){out->points[i].id, i};
  qsort(ids, (size_t)out->npoints, sizeof *ids, cmp_id);
  for (int i = 1; i < out->npoints; i++)
    if (!strcmp(ids[i].id, ids[i - 1].id)) dup[ids[i].i] = 1;
  int k = 0;
  for (int i = 0; i < out->npoints; i++) {
    if (dup[i]) continue;
    out->points[k] = out->points[i];
    out->points[k].index = k;
    k++;
  }
  out->merged = out->npoints - k;
  out->npoints = k;
  free(ids);
  free(dup);
  return 0;
}
