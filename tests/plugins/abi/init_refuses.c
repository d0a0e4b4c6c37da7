/*
 * init_refuses.c - a plugin whose entry point declines to load (here: it
 * wants a host implementing ABI minor 99) and says why through `err`; the
 * host must pass that reason on.
 */
#define TINY_FAMILY "init_refuses"
#define TINY_CUSTOM_INIT
#include "tiny.h"

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  if (host->abi_minor_max < 99) {
    static const char why[] = "init_refuses: wants a host with ABI minor 99";
    if (err && errlen) {
      size_t k = sizeof why - 1 < errlen - 1 ? sizeof why - 1 : errlen - 1;
      memcpy(err, why, k);
      err[k] = 0;
    }
    return NULL;
  }
  api = host->api;
  return &desc;
}
