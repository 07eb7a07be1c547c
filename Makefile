# zraft - a Raft runtime in C on czmq actors.
#
#   make            library (static + shared + pkg-config), programs, tests
#   make install    the library, zraft.h, libzraft.pc, the programs and man
#                   pages under PREFIX (/usr/local), staged in DESTDIR if set
#   make uninstall  removes what make install put there (same PREFIX, DESTDIR)
#   make test       install what is missing, build, run the whole suite
#   make demo       install, build, run a local 3-node cluster doing work
#   make asan       the suite under AddressSanitizer + UBSan
#   make tsan       the suite under ThreadSanitizer
#   make bench-compare  zraft vs canonical/raft vs the floor, in one run;
#                       then zraft-node vs etcd (make bench-etcd) and the
#                       bus vs NATS JetStream (make bench-nats)
#   make bench-bus-idle the bus with 100 idle + 10 dropping subscribers vs none
#   make bench-memory   RSS and disk per node over a 10-minute run (DURATION=S)
#   make bench-snapshots  snapshots on vs off, zraft and canonical/raft, one run
#   make bench-snapdrill  restart from a 1 GiB snapshot; InstallSnapshot MB/s
#   make sim        long deterministic-simulation sweep (SEEDS=N FIRST=S)
#   make soak       cluster tests 20 runs in a row under CPU load (RUNS=N)
#   make check-pure raft/ includes no ZeroMQ, czmq, msgpack or pthread header
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each (clang);
#                   FUZZ_MERGE=1 merges what they find into the corpus
#
# Installing: PREFIX=/usr/local; BINDIR, LIBDIR, INCLUDEDIR, MANDIR and
# PKGCONFIGDIR follow it unless set. lib/ gets libzraft.a and
# libzraft.so.$(VERSION) with the soname link libzraft.so.0 and the dev link
# libzraft.so; libzraft.pc names PREFIX (Requires: libczmq, as the API hands
# out zsock_t). build/libzraft.pc is for use from the build tree: its prefix
# is this checkout (headers in include/, libraries in build/). tests/install.sh
# (run by make test) installs into a DESTDIR and builds examples/ against it.
#
# Build variants live in their own directories (build/, build-asan/,
# build-tsan/, build-fuzz/) so switching between them never mixes objects.

VARIANT  ?= release
ifeq ($(VARIANT),asan)
  B        := build-asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT      := -O1
else ifeq ($(VARIANT),tsan)
  B        := build-tsan
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
  OPT      := -O1
else ifeq ($(VARIANT),fuzz)
  # libFuzzer targets: clang, coverage on everything, ASan + UBSan.
  B        := build-fuzz
  CC       := clang
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT      := -O1
  # WAL segments down to 1 KiB (wal.h), so fuzz_wal's padded segments
  # are scanned in microseconds, not a millisecond (docs/FUZZING.md).
  VARDEFS  := -DZR_WAL_SEGMENT_BYTES_MIN=1024u
else
  B        := build
  SANFLAGS :=
  OPT      := -O2
endif

CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
            -Wimplicit-fallthrough -Wmissing-prototypes -Wpointer-arith \
            -Wvla -Wundef
CFLAGS   := -std=c11 -D_GNU_SOURCE $(VARDEFS) $(OPT) -g $(WARN) $(SANFLAGS) -fPIC \
            -Iinclude -Iraft -Itransport -Iactors
DEPLIBS  := $(shell pkg-config --libs libczmq libzmq msgpack 2>/dev/null || echo -lczmq -lzmq -lmsgpackc)
LDLIBS   := $(DEPLIBS) -lpthread -lm
CHECKLIB := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

RAFT_SRC      := $(sort $(wildcard raft/*.c))
TRANSPORT_SRC := $(sort $(wildcard transport/*.c))
ACTORS_SRC    := $(sort $(wildcard actors/*.c))
LIB_SRC       := $(RAFT_SRC) $(TRANSPORT_SRC) $(ACTORS_SRC)
LIB_OBJ       := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))

BIN_SRC   := $(sort $(wildcard bin/*.c))
BINS      := $(patsubst bin/%.c,$(B)/bin/%,$(BIN_SRC))
# What the programs share (the key/value state machine, the client, ...):
# bin/lib/*.c, linked into every program, example-free test and tool. A
# program's own modules live in bin/<program>/*.c and link into it alone.
TOOLS_SRC := $(sort $(wildcard bin/lib/*.c))
TOOLS_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(TOOLS_SRC))
# Programs that show the library in use: examples/*.c, built by make,
# run by the tests, and built again against an installed copy.
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLES    := $(patsubst examples/%.c,$(B)/examples/%,$(EXAMPLE_SRC))
# Helpers of the benchmark (histogram, ...), linked into programs and tests.
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(BENCH_SRC))

TLIB_SRC  := $(sort $(wildcard tests/lib/*.c)) tests/sim/sim.c
TLIB_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(TLIB_SRC))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
CLUS_SRC  := $(sort $(wildcard tests/cluster/test_*.c))
# Process tests: real zraft-node processes (tests/lib/procs.h), for faults
# only a process has: SIGKILL, SIGSTOP, a partition between processes.
PROC_SRC  := $(sort $(wildcard tests/proc/test_*.c))
# Planted bugs: raft/ is rebuilt with -DZR_PLANT_BUG_<NAME> for each, and
# tests/sim/test_planted.c must catch it (the checkers can fail).
PLANTS    := DOUBLE_VOTE TRUNCATE_MATCHING COMMIT_OLD_TERM INSTALL_OLD READ_NO_CONFIRM
PLANTED   := $(patsubst %,$(B)/tests/sim/test_planted_%,$(PLANTS))
# Fuzz targets: tests/fuzz/fuzz_<name>.c, corpus in tests/fuzz/corpus/<name>/,
# crash inputs kept in tests/fuzz/crashes/<name>/. A new decoder's target
# is one more name here: make fuzz runs it, make test replays its corpus.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAYS := $(patsubst %,$(B)/tests/fuzz/replay_%,$(FUZZ_TARGETS))
TESTS     := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_SRC)) $(FUZZ_REPLAYS) \
             $(B)/tests/sim/test_sim \
             $(PLANTED) $(patsubst tests/%.c,$(B)/tests/%,$(CLUS_SRC) $(PROC_SRC))
# make install into a DESTDIR, examples/ built against it (tests/install.sh):
# a packaging test, run on the release build only.
ifeq ($(VARIANT),release)
  TESTS   += $(B)/tests/install/test_install
endif

VERSION   := 0.1.0
SOMAJOR   := $(firstword $(subst ., ,$(VERSION)))
SONAME    := libzraft.so.$(SOMAJOR)

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MAN_SRC      := $(sort $(wildcard docs/man/*.1))

# The library builds with the strictest conversion warnings (STYLE.md);
# tests and programs, which use Check's and czmq's macros, without.
$(LIB_OBJ): CFLAGS += -Wconversion -Wsign-conversion
$(TOOLS_OBJ): CFLAGS += -Ibin/lib

.SECONDARY:
.PHONY: all lib bins examples tests test test-run demo bus-demo soak sim asan tsan check-pure deps clean bench-peers bench-compare \
        bench-etcd bench-etcd-peer bench-nats bench-nats-peer bench-bus-idle bench-memory bench-snapshots bench-snapdrill fuzz fuzz-build fuzz-seeds install uninstall
all: lib bins examples tests

lib: $(B)/libzraft.a $(B)/libzraft.so.$(VERSION) $(B)/$(SONAME) $(B)/libzraft.so $(B)/libzraft.pc
bins: $(BINS)
examples: $(EXAMPLES)
tests: $(TESTS) $(B)/tests/sim/sim_run $(B)/tests/fuzz/seeds

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libzraft.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/libzraft.so.$(VERSION): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SANFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)
$(B)/$(SONAME): $(B)/libzraft.so.$(VERSION)
	ln -sf libzraft.so.$(VERSION) $@
$(B)/libzraft.so: $(B)/$(SONAME)
	ln -sf $(SONAME) $@

# libzraft.pc: $(call PC_TEXT,prefix,libdir,includedir). The API hands out
# zsock_t, so libczmq is public; libzmq and msgpack are the library's own.
PC_TEXT = printf '%s\n' 'prefix=$(1)' 'libdir=$(2)' 'includedir=$(3)' '' \
    'Name: libzraft' 'Description: Raft runtime on czmq actors' \
    'Version: $(VERSION)' 'Requires: libczmq' 'Requires.private: libzmq msgpack' \
    'Libs: -L$${libdir} -lzraft' 'Libs.private: -lpthread -lm' \
    'Cflags: -I$${includedir}'
# Under PREFIX: a directory below it is written relative to $${prefix}.
PC_DIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

# For the build tree: PKG_CONFIG_PATH=$(CURDIR)/$(B) finds the headers in
# include/ and the libraries in $(B)/ (the shared one needs
# LD_LIBRARY_PATH=$(CURDIR)/$(B) at run time, or link libzraft.a).
$(B)/libzraft.pc: Makefile
	@mkdir -p $(dir $@)
	$(call PC_TEXT,$(CURDIR),$${prefix}/$(B),$${prefix}/include) > $@

# make install [PREFIX=/usr/local] [DESTDIR=]: every program of bin/ and
# man page of docs/man/. ldconfig runs when installing for real as root.
install: lib bins
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 644 $(B)/libzraft.a $(DESTDIR)$(LIBDIR)/libzraft.a
	install -m 755 $(B)/libzraft.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libzraft.so.$(VERSION)
	ln -sf libzraft.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libzraft.so
	install -m 644 include/zraft.h $(DESTDIR)$(INCLUDEDIR)/zraft.h
	$(call PC_TEXT,$(PREFIX),$(call PC_DIR,$(LIBDIR)),$(call PC_DIR,$(INCLUDEDIR))) \
	    > $(DESTDIR)$(PKGCONFIGDIR)/libzraft.pc
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
ifneq ($(MAN_SRC),)
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN_SRC) $(DESTDIR)$(MANDIR)/man1/
endif
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; \
	elif [ -z "$(DESTDIR)" ]; then echo "install: run ldconfig as root if $(LIBDIR) is in ld.so.conf"; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libzraft.a $(DESTDIR)$(LIBDIR)/libzraft.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libzraft.so.$(VERSION) \
	    $(DESTDIR)$(PKGCONFIGDIR)/libzraft.pc $(DESTDIR)$(INCLUDEDIR)/zraft.h \
	    $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN_SRC)))

$(B)/libzraft-tools.a: $(TOOLS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# bin/<program>.c plus its own modules bin/<program>/*.c. (No % inside the
# secondary expansion: make would replace it with the stem first.)
.SECONDEXPANSION:
$(B)/bin/%: $(B)/obj/bin/%.o $$(addprefix $(B)/obj/,$$(addsuffix .o,$$(basename $$(wildcard bin/$$*/*.c)))) \
            $(BENCH_OBJ) $(B)/libzraft-tools.a $(B)/libzraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(B)/libzraft-tools.a $(B)/libzraft.a $(LDLIBS)
$(B)/obj/bin/%.o: CFLAGS += -Ibin/lib

$(B)/examples/%: $(B)/obj/examples/%.o $(B)/libzraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libzraft.a $(LDLIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(TLIB_OBJ) $(BENCH_OBJ) $(B)/libzraft-tools.a $(B)/libzraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(B)/libzraft-tools.a $(B)/libzraft.a $(CHECKLIB) $(LDLIBS)
$(B)/obj/tests/%.o: CFLAGS += -Ibin/lib
# Unit tests of a program's module link it too: test_node_<m> tests
# bin/zraft-node/<m>.c. Process tests need the programs they start.
NODE_UNIT := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/unit/test_node_*.c))
$(NODE_UNIT): $(B)/tests/unit/test_node_%: $(B)/obj/bin/zraft-node/%.o
$(B)/tests/unit/test_node_journal: $(B)/obj/bin/zraft-node/options.o
$(patsubst tests/%.c,$(B)/tests/%,$(PROC_SRC)): | $(BINS)
$(B)/obj/tests/install/test_install.o: CFLAGS += -DSRC_DIR='"$(CURDIR)"' -DBUILD_DIR='"$(B)"'
# Histories the linearizability checker's tests replay.
$(B)/obj/tests/unit/test_linearize.o: CFLAGS += -DLIN_DIR='"$(CURDIR)/tests/unit/linearize"'

# Fuzz targets, two ways: the replay test (Check, any compiler) and, in
# VARIANT=fuzz, the libFuzzer program. tests/fuzz/alloc.c counts what the
# decoder allocates in both; tests/fuzz/scratch.c holds the directory of
# the targets that recover from files.
FUZZ_OBJ = $(B)/obj/tests/fuzz/alloc.o $(B)/obj/tests/fuzz/scratch.o $(B)/libzraft-tools.a $(B)/libzraft.a
$(B)/obj/tests/fuzz/replay.o: CFLAGS += -DFUZZ_DIR='"$(CURDIR)/tests/fuzz"'
$(B)/tests/fuzz/replay_%: $(B)/obj/tests/fuzz/replay.o $(B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(B)/libzraft-tools.a $(B)/libzraft.a $(CHECKLIB) $(LDLIBS)
$(B)/fuzz/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(B)/libzraft-tools.a $(B)/libzraft.a $(LDLIBS)
$(B)/tests/fuzz/seeds: $(B)/obj/tests/fuzz/seeds.o $(B)/libzraft-tools.a $(B)/libzraft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libzraft-tools.a $(B)/libzraft.a $(LDLIBS)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_MERGE=1] [FUZZ_RUNS=N] [FUZZ_TARGETS=wal]:
# one target after another, each on its corpus; crashes land in
# tests/fuzz/crashes/<name>/ (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps.sh --fuzz
	$(MAKE) VARIANT=fuzz fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) FUZZ_RUNS=$(FUZZ_RUNS) \
	    tests/fuzz/run.sh build-fuzz $(FUZZ_TARGETS)

fuzz-build: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))

# Writes the seed inputs (real encoder and WAL output) into the corpus.
fuzz-seeds: $(B)/tests/fuzz/seeds
	for t in $(FUZZ_TARGETS); do mkdir -p tests/fuzz/corpus/$$t && $(B)/tests/fuzz/seeds $$t tests/fuzz/corpus/$$t || exit 1; done

define PLANT_template
$(B)/plant-$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -DZR_PLANT_BUG_$(1) -MMD -MP -c $$< -o $$@
$(B)/tests/sim/test_planted_$(1): tests/sim/test_planted.c tests/sim/sim.c $(patsubst %.c,$(B)/plant-$(1)/%.o,$(RAFT_SRC))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -DPLANTED='"$(1)"' -o $$@ $$^ $$(CHECKLIB)
endef
$(foreach p,$(PLANTS),$(eval $(call PLANT_template,$(p))))

# Long simulation sweeps: make sim SEEDS=100000 [FIRST=1] [NODES=3|5|7]
SEEDS ?= 20000
FIRST ?= 1
sim: $(B)/tests/sim/sim_run
	$(B)/tests/sim/sim_run --seed $(FIRST) --seeds $(SEEDS) $(if $(NODES),--nodes $(NODES))

# canonical/raft, for the side-by-side comparison only (bench/compare.sh):
# a small driver of ours linked against Debian's libraft-dev and libuv.
bench-peers: $(B)/bench/raft-peer
$(B)/bench/raft-peer: bench/peers/raft-peer.c
	@scripts/install-deps.sh --bench
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o $@ $< -lraft -luv -lm

bench-compare: all bench-peers bench-etcd-peer bench-nats-peer
	bench/compare.sh $(B)
	bench/etcdcompare.sh $(B)
	bench/natscompare.sh $(B)

# etcd 3.4 (Debian etcd-server), for the zraft-node vs etcd comparison
# (bench/etcdcompare.sh): a load generator on etcd's own Go client,
# clientv3, built offline from Debian's golang-etcd-server-dev (GOPATH
# mode: no module download).
bench-etcd-peer: $(B)/bench/etcd-load
$(B)/bench/etcd-load: bench/peers/etcd-load/main.go bench/peers/loadstat/loadstat.go
	@scripts/install-deps.sh --bench
	@mkdir -p $(dir $@)
	cd bench/peers/etcd-load && GO111MODULE=off GOPATH=/usr/share/gocode \
	    GOFLAGS= GOPROXY=off GOCACHE=$(abspath $(B))/bench/go-cache \
	    go build -o $(abspath $@) .

bench-etcd: all bench-etcd-peer
	bench/etcdcompare.sh $(B)

# NATS JetStream 2.9 (Debian nats-server), for the bus vs JetStream
# comparison (bench/natscompare.sh): a load generator on the NATS Go
# client, built offline from Debian's golang-github-nats-io-go-nats-dev
# (GOPATH mode: no module download).
bench-nats-peer: $(B)/bench/nats-load
$(B)/bench/nats-load: bench/peers/nats-load/main.go bench/peers/loadstat/loadstat.go
	@scripts/install-deps.sh --bench
	@mkdir -p $(dir $@)
	cd bench/peers/nats-load && GO111MODULE=off GOPATH=/usr/share/gocode \
	    GOFLAGS= GOPROXY=off GOCACHE=$(abspath $(B))/bench/go-cache \
	    go build -o $(abspath $@) .

bench-nats: all bench-nats-peer
	bench/natscompare.sh $(B)

# The bus's publish rate with 100 idle and 10 dropping subscribers
# against none, and the servers' memory (bench/busidle.sh).
bench-bus-idle: all
	bench/busidle.sh $(B)

# Throughput with snapshots on and off, zraft and canonical/raft, rounds
# in alternating order (SNAPCOMPARE_DURATION, SNAPCOMPARE_ROUNDS).
bench-snapshots: all bench-peers
	bench/snapcompare.sh $(B)

# Restart from a big snapshot and InstallSnapshot throughput, against the
# disk's read and write speed (SNAPDRILL_STATE, SNAPDRILL_ENTRIES).
bench-snapdrill: all
	bench/snapdrill.sh $(B)

# RSS and disk use per node over time: docs/perf/memory.json and .png.
DURATION ?= 600
bench-memory: all
	MEMPLOT_DURATION=$(DURATION) MEMPLOT_BIN=$(B)/bin/zraft-bench \
	    bench/memplot.sh --install docs/perf

# The suite: unit tests first (fast), then cluster, then process tests. tests/run.sh
# prints each binary's Check summary and one closing "N passed, N failed".
test: deps
	$(MAKE) all check-pure
	tests/run.sh $(B) $(TESTS)

# Runs the suite of an already built variant (used by asan/tsan).
test-run: all
	tests/run.sh $(B) $(TESTS)

# LeakSanitizer runs at the exit of each forked test, so a leak fails it.
asan: deps
	$(MAKE) VARIANT=asan test-run

# libzmq is not built with TSan: what its own code does is ignored
# (tests/tsan.supp), and the happens-before its lock-free pipes give to our
# pointer hand-offs is annotated in actors/actors.h. Our code is fully
# instrumented and no race is suppressed by name.
tsan: deps
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	    $(MAKE) VARIANT=tsan test-run

# Three zraft-node processes, work through zraft-ctl and zraft-bench --kv,
# the leader killed, fail-over time, every acknowledged write read back.
demo: deps
	$(MAKE) lib bins
	scripts/demo.sh $(B)

# The message bus: examples/broker.c's three servers, a producer and two
# consumers (one durable) across the leader's kill; nothing lost, nothing
# delivered twice, one order.
bus-demo: deps
	$(MAKE) lib $(B)/examples/broker
	$(B)/examples/broker --demo

# Every cluster and process test, RUNS times in a row each under a busy
# loop per core (about 70 min for 20 runs); SOAK=test_lab narrows it.
# ZR_LIN_SECONDS=N gives proc/test_linearizable N s of faults (default 15).
RUNS ?= 20
SOAK ?= $(patsubst tests/%.c,%,$(CLUS_SRC) $(PROC_SRC))
soak: all
	@for t in $(SOAK); do tests/soak.sh $(B)/tests/$$t $(RUNS) || exit 1; done

deps:
	@scripts/install-deps.sh

check-pure:
	@if grep -rnE '#[[:space:]]*include[[:space:]]*[<"](zmq|czmq|msgpack|pthread)' raft/; then \
	    echo "check-pure: raft/ must not include the headers above"; exit 1; \
	else echo "check-pure: raft/ includes libc only"; fi

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(B)/obj $(B)/plant-* -name '*.d' 2>/dev/null)
