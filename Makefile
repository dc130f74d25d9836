# dlnc — compiler, runtime and tests.
#
#   make                 build build/dlnc, build/libdlnrt.a, build/libdlnrt.so
#   make test            all tests (unit, sanitizers, golden diagnostics, end to end, fuzzing briefly)
#   make fuzz            each libFuzzer harness FUZZ_SECONDS (300) on its corpus, new inputs merged in;
#                        FUZZ="csv png" picks harnesses (tests/fuzz/, docs/testing.md)
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall       removes what install put (same PREFIX and DESTDIR)
#   make BLAS=openblas   runtime GEMM through OpenBLAS (optional comparison point)
#   make LLVM=1          build/dlnc with the in-process LLVM JIT (`dlnc run --jit=llvm`, its default
#                        then); needs llvm-config-14, libclang-cpp14-dev, libomp-14-dev.
#                        $(BUILD)/llvm/dlnc is that variant beside the default one, from the same objects
#
# Generated sources (Bison, Flex, the embedded stdlib) go to build/gen.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -fPIC -fno-math-errno
CFLAGS  ?=
# The fuzz build turns OpenMP off: libFuzzer wants one thread per input.
OPENMP  ?= -fopenmp
ALL_CFLAGS = $(CFLAGS_COMMON) $(CFLAGS) $(OPENMP)
LDLIBS  = -lpng -lz -lm -ldl $(OPENMP)
# libcrypto (SHA-256 for the JIT cache) goes into dlnc and the unit tests
# only, never into libdlnrt or generated code.
DLNC_LIBS = -lcrypto
BISON   ?= bison
FLEX    ?= flex

# libdlnrt.so's version: MAJOR is DL_ABI_VERSION, which changes whenever a
# program or model built against the library would break (so it is the
# soname: a model for ABI 2 loads libdlnrt.so.2), MINOR is DLNRT_VERSION's.
ABI      := $(shell sed -n 's/^\#define DL_ABI_VERSION \([0-9][0-9]*\).*/\1/p' runtime/dlnrt.h)
RT_VERSION := $(shell sed -n 's/^\#define DLNRT_VERSION "\(.*\)"/\1/p' runtime/dlnrt.h)
SONAME   = libdlnrt.so.$(ABI)
SOFILE   = $(SONAME).$(word 2,$(subst ., ,$(RT_VERSION)))
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
DATADIR  = $(PREFIX)/share/dlnc
MANDIR   = $(PREFIX)/share/man/man1
PCDIR    = $(LIBDIR)/pkgconfig

# MPI (data-parallel training, `mpirun -np P dlnc run`): on when mpicc is
# found, off with MPI=0. It adds runtime/dist_mpi.c to dlnc and to
# build/libdlnrt_mpi.a (for a user's own training binary); libdlnrt itself
# stays free of MPI, its single-process fallback (dist_single.c) being weak.
MPICC   ?= mpicc
MPI     ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell $(MPICC) --showme:compile)
MPI_LIBS   := $(shell $(MPICC) --showme:link)
MPI_OBJ     = $(OBJ)/runtime/dist_mpi.o
endif

ifeq ($(BLAS),openblas)
ALL_CFLAGS += -DDL_USE_CBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS += -lopenblas
endif

GEN      = $(BUILD)/gen
OBJ      = $(BUILD)/obj

# dist_mpi.c (MPI's transport for data-parallel training) goes into dlnc and
# libdlnrt_mpi.a only, never into libdlnrt: see MPI below.
RT_SRC   = $(filter-out runtime/dist_mpi.c,$(wildcard runtime/*.c))
RT_OBJ   = $(patsubst %.c,$(OBJ)/%.o,$(RT_SRC))
CC_SRC   = $(filter-out compiler/main.c,$(wildcard compiler/*.c))
CC_OBJ   = $(patsubst %.c,$(OBJ)/%.o,$(CC_SRC)) $(OBJ)/gen/dln.tab.o $(OBJ)/gen/lex.yy.o $(OBJ)/gen/stdlib_gen.o $(OBJ)/gen/rt_header_gen.o $(OBJ)/gen/deploy_rt_gen.o
STDLIB   = $(wildcard stdlib/*.dln)
UNIT_SRC = $(wildcard tests/unit/*.c)

CPPFLAGS = -Icompiler -Iruntime -I$(GEN)

.PHONY: FORCE all test unit-test install uninstall clean bench bench-threads asan-test fuzz fuzz-build fuzz-coverage
all: $(BUILD)/dlnc $(BUILD)/libdlnrt.a $(BUILD)/libdlnrt.so $(if $(MPI_OBJ),$(BUILD)/libdlnrt_mpi.a)

$(GEN)/dln.tab.c $(GEN)/dln.tab.h: grammar/dln.y
	@mkdir -p $(GEN)
	$(BISON) -Wall -Werror --defines=$(GEN)/dln.tab.h -o $(GEN)/dln.tab.c $<

$(GEN)/lex.yy.c $(GEN)/lex.yy.h: grammar/dln.l $(GEN)/dln.tab.h
	@mkdir -p $(GEN)
	$(FLEX) --header-file=$(GEN)/lex.yy.h -o $(GEN)/lex.yy.c $<

$(GEN)/stdlib_gen.c: $(STDLIB) compiler/embed_stdlib.sh
	@mkdir -p $(GEN)
	sh compiler/embed_stdlib.sh $(STDLIB) > $@

# dlnc export's portable runtime pieces, in dependency order (deploy.c).
DEPLOY_RT = $(addprefix compiler/deploy_rt/,dl_set_error.c deploy_q8.c dl_sgemm.c dl_sgemm.int8.c dl_conv2d_ep.c \
            dl_conv2d_ep.int8.c dl_conv2d.c \
            deploy_pool.c dl_max_pool2d.c dl_avg_pool2d.c dl_adaptive_avg_pool2d.c dl_layer_norm.c \
            dl_attention.c)
$(GEN)/deploy_rt_gen.c: $(DEPLOY_RT) compiler/embed_stdlib.sh
	@mkdir -p $(GEN)
	TABLE=deploy_rt sh compiler/embed_stdlib.sh $(DEPLOY_RT) > $@

$(GEN)/rt_header_gen.c: runtime/dlnrt.h compiler/embed_text.sh
	@mkdir -p $(GEN)
	sh compiler/embed_text.sh dlnrt_header_text runtime/dlnrt.h > $@

# Generated scanners/parsers are not ours to keep warning-free in every detail.
$(OBJ)/gen/%.o: $(GEN)/%.c $(GEN)/dln.tab.h $(GEN)/lex.yy.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-unused-function -Wno-sign-compare -c $< -o $@

$(OBJ)/%.o: %.c $(GEN)/dln.tab.h $(GEN)/lex.yy.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

$(BUILD)/libdlnrt.a: $(RT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/$(SOFILE): $(RT_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)

$(BUILD)/libdlnrt.so: $(BUILD)/$(SOFILE)
	ln -sf $(SOFILE) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/libdlnc.a: $(CC_OBJ)
	@rm -f $@
	ar rcs $@ $^

# dlnc carries the whole runtime and exports it (-rdynamic), so models built
# by `dlnc run` resolve their dl_* calls against it.
ifeq ($(LLVM),1)
$(BUILD)/dlnc: $(OBJ)/compiler/main.o $(OBJ)/compiler/jit_llvm.o $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a $(MPI_OBJ) $(BUILD)/jit-variant
	$(LINK_LLVM)
else
$(BUILD)/dlnc: $(OBJ)/compiler/main.o $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a $(MPI_OBJ) $(BUILD)/jit-variant
	$(CC) $(LDFLAGS) -o $@ $(OBJ)/compiler/main.o $(MPI_OBJ) $(BUILD)/libdlnc.a -Wl,--whole-archive $(BUILD)/libdlnrt.a -Wl,--no-whole-archive $(LDLIBS) $(DLNC_LIBS) $(MPI_LIBS) -rdynamic
endif

# The LLVM JIT (compiler/jit_llvm.h). Its object comes before libdlnc.a on
# the link line, so the archive's jit_llvm_none.o is not pulled in. libomp
# replaces libgomp: clang's OpenMP code calls __kmpc_*, which only libomp
# has, and libomp also serves the GOMP_* calls of the gcc-compiled runtime,
# so one thread pool runs both. (Recursive `=`: llvm-config runs only when
# an LLVM target is built.)
LLVM_CONFIG ?= llvm-config-14
LLVM_CXXFLAGS = $(patsubst -I%,-isystem %,$(shell $(LLVM_CONFIG) --cxxflags)) -DDLNC_CLANG_PATH='"$(shell $(LLVM_CONFIG) --bindir)/clang"'
LLVM_LIBS = -L$(shell $(LLVM_CONFIG) --libdir) -lclang-cpp $(shell $(LLVM_CONFIG) --libs) -lomp -lpthread
LINK_LLVM = $(CXX) $(LDFLAGS) -o $@ $(OBJ)/compiler/main.o $(OBJ)/compiler/jit_llvm.o $(MPI_OBJ) $(BUILD)/libdlnc.a \
  -Wl,--whole-archive $(BUILD)/libdlnrt.a -Wl,--no-whole-archive $(filter-out $(OPENMP),$(LDLIBS)) $(DLNC_LIBS) \
  $(MPI_LIBS) $(LLVM_LIBS) -rdynamic

$(OBJ)/compiler/jit_llvm.o: compiler/jit_llvm.cpp compiler/jit_llvm.h runtime/dlnrt.h
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(LLVM_CXXFLAGS) $(OPT) -g -fPIC -Wall -Wextra -c $< -o $@

$(BUILD)/llvm/dlnc: $(OBJ)/compiler/main.o $(OBJ)/compiler/jit_llvm.o $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a $(MPI_OBJ)
	@mkdir -p $(dir $@)
	$(LINK_LLVM)

# Which dlnc build/dlnc is, so that switching LLVM=1 on or off relinks it.
$(BUILD)/jit-variant: FORCE
	@mkdir -p $(BUILD)
	@echo 'LLVM=$(LLVM)' | cmp -s - $@ || echo 'LLVM=$(LLVM)' > $@
FORCE:

$(OBJ)/runtime/dist_mpi.o: runtime/dist_mpi.c runtime/dist.h runtime/dlnrt.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(MPI_CFLAGS) $(ALL_CFLAGS) -c $< -o $@

# A user's own training binary launched by mpirun links this before
# libdlnrt.a, and $(MPI_LIBS) (`mpicc --showme:link`).
$(BUILD)/libdlnrt_mpi.a: $(OBJ)/runtime/dist_mpi.o
	@rm -f $@
	ar rcs $@ $^

# Unit tests: every tests/unit/test_<name>.c defines `void suite_<name>(void)`.
$(GEN)/suites.inc: $(UNIT_SRC)
	@mkdir -p $(GEN)
	@for f in $(notdir $(basename $(filter tests/unit/test_%,$(UNIT_SRC)))); do \
	  echo "SUITE($${f#test_})"; done > $@.tmp && mv $@.tmp $@

$(BUILD)/unit_tests: $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRC)) $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcunit $(LDLIBS) $(DLNC_LIBS)

$(OBJ)/tests/unit/main.o: $(GEN)/suites.inc

unit-test: $(BUILD)/unit_tests $(BUILD)/dlnc $(BUILD)/libdlnrt.a
	$(BUILD)/unit_tests

# The same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan-test:
	$(MAKE) BUILD=build-asan OPT=-O1 CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/unit_tests build-asan/dlnc
	ASAN_OPTIONS=detect_leaks=0 build-asan/unit_tests

# libFuzzer harnesses, tests/fuzz/fuzz_<name>.c → build-fuzz/fuzz_<name>: clang with
# ASan + UBSan and coverage instrumentation, OpenMP off (one thread per input).
FUZZ_SRC     = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_HELPERS = tests/fuzz/scratch.c tests/fuzz/dataset_check.c
FUZZ_CFLAGS  = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
               -Wno-unknown-pragmas
FUZZ_SECONDS ?= 300
FUZZ ?=

fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 OPENMP= CFLAGS="$(FUZZ_CFLAGS)" \
	  $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HELPERS) $(wildcard tests/fuzz/*.h) $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a
	$(CC) $(CPPFLAGS) -Itests/fuzz $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_HELPERS) \
	  $(BUILD)/libdlnc.a $(BUILD)/libdlnrt.a $(LDLIBS) $(DLNC_LIBS)

fuzz: fuzz-build
	sh tests/fuzz/run.sh --long $(FUZZ_SECONDS) $(FUZZ)

# Line coverage of the corpora (needs llvm): build-fuzz-cov/, tests/fuzz/coverage.sh.
fuzz-coverage:
	$(MAKE) BUILD=build-fuzz-cov CC=clang OPT=-O1 OPENMP= \
	  CFLAGS="-fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping -Wno-unknown-pragmas" \
	  $(patsubst tests/fuzz/%.c,build-fuzz-cov/%,$(FUZZ_SRC))
	sh tests/fuzz/coverage.sh $(FUZZ)

test: all $(BUILD)/unit_tests
	sh tests/run_all.sh

bench: all
	sh bench/run.sh $(BUILD)

# 1 against 2 threads, loaded and with a core kept busy by a loop it starts and stops (~15 min).
bench-threads: all
	sh bench/threads_busy.sh $(BUILD)

# dlnrt.pc (pkg-config) is written at install time: it holds the PREFIX.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(INCDIR) \
	  $(DESTDIR)$(DATADIR)/stdlib $(DESTDIR)$(MANDIR)
	install -m 755 $(BUILD)/dlnc $(DESTDIR)$(BINDIR)/dlnc
	install -m 644 $(BUILD)/libdlnrt.a $(DESTDIR)$(LIBDIR)/libdlnrt.a
	install -m 755 $(BUILD)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SOFILE)
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdlnrt.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	  -e 's|@VERSION@|$(RT_VERSION)|' runtime/dlnrt.pc.in > $(DESTDIR)$(PCDIR)/dlnrt.pc
	chmod 644 $(DESTDIR)$(PCDIR)/dlnrt.pc
	install -m 644 runtime/dlnrt.h $(DESTDIR)$(INCDIR)/dlnrt.h
	install -m 644 $(STDLIB) $(DESTDIR)$(DATADIR)/stdlib/
	install -m 644 docs/dlnc.1 $(DESTDIR)$(MANDIR)/dlnc.1

# Exactly the files install puts, and the directories that are dlnc's alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dlnc $(DESTDIR)$(LIBDIR)/libdlnrt.a $(DESTDIR)$(LIBDIR)/$(SOFILE) \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libdlnrt.so $(DESTDIR)$(PCDIR)/dlnrt.pc \
	  $(DESTDIR)$(INCDIR)/dlnrt.h $(DESTDIR)$(MANDIR)/dlnc.1 \
	  $(addprefix $(DESTDIR)$(DATADIR)/stdlib/,$(notdir $(STDLIB)))
	-rmdir $(DESTDIR)$(DATADIR)/stdlib $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-asan build-fuzz build-fuzz-cov
