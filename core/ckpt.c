/*
 * ckpt.c - the checkpoint envelope.  lam_sim_save_state wraps a model's
 * own state buffer in a u8 buffer that starts with a short text header:
 *
 *     lamina-checkpoint 1
 *     plugin stim
 *     version 0.1.0
 *     abi 1.0
 *     model stim.ou
 *     dtype u8
 *     shape 1234
 *     <empty line>
 *     <the plugin's state, its elements in row-major order>
 *
 * so that a checkpoint says what wrote it (readable with `head -c 200`),
 * and lam_sim_load_state refuses it, with both sides in the message, when
 * it goes to another plugin or model, to an incompatible plugin version or
 * across ABI majors, before the plugin ever sees it.
 *
 * Versions are compatible when the major numbers agree (for 0.x versions
 * the minor numbers too, since 0.x minors may break) and the checkpoint is
 * not newer than the plugin that loads it: a plugin may read the states
 * of its older patch and minor releases, never those of a newer one.
 */
#include "lamina.h"
#include "lam_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[] = "lamina-checkpoint 1\n";
enum { MAX_HEADER = 2048 };

int lam__ckpt_wrap(const lam_plugin_desc *plugin, const char *model, lam_buf *state,
                   lam_buf **out) {
  *out = NULL;
  if (!state) return lam_set_error(LAM_EPLUGIN, "save_state: the model returned no buffer");
  lam_buf *flat = lam_buf_is_contiguous(state) ? lam_buf_retain(state) : lam_buf_copy(state, 0);
  lam_buf_free(state);
  if (!flat) return lam_set_error(LAM_ENOMEM, "save_state: out of memory");
  char head[MAX_HEADER];
  int k = snprintf(head, sizeof head, "%splugin %s\nversion %s\nabi %d.%d\nmodel %s\ndtype %s\nshape",
                   MAGIC, plugin->name, plugin->version, (int)plugin->abi_major,
                   (int)plugin->abi_minor, model, lam_dtype_name(flat->dtype));
  if (flat->ndim == 0 && k > 0 && k < (int)sizeof head)
    k += snprintf(head + k, sizeof head - (size_t)k, " ()");
  for (int32_t d = 0; d < flat->ndim && k > 0 && k < (int)sizeof head; d++)
    k += snprintf(head + k, sizeof head - (size_t)k, "%s%lld", d ? "," : " ",
                  (long long)flat->shape[d]);
  if (k > 0 && k < (int)sizeof head) k += snprintf(head + k, sizeof head - (size_t)k, "\n\n");
  if (k <= 0 || k >= (int)sizeof head) {
    lam_buf_free(flat);
    return lam_set_error(LAM_EINVAL, "save_state: checkpoint header too long");
  }
  size_t bytes = (size_t)flat->size * lam_dtype_size(flat->dtype);
  int64_t total = (int64_t)((size_t)k + bytes);
  lam_buf *env = lam_buf_new(LAM_U8, 1, &total);
  if (!env) {
    lam_buf_free(flat);
    return lam_set_error(LAM_ENOMEM, "save_state: out of memory");
  }
  memcpy(env->data, head, (size_t)k);
  if (bytes) memcpy((char *)env->data + k, flat->data, bytes);
  lam_buf_free(flat);
  *out = env;
  return LAM_OK;
}

/* The value of "key value" line `key` in the header, copied into out. */
static int field(const char *head, const char *key, char *out, size_t n) {
  size_t kl = strlen(key);
  for (const char *p = head; *p && *p != '\n';) {
    const char *nl = strchr(p, '\n');
    if (!nl) break;
    if ((size_t)(nl - p) > kl && !strncmp(p, key, kl) && p[kl] == ' ') {
      size_t vl = (size_t)(nl - p) - kl - 1;
      if (vl >= n) return -1;
      memcpy(out, p + kl + 1, vl);
      out[vl] = '\0';
      return 0;
    }
    p = nl + 1;
  }
  return -1;
}

int lam__ckpt_unwrap(const lam_plugin_desc *plugin, const char *model, const char *inst,
                     const lam_buf *in, lam_buf **payload) {
  *payload = NULL;
  size_t ml = sizeof MAGIC - 1;
  if (in->dtype != LAM_U8 || in->ndim != 1 || !lam_buf_is_contiguous(in) ||
      (size_t)in->size < ml || memcmp(in->data, MAGIC, ml))
    return LAM_OK; /* a bare plugin state: the plugin judges it */
  const char *data = in->data;
  size_t n = (size_t)in->size, end = 0;
  for (size_t i = ml; i + 1 < n && i < MAX_HEADER; i++)
    if (data[i] == '\n' && data[i + 1] == '\n') {
      end = i + 2;
      break;
    }
  char head[MAX_HEADER + 1], pl[128], ver[64], abi[32], mod[256], dt[16], shp[128];
  if (!end)
    return lam_set_error(LAM_EINVAL, "load_state %s: the checkpoint header is not terminated", inst);
  memcpy(head, data + ml, end - ml);
  head[end - ml] = '\0';
  if (field(head, "plugin", pl, sizeof pl) || field(head, "version", ver, sizeof ver) ||
      field(head, "abi", abi, sizeof abi) || field(head, "model", mod, sizeof mod) ||
      field(head, "dtype", dt, sizeof dt) || field(head, "shape", shp, sizeof shp))
    return lam_set_error(LAM_EINVAL,
                         "load_state %s: checkpoint header lacks plugin, version, abi, model, "
                         "dtype or shape", inst);
  const char *here = "load_state %s: the checkpoint was written by plugin %s %s (ABI %s, model %s)";
  char from[512];
  snprintf(from, sizeof from, here, inst, pl, ver, abi, mod);
  if (strcmp(pl, plugin->name))
    return lam_set_error(LAM_EABI, "%s; %s is a %s of plugin %s %s", from, inst, model,
                         plugin->name, plugin->version);
  if (strcmp(mod, model))
    return lam_set_error(LAM_EABI, "%s; %s is a %s, a different %s model", from, inst, model,
                         plugin->name);
  int amaj = atoi(abi);
  if (amaj != plugin->abi_major)
    return lam_set_error(LAM_EABI, "%s; this %s is built for ABI %d.%d (another ABI major)",
                         from, plugin->name, (int)plugin->abi_major, (int)plugin->abi_minor);
  long saved[3], have[3];
  if (lam__version_parse(ver, saved) || lam__version_parse(plugin->version, have))
    return lam_set_error(LAM_EABI, "%s; cannot compare with this plugin's version %s", from,
                         plugin->version);
  int same_line = saved[0] == have[0] && (have[0] != 0 || saved[1] == have[1]);
  int newer = saved[0] > have[0] ||
              (saved[0] == have[0] && (saved[1] > have[1] ||
                                       (saved[1] == have[1] && saved[2] > have[2])));
  if (!same_line || newer)
    return lam_set_error(LAM_EABI,
                         "%s; this is %s %s, which cannot read it (%s): checkpoints load into the "
                         "same major version (0.x: the same minor) and never into an older one",
                         from, plugin->name, plugin->version,
                         newer ? "the checkpoint is newer" : "another release line");
  int32_t dtype = lam_dtype_parse(dt), nd = 0;
  int64_t shape[LAM_MAX_DIMS], count = 1;
  for (char *p = shp; *p && nd < LAM_MAX_DIMS; nd++) {
    char *e;
    shape[nd] = strtoll(p, &e, 10);
    if (e == p || shape[nd] < 0) break;
    count *= shape[nd];
    p = *e == ',' ? e + 1 : e;
  }
  if (!dtype || (size_t)count * lam_dtype_size(dtype) != n - end)
    return lam_set_error(LAM_EINVAL,
                         "load_state %s: the checkpoint's state (dtype %s, shape %s) does not "
                         "match its %zu bytes", inst, dt, shp, n - end);
  lam_buf *b = lam_buf_new(dtype, nd, shape);
  if (!b) return lam_set_error(LAM_ENOMEM, "load_state %s: out of memory", inst);
  if (n > end) memcpy(b->data, data + end, n - end);
  *payload = b;
  return LAM_OK;
}
