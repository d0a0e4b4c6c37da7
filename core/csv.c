/*
 * csv.c - CSV/TSV files of numbers (plain or gzip'd) into a [rows, columns]
 * buffer, with an optional header row of column names.
 *
 * The file is read line by line through the gzip-or-plain layer of idx.c;
 * values go into a block that grows as rows arrive, so memory follows the
 * data actually read (at most 8 bytes per value, and every value takes at
 * least two bytes of text, so at most 4x the decompressed text, plus the
 * longest line).  Numbers are parsed with strtod_l in the "C" locale so a
 * host that called setlocale() still reads "1.5" as one and a half.
 * Multi-line quoted fields are not supported: every row is one line, which
 * is what numeric tables (NumPy, pandas, R, MATLAB) write.
 */
#include "lamina.h"
#include "lam_int.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_CHUNK 65536
/* Cells quoted in messages are cut to this many bytes. */
#define SHOW 40

/* ------------------------------------------------------------------ */
/* Lines                                                                */
/* ------------------------------------------------------------------ */

typedef struct reader {
  lam__gz g;
  uint8_t chunk[CSV_CHUNK];
  size_t pos, len;
  int eof;
  char *line;       /* the current line, NUL-terminated, without "\r\n" */
  size_t n, cap;
  int64_t lineno;   /* 1-based number of the current line */
} reader;

static int line_put(reader *r, const uint8_t *p, size_t k) {
  if (r->n + k + 1 > r->cap) {
    size_t ncap = r->cap ? r->cap : 256;
    while (ncap < r->n + k + 1) ncap *= 2;
    char *q = realloc(r->line, ncap);
    if (!q) return lam_set_error(LAM_ENOMEM, "%s:%lld: out of memory for a line", r->g.where,
                                 (long long)r->lineno);
    r->line = q;
    r->cap = ncap;
  }
  memcpy(r->line + r->n, p, k);
  r->n += k;
  r->line[r->n] = '\0';
  return LAM_OK;
}

/* 1 with the next line in r->line, 0 at the end of the file, or a negative
 * status (read error, corrupt gzip). */
static int next_line(reader *r) {
  r->n = 0;
  int any = 0;
  if (line_put(r, (const uint8_t *)"", 0)) return LAM_ENOMEM;
  for (;;) {
    if (r->pos == r->len) {
      if (r->eof) break;
      int64_t got = lam__gz_read(&r->g, r->chunk, sizeof r->chunk);
      if (got < 0) return (int)got;
      if (got == 0) {
        r->eof = 1;
        break;
      }
      r->pos = 0;
      r->len = (size_t)got;
    }
    any = 1;
    const uint8_t *s = r->chunk + r->pos;
    const uint8_t *nl = memchr(s, '\n', r->len - r->pos);
    size_t k = nl ? (size_t)(nl - s) : r->len - r->pos;
    if (line_put(r, s, k)) return LAM_ENOMEM;
    r->pos += k + (nl != NULL);
    if (nl) break;
  }
  if (!any) return 0;
  r->lineno++;
  if (r->n && r->line[r->n - 1] == '\r') r->line[--r->n] = '\0';
  /* A UTF-8 byte-order mark (Excel writes one) is not part of the data. */
  if (r->lineno == 1 && r->n >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
    memmove(r->line, r->line + 3, r->n - 2);
    r->n -= 3;
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Cells                                                                */
/* ------------------------------------------------------------------ */

typedef struct cell {
  size_t start, len;  /* the text (unquoted, in place) within the line */
  size_t col;         /* 1-based column where the cell begins */
} cell;

typedef struct cells {
  cell *c;
  size_t n, cap;
} cells;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Copies at most SHOW bytes of s into out with non-printing bytes as '?',
 * so a message stays one printable line. */
static const char *shown(const char *s, size_t n, char out[SHOW + 4]) {
  size_t k = n < SHOW ? n : SHOW, i;
  for (i = 0; i < k; i++) out[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
  if (n > SHOW) memcpy(out + i, "...", 3), i += 3;
  out[i] = '\0';
  return out;
}

static int push(reader *r, cells *cs, size_t start, size_t len, size_t col) {
  if (cs->n == cs->cap) {
    size_t ncap = cs->cap ? cs->cap * 2 : 16;
    cell *q = realloc(cs->c, ncap * sizeof *q);
    if (!q) return lam_set_error(LAM_ENOMEM, "%s:%lld: out of memory", r->g.where,
                                 (long long)r->lineno);
    cs->c = q;
    cs->cap = ncap;
  }
  cs->c[cs->n++] = (cell){start, len, col};
  return LAM_OK;
}

/* A quoted cell starting at line[*i] == '"': unescapes "" in place (only
 * when `unescape`: delimiter detection must leave the line as it is) and
 * leaves *i after the closing quote. */
static int quoted(reader *r, size_t *i, size_t *len, int unescape) {
  char *s = r->line;
  size_t open = *i, o = *i + 1, k = *i + 1;
  for (;;) {
    if (k >= r->n)
      return lam_set_error(LAM_EINVAL, "%s:%lld:%zu: unterminated quote", r->g.where,
                           (long long)r->lineno, open + 1);
    if (s[k] == '"') {
      if (k + 1 < r->n && s[k + 1] == '"') {
        if (unescape) s[o] = '"';
        o++;
        k += 2;
        continue;
      }
      break;
    }
    if (unescape) s[o] = s[k];
    o++, k++;
  }
  *len = o - (open + 1);
  *i = k + 1;
  return LAM_OK;
}

/* Splits the current line into cells.  delim ' ' means runs of blanks;
 * otherwise cells are separated by exactly one delim and blanks around a
 * cell are dropped.  Quoted cells are unescaped in place when `unescape`. */
static int split(reader *r, char delim, cells *cs, int unescape) {
  const char *s = r->line;
  size_t i = 0, n = r->n;
  cs->n = 0;
  for (;;) {
    while (i < n && is_blank(s[i]) && (delim == ' ' || s[i] != delim)) i++;
    if (delim == ' ' && i == n) break;
    size_t col = i + 1, start = i, len = 0;
    if (i < n && s[i] == '"') {
      if (quoted(r, &i, &len, unescape)) return LAM_EINVAL;
      start = col;  /* the unquoted text begins after the quote */
      /* Blanks may follow before the delimiter; with blank runs as the
       * delimiter, one blank (or the end) must follow. */
      if (delim != ' ')
        while (i < n && is_blank(s[i]) && s[i] != delim) i++;
      if (i < n && (delim == ' ' ? !is_blank(s[i]) : s[i] != delim)) {
        char buf[SHOW + 4];
        return lam_set_error(LAM_EINVAL, "%s:%lld:%zu: text after a closing quote: '%s'",
                             r->g.where, (long long)r->lineno, i + 1,
                             shown(s + i, n - i, buf));
      }
    } else {
      while (i < n && s[i] != delim && !(delim == ' ' && is_blank(s[i]))) i++;
      len = i - start;
      while (len && is_blank(s[start + len - 1])) len--;
    }
    if (push(r, cs, start, len, col)) return LAM_ENOMEM;
    if (delim == ' ') continue;
    if (i >= n) break;
    i++;  /* past the delimiter: a cell follows, even an empty one */
  }
  return LAM_OK;
}

/* The delimiter of a file whose first line is r->line (see lamina.h). */
static char detect_delim(reader *r, cells *cs) {
  static const char cand[] = {',', '\t', ';'};
  size_t count[3] = {0, 0, 0};
  int inq = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (r->line[i] == '"') inq = !inq;
    for (int k = 0; k < 3 && !inq; k++) count[k] += r->line[i] == cand[k];
  }
  int best = 0;
  for (int k = 1; k < 3; k++)
    if (count[k] > count[best]) best = k;
  if (count[best]) return cand[best];
  /* No separator character: blanks separate fields (np.savetxt's default)
   * when there are several fields, otherwise it is a single column.  A
   * quoting error here is reported later by the real split. */
  if (split(r, ' ', cs, 0) == LAM_OK && cs->n > 1) return ' ';
  return ',';
}

/* ------------------------------------------------------------------ */
/* Numbers                                                              */
/* ------------------------------------------------------------------ */

/* Parses the cell as a number: 0 on success, 1 when it is not one, -1 when
 * it overflows the dtype. */
static int number(char *s, size_t len, int32_t dtype, locale_t loc, double *out) {
  if (len == 0) return 1;
  size_t k = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  /* strtod also takes hex ("0x1p3") and leading blanks; tables never
   * mean those, so only decimal digits, '.', or nan/inf words start a
   * number here. */
  int word = k < len && (strncasecmp(s + k, "nan", 3) == 0 || strncasecmp(s + k, "inf", 3) == 0);
  if (!word && (k >= len || !((s[k] >= '0' && s[k] <= '9') || s[k] == '.'))) return 1;
  if (memchr(s, 'x', len) || memchr(s, 'X', len)) return 1;
  char save = s[len];
  s[len] = '\0';
  char *end;
  errno = 0;
  double v = dtype == LAM_F32 ? (double)strtof_l(s, &end, loc) : strtod_l(s, &end, loc);
  int e = errno;
  s[len] = save;
  if (end != s + len) return 1;
  if (e == ERANGE && isinf(v)) return -1;
  *out = v;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The loader                                                           */
/* ------------------------------------------------------------------ */

typedef struct table {
  void *v;          /* values, row-major, in the output dtype */
  size_t n, cap;    /* counts of values */
  size_t es;
} table;

static int table_add(reader *r, table *t, double v) {
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    void *q = realloc(t->v, ncap * t->es);
    if (!q) return lam_set_error(LAM_ENOMEM, "%s:%lld: out of memory after %zu values",
                                 r->g.where, (long long)r->lineno, t->n);
    t->v = q;
    t->cap = ncap;
  }
  if (t->es == 4)
    ((float *)t->v)[t->n++] = (float)v;
  else
    ((double *)t->v)[t->n++] = v;
  return LAM_OK;
}

/* The header's names joined by '\n', or NULL with an error. */
static char *join_names(reader *r, const cells *cs) {
  size_t total = 1;
  for (size_t j = 0; j < cs->n; j++) total += cs->c[j].len + 1;
  char *out = malloc(total), *o = out;
  if (!out) {
    lam_set_error(LAM_ENOMEM, "%s: out of memory", r->g.where);
    return NULL;
  }
  for (size_t j = 0; j < cs->n; j++) {
    const char *s = r->line + cs->c[j].start;
    if (memchr(s, '\0', cs->c[j].len)) {
      free(out);
      lam_set_error(LAM_EINVAL, "%s:%lld:%zu: NUL byte in a column name", r->g.where,
                    (long long)r->lineno, cs->c[j].col);
      return NULL;
    }
    if (j) *o++ = '\n';
    memcpy(o, s, cs->c[j].len);
    o += cs->c[j].len;
  }
  *o = '\0';
  return out;
}

static int check_opts(const lam_csv_opts *o, const char *where) {
  if (o->header < LAM_CSV_HEADER_AUTO || o->header > LAM_CSV_HEADER_NO)
    return lam_set_error(LAM_EINVAL, "%s: header option %d (expected 0 auto, 1 yes, 2 no)",
                         where, (int)o->header);
  if (o->delimiter && !(o->delimiter > 0 && o->delimiter < 128 && strchr(",\t;|: ", o->delimiter)))
    return lam_set_error(LAM_EINVAL,
                         "%s: delimiter %d (expected 0 to detect, or one of , tab ; | : space)",
                         where, (int)o->delimiter);
  if (o->dtype && o->dtype != LAM_F64 && o->dtype != LAM_F32)
    return lam_set_error(LAM_EINVAL, "%s: dtype %d (expected 0, LAM_F64 or LAM_F32)", where,
                         (int)o->dtype);
  if (o->reserved)
    return lam_set_error(LAM_EINVAL, "%s: reserved option field must be 0", where);
  return LAM_OK;
}

lam_buf *lam_csv_load(const char *path, const lam_csv_opts *opts, char **names) {
  static const lam_csv_opts defaults = {0, 0, 0, 0};
  const lam_csv_opts *o = opts ? opts : &defaults;
  if (names) *names = NULL;
  reader *r = calloc(1, sizeof *r);
  if (!r) {
    lam_set_error(LAM_ENOMEM, "csv: out of memory");
    return NULL;
  }
  lam_buf *b = NULL;
  char *hdr = NULL;
  cells cs = {0};
  table t = {0};
  int32_t dtype = o->dtype ? o->dtype : LAM_F64;
  t.es = lam_dtype_size(dtype);
  locale_t loc = (locale_t)0;
  if (lam__gz_open(&r->g, path, "csv")) goto out;
  if (check_opts(o, r->g.where)) goto out;
  if (!(loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0))) {
    lam_set_error(LAM_ENOMEM, "%s: cannot create the C locale", r->g.where);
    goto out;
  }
  char delim = (char)o->delimiter;
  size_t ncols = 0;
  int64_t rows = 0, blank_at = 0;
  int rc;
  while ((rc = next_line(r)) == 1) {
    size_t k = 0;
    while (k < r->n && is_blank(r->line[k])) k++;
    if (k == r->n) {
      /* Blank lines are fine only at the end; remember the first one. */
      if (!blank_at) blank_at = r->lineno;
      continue;
    }
    if (blank_at) {
      lam_set_error(LAM_EINVAL, "%s:%lld:1: blank line before more data (line %lld)",
                    r->g.where, (long long)blank_at, (long long)r->lineno);
      goto out;
    }
    int first = ncols == 0;
    if (first && !delim) delim = detect_delim(r, &cs);
    if (split(r, delim, &cs, 1)) goto out;
    if (first) {
      ncols = cs.n;
      int header = o->header == LAM_CSV_HEADER_YES;
      if (o->header == LAM_CSV_HEADER_AUTO) {
        for (size_t j = 0; j < cs.n && !header; j++) {
          double v;
          header = cs.c[j].len > 0 &&
                   number(r->line + cs.c[j].start, cs.c[j].len, dtype, loc, &v) == 1;
        }
      }
      if (header) {
        if (!(hdr = join_names(r, &cs))) goto out;
        continue;
      }
    } else if (cs.n != ncols) {
      size_t col = cs.n > ncols ? cs.c[ncols].col : r->n + 1;
      lam_set_error(LAM_EINVAL, "%s:%lld:%zu: row has %zu cells, expected %zu (as in row 1)",
                    r->g.where, (long long)r->lineno, col, cs.n, ncols);
      goto out;
    }
    for (size_t j = 0; j < cs.n; j++) {
      double v = 0;
      char *s = r->line + cs.c[j].start;
      int bad = number(s, cs.c[j].len, dtype, loc, &v);
      if (bad) {
        char buf[SHOW + 4];
        lam_set_error(LAM_EINVAL, "%s:%lld:%zu: %s '%s'%s", r->g.where, (long long)r->lineno,
                      cs.c[j].col,
                      cs.c[j].len == 0 ? "empty cell" : bad < 0 ? "number out of range for"
                                                                : "not a number:",
                      cs.c[j].len == 0 ? "" : shown(s, cs.c[j].len, buf),
                      bad < 0 ? (dtype == LAM_F32 ? " (f32)" : " (f64)") : "");
        goto out;
      }
      if (table_add(r, &t, v)) goto out;
    }
    rows++;
  }
  if (rc < 0) goto out;
  if (ncols == 0) {
    lam_set_error(LAM_EINVAL, "%s: empty file (no rows)", r->g.where);
    goto out;
  }
  int64_t shape[2] = {rows, (int64_t)ncols};
  if (!(b = lam_buf_new(dtype, 2, shape))) {
    lam_set_error(LAM_ENOMEM, "%s: cannot allocate %lld x %zu values", r->g.where,
                  (long long)rows, ncols);
    goto out;
  }
  if (t.n) memcpy(b->data, t.v, t.n * t.es);
  if (names) {
    *names = hdr;
    hdr = NULL;
  }
out:
  if (loc) freelocale(loc);
  lam__gz_close(&r->g);
  free(r->line);
  free(r);
  free(cs.c);
  free(t.v);
  free(hdr);
  return b;
}

void lam_csv_free_names(char *names) { free(names); }
