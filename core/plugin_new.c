/*
 * plugin_new.c - `lamina plugin new NAME [--dir DIR]`: writes the skeleton
 * of an out-of-tree plugin into DIR (default ./NAME): NAME.c (one
 * documented example model, NAME.leaky, with parameters with ranges and
 * units, an input and an output port, a method and checkpoints), a Makefile
 * that finds lamina with `pkg-config lamina`, a TAP test (test.t, which
 * runs `lamina plugin check` and test_NAME.lua) and a README.  As generated
 * it builds with `make` and passes `lamina plugin check NAME.so`
 * (tests/plugins/new.t checks both).
 *
 * The templates are the string literals below; "@NAME@" stands for the
 * plugin's name.  An existing DIR is never touched.
 */
#include "cmd_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char c_src[] =
    "/*\n"
    " * @NAME@.c - the @NAME@ plugin for lamina (written by `lamina plugin new`).\n"
    " *\n"
    " * One model, @NAME@.leaky: n independent leaky integrators\n"
    " *\n"
    " *     tau dx/dt = -x + gain * input\n"
    " *\n"
    " * integrated exactly for an input held constant over each step:\n"
    " *\n"
    " *     x(t + dt) = g u + (x(t) - g u) exp(-dt / tau)\n"
    " *\n"
    " * Replace it with your own model; keep the structure.  The rules a plugin\n"
    " * follows (lifecycle, ownership, errors, random streams, checkpoints,\n"
    " * versioning) are in lamina's docs/plugins.md; `make test` runs\n"
    " * `lamina plugin check` (the conformance suite) and test.t's own tests.\n"
    " *\n"
    " * A plugin includes only lamina_plugin.h, links nothing but -lm, exports\n"
    " * only lamina_plugin_init, and reaches the host only through the api table.\n"
    " */\n"
    "#include <math.h>\n"
    "#include <stdint.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include \"lamina_plugin.h\"\n"
    "\n"
    "static const lam_host_api *api; /* set once by lamina_plugin_init */\n"
    "\n"
    "/* Parameters, in the order the values arrive in ctx->params.  The host\n"
    " * checks type and range before create(), so create() may trust them. */\n"
    "enum { P_TAU, P_GAIN, P_N };\n"
    "static const lam_param_def leaky_params[] = {\n"
    "    {.name = \"tau\", .doc = \"time constant\", .units = \"ms\", .def = 10, .min = 1e-3, .max = 1e6,\n"
    "     .type = LAM_PARAM_F64},\n"
    "    {.name = \"gain\", .doc = \"steady-state response to a unit input\", .units = \"1\", .def = 1,\n"
    "     .min = -1e6, .max = 1e6, .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},\n"
    "    {.name = \"n\", .doc = \"number of units\", .units = \"\", .def = 1, .min = 1, .max = 1000000,\n"
    "     .type = LAM_PARAM_I64},\n"
    "    {.name = NULL}};\n"
    "\n"
    "/* Ports: host-allocated buffers, shaped by the parameter named in .shape. */\n"
    "enum { PORT_INPUT, PORT_X };\n"
    "static const lam_port_def leaky_ports[] = {\n"
    "    {.name = \"input\", .doc = \"drive of each unit\", .units = \"1\", .shape = \"n\", .dtype = LAM_F64,\n"
    "     .dir = LAM_PORT_IN},\n"
    "    {.name = \"x\", .doc = \"state of each unit\", .units = \"1\", .shape = \"n\", .dtype = LAM_F64,\n"
    "     .dir = LAM_PORT_OUT},\n"
    "    {.name = NULL}};\n"
    "\n"
    "typedef struct leaky {\n"
    "  int64_t n;\n"
    "  int64_t steps; /* steps taken: part of the checkpoint */\n"
    "} leaky;\n"
    "\n"
    "static int leaky_create(lam_model_ctx *ctx, void **self) {\n"
    "  leaky *m = api->alloc(sizeof *m); /* zeroed */\n"
    "  if (!m) {\n"
    "    api->set_error(ctx->host, \"out of memory\");\n"
    "    return LAM_ENOMEM;\n"
    "  }\n"
    "  m->n = (int64_t)ctx->params[P_N];\n"
    "  *self = m;\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "/* The host has zeroed the ports; x starts at 0 again. */\n"
    "static int leaky_reset(void *self, lam_model_ctx *ctx) {\n"
    "  ((leaky *)self)->steps = 0;\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "/* Advances n steps.  Never allocates; reads the ports through ctx->ports\n"
    " * at every call (a link may have replaced the input buffer). */\n"
    "static int leaky_step(void *self, lam_model_ctx *ctx, int64_t n) {\n"
    "  leaky *m = self;\n"
    "  const double *u = ctx->ports[PORT_INPUT]->data;\n"
    "  double *x = ctx->ports[PORT_X]->data;\n"
    "  const double g = ctx->params[P_GAIN];\n"
    "  const double a = exp(-ctx->dt / ctx->params[P_TAU]);\n"
    "  for (int64_t s = 0; s < n; s++)\n"
    "    for (int64_t i = 0; i < m->n; i++) x[i] = g * u[i] + (x[i] - g * u[i]) * a;\n"
    "  m->steps += n;\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "static void leaky_destroy(void *self, lam_model_ctx *ctx) { api->free(self); }\n"
    "\n"
    "/* Checkpoint: a u8 buffer [tag, n, steps, x[0..n)] as 8-byte words. */\n"
    "static const uint64_t TAG = 0x796b61656c40ULL; /* identifies this model's states */\n"
    "\n"
    "static int leaky_save(void *self, lam_model_ctx *ctx, lam_buf **out) {\n"
    "  leaky *m = self;\n"
    "  lam_buf *b = lam_plugin_state_new(api, ctx, (size_t)(3 + m->n) * 8);\n"
    "  if (!b)\n"
    "    return LAM_ENOMEM; /* the error is set */\n"
    "  uint64_t head[3] = {TAG, (uint64_t)m->n, (uint64_t)m->steps};\n"
    "  memcpy(b->data, head, sizeof head);\n"
    "  memcpy((char *)b->data + 24, ctx->ports[PORT_X]->data, (size_t)m->n * 8);\n"
    "  *out = b;\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "static int leaky_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {\n"
    "  leaky *m = self;\n"
    "  uint64_t head[3] = {0, 0, 0};\n"
    "  int ours = in->dtype == LAM_U8 && in->ndim == 1 && in->size == (3 + m->n) * 8 &&\n"
    "             (in->flags & LAM_BUF_CONTIGUOUS);\n"
    "  if (ours) memcpy(head, in->data, sizeof head);\n"
    "  if (!ours || head[0] != TAG || head[1] != (uint64_t)m->n) {\n"
    "    api->set_error(ctx->host, \"not a checkpoint of a @NAME@.leaky with n = %lld\", (long long)m->n);\n"
    "    return LAM_EINVAL;\n"
    "  }\n"
    "  m->steps = (int64_t)head[2];\n"
    "  memcpy(ctx->ports[PORT_X]->data, (const char *)in->data + 24, (size_t)m->n * 8);\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "/* Method steady(u): the fixed point gain * u for an input u (f64 [n]).\n"
    " * Arguments are borrowed; the result is a new buffer the caller owns. */\n"
    "static int leaky_steady(void *self, lam_model_ctx *ctx, lam_buf *const *in, int32_t n_in,\n"
    "                        lam_buf **out) {\n"
    "  leaky *m = self;\n"
    "  if (n_in != 1 || !in[0] || in[0]->dtype != LAM_F64 || in[0]->ndim != 1 ||\n"
    "      in[0]->shape[0] != m->n || !(in[0]->flags & LAM_BUF_CONTIGUOUS)) {\n"
    "    api->set_error(ctx->host, \"steady: expected one contiguous f64 buffer [%lld] (the input)\",\n"
    "                   (long long)m->n);\n"
    "    return LAM_EINVAL;\n"
    "  }\n"
    "  lam_buf *r = api->buf_new(LAM_F64, 1, &m->n);\n"
    "  if (!r) {\n"
    "    api->set_error(ctx->host, \"steady: out of memory\");\n"
    "    return LAM_ENOMEM;\n"
    "  }\n"
    "  const double *u = in[0]->data;\n"
    "  for (int64_t i = 0; i < m->n; i++) ((double *)r->data)[i] = ctx->params[P_GAIN] * u[i];\n"
    "  *out = r;\n"
    "  return LAM_OK;\n"
    "}\n"
    "\n"
    "static const lam_method_def leaky_methods[] = {\n"
    "    {.name = \"steady\", .doc = \"steady(u: f64 [n]) -> f64 [n]: the fixed point gain * u\",\n"
    "     .fn = leaky_steady},\n"
    "    {.name = NULL}};\n"
    "\n"
    "static const lam_model_def models[] = {\n"
    "    {.name = \"@NAME@.leaky\",\n"
    "     .doc = \"n leaky integrators, tau dx/dt = -x + gain * input, integrated exactly\",\n"
    "     .params = leaky_params, .ports = leaky_ports, .methods = leaky_methods,\n"
    "     .create = leaky_create, .reset = leaky_reset, .step = leaky_step,\n"
    "     .destroy = leaky_destroy, .save_state = leaky_save, .load_state = leaky_load,\n"
    "     .flags = 0 /* deterministic: add LAM_MODEL_STOCHASTIC if it draws random numbers */},\n"
    "    {.name = NULL}};\n"
    "\n"
    "static const lam_plugin_desc desc = {\n"
    "    LAM_DESC_SIZES,\n"
    "    .name = \"@NAME@\",\n"
    "    .version = \"0.1.0\",\n"
    "    .authors = \"Your Name <you@example.org>\",\n"
    "    .licence = \"MIT\",\n"
    "    .citation = \"\",\n"
    "    .doc = \"@NAME@: a lamina plugin (describe your model family here).\",\n"
    "    .build = LAM_BUILD_INFO,\n"
    "    .models = models};\n"
    "\n"
    "LAM_PLUGIN_EXPORT const lam_plugin_desc *lamina_plugin_init(const lam_host_info *host, char *err,\n"
    "                                                            size_t errlen) {\n"
    "  /* ABI version and API table size; buf_new is the last entry this plugin calls. */\n"
    "  api = lam_plugin_handshake(host, desc.name, LAM_API_NEEDED(buf_new), err, errlen);\n"
    "  return api ? &desc : NULL;\n"
    "}\n";

static const char makefile[] =
    "# Makefile of the @NAME@ plugin: builds @NAME@.so against an installed\n"
    "# lamina, found with pkg-config (set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig\n"
    "# when lamina is installed somewhere pkg-config does not look).\n"
    "#   make            build @NAME@.so\n"
    "#   make test       lamina plugin check + the model's own tests (prove)\n"
    "#   make install    copy @NAME@.so into lamina's plugin directory\n"
    "PKG_CONFIG ?= pkg-config\n"
    "CC         ?= cc\n"
    "CFLAGS     ?= -O2 -g\n"
    "LAMINA_CFLAGS := $(shell $(PKG_CONFIG) --cflags lamina)\n"
    "PLUGINDIR     := $(shell $(PKG_CONFIG) --variable=plugindir lamina)\n"
    "ifeq ($(LAMINA_CFLAGS)$(PLUGINDIR),)\n"
    "$(error pkg-config finds no lamina: install lamina or set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig)\n"
    "endif\n"
    "\n"
    ".PHONY: all test install clean\n"
    "all: @NAME@.so\n"
    "\n"
    "# Only the plugin header, only -lm, only lamina_plugin_init exported.\n"
    "@NAME@.so: @NAME@.c\n"
    "	$(CC) -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror $(CFLAGS) $(LAMINA_CFLAGS) -fPIC -shared \\\n"
    "	  -fvisibility=hidden -o $@ $< -lm\n"
    "\n"
    "test: @NAME@.so\n"
    "	prove -v ./test.t\n"
    "\n"
    "install: @NAME@.so\n"
    "	install -d $(DESTDIR)$(PLUGINDIR)\n"
    "	install -m 755 @NAME@.so $(DESTDIR)$(PLUGINDIR)/@NAME@.so\n"
    "\n"
    "clean:\n"
    "	rm -f @NAME@.so\n";

static const char test_t[] =
    "#!/bin/sh\n"
    "# test.t - TAP 13 tests of the @NAME@ plugin (run by `make test`):\n"
    "#   1. lamina's conformance suite on @NAME@.so (`lamina plugin check`);\n"
    "#   2. test_@NAME@.lua, the model against its exact solution, run by\n"
    "#      `lamina run` (its \"ok\"/\"not ok\" lines are numbered here).\n"
    "# LAMINA names the lamina command (default: lamina on PATH).\n"
    "set -u\n"
    "here=$(cd \"$(dirname \"$0\")\" && pwd -P)\n"
    "lamina=${LAMINA:-lamina}\n"
    "tmp=$(mktemp -d \"${TMPDIR:-/tmp}/@NAME@-test.XXXXXX\") || exit 1\n"
    "trap 'rm -rf \"$tmp\"' EXIT\n"
    "out=$tmp/out.txt\n"
    "echo \"TAP version 13\"\n"
    "failed=0\n"
    "if \"$lamina\" plugin check \"$here/@NAME@.so\" >\"$out\" 2>&1; then\n"
    "  echo \"ok 1 - lamina plugin check @NAME@.so\"\n"
    "else\n"
    "  echo \"not ok 1 - lamina plugin check @NAME@.so\"\n"
    "  sed 's/^/# /' \"$out\"\n"
    "  failed=1\n"
    "fi\n"
    "\"$lamina\" run \"$here/test_@NAME@.lua\" --plugin-path \"$here\" --out \"$tmp/run\" --quiet >\"$out\" 2>&1\n"
    "rc=$?\n"
    "awk 'BEGIN { n = 1 } /^(not )?ok / { n++; sub(/ok /, \"ok \" n \" \"); print; next } { print \"# \" $0 }' \\\n"
    "  \"$out\" >\"$out.tap\"\n"
    "cat \"$out.tap\"\n"
    "grep -q '^not ok ' \"$out.tap\" && failed=1\n"
    "n=$(($(grep -c '^\\(not \\)\\{0,1\\}ok ' \"$out.tap\") + 1))\n"
    "if [ \"$rc\" -ne 0 ]; then\n"
    "  n=$((n + 1))\n"
    "  echo \"not ok $n - test_@NAME@.lua ran to the end (exit status $rc)\"\n"
    "  failed=1\n"
    "fi\n"
    "echo \"1..$n\"\n"
    "exit \"$failed\"\n";

static const char test_lua[] =
    "-- test_@NAME@.lua - the @NAME@.leaky model against its exact solution,\n"
    "-- run by test.t through `lamina run`.  Prints one \"ok - ...\" or\n"
    "-- \"not ok - ...\" line per check (test.t numbers them).\n"
    "local lam = require \"lamina\"\n"
    "\n"
    "local function check(good, what, detail)\n"
    "  print((good and \"ok - \" or \"not ok - \") .. what)\n"
    "  if not good and detail then print(detail) end -- test.t makes it a TAP comment\n"
    "end\n"
    "\n"
    "-- x(t) = g u (1 - exp(-t / tau)) from x(0) = 0 with a constant input u.\n"
    "-- The update is exact, so the only error is rounding: 1e-12 relative.\n"
    "local tau, gain, u, dt, steps = 5, 2, 0.75, 0.1, 300\n"
    "local sim = lam.sim { dt = dt, seed = 1 }\n"
    "sim:add(\"m\", \"@NAME@.leaky\", { tau = tau, gain = gain, n = 3 })\n"
    "sim:set(\"m.input\", u)\n"
    "sim:run_ticks(steps)\n"
    "local want = gain * u * (1 - math.exp(-steps * dt / tau))\n"
    "local x = sim:port(\"m.x\")\n"
    "local worst = 0\n"
    "for i = 0, 2 do worst = math.max(worst, math.abs(x:ptr()[i] - want)) end\n"
    "check(worst <= 1e-12 * math.abs(want), \"x(30 ms) matches g u (1 - exp(-t/tau))\",\n"
    "  string.format(\"got %.17g, want %.17g\", x:ptr()[0], want))\n"
    "\n"
    "-- The method steady(u) returns the fixed point g u.\n"
    "local fixed = sim:call(\"m\", \"steady\", lam.buf.from({ 1, -2, 0.5 }, \"f64\"))\n"
    "check(fixed:ptr()[0] == 2 and fixed:ptr()[1] == -4 and fixed:ptr()[2] == 1, \"steady(u) = gain * u\")\n"
    "\n"
    "-- A wrong shape is refused (the plugin's message says what was expected).\n"
    "local okc, err = pcall(sim.call, sim, \"m\", \"steady\", lam.buf.from({ 1, 2 }, \"f64\"))\n"
    "check(not okc, \"steady refuses an input of the wrong shape\", tostring(err))\n"
    "\n"
    "-- Out-of-range parameters are refused before the model sees them.\n"
    "local okp = pcall(sim.add, sim, \"bad\", \"@NAME@.leaky\", { tau = 0 })\n"
    "check(not okp, \"tau = 0 (below its minimum 1e-3 ms) is refused\")\n";

static const char readme[] =
    "# @NAME@ — a lamina plugin\n"
    "\n"
    "Written by `lamina plugin new @NAME@`.  It builds and passes lamina's\n"
    "conformance suite as generated; replace the example model with yours.\n"
    "\n"
    "## Build, test, install\n"
    "\n"
    "    make                 # @NAME@.so, against the lamina found by pkg-config\n"
    "    make test            # lamina plugin check @NAME@.so + test_@NAME@.lua\n"
    "    make install         # into $(pkg-config --variable=plugindir lamina)\n"
    "\n"
    "If lamina is installed under a prefix pkg-config does not search, set\n"
    "`PKG_CONFIG_PATH=<prefix>/lib/pkgconfig` first.  Without installing, use the\n"
    "plugin from a script with `lamina run script.lua --plugin-path /path/to/@NAME@`\n"
    "or `LAMINA_PLUGIN_PATH=/path/to/@NAME@`.\n"
    "\n"
    "## The model\n"
    "\n"
    "`@NAME@.leaky`: `n` independent leaky integrators,\n"
    "`tau dx/dt = -x + gain * input`, integrated exactly for an input held over\n"
    "each step: `x <- g u + (x - g u) exp(-dt/tau)`.\n"
    "\n"
    "| parameter | units | default | range | |\n"
    "|---|---|---|---|---|\n"
    "| `tau` | ms | 10 | [1e-3, 1e6] | time constant |\n"
    "| `gain` | 1 | 1 | [-1e6, 1e6] | steady-state response to a unit input (mutable) |\n"
    "| `n` | | 1 | [1, 1e6] | number of units (sizes the ports) |\n"
    "\n"
    "Ports: `input` (in, f64 [n]) and `x` (out, f64 [n]).  Method:\n"
    "`steady(u)` returns `gain * u` for an f64 [n] buffer.  `save_state` /\n"
    "`load_state` checkpoint `x` and the step count.\n"
    "\n"
    "    local lam = require \"lamina\"\n"
    "    local sim = lam.sim { dt = 0.1, seed = 1 }\n"
    "    sim:add(\"m\", \"@NAME@.leaky\", { tau = 5, n = 3 })\n"
    "    sim:set(\"m.input\", 1)\n"
    "    sim:run(20)                      -- ms\n"
    "    print(sim:port(\"m.x\"):ptr()[0])  -- 1 - exp(-4)\n"
    "\n"
    "## Publishing\n"
    "\n"
    "Share the source (this folder; `make` is the one build line), or the built\n"
    "`@NAME@.so` for the same OS, CPU architecture and lamina plugin ABI major\n"
    "(`lamina version` prints it).  Bump `.version` in `@NAME@.c` with every\n"
    "release (see lamina's docs/plugins.md, \"Versioning\"), and give users the\n"
    "SHA-256 of the file you built so they can pin it\n"
    "(`lam.pin { @NAME@ = { sha256 = \"...\", min_version = \"0.1.0\" } }`).\n";

static const struct {
  const char *name; /* "@NAME@" replaced */
  const char *text;
  mode_t mode;
} files[] = {
    {"@NAME@.c", c_src, 0644},
    {"Makefile", makefile, 0644},
    {"test.t", test_t, 0755},
    {"test_@NAME@.lua", test_lua, 0644},
    {"README.md", readme, 0644},
};

/* Writes `text` to f with every "@NAME@" replaced by name. */
static int put(FILE *f, const char *text, const char *name) {
  for (const char *p = text; *p;) {
    const char *at = strstr(p, "@NAME@");
    size_t k = at ? (size_t)(at - p) : strlen(p);
    if (fwrite(p, 1, k, f) != k) return -1;
    p += k;
    if (at) {
      if (fputs(name, f) < 0) return -1;
      p += 6;
    }
  }
  return 0;
}

int lam__plugin_new(const char *name, const char *dir) {
  /* The name becomes a C identifier prefix, a file name and the model
   * family, so it must be an identifier (lower case by convention). */
  size_t len = strlen(name);
  int good = len > 0 && len <= 40 && (islower((unsigned char)name[0]) || name[0] == '_');
  for (size_t i = 0; good && i < len; i++)
    good = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_';
  if (!good) {
    fprintf(stderr,
            "lamina: plugin new: name '%s' must be 1 to 40 lower-case letters, digits or '_', "
            "starting with a letter (it becomes the model family, e.g. %s.leaky)\n",
            name, "mylab");
    return 2;
  }
  if (!dir) dir = name;
  struct stat st;
  if (stat(dir, &st) == 0 || errno != ENOENT) {
    fprintf(stderr, "lamina: plugin new: %s already exists; choose another --dir (nothing written)\n",
            dir);
    return 1;
  }
  if (mkdir(dir, 0777) != 0) {
    fprintf(stderr, "lamina: plugin new: cannot create %s: %s\n", dir, strerror(errno));
    return 1;
  }
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char fname[128], path[4096];
    FILE *mem = fmemopen(fname, sizeof fname, "w");
    int bad = !mem || put(mem, files[i].name, name) || fputc('\0', mem) == EOF;
    if (mem) fclose(mem);
    if (!bad && snprintf(path, sizeof path, "%s/%s", dir, fname) >= (int)sizeof path) bad = 1;
    FILE *f = bad ? NULL : fopen(path, "w");
    if (!f || put(f, files[i].text, name) || fclose(f) != 0 || chmod(path, files[i].mode) != 0) {
      fprintf(stderr, "lamina: plugin new: cannot write %s/%s: %s\n", dir, fname,
              errno ? strerror(errno) : "name too long");
      return 1;
    }
  }
  printf("wrote %s/: %s.c Makefile test.t test_%s.lua README.md\n"
         "next: cd %s && make && lamina plugin check ./%s.so && make test\n",
         dir, name, name, dir, name);
  return 0;
}
