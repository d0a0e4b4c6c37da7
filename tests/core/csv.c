/*
 * csv.c - tests of the CSV/TSV reader (core/csv.c): header detection and
 * forcing, delimiter detection (',' tab ';' blanks) and explicit
 * delimiters, quoting, CRLF, BOM, trailing blank lines, f32 output, gzip'd
 * files, every malformed case with its file:line:column, and, when
 * /usr/bin/python3 has NumPy, files written by np.savetxt (plain, gzip'd,
 * with a header) and Python's csv module.  Files live in a mkdtemp
 * directory; gzip'd copies are made with the gzip command.
 */
#include "lamina.h"
#include "tap.h"
#include "tmpfiles.h"

#include <stdint.h>
#include <unistd.h>

static void put(const char *name, const char *text, size_t n) {
  write_bytes(P(name), text, n);
}
#define PUT(name, lit) put(name, lit, sizeof lit - 1)

/* Loads name with the options and checks shape, values and names. */
static int loads(const char *name, const lam_csv_opts *o, int64_t rows, int64_t cols,
                 const double *want, const char *want_names) {
  char *names = (char *)"unset";
  lam_buf *b = lam_csv_load(P(name), o, &names);
  int good = b && b->ndim == 2 && b->shape[0] == rows && b->shape[1] == cols;
  for (int64_t i = 0; good && i < rows * cols; i++) {
    double g = lam_buf_get(b, i);
    good = g == want[i] || (isnan(g) && isnan(want[i]));
  }
  if (want_names)
    good = good && names && strcmp(names, want_names) == 0;
  else
    good = good && names == NULL;
  if (!good)
    diag("  %s: %s (names: %s)", name, b ? "wrong result" : lam_last_error(),
         names ? names : "NULL");
  lam_buf_free(b);
  if (b) lam_csv_free_names(names);
  return good;
}

static void test_good(void) {
  static const double v6[] = {1, 2, 3, 4.5, -600, NAN};
  PUT("header.csv", "a,b,\"c d\"\n1,2,3\n4.5,-6e2,nan\n");
  ok(loads("header.csv", NULL, 2, 3, v6, "a\nb\nc d"), "header detected, quoted name, nan");
  gzip_copy("header.csv");
  ok(loads("header.csv.gz", NULL, 2, 3, v6, "a\nb\nc d"), "the same file gzip'd");
  PUT("plain.csv", "1,2,3\n4.5,-6e2,NaN\n\n  \n\n");
  ok(loads("plain.csv", NULL, 2, 3, v6, NULL), "no header; blank lines at the end ignored");
  PUT("tab.tsv", "\xEF\xBB\xBFx\ty\tz\r\n1\t2\t3\r\n4.5\t-6E+2\tnan\r\n");
  ok(loads("tab.tsv", NULL, 2, 3, v6, "x\ny\nz"), "TSV with a BOM and CRLF line ends");
  PUT("semi.csv", "1;2;3\n4.5;-600;nan");
  ok(loads("semi.csv", NULL, 2, 3, v6, NULL), "';' detected; no newline at the end");
  PUT("space.txt", "1.000000000000000000e+00 2.000000000000000000e+00  3\n"
                   "  4.5\t-6.0e+02 nan  \n");
  ok(loads("space.txt", NULL, 2, 3, v6, NULL), "blank-separated (np.savetxt's default)");
  PUT("quoted.csv", "\"x,1\",\"say \"\"hi\"\"\" , z\n\"1\", 2 ,3\n 4.5 ,\"-600\",nan\n");
  ok(loads("quoted.csv", NULL, 2, 3, v6, "x,1\nsay \"hi\"\nz"),
     "quoted names with ',' and \"\", quoted numbers, blanks around cells");
  /* Detection splits the first row without unescaping it in place. */
  static const double v2[] = {1, 2};
  PUT("wsquote.txt", "\"a \"\"q\"\"\"  b\n1 2\n");
  ok(loads("wsquote.txt", NULL, 1, 2, v2, "a \"q\"\nb"), "blank-separated header with \"\" in a name");
  PUT("onequote.csv", "\"x\"\"y\"\n1\n2\n");
  ok(loads("onequote.csv", NULL, 2, 1, v2, "x\"y"), "one quoted column name with \"\"");
  static const double v1[] = {7, -0.5, 0.5, 5, INFINITY, -INFINITY};
  PUT("one.csv", "7\n-.5\n+0.5\n5.\ninf\n-Infinity\n");
  ok(loads("one.csv", NULL, 6, 1, v1, NULL), "one column without a delimiter; .5, 5., inf");
  lam_csv_opts yes = {LAM_CSV_HEADER_YES, 0, 0, 0}, no = {LAM_CSV_HEADER_NO, 0, 0, 0};
  static const double v3[] = {4.5, -600, NAN};
  ok(loads("plain.csv", &yes, 1, 3, v3, "1\n2\n3"), "header forced on a numeric first row");
  ok(loads("plain.csv", &no, 2, 3, v6, NULL), "header forced off");
  PUT("hdronly.csv", "a,b,c\n");
  ok(loads("hdronly.csv", NULL, 0, 3, NULL, "a\nb\nc"), "a header alone gives a [0, 3] buffer");
  PUT("pipe.csv", "1|2|3\n4.5|-600|nan\n");
  lam_csv_opts pipe = {0, '|', 0, 0};
  ok(loads("pipe.csv", &pipe, 2, 3, v6, NULL), "explicit '|' delimiter");
  lam_csv_opts sp = {0, ' ', 0, 0};
  ok(loads("space.txt", &sp, 2, 3, v6, NULL), "explicit ' ' (runs of blanks)");
  lam_csv_opts comma = {LAM_CSV_HEADER_NO, ',', 0, 0};
  PUT("wide.csv", "1 2\n");
  ok(!lam_csv_load(P("wide.csv"), &comma, NULL) &&
         strstr(lam_last_error(), "wide.csv:1:1: not a number: '1 2'"),
     "explicit ',' keeps '1 2' as one (bad) cell");
  /* f32 output rounds each value once, from the text (strtof). */
  PUT("f32.csv", "0.1,16777217,3.4e38\n");
  lam_csv_opts f32 = {0, 0, LAM_F32, 0};
  lam_buf *b = lam_csv_load(P("f32.csv"), &f32, NULL);
  ok(b && b->dtype == LAM_F32 && ((float *)b->data)[0] == 0.1f &&
         ((float *)b->data)[1] == 16777216.0f && ((float *)b->data)[2] == 3.4e38f,
     "dtype f32: values rounded to float from the text");
  lam_buf_free(b);
  /* A bigger table: 500 rows x 12 columns of distinct values. */
  FILE *f = fopen(P("big.csv"), "w");
  for (int j = 0; j < 12; j++) fprintf(f, "%scol%d", j ? "," : "", j);
  fprintf(f, "\n");
  for (int i = 0; i < 500; i++)
    for (int j = 0; j < 12; j++) fprintf(f, "%.17g%s", i * 0.1 - j * 3.25, j < 11 ? "," : "\n");
  fclose(f);
  gzip_copy("big.csv");
  b = lam_csv_load(P("big.csv.gz"), NULL, NULL);
  int good = b && b->shape[0] == 500 && b->shape[1] == 12;
  for (int i = 0; good && i < 500; i++)
    for (int j = 0; j < 12; j++) good = good && lam_buf_get(b, i * 12 + j) == i * 0.1 - j * 3.25;
  ok(good, "500 x 12 gzip'd table read exactly (%%.17g round trip)");
  lam_buf_free(b);
}

/* lam_csv_load(name) fails; the one-line message names the file and
 * contains `why` (the line:column and the cell where there is one). */
static void bad(const char *name, const lam_csv_opts *o, const char *why) {
  char *names = (char *)"unset";
  lam_buf *b = lam_csv_load(P(name), o, &names);
  const char *e = lam_last_error();
  ok(!b && names == NULL && strstr(e, P(name)) && strstr(e, why) && !strchr(e, '\n'),
     "%s refused: %s", name, why);
  if (b || !strstr(e, why)) diag("  message: %s", e);
  lam_buf_free(b);
}

static void test_bad(void) {
  PUT("empty.csv", "");
  bad("empty.csv", NULL, "empty file");
  PUT("blank.csv", "\n \n\t\n");
  bad("blank.csv", NULL, "empty file");
  PUT("short.csv", "a,b,c\n1,2,3\n4,5\n");
  bad("short.csv", NULL, "short.csv:3:4: row has 2 cells, expected 3");
  PUT("long.csv", "1,2,3\n4,5,6,7\n");
  bad("long.csv", NULL, "long.csv:2:7: row has 4 cells, expected 3");
  PUT("text.csv", "a,b\n1,2\n3,abc\n");
  bad("text.csv", NULL, "text.csv:3:3: not a number: 'abc'");
  PUT("emptycell.csv", "1,,3\n");
  bad("emptycell.csv", NULL, "emptycell.csv:1:3: empty cell");
  PUT("trail.csv", "1,2,\n");
  bad("trail.csv", NULL, "trail.csv:1:5: empty cell");
  PUT("gap.csv", "1,2\n\n3,4\n");
  bad("gap.csv", NULL, "gap.csv:2:1: blank line before more data (line 3)");
  PUT("unterminated.csv", "\"a,b\n1\n");
  bad("unterminated.csv", NULL, "unterminated.csv:1:1: unterminated quote");
  PUT("after.csv", "\"a\"x,b\n1,2\n");
  bad("after.csv", NULL, "after.csv:1:4: text after a closing quote: 'x,b'");
  PUT("hex.csv", "1,2\n1,0x10\n");
  bad("hex.csv", NULL, "hex.csv:2:3: not a number: '0x10'");
  PUT("junk.csv", "1,2\n1, 2.5abc\n");
  bad("junk.csv", NULL, "junk.csv:2:4: not a number: '2.5abc'");
  PUT("range.csv", "1,1e999\n");
  bad("range.csv", NULL, "range.csv:1:3: number out of range for '1e999' (f64)");
  PUT("range32.csv", "1e39\n");
  lam_csv_opts f32 = {0, 0, LAM_F32, 0};
  bad("range32.csv", &f32, "range32.csv:1:1: number out of range for '1e39' (f32)");
  put("nul.csv", "a\0b,c\n1,2\n", 10);
  bad("nul.csv", NULL, "nul.csv:1:1: NUL byte in a column name");
  put("nuldata.csv", "1,2\n3,\0\n", 8);
  bad("nuldata.csv", NULL, "nuldata.csv:2:3: not a number: '?'");
  lam_csv_opts no = {LAM_CSV_HEADER_NO, 0, 0, 0};
  PUT("hdr.csv", "x,y\n1,2\n");
  bad("hdr.csv", &no, "hdr.csv:1:1: not a number: 'x'");
  /* Long and binary cells are shown cut and printable. */
  PUT("longcell.csv", "1\nabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\x01\n");
  bad("longcell.csv", NULL, "longcell.csv:2:1: not a number: 'abcdefghijklmnopqrstuvwxyzabcdefghijklmn...'");
  lam_csv_opts o1 = {3, 0, 0, 0}, o2 = {0, 'x', 0, 0}, o3 = {0, 0, LAM_I32, 0}, o4 = {0, 0, 0, 1};
  bad("hdr.csv", &o1, "header option 3");
  bad("hdr.csv", &o2, "delimiter 120");
  bad("hdr.csv", &o3, "dtype 3");
  bad("hdr.csv", &o4, "reserved");
  ok(!lam_csv_load(NULL, NULL, NULL) && strstr(lam_last_error(), "NULL"), "NULL path refused");
  lam_buf *b = lam_csv_load(P("nope.csv"), NULL, NULL);
  ok(!b && strstr(lam_last_error(), "nope.csv: No such file"), "missing file named");
  ok(!lam_csv_load(tmp_dir_, NULL, NULL) && strstr(lam_last_error(), "not a regular file"),
     "a directory is refused");
  /* gzip problems. */
  FILE *f = fopen(P("z.csv"), "w");
  for (int i = 0; i < 2000; i++) fprintf(f, "%d,%d\n", i, i * i);
  fclose(f);
  gzip_copy("z.csv");
  f = fopen(P("z.csv.gz"), "rb");
  uint8_t buf[65536];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  put("cut.csv.gz", (const char *)buf, n / 2);
  bad("cut.csv.gz", NULL, "truncated gzip stream (unexpected end of file)");
  buf[n - 7] ^= 0x20;
  put("crc.csv.gz", (const char *)buf, n);
  bad("crc.csv.gz", NULL, "corrupt gzip stream (incorrect data check)");
}

static void test_python(void) {
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    skip(4, "/usr/bin/python3 with numpy not available");
    return;
  }
  int rc = tmp_python("import sys, csv, numpy as np\n"
             "D = sys.argv[1]\n"
             "a = (np.arange(60).reshape(20, 3) * 0.37 - 5) ** 3\n"
             "np.savetxt(D + '/np.txt', a)\n"
             "np.savetxt(D + '/np.csv.gz', a, delimiter=',')\n"
             "np.savetxt(D + '/nph.tsv', a, delimiter='\\t', header='p\\tq\\tr', comments='')\n"
             "with open(D + '/py.csv', 'w', newline='') as fh:\n"
             "    w = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)\n"
             "    w.writerow(['time (s)', 'x, \"raw\"', 'y'])\n"
             "    for row in a.tolist(): w.writerow(row)\n");
  ok(rc == 0, "numpy and csv wrote their files");
  double want[60];
  for (int i = 0; i < 60; i++) want[i] = pow(i * 0.37 - 5, 3);
  /* np.savetxt's %.18e and repr() both round-trip doubles, but numpy's
   * (i * 0.37 - 5) ** 3 may differ from C's pow in the last bit: compare
   * what Python computed with what it wrote, by loading both ways. */
  lam_buf *t = lam_csv_load(P("np.txt"), NULL, NULL);
  int good = t && t->shape[0] == 20 && t->shape[1] == 3;
  for (int i = 0; good && i < 60; i++)
    good = fabs(lam_buf_get(t, i) - want[i]) <= 1e-12 * fabs(want[i]) + 1e-12;
  ok(good, "np.savetxt default (blank-separated %%.18e) read (within 1e-12 relative of C's pow)");
  for (int i = 0; t && i < 60; i++) want[i] = lam_buf_get(t, i);
  ok(t && loads("np.csv.gz", NULL, 20, 3, want, NULL) &&
         loads("nph.tsv", NULL, 20, 3, want, "p\nq\nr"),
     "np.savetxt gzip'd ',' and tab with a header give bit-identical values");
  ok(t && loads("py.csv", NULL, 20, 3, want, "time (s)\nx, \"raw\"\ny"),
     "Python csv module (QUOTE_NONNUMERIC, repr floats) read bit-identically");
  lam_buf_free(t);
}

int main(void) {
  tap_plan(49);
  if (tmp_begin("csv")) return 1;
  test_good();
  test_bad();
  test_python();
  tmp_end();
  return tap_done();
}
