/*
 * check.c - `lamina plugin check FILE.so [--valgrind]`: the conformance
 * suite a lab runs before sharing a plugin, printed as TAP 13 so that
 * `prove` can run it.  For every model of the plugin (docs/plugins.md
 * lists the checks and what each one needs from a plugin):
 *
 *   defaults within bounds            (read from the raw descriptor, so a
 *                                       bad default is named even though
 *                                       the loader refuses the plugin)
 *   create, reset and destroy          with the defaults, and at every
 *                                       parameter's extreme in-range values
 *   out-of-range and unknown parameters rejected (by the host's checks
 *                                       against the schema: the schema must
 *                                       make them refusable)
 *   zero-step and one-step runs        step(0) changes nothing; 8 calls of
 *                                       step(1) equal one step(8)
 *   seeds                              same seed byte-identical; another
 *                                       seed different for a model flagged
 *                                       LAM_MODEL_STOCHASTIC, identical for
 *                                       one that is not (deterministic)
 *   save_state / load_state            a checkpoint loaded into an instance
 *                                       that ran with another seed continues
 *                                       exactly like the uninterrupted run
 *   no writes outside its own ports    guard pages around every port buffer,
 *                                       canaries in front, input ports
 *                                       read-only while the model steps
 *   methods reject wrong shapes        a u8 [2,3,1,2] argument and a
 *                                       non-contiguous f64 view must be
 *                                       refused with a message
 *   --valgrind                         the whole suite again under memcheck
 *
 * The models are driven directly through their lam_model_def, by a small
 * host in this file that allocates the ports itself (that is what lets it
 * put guard pages around them).  A crash inside a plugin call is caught
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), reported as the failure of
 * the check that made the call, and the instance is abandoned; so is a
 * call that does not return within 60 s (LAMINA_CHECK_TIMEOUT; SIGALRM).
 */
#include "cmd_int.h"
#include "lam_int.h"
#include "lamina.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- */
/* TAP                                                                */
/* ---------------------------------------------------------------- */

static int n_tests, n_failed;
static char diag[1024];        /* why the next test fails (first reason) */

static void why(const char *fmt, ...) {
  if (*diag) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(diag, sizeof diag, fmt, ap);
  va_end(ap);
}

static void result(int good, const char *model, const char *what) {
  n_tests++;
  if (!good) n_failed++;
  printf("%sok %d - %s%s%s\n", good ? "" : "not ", n_tests, model ? model : "",
         model ? ": " : "", what);
  if (!good && *diag) printf("# %s\n", diag);
  diag[0] = '\0';
  fflush(stdout);
}

static void skip(const char *model, const char *what, const char *reason) {
  printf("ok %d - %s: %s # SKIP %s\n", ++n_tests, model, what, reason);
  diag[0] = '\0';
}

/* ---------------------------------------------------------------- */
/* Catching crashes inside plugin calls                               */
/* ---------------------------------------------------------------- */

static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_armed;
static void *volatile fault_addr;
static volatile int fault_sig;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (!fault_armed) { /* not inside a plugin call: crash as usual */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  fault_armed = 0;
  fault_sig = sig;
  fault_addr = si ? si->si_addr : NULL;
  siglongjmp(fault_jb, 1);
}

static void install_handlers(void) {
  /* An alternate stack, so that a plugin's runaway recursion is caught too. */
  static char altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

/* ---------------------------------------------------------------- */
/* A small host that drives one model with its own port buffers      */
/* ---------------------------------------------------------------- */

/* Every port buffer gets its own mapping:
 *   [guard page][canary ... | port data][guard page]
 * The data ends exactly where the trailing guard page starts, so a write
 * one byte past the end faults; the bytes in front of the data hold a
 * canary pattern checked after every call, and the leading guard page
 * catches anything further in front.  In GUARDED mode the guard pages are
 * PROT_NONE and input ports are read-only while the model steps; in
 * PADDED mode (every other check) the same bytes are writable and
 * unchecked, so a stray write cannot corrupt the checker's own heap and
 * only "no writes outside its own ports" reports it. */
enum { PADDED = 0, GUARDED = 1 };
enum { CANARY = 0xA5 };
#define FAULTED (-100)

typedef struct gport {
  lam_buf b;
  unsigned char *map;
  size_t maplen, bytes, dpages;
} gport;

typedef struct drv {
  const lam_model_def *m;
  lam__host_handle h;
  lam_model_ctx ctx;
  double *params;
  gport *gp;
  lam_buf **ports;
  int32_t np, nparams;
  int mode, created;
  int broken;                  /* 1: wrote outside its ports; 2: crashed or hung */
  void *self;
  int64_t steps;
} drv;

static size_t page_size(void) {
  static size_t ps;
  if (!ps) ps = (size_t)sysconf(_SC_PAGESIZE);
  return ps;
}

static const char *call_name;  /* the plugin function being called */
/* No single call of the checker's (at most 8 steps, or one create) takes
 * this long, even under valgrind: past it the plugin is taken to hang.
 * LAMINA_CHECK_TIMEOUT (seconds) overrides it. */
static unsigned call_limit_s = 60;

/* Names the port a faulting address belongs to: 1 when the fault was a
 * write outside the ports (a guard page or a read-only input), 2 for any
 * other crash or a hang. */
static int describe_fault(drv *d) {
  if (fault_sig == SIGALRM) {
    why("%s did not return within %u s (an endless loop?)", call_name, call_limit_s);
    return 2;
  }
  const char *sname = fault_sig == SIGSEGV ? "SIGSEGV" : fault_sig == SIGBUS ? "SIGBUS"
                      : fault_sig == SIGFPE ? "SIGFPE" : fault_sig == SIGILL ? "SIGILL"
                      : "SIGABRT";
  unsigned char *a = fault_addr;
  size_t ps = page_size();
  for (int32_t i = 0; i < d->np; i++) {
    gport *g = &d->gp[i];
    const char *pn = d->m->ports[i].name;
    if (a >= g->map && a < g->map + ps) {
      why("%s wrote in front of port '%s' (%s at %zu bytes before its start)", call_name, pn,
          sname, (size_t)((unsigned char *)g->b.data - a));
      return 1;
    }
    unsigned char *end = (unsigned char *)g->b.data + g->bytes;
    if (a >= end && a < end + ps) {
      why("%s wrote past the end of port '%s' (%s at byte %zu of its %zu)", call_name, pn,
          sname, (size_t)(a - (unsigned char *)g->b.data), g->bytes);
      return 1;
    }
    if (a >= g->map + ps && a < end && d->m->ports[i].dir == LAM_PORT_IN) {
      why("%s wrote into its input port '%s' (element %zu), which belongs to whoever drives it",
          call_name, pn, (size_t)(a - (unsigned char *)g->b.data) / lam_dtype_size(g->b.dtype));
      return 1;
    }
  }
  why("%s crashed: %s at address %p (not near any port buffer)", call_name, sname, fault_addr);
  return 2;
}

/* The canary bytes in front of each port's data are intact. */
static int canaries_ok(drv *d) {
  size_t ps = page_size();
  for (int32_t i = 0; i < d->np; i++) {
    gport *g = &d->gp[i];
    for (unsigned char *c = g->map + ps; c < (unsigned char *)g->b.data; c++)
      if (*c != CANARY) {
        why("%s wrote in front of port '%s' (byte %zu before its start)", call_name,
            d->m->ports[i].name, (size_t)((unsigned char *)g->b.data - c));
        return 0;
      }
  }
  return 1;
}

static void protect_inputs(drv *d, int ro) {
  if (d->mode != GUARDED) return;
  size_t ps = page_size();
  for (int32_t i = 0; i < d->np; i++)
    if (d->m->ports[i].dir == LAM_PORT_IN)
      mprotect(d->gp[i].map + ps, d->gp[i].dpages * ps, ro ? PROT_READ : PROT_READ | PROT_WRITE);
}

enum { C_CREATE, C_RESET, C_STEP, C_DESTROY, C_SAVE, C_LOAD, C_METHOD };
typedef struct call {
  int what;
  int64_t n;
  lam_buf **out;
  const lam_buf *in;
  const lam_method_def *method;
  lam_buf *const *args;
  int32_t nargs;
} call;

/* One plugin call, with crashes caught.  FAULTED when it crashed or wrote
 * outside its ports (the reason is in diag); the plugin's status
 * otherwise, with its message in d->h.err. */
static int guarded(drv *d, const call *c) {
  static const char *names[] = {"create", "reset", "step", "destroy", "save_state",
                                "load_state", "method"};
  if (d->broken) return FAULTED;
  call_name = c->what == C_METHOD ? c->method->name : names[c->what];
  d->h.err[0] = '\0';
  d->ctx.tick = d->steps * d->ctx.period;
  protect_inputs(d, c->what == C_STEP);
  if (sigsetjmp(fault_jb, 1)) {
    alarm(0);
    protect_inputs(d, 0);
    d->broken = describe_fault(d);
    return FAULTED;
  }
  fault_armed = 1;
  alarm(call_limit_s);
  int rc = LAM_OK;
  const lam_model_def *m = d->m;
  switch (c->what) {
  case C_CREATE: rc = m->create(&d->ctx, &d->self); break;
  case C_RESET:
    if (m->reset) {
      rc = m->reset(d->self, &d->ctx);
    } else { /* what the host does for a model without reset() */
      m->destroy(d->self, &d->ctx);
      d->self = NULL;
      rc = m->create(&d->ctx, &d->self);
    }
    break;
  case C_STEP: rc = m->step(d->self, &d->ctx, c->n); break;
  case C_DESTROY: m->destroy(d->self, &d->ctx); break;
  case C_SAVE: rc = m->save_state(d->self, &d->ctx, c->out); break;
  case C_LOAD: rc = m->load_state(d->self, &d->ctx, c->in); break;
  case C_METHOD: rc = c->method->fn(d->self, &d->ctx, c->args, c->nargs, c->out); break;
  }
  alarm(0);
  fault_armed = 0;
  protect_inputs(d, 0);
  if (d->mode == GUARDED && !canaries_ok(d)) {
    d->broken = 1;
    return FAULTED;
  }
  return rc;
}

/* The element count of a port for the given parameter values. */
static int port_shape(const lam_model_def *m, const lam_port_def *pt, const double *params,
                      int32_t *ndim, int64_t *shape) {
  const char *s = pt->shape;
  *ndim = 0;
  if (!s || !*s) {
    *ndim = 1;
    shape[0] = 1;
    return 0;
  }
  while (*s && *ndim < LAM_MAX_DIMS) {
    size_t k = strcspn(s, ",");
    int64_t v = -1;
    if (*s >= '0' && *s <= '9') {
      v = strtoll(s, NULL, 10);
    } else {
      for (int32_t i = 0; m->params && m->params[i].name; i++)
        if (strlen(m->params[i].name) == k && !strncmp(m->params[i].name, s, k))
          v = (int64_t)params[i];
    }
    if (v < 0) return -1;
    shape[(*ndim)++] = v;
    s += k;
    if (*s == ',') s++;
  }
  return 0;
}

/* Fills an input port that create() left all zero with a fixed signal,
 * 0.25 * (1 + i % 4) (integer ports: i % 2), so that a model whose
 * randomness only shows through its input is still seen to use it. */
static void apply_inputs(drv *d) {
  for (int32_t i = 0; i < d->np; i++) {
    if (d->m->ports[i].dir != LAM_PORT_IN) continue;
    lam_buf *b = &d->gp[i].b;
    const unsigned char *c = b->data;
    size_t k = 0;
    while (k < d->gp[i].bytes && !c[k]) k++;
    if (k < d->gp[i].bytes) continue;
    int fl = b->dtype == LAM_F32 || b->dtype == LAM_F64;
    for (int64_t j = 0; j < b->size; j++)
      lam_buf_set(b, j, fl ? 0.25 * (double)(1 + j % 4) : (double)(j % 2));
  }
}

static void drv_close(drv *d) {
  if (d->created && !d->broken) guarded(d, &(call){.what = C_DESTROY});
  /* A broken instance is abandoned (its memory leaks): calling into it
   * again could crash for real. */
  for (int32_t i = 0; d->gp && i < d->np; i++)
    if (d->gp[i].map) munmap(d->gp[i].map, d->gp[i].maplen);
  free(d->gp);
  free(d->ports);
  free(d->params);
  memset(d, 0, sizeof *d);
}

/* Creates an instance of m with the given parameter values (NULL: the
 * defaults).  Returns the plugin's status (FAULTED for a crash). */
static int drv_open(drv *d, const lam_model_def *m, const double *params, uint64_t seed,
                    int mode) {
  memset(d, 0, sizeof *d);
  d->m = m;
  d->mode = mode;
  d->nparams = lam_model_nparams(m);
  d->np = lam_model_nports(m);
  d->params = calloc((size_t)d->nparams + 1, sizeof *d->params);
  d->gp = calloc((size_t)d->np + 1, sizeof *d->gp);
  d->ports = calloc((size_t)d->np + 1, sizeof *d->ports);
  if (!d->params || !d->gp || !d->ports) {
    why("out of memory");
    return LAM_ENOMEM;
  }
  for (int32_t i = 0; i < d->nparams; i++) d->params[i] = params ? params[i] : m->params[i].def;
  size_t ps = page_size();
  for (int32_t i = 0; i < d->np; i++) {
    gport *g = &d->gp[i];
    int32_t nd;
    int64_t shape[LAM_MAX_DIMS];
    if (port_shape(m, &m->ports[i], d->params, &nd, shape)) {
      why("port '%s': cannot evaluate shape '%s'", m->ports[i].name, m->ports[i].shape);
      return LAM_EINVAL;
    }
    int64_t size = 1;
    for (int32_t k = 0; k < nd; k++) size *= shape[k];
    g->bytes = (size_t)size * lam_dtype_size(m->ports[i].dtype);
    g->dpages = g->bytes ? (g->bytes + ps - 1) / ps : 1;
    g->maplen = (g->dpages + 2) * ps;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) {
      g->map = NULL;
      why("port '%s': cannot map %zu bytes", m->ports[i].name, g->maplen);
      return LAM_ENOMEM;
    }
    unsigned char *end = g->map + (g->dpages + 1) * ps;
    memset(g->map + ps, CANARY, g->dpages * ps - g->bytes);
    if (mode == GUARDED) {
      mprotect(g->map, ps, PROT_NONE);
      mprotect(end, ps, PROT_NONE);
    }
    g->b.data = end - g->bytes;
    g->b.ndim = nd;
    g->b.dtype = m->ports[i].dtype;
    g->b.size = size;
    g->b.refs = 1;
    g->b.flags = LAM_BUF_CONTIGUOUS;
    for (int32_t k = 0; k < nd; k++) g->b.shape[k] = shape[k];
    lam__buf_strides(nd, shape, g->b.strides);
    d->ports[i] = &g->b;
  }
  d->h.def = m;
  d->h.name = "checked";
  d->h.nparams = d->nparams;
  d->h.nports = d->np;
  d->ctx.struct_size = sizeof d->ctx;
  d->ctx.api = lam_host_api_get();
  d->ctx.host = &d->h;
  d->ctx.ports = d->ports;
  d->ctx.params = d->params;
  d->ctx.dt = 0.1;
  d->ctx.seed = seed;
  d->ctx.instance = 0x6c616d696e61ULL;
  d->ctx.period = 1;
  int rc = guarded(d, &(call){.what = C_CREATE});
  if (rc == LAM_OK) {
    d->created = 1;
    apply_inputs(d);
  } else if (rc != FAULTED) {
    why("create failed (%s): %s", lam_strerror(rc), *d->h.err ? d->h.err : "no message");
  }
  return rc;
}

/* Runs `count` calls of step(n). */
static int drv_run(drv *d, int64_t count, int64_t n) {
  for (int64_t k = 0; k < count; k++) {
    int rc = guarded(d, &(call){.what = C_STEP, .n = n});
    if (rc) {
      if (rc != FAULTED)
        why("step failed at step %lld (%s): %s", (long long)d->steps, lam_strerror(rc),
            *d->h.err ? d->h.err : "no message");
      return rc;
    }
    d->steps += n;
  }
  return LAM_OK;
}

/* What the host does on reset: ports zeroed, then reset(). */
static int drv_reset(drv *d) {
  for (int32_t i = 0; i < d->np; i++) memset(d->gp[i].b.data, 0, d->gp[i].bytes);
  d->steps = 0;
  int rc = guarded(d, &(call){.what = C_RESET});
  if (rc == LAM_OK) apply_inputs(d);
  else if (rc != FAULTED)
    why("reset failed (%s): %s", lam_strerror(rc), *d->h.err ? d->h.err : "no message");
  return rc;
}

/* 1 when every port holds the same bytes in both; otherwise the first
 * difference goes to diag. */
static int same_ports(drv *a, drv *b, const char *what) {
  for (int32_t i = 0; i < a->np; i++) {
    const unsigned char *x = a->gp[i].b.data, *y = b->gp[i].b.data;
    for (size_t k = 0; k < a->gp[i].bytes; k++)
      if (x[k] != y[k]) {
        size_t es = lam_dtype_size(a->gp[i].b.dtype);
        why("%s: port '%s' differs at element %zu (%.17g vs %.17g)", what, a->m->ports[i].name,
            k / es, lam_buf_get(&a->gp[i].b, (int64_t)(k / es)),
            lam_buf_get(&b->gp[i].b, (int64_t)(k / es)));
        return 0;
      }
  }
  return 1;
}

/* A copy of every port's bytes (to compare a driver with its own past). */
static unsigned char *snapshot(drv *d) {
  size_t n = 1;
  for (int32_t i = 0; i < d->np; i++) n += d->gp[i].bytes;
  unsigned char *s = malloc(n), *p = s;
  for (int32_t i = 0; s && i < d->np; i++) {
    memcpy(p, d->gp[i].b.data, d->gp[i].bytes);
    p += d->gp[i].bytes;
  }
  return s;
}

static int same_as_snapshot(drv *d, const unsigned char *s, const char *what) {
  if (!s) return 0;
  for (int32_t i = 0; i < d->np; i++) {
    const unsigned char *x = d->gp[i].b.data;
    for (size_t k = 0; k < d->gp[i].bytes; k++)
      if (x[k] != s[k]) {
        why("%s: port '%s' differs at element %zu", what, d->m->ports[i].name,
            k / lam_dtype_size(d->gp[i].b.dtype));
        return 0;
      }
    s += d->gp[i].bytes;
  }
  return 1;
}

/* ---------------------------------------------------------------- */
/* The checks                                                         */
/* ---------------------------------------------------------------- */

enum { STEPS = 200, LONG_STEPS = 10000, CAP_SHAPE = 64 };

static int sizes_a_port(const lam_model_def *m, const char *pname) {
  size_t k = strlen(pname);
  for (const lam_port_def *p = m->ports; p && p->name; p++)
    for (const char *s = p->shape; s && *s;) {
      size_t t = strcspn(s, ",");
      if (t == k && !strncmp(s, pname, k)) return 1;
      s += t;
      if (*s == ',') s++;
    }
  return 0;
}

/* Defaults within bounds, from the plugin's own (raw) parameter arrays. */
static void check_defaults(const char *mname, const lam_param_def *params, size_t stride) {
  int good = 1;
  for (const char *p = (const char *)params; p && ((const lam_param_def *)p)->name; p += stride) {
    const lam_param_def *q = (const lam_param_def *)p;
    int okp = 1;
    if (q->type == LAM_PARAM_F64 || q->type == LAM_PARAM_I64)
      okp = q->def >= q->min && q->def <= q->max &&
            (q->type == LAM_PARAM_F64 || q->def == floor(q->def));
    else if (q->type == LAM_PARAM_BOOL)
      okp = q->def == 0 || q->def == 1;
    else if (q->type == LAM_PARAM_ENUM) {
      int nc = q->choices && *q->choices ? 1 : 0;
      for (const char *c = q->choices; c && *c; c++) nc += *c == '|';
      okp = q->def >= 0 && q->def < nc && q->def == floor(q->def);
    }
    if (!okp) {
      why("parameter '%s': default %g outside [%g, %g] (or not a valid %s)", q->name, q->def,
          q->min, q->max, q->type == LAM_PARAM_ENUM ? "choice index" : "value");
      good = 0;
    }
  }
  result(good, mname, "defaults within bounds");
}

static void check_lifecycle(const lam_model_def *m) {
  drv d;
  int good = drv_open(&d, m, NULL, 1, PADDED) == LAM_OK && drv_run(&d, 50, 1) == LAM_OK;
  unsigned char *s = good ? snapshot(&d) : NULL;
  good = good && drv_reset(&d) == LAM_OK && drv_run(&d, 50, 1) == LAM_OK &&
         same_as_snapshot(&d, s, "after reset the run did not repeat");
  free(s);
  drv_close(&d);
  result(good, m->name, "create, reset and destroy with default parameters");
}

static void check_extremes(const lam_model_def *m) {
  int32_t np = lam_model_nparams(m);
  double *v = calloc((size_t)np + 1, sizeof *v);
  int good = v != NULL;
  for (int32_t i = 0; good && i < np; i++) {
    const lam_param_def *p = &m->params[i];
    double tries[64];
    int nt = 0;
    if (p->type == LAM_PARAM_F64 || p->type == LAM_PARAM_I64) {
      tries[nt++] = p->min;
      /* A parameter that sizes ports is tried up to CAP_SHAPE: the point is
       * the edge of the model's arithmetic, not the machine's memory. */
      tries[nt++] = sizes_a_port(m, p->name) && p->max > CAP_SHAPE ? fmax(p->min, CAP_SHAPE)
                                                                   : p->max;
    } else if (p->type == LAM_PARAM_BOOL) {
      tries[nt++] = 0;
      tries[nt++] = 1;
    } else {
      int nc = 1;
      for (const char *c = p->choices; c && *c && nc < 64; c++) nc += *c == '|';
      for (int c = 0; c < nc; c++) tries[nt++] = c;
    }
    for (int t = 0; good && t < nt; t++) {
      if (tries[t] == p->def) continue; /* the defaults check made that one */
      for (int32_t j = 0; j < np; j++) v[j] = m->params[j].def;
      v[i] = tries[t];
      drv d;
      int rc = drv_open(&d, m, v, 1, PADDED);
      /* A clear refusal is allowed: some limits depend on dt or on other
       * parameters, which a range cannot express.  A crash, a refusal
       * without a message or a failing reset is not. */
      int refused_ok = rc != LAM_OK && rc != FAULTED && *d.h.err;
      if (refused_ok) {
        printf("# note: %s = %.17g refused by create: %s\n", p->name, tries[t], d.h.err);
        diag[0] = '\0';
      } else if (rc != LAM_OK || drv_reset(&d)) {
        char prev[sizeof diag];
        snprintf(prev, sizeof prev, "%s", *diag ? diag : "create failed without a message");
        diag[0] = '\0';
        why("%s = %.17g (in range [%g, %g]): %s", p->name, tries[t], p->min, p->max, prev);
        good = 0;
      }
      drv_close(&d);
    }
  }
  free(v);
  result(good, m->name, "create, reset and destroy at extreme in-range values");
}

/* The host refuses the value; 1 when refused with a message. */
static int refused(lam_registry *r, const lam_model_def *m, lam_arg arg, const char *what) {
  lam_sim *s = lam_sim_new(r, 0.1, 1);
  int rc = s ? lam_sim_add(s, "m", m->name, &arg, 1, 1) : LAM_ENOMEM;
  lam_sim_free(s);
  if (rc != LAM_OK && *lam_last_error()) return 1;
  why("%s was accepted", what);
  return 0;
}

static void check_rejects(lam_registry *r, const lam_model_def *m) {
  int good = 1;
  char what[256];
  for (const lam_param_def *p = m->params; p && p->name; p++) {
    if (p->type == LAM_PARAM_ENUM) {
      snprintf(what, sizeof what, "%s = 'no_such_choice'", p->name);
      good &= refused(r, m, (lam_arg){.key = p->name, .str = "no_such_choice", .kind = LAM_ARG_STR},
                      what);
    }
    if (p->type != LAM_PARAM_F64 && p->type != LAM_PARAM_I64) continue;
    /* An open range cannot refuse infinities: that is the failure. */
    if (p->max == INFINITY || p->min == -INFINITY) {
      why("%s: range [%g, %g] is unbounded, so %cinf would be accepted", p->name, p->min, p->max,
          p->max == INFINITY ? '+' : '-');
      good = 0;
    }
    double above = p->max + fmax(1, fabs(p->max)), below = p->min - fmax(1, fabs(p->min));
    double bad[6] = {NAN, INFINITY, -INFINITY};
    int nb = 3;
    if (isfinite(above)) bad[nb++] = above;
    if (isfinite(below)) bad[nb++] = below;
    if (p->type == LAM_PARAM_I64 && p->max - p->min >= 1) bad[nb++] = p->min + 0.5;
    for (int k = 0; k < nb; k++) {
      if (bad[k] >= p->min && bad[k] <= p->max) continue; /* an infinity in an open range */
      snprintf(what, sizeof what, "%s = %g (range [%g, %g])", p->name, bad[k], p->min, p->max);
      good &= refused(r, m, (lam_arg){.key = p->name, .num = bad[k], .kind = LAM_ARG_NUM}, what);
    }
  }
  good &= refused(r, m, (lam_arg){.key = "no_such_parameter_x", .num = 1, .kind = LAM_ARG_NUM},
                  "the unknown parameter no_such_parameter_x");
  result(good, m->name, "out-of-range and unknown parameters rejected");
}

static void check_steps(const lam_model_def *m) {
  drv a, b;
  int good = drv_open(&a, m, NULL, 1, PADDED) == LAM_OK;
  int goodb = drv_open(&b, m, NULL, 1, PADDED) == LAM_OK;
  unsigned char *s = good ? snapshot(&a) : NULL;
  good = good && goodb && drv_run(&a, 1, 0) == LAM_OK &&
         same_as_snapshot(&a, s, "step(0) changed the ports") && drv_run(&a, 5, 1) == LAM_OK &&
         drv_run(&b, 5, 1) == LAM_OK && same_ports(&a, &b, "step(0) changed what followed");
  free(s);
  drv_close(&a);
  drv_close(&b);
  result(good, m->name, "a zero-step run changes nothing");

  good = drv_open(&a, m, NULL, 1, PADDED) == LAM_OK;
  goodb = drv_open(&b, m, NULL, 1, PADDED) == LAM_OK;
  good = good && goodb && drv_run(&a, 8, 1) == LAM_OK && drv_run(&b, 1, 8) == LAM_OK &&
         same_ports(&a, &b, "step(1) eight times vs step(8)");
  drv_close(&a);
  drv_close(&b);
  result(good, m->name, "8 one-step runs equal one 8-step run");
}

static void check_seeds(const lam_model_def *m) {
  drv a, b, c;
  int oka = drv_open(&a, m, NULL, 1, PADDED) == LAM_OK;
  int okb = drv_open(&b, m, NULL, 1, PADDED) == LAM_OK;
  int okc = drv_open(&c, m, NULL, 2, PADDED) == LAM_OK;
  int good = oka && okb && drv_run(&a, STEPS, 1) == LAM_OK && drv_run(&b, STEPS, 1) == LAM_OK &&
             same_ports(&a, &b, "seed 1 twice");
  result(good, m->name, "the same seed gives byte-identical ports");
  int ran = oka && okc && drv_run(&c, STEPS, 1) == LAM_OK;
  if (m->flags & LAM_MODEL_STOCHASTIC) {
    /* A sparse process (a 10 Hz spike train at dt = 0.1 ms) may draw
     * nothing in 200 steps: go on to 1 s of model time before concluding. */
    int differ = ran && !same_ports(&a, &c, "");
    if (ran && !differ) {
      ran = drv_run(&a, LONG_STEPS - STEPS, 1) == LAM_OK && drv_run(&c, LONG_STEPS - STEPS, 1) == LAM_OK;
      differ = ran && !same_ports(&a, &c, "");
    }
    diag[0] = '\0';
    if (ran && !differ)
      why("seeds 1 and 2 gave identical ports after %d steps although the model is flagged "
          "LAM_MODEL_STOCHASTIC (is ctx->seed passed to rng_init?)", LONG_STEPS);
    result(ran && differ, m->name, "another seed gives different ports (stochastic)");
  } else {
    int same = ran && same_ports(&a, &c, "seeds 1 and 2 differ although the model is not flagged "
                                         "LAM_MODEL_STOCHASTIC (undeclared randomness)");
    result(same, m->name, "another seed gives identical ports (deterministic)");
  }
  drv_close(&a);
  drv_close(&b);
  drv_close(&c);
}

static void check_checkpoint(const lam_model_def *m) {
  const char *what = "save_state, load_state, continue equals the uninterrupted run";
  if (!m->save_state || !m->load_state) {
    skip(m->name, what, "no save_state/load_state");
    return;
  }
  drv a, c;
  lam_buf *st = NULL;
  int oka = drv_open(&a, m, NULL, 1, PADDED) == LAM_OK;
  int okc = drv_open(&c, m, NULL, 7, PADDED) == LAM_OK;
  int good = oka && okc && drv_run(&a, STEPS / 2, 1) == LAM_OK;
  if (good) {
    int rc = guarded(&a, &(call){.what = C_SAVE, .out = &st});
    if (rc || !st) {
      if (rc != FAULTED) why("save_state failed (%s): %s", lam_strerror(rc), a.h.err);
      good = 0;
    }
  }
  good = good && drv_run(&a, STEPS / 2, 1) == LAM_OK && drv_run(&c, STEPS / 2, 1) == LAM_OK;
  if (good) {
    int rc = guarded(&c, &(call){.what = C_LOAD, .in = st});
    if (rc) {
      if (rc != FAULTED) why("load_state failed (%s): %s", lam_strerror(rc), c.h.err);
      good = 0;
    }
  }
  good = good && drv_run(&c, STEPS / 2, 1) == LAM_OK &&
         same_ports(&a, &c, "the restored instance (run before with seed 7) did not continue like the original");
  lam_buf_free(st);
  drv_close(&a);
  drv_close(&c);
  result(good, m->name, what);
}

/* Everything again with guard pages, canaries and read-only inputs. */
static void check_bounds(const lam_model_def *m) {
  drv d;
  int rc = drv_open(&d, m, NULL, 1, GUARDED);
  if (rc == LAM_OK) rc = drv_run(&d, 50, 1);
  if (rc == LAM_OK) rc = drv_run(&d, 1, 0);
  if (rc == LAM_OK) rc = drv_run(&d, 1, 8);
  if (rc == LAM_OK) rc = drv_reset(&d);
  if (rc == LAM_OK) rc = drv_run(&d, 10, 1);
  if (rc == LAM_OK && m->save_state && m->load_state) {
    lam_buf *st = NULL;
    rc = guarded(&d, &(call){.what = C_SAVE, .out = &st});
    if (rc == LAM_OK && st) rc = guarded(&d, &(call){.what = C_LOAD, .in = st});
    lam_buf_free(st);
    if (rc == LAM_OK) rc = drv_run(&d, 10, 1);
  }
  int broken = d.broken;
  drv_close(&d);
  /* Only a stray write fails this check; other failures have their own. */
  if (broken == 2) {
    char reason[sizeof diag];
    snprintf(reason, sizeof reason, "the guarded run did not complete: %s", diag);
    skip(m->name, "no writes outside its own ports", reason);
    return;
  }
  if (!broken) diag[0] = '\0';
  result(!broken, m->name, "no writes outside its own ports");
}

static void check_methods(const lam_model_def *m) {
  const char *what = "methods reject wrong shapes";
  if (!m->methods || !m->methods->name) {
    skip(m->name, what, "no methods");
    return;
  }
  /* Without a declared signature, the arguments every method must refuse
   * are the ones no model means: a 4-d u8 array, and a 4-d f64 array that
   * is a strided (non-contiguous) view. */
  lam_buf *odd = lam_buf_new(LAM_U8, 4, (int64_t[]){2, 3, 1, 2});
  lam_buf *base = lam_buf_new(LAM_F64, 4, (int64_t[]){4, 3, 1, 2});
  lam_buf *strided = base ? lam_buf_slice(base, 0, 0, 4, 2) : NULL;
  struct {
    lam_buf *const *args;
    int32_t n;
    const char *desc;
  } probes[] = {{&odd, 1, "a u8 [2,3,1,2] argument"},
                {&strided, 1, "a non-contiguous f64 [2,3,1,2] view"}};
  int good = 1;
  for (const lam_method_def *x = m->methods; good && x->name; x++)
    for (size_t k = 0; good && k < sizeof probes / sizeof *probes; k++) {
      drv d;
      lam_buf *out = NULL;
      good = drv_open(&d, m, NULL, 1, PADDED) == LAM_OK;
      int rc = good ? guarded(&d, &(call){.what = C_METHOD, .method = x, .args = probes[k].args,
                                          .nargs = probes[k].n, .out = &out})
                    : FAULTED;
      if (good && rc == LAM_OK) {
        why("method %s accepted %s", x->name, probes[k].desc);
        good = 0;
      } else if (good && rc != FAULTED && !*d.h.err) {
        why("method %s refused %s without a message (api->set_error)", x->name, probes[k].desc);
        good = 0;
      } else if (rc == FAULTED) {
        good = 0;
      }
      lam_buf_free(out);
      drv_close(&d);
    }
  lam_buf_free(odd);
  lam_buf_free(strided);
  lam_buf_free(base);
  result(good, m->name, what);
}

static void check_model(lam_registry *r, const lam_model_def *m) {
  check_lifecycle(m);
  check_extremes(m);
  check_rejects(r, m);
  check_steps(m);
  check_seeds(m);
  check_checkpoint(m);
  check_bounds(m);
  check_methods(m);
}

/* The plugin's own descriptor, before the loader copies (or refuses) it. */
static const lam_plugin_desc *raw_desc(const char *path, void **dl) {
  *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!*dl) return NULL;
  lam_plugin_init_fn init;
  *(void **)&init = dlsym(*dl, "lamina_plugin_init");
  if (!init) return NULL;
  lam_host_info hi = {.struct_size = sizeof hi, .host_version = lam_version(),
                      .api = lam_host_api_get(), .api_size = lam_host_api_get()->struct_size,
                      .abi_major = LAM_ABI_MAJOR, .abi_minor_max = LAM_ABI_MINOR};
  char err[512] = "";
  return init(&hi, err, sizeof err);
}

/* Runs this very command again under valgrind's memcheck (without
 * --valgrind); 1 when it reports no leaks and no invalid accesses. */
static int run_valgrind(const char *path) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    why("cannot find the lamina executable: %s", strerror(errno));
    return 0;
  }
  self[n] = '\0';
  char log[] = "/tmp/lamina-check-vg.XXXXXX";
  int fd = mkstemp(log);
  if (fd < 0) {
    why("cannot create a log file: %s", strerror(errno));
    return 0;
  }
  close(fd);
  char logopt[64];
  snprintf(logopt, sizeof logopt, "--log-file=%s", log);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    execlp("valgrind", "valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
           "--track-origins=no", logopt, self, "plugin", "check", path, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0) {
    why("cannot run valgrind: %s", strerror(errno));
    unlink(log);
    return 0;
  }
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  int good = code == 0 || code == 1; /* 1: a check failed, reported above */
  if (code == 127) why("valgrind is not installed (apt-get install valgrind)");
  else if (!good) why("memcheck found errors (exit %d); its report follows", code);
  if (!good) {
    printf("not ok %d - valgrind memcheck: no leaks or invalid accesses\n# %s\n", ++n_tests, diag);
    n_failed++;
    diag[0] = '\0';
    FILE *f = fopen(log, "r");
    char line[512];
    int shown = 0;
    while (f && fgets(line, sizeof line, f) && shown++ < 60) printf("#   %s", line);
    if (f) fclose(f);
  } else {
    printf("ok %d - valgrind memcheck: no leaks or invalid accesses\n", ++n_tests);
  }
  unlink(log);
  return good;
}

int lam__plugin_check(const char *path, int valgrind) {
  printf("TAP version 13\n");
  install_handlers();
  const char *lim = getenv("LAMINA_CHECK_TIMEOUT");
  if (lim && atoi(lim) > 0) call_limit_s = (unsigned)atoi(lim);
  void *dl = NULL;
  const lam_plugin_desc *raw = raw_desc(path, &dl);
  lam_registry *r = lam_registry_new();
  int rc = r ? lam_registry_load(r, path) : LAM_ENOMEM;
  if (rc) why("%s", lam_last_error());
  result(rc == 0, NULL, "loads; descriptor and schemas valid");
  const lam_plugin_desc *d = NULL;
  for (int i = 0; rc == 0 && i < lam_registry_count(r); i++)
    if (lam_registry_info(r, i)->status == LAM_PLUGIN_LOADED) d = lam_registry_info(r, i)->desc;
  if (d) {
    if (!*d->version || !*d->licence) why("version '%s', licence '%s'", d->version, d->licence);
    result(*d->version && *d->licence, d->name, "declares a version and a licence");
  }
  /* Defaults straight from the plugin's arrays, walked with its strides. */
  if (raw && raw->models && raw->model_size >= sizeof(lam_model_def) &&
      raw->param_size >= sizeof(lam_param_def))
    for (const char *p = (const char *)raw->models; ((const lam_model_def *)p)->name;
         p += raw->model_size) {
      const lam_model_def *m = (const lam_model_def *)p;
      check_defaults(m->name, m->params, raw->param_size);
    }
  for (const lam_model_def *m = d ? d->models : NULL; m && m->name; m++) check_model(r, m);
  if (valgrind) run_valgrind(path);
  printf("1..%d\n", n_tests);
  if (n_failed) printf("# %d of %d failed\n", n_failed, n_tests);
  fflush(stdout);
  lam_registry_free(r);
  if (dl) dlclose(dl);
  return n_failed ? 1 : 0;
}
