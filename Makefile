# lamina - top-level GNU Makefile.
#   make            build the library, the command and the plugins into build/
#   make run        install missing packages, build, run examples/quickstart.lua
#   make test       build (also with ASan/UBSan) and run the TAP suite
#   make bench      host-overhead benchmarks (scripts/bench/), see docs/performance.md
#   make install PREFIX=/some/dir
#
# The build tree mirrors the install tree (bin/, lib/, lib/lamina/plugins/,
# share/lua/5.1/lamina, include/), so the same relative look-ups work in both.

# ---- settings ------------------------------------------------------------
PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2 -g
BUILD   ?= build
VERSION := 0.1.0
# -ffp-contract=off: no fused multiply-add, so results are the same whether
# or not the compiler finds an FMA (bitwise reproducibility across flags).
STD     := -std=c11 -D_GNU_SOURCE -ffp-contract=off -fno-fast-math
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
PKGS    := luajit nettle openblas yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIB_LIBS   := $(shell pkg-config --libs nettle openblas zlib fftw3 2>/dev/null) -ldl -lm
# LAPACK(E) for core/linalg.c (readout solves).
LIB_LIBS   += $(shell pkg-config --libs lapacke 2>/dev/null || echo -llapacke)
LUA_CFLAGS := $(shell pkg-config --cflags luajit 2>/dev/null)
LUA_LIBS   := $(shell pkg-config --libs luajit 2>/dev/null)
CMD_LIBS   := $(shell pkg-config --libs libcjson nettle yaml-0.1 2>/dev/null) -lpthread
GIT_REV    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS_ALL = $(STD) $(WARN) $(OPT) -Icore/include $(PKG_CFLAGS) \
             -DLAM_VERSION='"$(VERSION)"' -DLAM_GIT_REV='"$(GIT_REV)"' \
             -DLAM_BUILD_FLAGS='"$(CC) $(OPT)"' $(CFLAGS)

# ---- sources ---------------------------------------------------------------
LIB_SRC   := $(filter-out core/main.c core/lua_host.c core/check.c core/plugin_new.c core/rundir.c core/cmdfs.c core/yaml.c core/plan.c core/sweep.c,$(wildcard core/*.c))
LIB_OBJ   := $(LIB_SRC:core/%.c=$(BUILD)/obj/%.o)
CMD_SRC   := core/main.c core/lua_host.c core/check.c core/plugin_new.c core/rundir.c \
             core/cmdfs.c core/yaml.c core/plan.c core/sweep.c
CMD_OBJ   := $(CMD_SRC:core/%.c=$(BUILD)/obj/%.o)
PLUGINS   := $(notdir $(wildcard plugins/*))
PLUGIN_SO := $(PLUGINS:%=$(BUILD)/lib/lamina/plugins/%.so)
HEADERS   := core/include/lamina.h core/include/lamina_plugin.h

CTEST_SRC := $(wildcard tests/core/*.c)
CTESTS    := $(CTEST_SRC:tests/core/%.c=$(BUILD)/tests/core/%.t)
ASAN_DIR  := $(BUILD)/asan
ASAN_TESTS:= $(CTEST_SRC:tests/core/%.c=$(ASAN_DIR)/tests/core/%.t)
ABI_SRC   := $(wildcard tests/plugins/abi/*.c)
ABI_SO    := $(ABI_SRC:tests/plugins/abi/%.c=$(BUILD)/tests/abi/%.so)
BROKEN_SRC:= $(wildcard tests/plugins/broken/*.c)
BROKEN_SO := $(BROKEN_SRC:tests/plugins/broken/%.c=$(BUILD)/tests/broken/%.so)

LIB       := $(BUILD)/lib/liblamina.so
CMD       := $(BUILD)/bin/lamina
CDEF      := lua/lamina/cdef.lua
LUALINK   := $(BUILD)/share/lua/5.1/lamina

.PHONY: all run test bench install clean asan check
# Keep the sanitizer objects between runs (they are intermediate files).
.SECONDARY:
all: $(LIB) $(CMD) $(PLUGIN_SO) $(CDEF) $(LUALINK) $(BUILD)/lib/pkgconfig/lamina.pc

# ---- library and command -------------------------------------------------
$(BUILD)/obj/%.o: core/%.c $(HEADERS) $(wildcard core/*_int.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=default -MMD -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(LIB_LIBS)

$(CMD): $(CMD_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(CMD_OBJ) -L$(BUILD)/lib -llamina $(LUA_LIBS) $(CMD_LIBS) -ldl -lm \
	  -Wl,-rpath,'$$ORIGIN/../lib' $(LDFLAGS)

# Plugins see only lamina_plugin.h and export only lamina_plugin_init.
$(BUILD)/lib/lamina/plugins/%.so: $(wildcard plugins/*/*.c plugins/*/*.h) core/include/lamina_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) $(OPT) -Icore/include -fPIC -shared -fvisibility=hidden \
	  $(CFLAGS) -o $@ $(wildcard plugins/$*/*.c) -lm $(LDFLAGS)

# The FFI declarations are generated from the public headers: the
# preprocessor drops includes and macros (LAM_CDEF_GEN), scripts/gen-cdef
# wraps the result.
$(CDEF): $(HEADERS) scripts/gen-cdef
	scripts/gen-cdef core/include/lamina.h > $@.tmp && mv $@.tmp $@

$(LUALINK):
	@mkdir -p $(dir $@)
	ln -sfn $(CURDIR)/lua/lamina $@

$(BUILD)/lib/pkgconfig/lamina.pc: scripts/lamina.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)/$(BUILD)|' -e 's|@VERSION@|$(VERSION)|' \
	  -e 's|^includedir=.*|includedir=$(CURDIR)/core/include|' $< > $@

# ---- tests -------------------------------------------------------------------
$(BUILD)/tests/core/%.t: tests/core/%.c tests/tap.h tests/good.h tests/tmpfiles.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< -L$(BUILD)/lib -llamina -lm \
	  -Wl,-rpath,'$$ORIGIN/../../lib'

$(BUILD)/tests/abi/%.so: tests/plugins/abi/%.c tests/plugins/abi/tiny.h core/include/lamina_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) -Wno-missing-prototypes $(OPT) -Icore/include -fPIC \
	  -shared -fvisibility=hidden -o $@ $< -lm

# Deliberately broken plugins, one defect each, for tests/plugins/broken.t.
$(BUILD)/tests/broken/%.so: tests/plugins/broken/%.c tests/plugins/broken/base.h core/include/lamina_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) -Wno-missing-prototypes $(OPT) -Icore/include -fPIC \
	  -shared -fvisibility=hidden -o $@ $< -lm

# reservoir.so again with -DLIF_SCALAR (the LIF pass without its vector
# code), for tests/plugins/lif_scalar.t: both builds must give the same bits.
SCALAR_SO := $(BUILD)/tests/scalar/reservoir.so
$(SCALAR_SO): $(wildcard plugins/reservoir/*.c plugins/reservoir/*.h) core/include/lamina_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) $(OPT) -DLIF_SCALAR -Icore/include -fPIC -shared -fvisibility=hidden \
	  $(CFLAGS) -o $@ $(wildcard plugins/reservoir/*.c) -lm $(LDFLAGS)

# The sanitizer build: the library objects and the core tests again, with
# ASan and UBSan, linked statically into each test so no LD_PRELOAD is needed.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(ASAN_DIR)/obj/%.o: core/%.c $(HEADERS) $(wildcard core/*_int.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) -fPIC -c $< -o $@
$(ASAN_DIR)/tests/core/%.t: tests/core/%.c tests/tap.h tests/good.h tests/tmpfiles.h $(LIB_SRC:core/%.c=$(ASAN_DIR)/obj/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(ASAN_FLAGS) -Itests -o $@ $< \
	  $(LIB_SRC:core/%.c=$(ASAN_DIR)/obj/%.o) $(LIB_LIBS)
asan: $(ASAN_TESTS)

TEST_ENV := LAMINA_TEST_BUILD=$(CURDIR)/$(BUILD) LAMINA_PLUGIN_PATH= LAMINA_RUNS=$(CURDIR)/$(BUILD)/runs \
            LAMINA_LIB=$(CURDIR)/$(BUILD)/lib/liblamina.so \
            LUA_PATH='$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/tests/lib/?.lua;;' \
            PATH='$(CURDIR)/$(BUILD)/bin:$(PATH)'

test: all $(CTESTS) $(ABI_SO) $(BROKEN_SO) $(SCALAR_SO) asan
	$(TEST_ENV) prove -j2 $(BUILD)/tests/core tests/lua tests/plugins tests/sweep
	$(TEST_ENV) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  prove -j2 $(ASAN_DIR)/tests/core
	$(TEST_ENV) scripts/valgrind-quickstart

check: test

run: 
	scripts/install-deps
	$(MAKE) all
	$(CMD) run examples/quickstart.lua

bench: all
	scripts/install-deps --bench || echo "bench: peers missing; their rows will be skipped"
	scripts/bench/run

# KB-1..KB-5 of the kuramoto plugin against NumPy/SciPy (docs/performance.md).
.PHONY: bench-kuramoto
bench-kuramoto: all
	scripts/install-deps --bench || echo "bench-kuramoto: peers missing"
	BUILD=$(BUILD) scripts/bench/kuramoto/run $(BENCH_ARGS)

# ---- fuzzing ---------------------------------------------------------------
# make fuzz [FUZZ="idx csv"] [FUZZ_SECONDS=600]: the libFuzzer harnesses of
# the file readers (tests/fuzz/*.c) are built with clang, ASan and UBSan into
# $(BUILD)/fuzz/ (scripts/install-deps --fuzz installs clang and libFuzzer)
# and each runs for FUZZ_SECONDS in $(BUILD)/fuzz/work-<reader>/ on a scratch
# copy of tests/fuzz/corpus/<reader>/ (with tests/fuzz/<reader>.dict when
# there is one), so the committed corpus never grows.
# Crash, leak and timeout inputs are left in that work directory; the loop
# stops at the first failing reader.
FUZZ_CC      ?= clang
FUZZ         ?= npy npz idx csv
FUZZ_SECONDS ?= 600
FUZZ_ARGS    ?= -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
FUZZ_CFLAGS  := $(filter-out -Werror -O2,$(CFLAGS_ALL)) -O1 -Wno-unknown-warning-option \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
.PHONY: fuzz fuzz-build
# The readers and what they call are compiled in with coverage and
# sanitizers; anything else they reach comes from liblamina.so.
FUZZ_SRC     := core/buf.c core/err.c core/npy.c core/idx.c core/csv.c
fuzz-build: $(FUZZ:%=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_SRC) $(HEADERS) $(wildcard core/*_int.h) $(LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC) -L$(BUILD)/lib -llamina -lz -lm \
	  -Wl,-rpath,'$$ORIGIN/../lib'
fuzz: fuzz-build
	@for f in $(FUZZ); do \
	  w=$(BUILD)/fuzz/work-$$f; rm -rf $$w; mkdir -p $$w/corpus; \
	  cp tests/fuzz/corpus/$$f/* $$w/corpus/; \
	  echo "fuzz: $$f for $(FUZZ_SECONDS) s in $$w"; \
	  d=; [ -f tests/fuzz/$$f.dict ] && d=-dict=$(CURDIR)/tests/fuzz/$$f.dict; \
	  s=$$(mktemp -d $$([ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})/lamina-fuzz.XXXXXX); \
	  (cd $$w && LAMINA_FUZZ_DIR=$$s ../$$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_ARGS) $$d corpus); \
	  rc=$$?; rm -rf $$s; [ $$rc = 0 ] || exit 1; \
	done

# ---- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lamina/plugins \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/lua/5.1/lamina \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(CMD) $(DESTDIR)$(PREFIX)/bin/lamina
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/liblamina.so
	install -m 755 $(PLUGIN_SO) $(DESTDIR)$(PREFIX)/lib/lamina/plugins/
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/
	cd lua/lamina && find . -name '*.lua' -exec install -D -m 644 {} \
	  $(DESTDIR)$(PREFIX)/share/lua/5.1/lamina/{} \;
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  scripts/lamina.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lamina.pc

clean:
	rm -rf $(BUILD) $(CDEF)

-include $(wildcard $(BUILD)/obj/*.d)
