/*
 * yaml.c - protocol files for `lamina sweep` (libyaml's document loader).
 *
 * A protocol is checked completely here, before anything runs: unknown
 * keys (with the nearest valid key as a suggestion), wrong types, empty or
 * ragged lists and impossible distributions are errors that name
 * FILE:LINE:COLUMN of the offending node.  Whether the script accepts the
 * parameters is checked later by the runner, which asks the script itself
 * (lamina run --list-params).  The grammar is documented in
 * docs/protocols.md.
 */
#include "sweep_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- arena --------------------------------------------------------------- */
struct lam__arena {
  struct lam__arena *next;
};

lam__arena *lam__arena_new(void) { return calloc(1, sizeof(lam__arena)); }

/* Each allocation is its own malloc chained to the head: simple, and the
 * command allocates little. */
void *lam__arena_alloc(lam__arena *a, size_t n) {
  struct lam__arena *blk = calloc(1, sizeof *blk + n + 16);
  if (!blk) return NULL;
  blk->next = a->next;
  a->next = blk;
  return (char *)blk + sizeof *blk + (16 - sizeof *blk % 16) % 16;
}

char *lam__arena_strdup(lam__arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = lam__arena_alloc(a, n);
  if (d) memcpy(d, s, n);
  return d;
}

void lam__arena_free(lam__arena *a) {
  while (a) {
    struct lam__arena *n = a->next;
    free(a);
    a = n;
  }
}

/* ---- suggestions ---------------------------------------------------------- */
static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 64 || m > 64) return 99;
  int d[65][65];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      /* a swap of two neighbours counts as one edit (Damerau) */
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
        c = d[i - 2][j - 2] + 1;
      d[i][j] = c;
    }
  return d[n][m];
}

const char *lam__suggest(const char *word, const char *const *cands) {
  const char *best = NULL;
  int bd = 99;
  for (int i = 0; cands[i]; i++) {
    int dist = edit_distance(word, cands[i]);
    if (dist < bd) {
      bd = dist;
      best = cands[i];
    }
  }
  /* Up to a third of the word may be wrong (at least one edit); a word
   * that starts a candidate ("sha" for "sha256") also counts. */
  int limit = (int)strlen(word) / 3;
  if (limit < 1) limit = 1;
  if (bd <= limit) return best;
  if (strlen(word) >= 3)
    for (int i = 0; cands[i]; i++)
      if (!strncmp(cands[i], word, strlen(word))) return cands[i];
  return NULL;
}

/* ---- values ----------------------------------------------------------------- */
void lam__val_text(const lam__val *v, char *out, size_t n) {
  if (v->kind == LAM__V_BOOL) {
    snprintf(out, n, "%s", v->b ? "true" : "false");
  } else if (v->kind == LAM__V_STR) {
    snprintf(out, n, "%s", v->str);
  } else if (v->num == floor(v->num) && fabs(v->num) < 9007199254740992.0) {
    snprintf(out, n, "%.0f", v->num == 0 ? 0.0 : v->num); /* no "-0" */
  } else {
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(out, n, "%.*g", prec, v->num);
      if (strtod(out, NULL) == v->num) break;
    }
  }
}

/* Plain-scalar resolution: booleans, numbers (finite), else a string. */
static int resolve_plain(const char *s, lam__val *out) {
  static const char *const t[] = {"true", "True", "TRUE", NULL};
  static const char *const f[] = {"false", "False", "FALSE", NULL};
  for (int i = 0; t[i]; i++)
    if (!strcmp(s, t[i])) {
      out->kind = LAM__V_BOOL;
      out->b = 1;
      return 0;
    }
  for (int i = 0; f[i]; i++)
    if (!strcmp(s, f[i])) {
      out->kind = LAM__V_BOOL;
      out->b = 0;
      return 0;
    }
  if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
    return -1; /* null */
  if (!strcmp(s, ".inf") || !strcmp(s, "-.inf") || !strcmp(s, "+.inf") || !strcmp(s, ".nan") ||
      !strcmp(s, ".NaN") || !strcmp(s, ".Inf") || !strcmp(s, "-.Inf"))
    return -2; /* not finite */
  /* Only decimal notation counts as a number (strtod would also take hex,
   * "inf" and "nan", which YAML reads as strings). */
  if (strspn(s, "0123456789+-.eE") == strlen(s) && strpbrk(s, "0123456789")) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*end && isfinite(v)) {
      out->kind = LAM__V_NUM;
      out->num = v;
      return 0;
    }
  }
  out->kind = LAM__V_STR;
  out->str = s;
  return 0;
}

int lam__scalar(lam__arena *a, const char *text, lam__val *out, char *err, size_t errn) {
  memset(out, 0, sizeof *out);
  const char *s = lam__arena_strdup(a, text);
  if (!s) {
    snprintf(err, errn, "out of memory");
    return -1;
  }
  int rc = resolve_plain(s, out);
  if (rc == -1) snprintf(err, errn, "an empty value (null) is not a parameter value");
  if (rc == -2) snprintf(err, errn, "'%s' is not finite; parameters must be finite numbers", s);
  return rc ? -1 : 0;
}

/* ---- the loader ------------------------------------------------------------- */
typedef struct ctx {
  yaml_document_t doc;
  lam__protocol *p;
  char *err;
  size_t errn;
} ctx;

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }
static int col_of(const yaml_node_t *n) { return (int)n->start_mark.column + 1; }

static int fail(ctx *c, const yaml_node_t *n, const char *fmt, ...) {
  int k = snprintf(c->err, c->errn, "%s:%d:%d: ", c->p->file, n ? line_of(n) : 1, n ? col_of(n) : 1);
  if (k < 0 || (size_t)k >= c->errn) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + k, c->errn - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

static yaml_node_t *node(ctx *c, int id) { return yaml_document_get_node(&c->doc, id); }

static const char *kind_name(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE ? "a single value"
       : n->type == YAML_SEQUENCE_NODE ? "a list"
       : "a mapping";
}

static const char *text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* The keys of a mapping must be plain strings, each once, and (when `valid`
 * is given) one of `valid`, else an error suggesting the nearest. */
static int check_keys(ctx *c, yaml_node_t *map, const char *where, const char *const *valid) {
  for (yaml_node_pair_t *i = map->data.mapping.pairs.start; i < map->data.mapping.pairs.top; i++) {
    yaml_node_t *k = node(c, i->key);
    if (k->type != YAML_SCALAR_NODE) return fail(c, k, "a key in %s must be a name, not %s", where, kind_name(k));
    for (yaml_node_pair_t *j = map->data.mapping.pairs.start; j < i; j++) {
      yaml_node_t *k2 = node(c, j->key);
      if (k2->type == YAML_SCALAR_NODE && !strcmp(text(k), text(k2)))
        return fail(c, k, "key '%s' appears twice in %s (first at line %d)", text(k), where, line_of(k2));
    }
    if (!valid) continue;
    int ok = 0;
    for (int v = 0; valid[v]; v++) ok |= !strcmp(valid[v], text(k));
    if (ok) continue;
    const char *s = lam__suggest(text(k), valid);
    char list[512] = "";
    for (int v = 0; valid[v]; v++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", v ? ", " : "", valid[v]);
    if (s) return fail(c, k, "unknown key '%s' in %s (did you mean '%s'?)", text(k), where, s);
    return fail(c, k, "unknown key '%s' in %s; valid keys: %s", text(k), where, list);
  }
  return 0;
}

static int want(ctx *c, yaml_node_t *n, yaml_node_type_t t, const char *what) {
  if (n->type == t) return 0;
  const char *w = t == YAML_SCALAR_NODE ? "a single value" : t == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
  return fail(c, n, "%s: expected %s, found %s", what, w, kind_name(n));
}

/* A scalar parameter value. */
static int value(ctx *c, yaml_node_t *n, const char *what, lam__val *out) {
  if (want(c, n, YAML_SCALAR_NODE, what)) return -1;
  memset(out, 0, sizeof *out);
  out->line = line_of(n);
  out->col = col_of(n);
  const char *s = lam__arena_strdup(c->p->arena, text(n));
  if (!s) return fail(c, n, "out of memory");
  if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) { /* quoted or block: a string */
    out->kind = LAM__V_STR;
    out->str = s;
    return 0;
  }
  int rc = resolve_plain(s, out);
  if (rc == -1) return fail(c, n, "%s: an empty value (null) is not a parameter value", what);
  if (rc == -2) return fail(c, n, "%s: '%s' is not finite; parameters must be finite numbers", what, s);
  return 0;
}

static int number(ctx *c, yaml_node_t *n, const char *what, double *out) {
  lam__val v;
  if (value(c, n, what, &v)) return -1;
  if (v.kind != LAM__V_NUM) return fail(c, n, "%s: expected a number, found '%s'", what, text(n));
  *out = v.num;
  return 0;
}

/* A whole number in [lo, hi]. */
static int integer(ctx *c, yaml_node_t *n, const char *what, double lo, double hi, int64_t *out) {
  double d = 0;
  if (number(c, n, what, &d)) return -1;
  if (d != floor(d) || d < lo || d > hi)
    return fail(c, n, "%s: expected a whole number in [%.0f, %.0f], found %s", what, lo, hi, text(n));
  *out = (int64_t)d;
  return 0;
}

static int string(ctx *c, yaml_node_t *n, const char *what, const char **out) {
  if (want(c, n, YAML_SCALAR_NODE, what)) return -1;
  if (!*text(n)) return fail(c, n, "%s: expected a non-empty string", what);
  *out = lam__arena_strdup(c->p->arena, text(n));
  return *out ? 0 : fail(c, n, "out of memory");
}

static int param_name(ctx *c, yaml_node_t *k) {
  const char *s = text(k);
  if (!*s || strchr(s, '=') || strchr(s, ' ') || strchr(s, '\t'))
    return fail(c, k, "'%s' is not a parameter name (no spaces or '=')", s);
  return 0;
}

/* params: { key: scalar, ... } into kv[] */
static int kv_map(ctx *c, yaml_node_t *map, const char *what, lam__kv **out, int *nout) {
  if (want(c, map, YAML_MAPPING_NODE, what)) return -1;
  if (check_keys(c, map, what, NULL)) return -1;
  int n = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  lam__kv *kv = lam__arena_alloc(c->p->arena, sizeof *kv * (size_t)(n + 1));
  if (!kv) return fail(c, map, "out of memory");
  int i = 0;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++, i++) {
    yaml_node_t *k = node(c, pr->key);
    if (param_name(c, k)) return -1;
    kv[i].key = lam__arena_strdup(c->p->arena, text(k));
    kv[i].line = line_of(k);
    kv[i].col = col_of(k);
    char w[300];
    snprintf(w, sizeof w, "parameter '%s'", text(k));
    if (value(c, node(c, pr->value), w, &kv[i].v)) return -1;
  }
  *out = kv;
  *nout = n;
  return 0;
}

/* The keys of a grid, a zip or random's params, each with its value node
 * handed to `fn`; `what` names them in messages ("grid parameter 'a'"). */
typedef int (*axis_fn)(ctx *c, yaml_node_t *v, const char *what, lam__axis *ax, lam__factor *f);
static int param_axes(ctx *c, yaml_node_t *map, const char *where, const char *form, lam__factor *f,
                      axis_fn fn) {
  if (want(c, map, YAML_MAPPING_NODE, where)) return -1;
  if (check_keys(c, map, where, NULL)) return -1;
  int n = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  if (!n) return fail(c, map, "%s: names no parameter", where);
  f->axes = lam__arena_alloc(c->p->arena, sizeof *f->axes * (size_t)n);
  if (!f->axes) return fail(c, map, "out of memory");
  f->naxes = n;
  int i = 0;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++, i++) {
    yaml_node_t *k = node(c, pr->key);
    if (param_name(c, k)) return -1;
    lam__axis *ax = &f->axes[i];
    ax->key = lam__arena_strdup(c->p->arena, text(k));
    ax->line = line_of(k);
    ax->col = col_of(k);
    char w[300];
    snprintf(w, sizeof w, "%s parameter '%s'", form, text(k));
    if (fn(c, node(c, pr->value), w, ax, f)) return -1;
  }
  return 0;
}

/* A non-empty list of values (grid, zip, choice). */
static int values(ctx *c, yaml_node_t *v, const char *w, lam__axis *ax) {
  if (want(c, v, YAML_SEQUENCE_NODE, w)) return -1;
  int m = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
  if (!m) return fail(c, v, "%s: the list of values is empty", w);
  ax->vals = lam__arena_alloc(c->p->arena, sizeof *ax->vals * (size_t)m);
  if (!ax->vals) return fail(c, v, "out of memory");
  ax->nvals = m;
  for (int j = 0; j < m; j++)
    if (value(c, node(c, v->data.sequence.items.start[j]), w, &ax->vals[j])) return -1;
  return 0;
}

static int grid_axis(ctx *c, yaml_node_t *v, const char *w, lam__axis *ax, lam__factor *f) {
  (void)f;
  return values(c, v, w, ax);
}

static int zip_axis(ctx *c, yaml_node_t *v, const char *w, lam__axis *ax, lam__factor *f) {
  if (values(c, v, w, ax)) return -1;
  if (ax->nvals != f->axes[0].nvals)
    return fail(c, v, "zip: '%s' has %d values but '%s' has %d; zipped lists must be equally long",
                ax->key, ax->nvals, f->axes[0].key, f->axes[0].nvals);
  return 0;
}

/* list: [ {key: value, ...}, ... ] */
static int list(ctx *c, yaml_node_t *seq, lam__factor *f) {
  if (want(c, seq, YAML_SEQUENCE_NODE, "list")) return -1;
  int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  if (!n) return fail(c, seq, "list: no points");
  f->points = lam__arena_alloc(c->p->arena, sizeof *f->points * (size_t)n);
  f->point_len = lam__arena_alloc(c->p->arena, sizeof *f->point_len * (size_t)n);
  if (!f->points || !f->point_len) return fail(c, seq, "out of memory");
  f->npoints = n;
  for (int i = 0; i < n; i++) {
    yaml_node_t *m = node(c, seq->data.sequence.items.start[i]);
    if (kv_map(c, m, "a list point", &f->points[i], &f->point_len[i])) return -1;
  }
  return 0;
}

static const char *const dist_names[] = {"uniform", "log-uniform", "normal", "choice", "integer", NULL};

/* random: { dist: [args] } for one parameter. */
static int dist_axis(ctx *c, yaml_node_t *d, const char *w, lam__axis *ax, lam__factor *f) {
  (void)f;
  if (want(c, d, YAML_MAPPING_NODE, w)) return -1;
  if (check_keys(c, d, w, dist_names)) return -1;
  int nd = (int)(d->data.mapping.pairs.top - d->data.mapping.pairs.start);
  if (nd != 1)
    return fail(c, d, "%s: give exactly one distribution (uniform, log-uniform, normal, choice, integer)", w);
  const char *dn = text(node(c, d->data.mapping.pairs.start->key));
  yaml_node_t *args = node(c, d->data.mapping.pairs.start->value);
  for (int j = 0; dist_names[j]; j++)
    if (!strcmp(dn, dist_names[j])) ax->dist = j + 1;
  char wd[400];
  snprintf(wd, sizeof wd, "%s %s", w, dn);
  if (want(c, args, YAML_SEQUENCE_NODE, wd)) return -1;
  int m = (int)(args->data.sequence.items.top - args->data.sequence.items.start);
  yaml_node_item_t *it = args->data.sequence.items.start;
  if (ax->dist == LAM__D_CHOICE) return values(c, args, wd, ax);
  static const char *const two[] = {"", "[low, high]", "[low, high] with 0 < low", "[mean, sd]", "",
                                    "[low, high] (whole numbers, both included)"};
  if (m != 2) return fail(c, args, "%s: expected two numbers %s", wd, two[ax->dist]);
  if (number(c, node(c, it[0]), wd, &ax->a) || number(c, node(c, it[1]), wd, &ax->b)) return -1;
  if (ax->dist == LAM__D_NORMAL) {
    if (ax->b < 0) return fail(c, node(c, it[1]), "%s: the sd must be >= 0", wd);
  } else if (!(ax->a < ax->b) && !(ax->dist == LAM__D_INTEGER && ax->a == ax->b)) {
    return fail(c, args, "%s: expected low < high, found [%g, %g]", wd, ax->a, ax->b);
  }
  if (ax->dist == LAM__D_LOGUNIFORM && ax->a <= 0)
    return fail(c, node(c, it[0]), "%s: the low bound must be > 0", wd);
  if (ax->dist == LAM__D_INTEGER && (ax->a != floor(ax->a) || ax->b != floor(ax->b)))
    return fail(c, args, "%s: the bounds must be whole numbers", wd);
  return 0;
}

/* random: { n: N, seed: S, params: { key: { uniform: [a, b] }, ... } } */
static int random_form(ctx *c, yaml_node_t *map, lam__factor *f) {
  static const char *const keys[] = {"n", "seed", "params", NULL};
  if (want(c, map, YAML_MAPPING_NODE, "random")) return -1;
  if (check_keys(c, map, "random", keys)) return -1;
  yaml_node_t *params = NULL;
  int have_n = 0;
  f->seed = c->p->seed;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
    const char *k = text(node(c, pr->key));
    yaml_node_t *v = node(c, pr->value);
    int64_t x;
    if (!strcmp(k, "n")) {
      if (integer(c, v, "random n", 1, 1e7, &x)) return -1;
      f->n = x;
      have_n = 1;
    } else if (!strcmp(k, "seed")) {
      if (integer(c, v, "random seed", 0, 9007199254740991.0, &x)) return -1;
      f->seed = (uint64_t)x;
    } else {
      params = v;
    }
  }
  if (!have_n) return fail(c, map, "random: 'n' (the number of samples) is missing");
  if (!params) return fail(c, map, "random: 'params' (the distributions) is missing");
  return param_axes(c, params, "random params", "random", f, dist_axis);
}

static const char *const sweep_keys[] = {"grid", "list", "zip", "random", "product", "union",
                                         "replicates", NULL};

static int sweep_map(ctx *c, yaml_node_t *map, int top, lam__sweep **out);

static int subs(ctx *c, yaml_node_t *seq, const char *form, lam__factor *f) {
  if (want(c, seq, YAML_SEQUENCE_NODE, form)) return -1;
  int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  if (!n) return fail(c, seq, "%s: the list of sweeps is empty", form);
  f->sub = lam__arena_alloc(c->p->arena, sizeof *f->sub * (size_t)n);
  if (!f->sub) return fail(c, seq, "out of memory");
  f->nsub = n;
  for (int i = 0; i < n; i++)
    if (sweep_map(c, node(c, seq->data.sequence.items.start[i]), 0, &f->sub[i])) return -1;
  return 0;
}

static int sweep_map(ctx *c, yaml_node_t *map, int top, lam__sweep **out) {
  if (want(c, map, YAML_MAPPING_NODE, "sweep")) return -1;
  if (check_keys(c, map, "sweep", sweep_keys)) return -1;
  lam__sweep *s = lam__arena_alloc(c->p->arena, sizeof *s);
  int n = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  if (!s || !(s->factors = lam__arena_alloc(c->p->arena, sizeof *s->factors * (size_t)(n + 1))))
    return fail(c, map, "out of memory");
  s->line = line_of(map);
  s->col = col_of(map);
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = node(c, pr->key), *v = node(c, pr->value);
    const char *form = text(k);
    if (!strcmp(form, "replicates")) {
      if (!top)
        return fail(c, k, "replicates: only at the top level of sweep (it multiplies the whole sweep)");
      int64_t r;
      if (integer(c, v, "replicates", 1, 1e6, &r)) return -1;
      c->p->replicates = (int)r;
      continue;
    }
    lam__factor *f = &s->factors[s->nfactors++];
    f->line = line_of(k);
    f->col = col_of(k);
    int rc;
    if (!strcmp(form, "grid")) {
      f->kind = LAM__S_GRID;
      rc = param_axes(c, v, "grid", "grid", f, grid_axis);
    } else if (!strcmp(form, "zip")) {
      f->kind = LAM__S_ZIP;
      rc = param_axes(c, v, "zip", "zip", f, zip_axis);
    } else if (!strcmp(form, "list")) {
      f->kind = LAM__S_LIST;
      rc = list(c, v, f);
    } else if (!strcmp(form, "random")) {
      f->kind = LAM__S_RANDOM;
      rc = random_form(c, v, f);
    } else if (!strcmp(form, "product")) {
      f->kind = LAM__S_PRODUCT;
      rc = subs(c, v, "product", f);
    } else {
      f->kind = LAM__S_UNION;
      rc = subs(c, v, "union", f);
    }
    if (rc) return -1;
  }
  *out = s;
  return 0;
}

static int pins(ctx *c, yaml_node_t *seq) {
  static const char *const keys[] = {"name", "sha256", "min_version", NULL};
  if (want(c, seq, YAML_SEQUENCE_NODE, "plugins")) return -1;
  int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
  c->p->pins = lam__arena_alloc(c->p->arena, sizeof *c->p->pins * (size_t)(n + 1));
  if (!c->p->pins) return fail(c, seq, "out of memory");
  for (int i = 0; i < n; i++) {
    yaml_node_t *m = node(c, seq->data.sequence.items.start[i]);
    if (want(c, m, YAML_MAPPING_NODE, "a plugins entry") || check_keys(c, m, "a plugins entry", keys))
      return -1;
    lam__pin *pin = &c->p->pins[c->p->npins++];
    pin->line = line_of(m);
    pin->col = col_of(m);
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
      const char *k = text(node(c, pr->key));
      yaml_node_t *v = node(c, pr->value);
      const char **dst = !strcmp(k, "name") ? &pin->name : !strcmp(k, "sha256") ? &pin->sha256 : &pin->min_version;
      if (string(c, v, k, dst)) return -1;
      if (!strcmp(k, "sha256") && (strlen(*dst) != 64 || strspn(*dst, "0123456789abcdefABCDEF") != 64))
        return fail(c, v, "sha256: expected 64 hexadecimal digits (see `lamina plugins`), found '%s'", *dst);
    }
    if (!pin->name) return fail(c, m, "a plugins entry needs a 'name'");
    if (!pin->sha256 && !pin->min_version)
      return fail(c, m, "plugin '%s': give 'sha256' (and/or 'min_version') to pin it", pin->name);
  }
  return 0;
}

/* "HH:MM:SS", "MM:SS", "D-HH:MM:SS" or a number of minutes. */
static int duration(ctx *c, yaml_node_t *v, long *out) {
  if (want(c, v, YAML_SCALAR_NODE, "slurm time")) return -1;
  const char *s = text(v);
  long d = 0, f[3] = {0, 0, 0};
  int nf = 0;
  char tail;
  if (sscanf(s, "%ld-%ld:%ld:%ld%c", &d, &f[0], &f[1], &f[2], &tail) == 4) {
    *out = ((d * 24 + f[0]) * 60 + f[1]) * 60 + f[2];
  } else if ((nf = sscanf(s, "%ld:%ld:%ld%c", &f[0], &f[1], &f[2], &tail)) == 3) {
    *out = (f[0] * 60 + f[1]) * 60 + f[2];
  } else if (nf == 2 && strchr(s, ':')) {
    *out = f[0] * 60 + f[1];
  } else if (strspn(s, "0123456789") == strlen(s) && *s) {
    *out = atol(s) * 60;
  } else {
    return fail(c, v, "slurm time: expected HH:MM:SS, D-HH:MM:SS or minutes, found '%s'", s);
  }
  if (*out <= 0) return fail(c, v, "slurm time: must be positive");
  return 0;
}

static int slurm(ctx *c, yaml_node_t *m) {
  static const char *const keys[] = {"time", "max_array", "concurrent", "cpus_per_task", "partition",
                                     "account", "mem", "extra", NULL};
  if (want(c, m, YAML_MAPPING_NODE, "slurm") || check_keys(c, m, "slurm", keys)) return -1;
  lam__slurm *s = &c->p->slurm;
  for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
    const char *k = text(node(c, pr->key));
    yaml_node_t *v = node(c, pr->value);
    int64_t x;
    int rc = 0;
    if (!strcmp(k, "time")) {
      rc = duration(c, v, &s->time_s);
    } else if (!strcmp(k, "max_array")) {
      rc = integer(c, v, "slurm max_array", 1, 1e7, &x);
      s->max_array = (int)x;
    } else if (!strcmp(k, "concurrent")) {
      rc = integer(c, v, "slurm concurrent", 1, 1e7, &x);
      s->concurrent = (int)x;
    } else if (!strcmp(k, "cpus_per_task")) {
      rc = integer(c, v, "slurm cpus_per_task", 1, 4096, &x);
      s->cpus = (int)x;
    } else if (!strcmp(k, "extra")) {
      if (want(c, v, YAML_SEQUENCE_NODE, "slurm extra")) return -1;
      int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
      s->extra = lam__arena_alloc(c->p->arena, sizeof *s->extra * (size_t)(n + 1));
      if (!s->extra) return fail(c, v, "out of memory");
      for (int i = 0; i < n && !rc; i++) rc = string(c, node(c, v->data.sequence.items.start[i]), "slurm extra", &s->extra[s->nextra++]);
    } else {
      rc = string(c, v, k, !strcmp(k, "partition") ? &s->partition : !strcmp(k, "account") ? &s->account : &s->mem);
    }
    if (rc) return -1;
  }
  return 0;
}

static const char *join(lam__arena *a, const char *dir, const char *rel) {
  if (rel[0] == '/' || !strcmp(dir, ".")) return lam__arena_strdup(a, rel);
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *s = lam__arena_alloc(a, n);
  if (s) snprintf(s, n, "%s/%s", dir, rel);
  return s;
}

static int top(ctx *c, yaml_node_t *root) {
  static const char *const keys[] = {"name", "description", "script", "seed", "params", "sweep",
                                     "out", "plugins", "slurm", NULL};
  lam__protocol *p = c->p;
  if (!root) return fail(c, NULL, "the protocol is empty; it needs at least 'script'");
  if (want(c, root, YAML_MAPPING_NODE, "the protocol")) return -1;
  if (check_keys(c, root, "the protocol", keys)) return -1;
  yaml_node_t *sweep = NULL;
  const char *out = NULL, *script = NULL;
  /* seed first: random samples default to it */
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++)
    if (!strcmp(text(node(c, pr->key)), "seed")) {
      int64_t s;
      if (integer(c, node(c, pr->value), "seed", 0, 9007199254740991.0, &s)) return -1;
      p->seed = (uint64_t)s;
    }
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *kn = node(c, pr->key), *v = node(c, pr->value);
    const char *k = text(kn);
    int rc = 0;
    if (!strcmp(k, "name")) rc = string(c, v, "name", &p->name);
    else if (!strcmp(k, "description")) rc = string(c, v, "description", &p->description);
    else if (!strcmp(k, "script")) {
      rc = string(c, v, "script", &script);
      p->script_line = line_of(v);
      p->script_col = col_of(v);
    } else if (!strcmp(k, "out")) rc = string(c, v, "out", &out);
    else if (!strcmp(k, "params")) rc = kv_map(c, v, "params", &p->params, &p->nparams);
    else if (!strcmp(k, "sweep")) sweep = v;
    else if (!strcmp(k, "plugins")) rc = pins(c, v);
    else if (!strcmp(k, "slurm")) rc = slurm(c, v);
    if (rc) return -1;
  }
  if (!script) return fail(c, root, "the protocol names no 'script' (the Lua script each point runs)");
  if (!p->name) {
    /* default name: the protocol file's base name without .yaml */
    const char *b = strrchr(p->file, '/');
    b = b ? b + 1 : p->file;
    char *nm = lam__arena_strdup(p->arena, b);
    char *dot = nm ? strrchr(nm, '.') : NULL;
    if (dot && dot != nm) *dot = '\0';
    p->name = nm;
  }
  for (const char *q = p->name; *q; q++)
    if (*q == '/' || *q == ' ')
      return fail(c, root, "name '%s': no '/' or spaces (it names directories and jobs)", p->name);
  p->script = join(p->arena, p->dir, script);
  if (!out) {
    char def[PATH_MAX];
    snprintf(def, sizeof def, "runs/%s", p->name);
    p->out = join(p->arena, p->dir, def);
  } else {
    p->out = join(p->arena, p->dir, out);
  }
  if (sweep && sweep_map(c, sweep, 1, &p->sweep)) return -1;
  return 0;
}

lam__protocol *lam__protocol_load(const char *path, char *err, size_t errn) {
  lam__arena *a = lam__arena_new();
  lam__protocol *p = a ? lam__arena_alloc(a, sizeof *p) : NULL;
  if (!p) {
    snprintf(err, errn, "out of memory");
    lam__arena_free(a);
    return NULL;
  }
  p->arena = a;
  p->file = lam__arena_strdup(a, path);
  char *dir = lam__arena_strdup(a, path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) dir[1] = '\0';
  else if (slash) *slash = '\0';
  else dir = lam__arena_strdup(a, ".");
  p->dir = dir;
  p->seed = 1;
  p->replicates = 1;
  p->slurm.max_array = 1000;
  p->slurm.cpus = 1;

  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errn, "%s: cannot open the protocol: %s", path, strerror(errno));
    lam__arena_free(a);
    return NULL;
  }
  yaml_parser_t parser;
  ctx c = {.p = p, .err = err, .errn = errn};
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  int rc;
  if (!yaml_parser_load(&parser, &c.doc)) {
    snprintf(err, errn, "%s:%d:%d: %s%s%s", path, (int)parser.problem_mark.line + 1,
             (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML",
             parser.context ? " " : "", parser.context ? parser.context : "");
    rc = -1;
  } else {
    rc = top(&c, yaml_document_get_root_node(&c.doc));
    yaml_document_delete(&c.doc);
  }
  yaml_parser_delete(&parser);
  fclose(f);
  if (rc) {
    lam__arena_free(a);
    return NULL;
  }
  return p;
}

void lam__protocol_free(lam__protocol *p) {
  if (p) lam__arena_free(p->arena);
}
