/*
 * main.c - the `lamina` command: argument parsing and the subcommands that
 * need no Lua (version, plugins, plugin info).  `run` goes to lua_host.c,
 * `plugin check` to check.c.
 */
#include "cmd_int.h"
#include "lamina.h"
#include "sweep_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage:\n"
    "  lamina run SCRIPT.lua [key=value ...] [--seed N] [--out DIR] [--quiet]\n"
    "  lamina run SCRIPT.lua --list-params   the script's parameters (name, type, default)\n"
    "  lamina sweep PROTOCOL.yaml [-j N] [--shard I/N] [--status] [--force] [--emit slurm|parallel]\n"
    "  lamina plugins                 list the plugins found and the ones refused\n"
    "  lamina plugin info NAME        a plugin (stim) or model (stim.ou): parameters, ports, methods\n"
    "  lamina plugins --why NAME      which file provides plugin NAME and why the others were not chosen\n"
    "  lamina plugin check FILE.so [--valgrind]   conformance tests of a plugin (TAP)\n"
    "  lamina plugin new NAME [--dir DIR]          write a plugin skeleton (default DIR: ./NAME)\n"
    "  lamina version\n"
    "options for every command: --plugin-path DIR (repeatable), --quiet\n"
    "environment: LAMINA_PLUGIN_PATH (colon-separated directories)\n";

static int fail(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "lamina: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 2;
}

static lam_registry *open_registry(const lam__run_opts *o) {
  lam_registry *r = lam_registry_new();
  if (!r) {
    fprintf(stderr, "lamina: %s\n", lam_last_error());
    return NULL;
  }
  for (int i = 0; i < o->npath; i++) lam_registry_add_path(r, o->plugin_path[i]);
  return r;
}

static int cmd_plugins(const lam__run_opts *o) {
  lam_registry *r = open_registry(o);
  if (!r) return 1;
  lam_registry_scan(r);
  printf("search path (in order):\n");
  const char *paths = lam_registry_paths(r);
  if (!*paths) printf("  (none)\n");
  for (const char *p = paths; *p;) {
    const char *nl = strchr(p, '\n');
    const char *tab = strchr(p, '\t');
    printf("  %-.*s  [%.*s]\n", (int)(nl - tab - 1), tab + 1, (int)(tab - p), p);
    p = nl + 1;
  }
  int n = lam_registry_count(r), loaded = 0;
  printf("\nplugins:\n");
  for (int i = 0; i < n; i++) {
    const lam_plugin_info *in = lam_registry_info(r, i);
    if (in->status != LAM_PLUGIN_LOADED) continue;
    loaded++;
    printf("  %-12s %-8s %s\n", in->desc->name, in->desc->version, in->path);
    printf("      sha256 %s\n      models:", in->sha256);
    for (const lam_model_def *m = in->desc->models; m->name; m++) printf(" %s", m->name);
    printf("\n");
  }
  if (!loaded) printf("  (none found)\n");
  int refused = 0;
  for (int i = 0; i < n; i++) {
    const lam_plugin_info *in = lam_registry_info(r, i);
    if (in->status == LAM_PLUGIN_LOADED) continue;
    if (!refused++) printf("\nrefused:\n");
    printf("  %s\n      %s\n", in->path, in->reason);
  }
  lam_registry_free(r);
  return 0;
}

/* `lamina plugins --why NAME`: the registry explains its choice. */
static int cmd_why(const lam__run_opts *o) {
  lam_registry *r = open_registry(o);
  if (!r) return 1;
  const char *text = lam_registry_why(r, o->why);
  fputs(text, stdout);
  int found = lam_registry_find(r, o->why) != NULL;
  lam_registry_free(r);
  return found ? 0 : 1;
}

static const char *ptype(int32_t t) {
  switch (t) {
  case LAM_PARAM_F64: return "real";
  case LAM_PARAM_I64: return "int";
  case LAM_PARAM_BOOL: return "bool";
  case LAM_PARAM_ENUM: return "enum";
  default: return "?";
  }
}

static const char *pdir(int32_t d) {
  return d == LAM_PORT_IN ? "in" : d == LAM_PORT_OUT ? "out" : "state";
}

/* Prints the index-th choice of "a|b|c". */
static void print_choice(const char *choices, int index) {
  const char *p = choices;
  for (int i = 0; i < index && p; i++) {
    p = strchr(p, '|');
    if (p) p++;
  }
  if (p) printf("%.*s", (int)strcspn(p, "|"), p);
}

static void print_model(const lam_model_def *m) {
  printf("\nmodel %s\n  %s\n", m->name, m->doc ? m->doc : "");
  printf("  parameters:\n");
  for (const lam_param_def *p = m->params; p && p->name; p++) {
    printf("    %-14s %-5s default ", p->name, ptype(p->type));
    if (p->type == LAM_PARAM_ENUM) {
      print_choice(p->choices, (int)p->def);
      printf("  choices %s", p->choices);
    } else if (p->type == LAM_PARAM_BOOL) {
      printf("%s", p->def != 0 ? "true" : "false");
    } else {
      printf("%.10g  range [%.10g, %.10g]", p->def, p->min, p->max);
    }
    if (p->units && *p->units) printf("  %s", p->units);
    if (p->flags & LAM_PARAM_MUTABLE) printf("  (mutable)");
    printf("\n      %s\n", p->doc ? p->doc : "");
  }
  printf("  ports:\n");
  for (const lam_port_def *p = m->ports; p && p->name; p++) {
    printf("    %-14s %-5s %-3s [%s]", p->name, pdir(p->dir), lam_dtype_name(p->dtype),
           p->shape && *p->shape ? p->shape : "1");
    if (p->units && *p->units) printf("  %s", p->units);
    printf("\n      %s\n", p->doc ? p->doc : "");
  }
  printf("  methods:%s\n", m->methods && m->methods->name ? "" : " (none)");
  for (const lam_method_def *x = m->methods; x && x->name; x++)
    printf("    %s\n      %s\n", x->name, x->doc ? x->doc : "");
}

static int cmd_info(const lam__run_opts *o, const char *name) {
  lam_registry *r = open_registry(o);
  if (!r) return 1;
  const lam_plugin_info *info = NULL;
  const lam_model_def *only = NULL;
  if (strchr(name, '.')) {
    only = lam_registry_model(r, name);
    if (!only) {
      fprintf(stderr, "lamina: %s\n", lam_last_error());
      lam_registry_free(r);
      return 1;
    }
    info = lam_registry_owner(r, name);
  } else {
    char probe[256];
    snprintf(probe, sizeof probe, "%s.?", name);
    lam_registry_model(r, probe); /* loads <name>.so if there is one */
    for (int i = 0; i < lam_registry_count(r); i++) {
      const lam_plugin_info *in = lam_registry_info(r, i);
      if (in->status == LAM_PLUGIN_LOADED && !strcmp(in->desc->name, name)) info = in;
    }
    if (!info) {
      fprintf(stderr, "lamina: no plugin named '%s' in the search path (see `lamina plugins`)\n", name);
      lam_registry_free(r);
      return 1;
    }
  }
  const lam_plugin_desc *d = info->desc;
  printf("plugin %s %s\n", d->name, d->version);
  printf("  %s\n", d->doc);
  printf("  authors:  %s\n  licence:  %s\n  citation: %s\n  build:    %s\n", d->authors,
         d->licence, d->citation, d->build);
  printf("  ABI:      %d.%d\n  file:     %s\n  sha256:   %s\n", (int)d->abi_major,
         (int)d->abi_minor, info->path, info->sha256);
  for (const lam_model_def *m = d->models; m->name; m++)
    if (!only || m == only) print_model(m);
  lam_registry_free(r);
  return 0;
}

int main(int argc, char **argv) {
  /* `sweep` parses its own options (sweep.c). */
  if (argc >= 2 && !strcmp(argv[1], "sweep")) return lam__sweep_main(argc, argv);
  int list_params = 0;
  lam__run_opts o = {0};
  o.seed = 1;
  o.argc = argc;
  o.argv = argv;
  char **pos = calloc((size_t)argc + 1, sizeof *pos);
  o.kv = calloc((size_t)argc + 1, sizeof *o.kv);
  o.plugin_path = calloc((size_t)argc + 1, sizeof *o.plugin_path);
  if (!pos || !o.kv || !o.plugin_path) return fail("out of memory%s%s", "", "");
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--valgrind")) { /* plugin check */
      o.valgrind = 1;
    } else if (!strcmp(a, "--list-params")) { /* run: print the parameters */
      list_params = 1;
    } else if (!strcmp(a, "--dir") || !strcmp(a, "--why")) { /* plugin new, plugins */
      if (i + 1 >= argc) return fail("%s needs a value%s", a, "");
      *(!strcmp(a, "--dir") ? &o.dir : &o.why) = argv[++i];
    } else if (!strcmp(a, "--plugin-path") || !strcmp(a, "--out") || !strcmp(a, "--seed")) {
      if (i + 1 >= argc) return fail("%s needs a value%s", a, "");
      const char *v = argv[++i];
      if (!strcmp(a, "--plugin-path")) {
        o.plugin_path[o.npath++] = (char *)v;
      } else if (!strcmp(a, "--out")) {
        o.out = v;
      } else {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        /* Seeds travel to Lua as doubles: keep them exact. */
        if (*v == '-' || !*v || *end || errno || s >= (1ULL << 53))
          return fail("--seed %s: expected an integer in [0, 2^53)%s", v, "");
        o.seed = s;
        o.seed_given = 1;
      }
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      o.quiet = 1;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (a[0] == '-' && a[1] == '-') {
      return fail("unknown option %s%s (see lamina --help)", a, "");
    } else {
      pos[npos++] = (char *)a;
    }
  }
  lam_set_quiet(o.quiet);
  if (npos == 0) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = pos[0];
  int rc;
  if (!strcmp(cmd, "version")) {
    printf("lamina %s\nbuild %s\nplugin ABI %d.%d\n", lam_version(), lam_build_info(),
           LAM_ABI_MAJOR, LAM_ABI_MINOR);
    rc = 0;
  } else if (!strcmp(cmd, "plugins")) {
    rc = o.why ? cmd_why(&o) : cmd_plugins(&o);
  } else if (!strcmp(cmd, "plugin") && npos == 3 && !strcmp(pos[1], "info")) {
    rc = cmd_info(&o, pos[2]);
  } else if (!strcmp(cmd, "plugin") && npos == 3 && !strcmp(pos[1], "check")) {
    rc = lam__plugin_check(pos[2], o.valgrind);
  } else if (!strcmp(cmd, "plugin") && npos == 3 && !strcmp(pos[1], "new")) {
    rc = lam__plugin_new(pos[2], o.dir);
  } else if (!strcmp(cmd, "run") && npos >= 2) {
    o.script = pos[1];
    for (int i = 2; i < npos; i++) {
      const char *eq = strchr(pos[i], '=');
      if (!eq || eq == pos[i])
        return fail("run: '%s' is not key=value%s", pos[i], "");
      o.kv[o.nkv++] = pos[i];
    }
    rc = list_params ? lam__list_params(&o) : lam__lua_run(&o);
  } else {
    fprintf(stderr, "lamina: unknown or incomplete command '%s'\n%s", cmd, usage);
    rc = 2;
  }
  free(pos);
  free(o.kv);
  free(o.plugin_path);
  return rc;
}
