/*
 * lamina.h - the public API of liblamina, for hosts (the `lamina` command,
 * C programs) and for LuaJIT scripts, whose ffi.cdef (lua/lamina/cdef.lua)
 * is generated from this header by the Makefile.
 *
 * Conventions, true of every function below unless its comment says
 * otherwise:
 *   - Functions that can fail return an int status (LAM_OK == 0, negative
 *     LAM_E* codes from lamina_plugin.h) or NULL, and leave a one-line
 *     message in a thread-local buffer read with lam_last_error().
 *   - lam_x_new() returns an object the caller owns; lam_x_free() releases
 *     it; lam_x_free(NULL) is a no-op.
 *   - Strings passed in are copied; strings returned are borrowed and stay
 *     valid as long as the object they come from.
 *   - No function calls exit(), abort() or longjmp().
 */
#ifndef LAMINA_H
#define LAMINA_H

#include "lamina_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors and version                                                   */
/* ------------------------------------------------------------------ */

/* The message of the last failure on this thread ("" when none).  Borrowed;
 * overwritten by the next failing call. */
const char *lam_last_error(void);
/* Sets the thread's last error message (printf-style); used by the Lua
 * library so that its own errors read like the core's. Returns `code`. */
int lam_set_error(int code, const char *fmt, ...);
/* A short text for a status code, e.g. "invalid argument". Static. */
const char *lam_strerror(int code);
/* "0.1.0"; static. */
const char *lam_version(void);
/* Compiler, flags and source revision liblamina was built with; static. */
const char *lam_build_info(void);

/* ------------------------------------------------------------------ */
/* Buffers (buf.c)                                                      */
/* ------------------------------------------------------------------ */

/* Size in bytes of one element of `dtype`, or 0 for an invalid dtype. */
size_t lam_dtype_size(int32_t dtype);
/* "f32", "f64", "i32", "i64", "u8", or "?" ; static. */
const char *lam_dtype_name(int32_t dtype);
/* The dtype named by "f32".."u8" (also "float32", "float64", "int32",
 * "int64", "uint8"), or 0. */
int32_t lam_dtype_parse(const char *name);

/* A new zero-filled contiguous buffer with one reference.  ndim may be 0
 * (a scalar of size 1); shape entries must be >= 0.  NULL on bad dtype,
 * ndim, shape or when out of memory. */
lam_buf *lam_buf_new(int32_t dtype, int32_t ndim, const int64_t *shape);
/* Adds a reference and returns b.  NULL-safe. */
lam_buf *lam_buf_retain(lam_buf *b);
/* Drops one reference; the memory is released with the last one (a view's
 * last release drops its reference on the owner).  NULL is a no-op. */
void lam_buf_free(lam_buf *b);
/* A view of b restricted to [start, stop) with `step` along `dim`; negative
 * start/stop are NOT interpreted (the Lua layer converts 1-based indices).
 * The view shares memory with b and keeps b's storage alive.  step >= 1. */
lam_buf *lam_buf_slice(lam_buf *b, int32_t dim, int64_t start, int64_t stop,
                       int64_t step);
/* A view of b with dimension `dim` fixed at `index` (one dimension fewer),
 * e.g. a column of a matrix.  Shares memory and keeps b's storage alive. */
lam_buf *lam_buf_select(lam_buf *b, int32_t dim, int64_t index);
/* A view with a new shape of the same size; b must be contiguous. */
lam_buf *lam_buf_reshape(lam_buf *b, int32_t ndim, const int64_t *shape);
/* A new contiguous buffer holding a copy of b converted to `dtype` (0 keeps
 * b's dtype).  Conversion to integers truncates toward zero; NaN or values
 * outside the target range are errors naming the flat index. */
lam_buf *lam_buf_copy(const lam_buf *b, int32_t dtype);
/* Copies src into dst elementwise, converting dtypes as lam_buf_copy does.
 * Shapes must have the same number of elements (they are walked in
 * row-major order). */
int lam_buf_assign(lam_buf *dst, const lam_buf *src);
/* 1 when b's strides are the row-major ones for its shape. */
int32_t lam_buf_is_contiguous(const lam_buf *b);
/* The element at row-major flat index i, as a double (i must be < size). */
double lam_buf_get(const lam_buf *b, int64_t i);
/* Sets the element at flat index i (converted to b's dtype). */
int lam_buf_set(lam_buf *b, int64_t i, double v);
/* Sets every element to v. */
int lam_buf_fill(lam_buf *b, double v);

/* Reductions over every element, computed in double precision in row-major
 * order (so the result is bitwise reproducible).  An empty buffer gives
 * sum 0 and mean/min/max NaN with status LAM_EINVAL. */
enum {
  LAM_REDUCE_SUM = 1,
  LAM_REDUCE_MEAN = 2,
  LAM_REDUCE_MIN = 3,
  LAM_REDUCE_MAX = 4,
  LAM_REDUCE_VAR = 5           /* population variance */
};
int lam_buf_reduce(const lam_buf *b, int32_t op, double *out);
/* In place: b = b * a + c, elementwise (integer dtypes round to nearest and
 * refuse values out of range). */
int lam_buf_affine(lam_buf *b, double a, double c);
/* In place: dst = dst + alpha * src, elementwise; same number of elements. */
int lam_buf_axpy(lam_buf *dst, double alpha, const lam_buf *src);

/* ------------------------------------------------------------------ */
/* Random numbers (rng.c)                                               */
/* ------------------------------------------------------------------ */

/* The raw Philox4x32-10 block function (Random123), exposed so tests can pin
 * known answers: out = philox4x32_10(ctr, key). */
void lam_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Initialises a stream keyed by (seed, instance, purpose, index).  Distinct
 * keys give independent streams; the same key always gives the same one. */
void lam_rng_init(lam_rng *r, uint64_t seed, uint64_t instance,
                  uint64_t purpose, uint64_t index);
uint32_t lam_rng_u32(lam_rng *r);
/* 53-bit uniform in the open interval (0, 1). */
double lam_rng_uniform(lam_rng *r);
double lam_rng_normal(lam_rng *r);
/* One standard normal from each of n streams: out[i] = lam_rng_normal(&r[i])
 * for i = 0..n-1, bit for bit, and every stream left exactly as that loop
 * leaves it (counter, used words, cached spare), only faster (the Philox
 * blocks of many streams are computed together).  Needs n >= 0 and, when
 * n > 0, non-NULL r[n] and out[n] that do not overlap; n <= 0 or a NULL
 * pointer draws nothing.  The caller owns both arrays. */
void lam_rng_normal_each(lam_rng *r, int64_t n, double *out);
double lam_rng_exponential(lam_rng *r);
/* Poisson with the given mean (>= 0; a negative, non-finite or larger
 * than 2^62 mean gives -1). */
int64_t lam_rng_poisson(lam_rng *r, double mean);
/* Binomial(n, p), n >= 0, 0 <= p <= 1 (otherwise -1). */
int64_t lam_rng_binomial(lam_rng *r, int64_t n, double p);
/* Fills `out` (any dtype, any strides, walked in row-major order) with
 * draws.  Integer buffers get continuous draws rounded to nearest.  Returns
 * LAM_EINVAL for an unknown distribution, a bad parameter (uniform needs
 * finite a <= b; normal sd >= 0; means >= 0; binomial n a whole number in
 * [0, 2^53] and p in [0, 1]) or a NULL/read-only buffer, before drawing
 * anything; LAM_ERANGE when a draw does not fit the dtype (the buffer is
 * then filled up to that index).  The stream functions take a non-NULL
 * stream; lam_rng_init(NULL, ...) does nothing. */
enum {
  LAM_DIST_UNIFORM = 1,        /* a + (b - a) * U */
  LAM_DIST_NORMAL = 2,         /* mean a, sd b */
  LAM_DIST_EXPONENTIAL = 3,    /* mean a */
  LAM_DIST_POISSON = 4,        /* mean a */
  LAM_DIST_BINOMIAL = 5        /* n = a, p = b */
};
int lam_rng_fill(lam_rng *r, lam_buf *out, int32_t dist, double a, double b);
/* A 64-bit seed derived from (seed, a, b) by hashing (Philox as a mixer),
 * never by adding: for per-point and per-replicate seeds. */
uint64_t lam_seed_derive(uint64_t seed, uint64_t a, uint64_t b);

/* ------------------------------------------------------------------ */
/* Plugins (plugin.c)                                                   */
/* ------------------------------------------------------------------ */

typedef struct lam_registry lam_registry;

/* What the registry knows of one candidate file. */
enum {
  LAM_PLUGIN_LOADED = 1,
  LAM_PLUGIN_REJECTED = 2
};
typedef struct lam_plugin_info {
  const char *path;            /* as found */
  const char *sha256;          /* hex digest of the file, "" if unreadable */
  const char *reason;          /* why it was rejected; "" when loaded */
  const char *origin;          /* "explicit", "--plugin-path", ... */
  const lam_plugin_desc *desc; /* NULL when rejected */
  int32_t status;              /* LAM_PLUGIN_* */
  int32_t reserved;
} lam_plugin_info;

/* A registry of plugins; NULL on failure.  It reads LAMINA_PLUGIN_PATH at
 * creation.  Libraries stay loaded until lam_registry_free.  Freeing a
 * registry while simulations made from it are alive is allowed (garbage
 * collectors finalize in any order): it is then freed, and its libraries
 * unloaded, by the lam_sim_free of the last of them. */
lam_registry *lam_registry_new(void);
void lam_registry_free(lam_registry *reg);
/* Adds a search directory ahead of LAMINA_PLUGIN_PATH and the built-in
 * directories (the --plugin-path slot); later calls come after earlier
 * ones. */
int lam_registry_add_path(lam_registry *reg, const char *dir);
/* The search directories in discovery order, with their origin, one per
 * line as "origin<TAB>dir".  Borrowed until the next call. */
const char *lam_registry_paths(lam_registry *reg);
/* Loads one plugin file (an explicit path).  Returns LAM_OK, or LAM_EABI /
 * LAM_ENOTFOUND with the reason; a rejected file is also listed. */
int lam_registry_load(lam_registry *reg, const char *path);
/* Loads every *.so in the search directories (earlier directories win when
 * two files carry the same plugin name; the later one is listed as
 * rejected with the reason).  Returns the number loaded. */
int32_t lam_registry_scan(lam_registry *reg);
/* The model called "family.model", loading <family>.so from the search
 * path if it is not loaded yet.  NULL with an error listing every path
 * tried (and each dlerror or refusal) when not found. */
const lam_model_def *lam_registry_model(lam_registry *reg, const char *name);
/* The plugin that provides `model` (its family prefix), or NULL. */
const lam_plugin_info *lam_registry_owner(lam_registry *reg, const char *model);
/* Number of files seen (loaded and rejected) and the i-th one. */
int32_t lam_registry_count(const lam_registry *reg);
const lam_plugin_info *lam_registry_info(const lam_registry *reg, int32_t i);
/* The loaded plugin called `name` (a family such as "stim"), loading it
 * through the search path if needed.  NULL with an error listing every
 * path tried when there is none.  Borrowed, like lam_registry_info. */
const lam_plugin_info *lam_registry_find(lam_registry *reg, const char *name);
/* Pins plugin `name`: from now on this registry accepts only a file whose
 * SHA-256 is `sha256` (64 hex digits, any case; NULL or "" for any file)
 * and whose version is at least `min_version` ("MAJOR.MINOR.PATCH",
 * compared numerically; NULL or "" for any version).  A later pin of the
 * same name replaces the earlier one.  Files that do not match are refused
 * when loaded, with a reason that shows the pinned and the actual hash (or
 * version), and the search goes on to the next candidate in discovery
 * order.  If the plugin is already loaded and does not match, the call
 * returns LAM_EABI with both hashes in the message and the plugin is no
 * longer offered (instances already made keep running).  LAM_EINVAL for a
 * bad name, hash or version, or when neither is given.  This is what a
 * protocol's `plugins:` section (name + sha256) maps to. */
int lam_registry_pin(lam_registry *reg, const char *name, const char *sha256,
                     const char *min_version);
/* A report, several lines of text, on how plugin `name` was chosen: the
 * file loaded (path, version, ABI, SHA-256, origin), each search directory
 * in order with what its <name>.so was (missing, refused and why, another
 * plugin), every other file declaring that name and why it was not
 * chosen, the pin if any, and whether the current directory is searched
 * (only when a path names it).  Borrowed until the next call; never NULL. */
const char *lam_registry_why(lam_registry *reg, const char *name);

/* Helpers over schemas (used by `lamina plugin info` and the Lua layer). */
int32_t lam_model_nparams(const lam_model_def *m);
int32_t lam_model_nports(const lam_model_def *m);
int32_t lam_model_nmethods(const lam_model_def *m);
const lam_param_def *lam_model_param(const lam_model_def *m, int32_t i);
const lam_port_def *lam_model_port(const lam_model_def *m, int32_t i);
const lam_method_def *lam_model_method(const lam_model_def *m, int32_t i);
/* The host API table given to plugins (for tests and in-process models). */
const lam_host_api *lam_host_api_get(void);

/* ------------------------------------------------------------------ */
/* Simulations (sim.c)                                                  */
/* ------------------------------------------------------------------ */

typedef struct lam_sim lam_sim;
typedef struct lam_rec lam_rec;

/* One parameter value given to lam_sim_add.  kind says which field holds
 * it: numbers and booleans in `num`, strings (enum choices) in `str`. */
enum {
  LAM_ARG_NUM = 1,
  LAM_ARG_BOOL = 2,
  LAM_ARG_STR = 3
};
typedef struct lam_arg {
  const char *key;
  const char *str;
  double num;
  int32_t kind;
  int32_t reserved;
} lam_arg;

/* A simulation with base step dt (> 0, in ms by convention) and root seed.
 * The registry must outlive the simulation. */
lam_sim *lam_sim_new(lam_registry *reg, double dt, uint64_t seed);
void lam_sim_free(lam_sim *sim);
double lam_sim_dt(const lam_sim *sim);
uint64_t lam_sim_seed(const lam_sim *sim);
/* Ticks run so far (0 after creation and after lam_sim_reset). */
int64_t lam_sim_tick(const lam_sim *sim);

/* Adds an instance of `model` ("family.model") named `name` (unique, made
 * of letters, digits and '_'), stepping every `period` base ticks (>= 1).
 * Every arg must name a parameter of the model, have the right type and lie
 * in range; otherwise nothing is added and the error names the key, the
 * value and the valid range.  Models step in the order they were added. */
int lam_sim_add(lam_sim *sim, const char *name, const char *model,
                const lam_arg *args, int32_t nargs, int64_t period);
/* Number of models, and the i-th model's name, model definition and
 * resolved parameter values (schema order). */
int32_t lam_sim_nmodels(const lam_sim *sim);
const char *lam_sim_model_name(const lam_sim *sim, int32_t i);
const lam_model_def *lam_sim_model_def(const lam_sim *sim, int32_t i);
const double *lam_sim_model_params(const lam_sim *sim, int32_t i);
int64_t lam_sim_model_period(const lam_sim *sim, int32_t i);
/* How many times model i has been stepped (its step count). */
int64_t lam_sim_model_steps(const lam_sim *sim, int32_t i);
/* Model i's instance id: with the root seed it keys every random stream
 * of the model (lam_rng_init), so it is recorded with the run. */
uint64_t lam_sim_model_instance(const lam_sim *sim, int32_t i);

/* The buffer behind "model.port", with a new reference (release it with
 * lam_buf_free).  Writing into it between runs sets the port. */
lam_buf *lam_sim_port(lam_sim *sim, const char *path);
/* Makes the input or state port `dst` read output or state port `src`.
 * Both must have the same number of elements.  When the dtypes match and
 * dst is an IN port, dst becomes an alias of src's buffer (the reader sees
 * the writer's latest value); otherwise values are copied (and converted)
 * in the links phase of each tick after which the reader is due, whenever
 * the writer has stepped since the last copy, and once before the first
 * tick run after creation or reset (so the reader starts from the
 * writer's initial value).  A port is driven by at most
 * one link.  Only before the first run or after lam_sim_reset. */
int lam_sim_link(lam_sim *sim, const char *src, const char *dst);
/* Copies `value` into port `path` now (same number of elements). */
int lam_sim_set(lam_sim *sim, const char *path, const lam_buf *value);

/* Scheduled actions run in C at the start of their tick, before models
 * step, in tick order and, within a tick, in the order they were added.
 * The tick must not be in the past. */
int lam_sim_at_set(lam_sim *sim, int64_t tick, const char *path,
                   const lam_buf *value);
/* Sets a LAM_PARAM_MUTABLE parameter "model.param" at `tick`. */
int lam_sim_at_param(lam_sim *sim, int64_t tick, const char *path,
                     double value);
/* Plays the rows of `data` (first dimension = time) into port `path`, one
 * row each time the port's model is due, starting at tick `start`.  Rows
 * must have as many elements as the port.  With loop != 0 the rows repeat
 * forever; otherwise the port keeps the last row.  `data` is retained. */
int lam_sim_play(lam_sim *sim, const char *path, lam_buf *data, int64_t start,
                 int32_t loop);

/* Records port `path` every `every` ticks for ticks in [from, to) (to < 0:
 * no end) into memory.  A sample taken at tick t holds the port after all
 * models due at t have stepped.  The recorder belongs to the simulation. */
lam_rec *lam_sim_record(lam_sim *sim, const char *path, int64_t every,
                        int64_t from, int64_t to);
/* The samples so far as a new buffer [nsamples, port shape...] (a view of
 * the recorder's storage, so it stays valid after later runs).  For a port
 * flagged LAM_PORT_SPIKES: the index of every event, i64 [nevents], in
 * tick order and ascending index within a tick.  For a streaming recorder:
 * its file read back (pending samples are written out first). */
lam_buf *lam_rec_data(lam_rec *rec);
/* The tick of each sample (or event) so far as a new i64 buffer. */
lam_buf *lam_rec_ticks(lam_rec *rec);
/* Samples (dense) or events (spikes) taken so far. */
int64_t lam_rec_count(const lam_rec *rec);
/* Nonzero when the recorder stores events of a LAM_PORT_SPIKES port. */
int32_t lam_rec_is_spikes(const lam_rec *rec);
/* Streams the recorder to disk instead of memory; call before its first
 * run.  Samples (or event indices) go to the .npy file `file` and their
 * ticks to "<file without .npy>.ticks.npy", appended in chunks of about
 * 1 MiB, so memory stays bounded whatever the length of the recording.
 * While recording both files are named "<name>.partial" and are valid
 * .npy files of everything written out so far (after every chunk and at
 * the end of every lam_sim_run); lam_rec_close, lam_sim_reset or
 * lam_sim_free gives them their final names.  Existing files (final or
 * .partial) are refused (LAM_EIO) unless overwrite != 0; LAM_ESTATE when
 * the recorder already holds samples. */
int lam_rec_stream(lam_rec *rec, const char *file, int32_t overwrite);
/* Ends a stream: writes out, fsyncs, renames; the recorder then takes no
 * more samples.  A no-op (LAM_OK) for memory recorders. */
int lam_rec_close(lam_rec *rec);
/* A stream's final file names: which = 0 data, 1 ticks; NULL for memory
 * recorders.  Owned by the recorder. */
const char *lam_rec_file(const lam_rec *rec, int32_t which);
/* Starts (on != 0) or stops a recorder at `tick` (a scheduled action). */
int lam_sim_at_record(lam_sim *sim, int64_t tick, lam_rec *rec, int32_t on);

/* Checks checked ports (float OUT and STATE ports without
 * LAM_PORT_NOCHECK) for NaN/Inf after every `every`-th step of each model;
 * 0 disables checks.  The default, -1, is automatic: every step for a
 * model whose checked ports hold at most 4096 elements, and every
 * ceil(elements / 4096) steps for larger ones, so the scan never costs
 * more than about 4096 elements per model-step. */
int lam_sim_set_check(lam_sim *sim, int64_t every);
/* Progress: lam_sim_run draws a progress bar on stderr while the tick count
 * moves towards `end_tick`, if stderr is a terminal, the run lasts longer
 * than a second and lam_set_quiet(0).  end_tick <= 0 turns it off. */
void lam_sim_progress(lam_sim *sim, int64_t end_tick);
void lam_set_quiet(int32_t quiet);
/* The file descriptor the progress bar is drawn on (default 2, stderr). */
void lam_set_progress_fd(int32_t fd);

/* Advances `nticks` base ticks.  Returns LAM_OK, LAM_EDIVERGED (the message
 * names model, port, index and tick) or LAM_EPLUGIN (the model's message);
 * after a failure the simulation stops at the failing tick and refuses to
 * run again until lam_sim_reset. */
int lam_sim_run(lam_sim *sim, int64_t nticks);
/* Back to tick 0: every model's reset(), ports zeroed and re-initialised,
 * pending actions and recordings cleared, links kept. */
int lam_sim_reset(lam_sim *sim);
/* Calls the named method of a model with buffers in; *out receives a new
 * reference or NULL. */
int lam_sim_call(lam_sim *sim, const char *model, const char *method,
                 lam_buf *const *in, int32_t n_in, lam_buf **out);
/* A checkpoint of one model's state (its save_state) and its restore. */
int lam_sim_save_state(lam_sim *sim, const char *model, lam_buf **out);
int lam_sim_load_state(lam_sim *sim, const char *model, const lam_buf *in);

/* ------------------------------------------------------------------ */
/* Files (npy.c)                                                        */
/* ------------------------------------------------------------------ */

/* NumPy .npy files and .npz archives (np.load reads what these write and
 * these read what np.save / np.savez / np.savez_compressed write).  Errors
 * are one line naming the file (and the member) and the problem. */

/* Writes b (any strides; stored in C order) as a .npy v1.0 file, padded to
 * 64 bytes like NumPy >= 1.24.  The file appears atomically (temporary file
 * in the same directory, fsync, rename).  An existing file is an error
 * (LAM_EIO) unless overwrite != 0.  LAM_EINVAL for a NULL buffer. */
int lam_npy_save(const char *path, const lam_buf *b, int32_t overwrite);
/* Reads a .npy file (v1.0, v2.0 or v3.0; '<f4' '<f8' '<i4' '<i8' '|u1', also
 * with '=' ; fortran_order True is transposed into C order) into a new
 * contiguous buffer the caller owns.  NULL with an error for a missing file
 * (LAM_ENOTFOUND), a malformed or unsupported one (big-endian, other
 * dtypes, more than 4 dimensions), or sizes that disagree with the file.
 * A file named "*.partial" (an interrupted lam_npy_stream) may hold bytes
 * past the rows its header counts; they are ignored. */
lam_buf *lam_npy_load(const char *path);

/* A .npy file written row by row (a streaming recorder's file).  While
 * open it lives under "<path>.partial"; after every lam_npy_stream_write
 * its header counts exactly the rows written, so if the process dies the
 * .partial file is a valid .npy of every row appended so far, and the
 * final name appears only once lam_npy_stream_close succeeded. */
typedef struct lam_npy_stream lam_npy_stream;
/* Rows have `row_ndim` (0..3) dimensions `row_shape`.  Refused (NULL with
 * an error) when `path` exists or "<path>.partial" exists (an interrupted
 * recording is never truncated silently), unless overwrite != 0. */
lam_npy_stream *lam_npy_stream_open(const char *path, int32_t dtype, int32_t row_ndim,
                                    const int64_t *row_shape, int32_t overwrite);
/* Appends nrows contiguous rows and patches the header.  After an I/O
 * error (LAM_EIO) the stream only accepts close/abandon. */
int lam_npy_stream_write(lam_npy_stream *s, const void *rows, int64_t nrows);
int64_t lam_npy_stream_rows(const lam_npy_stream *s);
/* The name being written ("<path>.partial"); owned by the stream. */
const char *lam_npy_stream_path(const lam_npy_stream *s);
/* fsyncs and moves the file to its final name; frees s whatever the
 * outcome.  After a failed write the .partial file stays and LAM_EIO is
 * returned. */
int lam_npy_stream_close(lam_npy_stream *s);
/* Frees s and leaves the .partial file as it is.  NULL is a no-op. */
void lam_npy_stream_abandon(lam_npy_stream *s);

/* An .npz being written; members are added one at a time and the archive
 * appears under `path` only at lam_npz_close. */
typedef struct lam_npz_writer lam_npz_writer;
/* compress: 0 stores members (np.savez), 1..9 deflates them at that zlib
 * level (np.savez_compressed).  An existing file is an error unless
 * overwrite != 0.  Zip64 records are written when a size or offset reaches
 * 0xFFFFFFFF (or LAMINA_ZIP64_THRESHOLD bytes, for tests) or there are more
 * than 65534 members.  NULL on failure. */
lam_npz_writer *lam_npz_open(const char *path, int32_t compress, int32_t overwrite);
/* Adds b as member "<name>.npy".  name must be non-empty, without '/' or
 * '\\', and not added before.  A refused argument leaves the writer usable;
 * after an I/O failure only lam_npz_close/lam_npz_discard remain, and close
 * reports the failure. */
int lam_npz_add(lam_npz_writer *w, const char *name, const lam_buf *b);
/* Writes the central directory, fsyncs and moves the archive into place.
 * Frees w whatever the outcome (NULL gives LAM_EINVAL). */
int lam_npz_close(lam_npz_writer *w);
/* Frees w and removes its temporary file without writing anything.
 * NULL is a no-op. */
void lam_npz_discard(lam_npz_writer *w);
/* Number of members of an archive, or a negative status. */
int32_t lam_npz_count(const char *path);
/* The member keys (".npy" dropped, archive order) joined by '\n' into out,
 * NUL-terminated.  Returns the size needed including the NUL (call with
 * out = NULL, cap = 0 to learn it); when cap is too small out gets "" (if
 * cap > 0).  A negative status when the archive cannot be read. */
int64_t lam_npz_names(const char *path, char *out, int64_t cap);
/* Reads member "<name>.npy" (or exactly `name`) into a new buffer, checking
 * its CRC-32.  Stored and deflated members, data descriptors and zip64 are
 * handled.  NULL with an error (LAM_ENOTFOUND for a missing member). */
lam_buf *lam_npz_load(const char *path, const char *name);

/* ------------------------------------------------------------------ */
/* Dataset files: IDX and CSV (idx.c, csv.c)                            */
/* ------------------------------------------------------------------ */

/* Both readers take plain or gzip'd files (detected by content, not by
 * name; zlib reads both).  Errors are one line starting "idx: PATH: " or
 * "csv: PATH:LINE:COLUMN: ": LAM_ENOTFOUND for a missing file, LAM_EIO for
 * one that cannot be read or is not a regular file, LAM_EINVAL for a
 * malformed one (including a truncated or corrupt gzip stream: zlib's own
 * message is quoted), LAM_ENOMEM when memory runs out.  Memory grows with
 * the data actually read, never with what a header claims.  Trailing
 * bytes after the first gzip member that are not another gzip member are
 * ignored by zlib (as by gunzip), not reported. */

/* Reads an IDX file (1 to 4 dimensions; element types u8 -> LAM_U8,
 * i8/i16/i32 -> LAM_I32, f32 -> LAM_F32, f64 -> LAM_F64, decoded from big
 * endian) into a new contiguous buffer with the header's shape, owned by
 * the caller (lam_buf_free).  Refused: bad magic or type byte, 0 or more
 * than 4 dimensions, a plain file whose length differs from what the
 * header says, a gzip'd file whose header claims more data than 1032x its
 * compressed size (deflate's largest expansion), or whose data ends early
 * or goes on past the declared size.  NULL path -> LAM_EINVAL. */
lam_buf *lam_idx_load(const char *path);

/* How lam_csv_load treats the first row; a zeroed lam_csv_opts (or NULL)
 * means auto-detect everything and f64. */
enum {
  LAM_CSV_HEADER_AUTO = 0,     /* a header when a cell of row 1 is not a number */
  LAM_CSV_HEADER_YES = 1,      /* row 1 is always the column names */
  LAM_CSV_HEADER_NO = 2        /* row 1 is always data */
};
typedef struct lam_csv_opts {
  int32_t header;              /* LAM_CSV_HEADER_* */
  int32_t delimiter;           /* 0: detect from row 1 (the most frequent of
                                * ',' '\t' ';' outside quotes, else runs of
                                * blanks when row 1 has several fields, else
                                * one column); or one of ',' '\t' ';' '|' ':'
                                * or ' ' (runs of spaces/tabs, as np.savetxt) */
  int32_t dtype;               /* 0 or LAM_F64; LAM_F32 halves the memory */
  int32_t reserved;            /* must be 0 */
} lam_csv_opts;

/* Reads a CSV/TSV file of numbers into a new contiguous [rows, columns]
 * buffer owned by the caller.  Cells are decimal numbers as C's strtod
 * reads them in the "C" locale (also nan, inf; not hex), optionally
 * "quoted" and surrounded by blanks; CRLF line ends and a UTF-8 BOM are
 * accepted; blank lines at the end are ignored.  Header names may be
 * quoted ("" is a quote inside quotes).  When names != NULL it receives
 * the header's names joined by '\n' (malloc'ed: free it with
 * lam_csv_free_names) or NULL when the file has no header.  A file holding
 * only a header gives a [0, columns] buffer.  Errors name file:line:column
 * and the cell: an empty file, a row with a different number of cells
 * than row 1, an empty or non-numeric cell (with LAM_CSV_HEADER_NO or past
 * the first row), a blank line before more data, an unterminated quote or
 * text after a closing quote, a NUL byte in a name, a bad option. */
lam_buf *lam_csv_load(const char *path, const lam_csv_opts *opts, char **names);
/* Frees the names lam_csv_load returned.  NULL is a no-op. */
void lam_csv_free_names(char *names);

/* ---- Dense linear algebra for readouts (core/linalg.c) -------------
 * OpenBLAS/LAPACK underneath; used by lamina.readout.  All statistics
 * are float64.  Buffers are caller-owned; nothing is retained.  On error
 * the outputs may be partly written and lam_last_error() names the
 * argument. */

/* Adds one block of samples to least-squares statistics:
 *   xtx [d, d] += X^T X,  xty [d, o] += X^T Y,
 *   xs [d] += column sums of X,  ys [o] += column sums of Y
 * (xs and ys may be NULL).  X [T, d] and Y [T, o] are contiguous f64 or
 * f32 (f32 rows are converted to f64 before the products); the
 * statistics are contiguous f64.  Errors: LAM_EINVAL (dtype, shape or row
 * count mismatch, read-only output), LAM_ENOMEM. */
int lam_la_accumulate(lam_buf *xtx, lam_buf *xty, lam_buf *xs, lam_buf *ys,
                      const lam_buf *x, const lam_buf *y);
/* Ridge regression from accumulated statistics: solves
 * (C + ridge I) W = D for W [d, o] (written), where without a bias
 * (xs = ys = b = NULL) C = xtx, D = xty, and with a bias C and D are the
 * statistics centred by the means xs/count and ys/count, so that the bias
 * b [o] = (ys - W^T xs)/count is NOT regularised.  Cholesky (LAPACK
 * dpotrf/dpotrs).  Errors: LAM_ERANGE when the system is singular or
 * numerically singular (reciprocal condition <= 2^-52; e.g. ridge = 0
 * with collinear or constant features), ridge < 0, count < 1 with a bias;
 * LAM_EINVAL for shapes/dtypes; LAM_ENOMEM. */
int lam_la_ridge(const lam_buf *xtx, const lam_buf *xty, const lam_buf *xs,
                 const lam_buf *ys, double count, double ridge, lam_buf *w,
                 lam_buf *b);
/* out [T, o] = X [T, d] W [d, o] + b [o] (b may be NULL).  X f64 or f32,
 * W, b, out f64, all contiguous.  Errors: LAM_EINVAL (shapes), LAM_ENOMEM. */
int lam_la_affine(lam_buf *out, const lam_buf *x, const lam_buf *w,
                  const lam_buf *b);

/* ------------------------------------------------------------------ */
/* Synchrony analyses (sync.c)                                          */
/* ------------------------------------------------------------------ */
/* Phases come as a [T, N] buffer (time along rows; a 1-d [N] buffer is one
 * time point) of f64 or f32 with any strides, in radians, wrapped or not.
 * Each function returns a NEW contiguous f64 buffer owned by the caller
 * (free with lam_buf_free), or NULL with the message in lam_last_error():
 * LAM_EINVAL for a wrong dtype, rank or shape (the message names the
 * argument), LAM_ENOMEM.  lua/lamina/analysis/sync.lua wraps them. */

/* Order parameter Z = (1/n_g) sum_{i in g} e^(i theta_i) per time and
 * group: [T, G, 2] of (r, psi), psi unwrapped along time.  groups: NULL
 * (one group, G = 1) or a 1-d [N] buffer of integer labels in
 * [0, ngroups); an empty group gives r = 0. */
lam_buf *lam_sync_order(const lam_buf *phases, const lam_buf *groups,
                        int32_t ngroups);
/* Local order r_i(t) = |sum_j W_ij e^(i theta_j)| / sum_j W_ij for a square
 * [N, N] weight matrix (row = target, any numeric dtype): [T, N]; NaN for a
 * row whose weights sum to 0. */
lam_buf *lam_sync_local_order(const lam_buf *phases, const lam_buf *weights);
/* Phase-locking values PLV_ij = |(1/T) sum_t e^(i(theta_i - theta_j))|:
 * [N, N] (BLAS, O(T N^2)). */
lam_buf *lam_sync_plv(const lam_buf *phases);
/* Phase coherence cos(theta_i - theta_j) at one time point ([N] phases):
 * [N, N]. */
lam_buf *lam_sync_coherence(const lam_buf *phases);
/* Phases unwrapped along time (successive differences in [-pi, pi)):
 * [T, N]. */
lam_buf *lam_sync_unwrap(const lam_buf *phases);
/* Hilbert phase of real signals, [T] or [T, C] (time along rows): the
 * angle of the analytic signal, computed with FFTW over the whole series
 * (no padding or windowing; edges carry the usual end effects).  Same
 * shape as the input; at least 2 samples. */
lam_buf *lam_sync_hilbert(const lam_buf *signals);

#ifdef __cplusplus
}
#endif
#endif /* LAMINA_H */
