# Tessera — build, test, bench. See README.md.
#
#   make            build src/tessera-server (-O2 -g, warnings are errors)
#   make SANITIZE=1 build with ASan+UBSan (objects under build/san)
#   make test       unit tests (sanitized) + integration tests (pytest, real clients)
#   make unit       unit tests only          make integration   integration only
#   make fuzz       build the libFuzzer harnesses (clang)   make bench   benchmarks
#   make run        build and start one node on port 6379 in the foreground
#   make cluster    3 masters + 3 replicas on 127.0.0.1:7001-7006 (CLUSTER=status|down|clean)
#   make format     clang-format the sources
#   make docker     build the Docker image `tessera`     make e2e   container tests (tests/e2e)

CC       ?= gcc
PYTHON   ?= /usr/bin/python3
SANITIZE ?= 0

UV_CFLAGS := $(shell pkg-config --cflags libuv 2>/dev/null)
UV_LIBS   := $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CSTD    := -std=c11 -D_GNU_SOURCE
ifeq ($(SANITIZE),1)
  OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  BUILD   := build/san
  LDEXTRA := -fsanitize=address,undefined
else
  OPT     := -O2 -g
  BUILD   := build/rel
  LDEXTRA :=
endif
CFLAGS  += $(CSTD) $(OPT) $(WARN) -Isrc $(UV_CFLAGS) -MMD -MP
LDLIBS  := $(UV_LIBS) -ljemalloc -lxxhash -lm -lpthread

# Every .c under src/ is part of the server, except tool entry points.
SRCS    := $(filter-out src/tools/%,$(wildcard src/*.c src/*/*.c))
OBJS    := $(SRCS:%.c=$(BUILD)/%.o)
SERVER  := src/tessera-server
# tessera-check-aof: the tool entry point + the pure modules it shares with the server.
CHECK_AOF      := src/tessera-check-aof
CHECK_AOF_SRCS := src/tools/check_aof.c src/persist/aof_manifest.c src/persist/aof_reader.c \
                  src/proto/resp.c src/lib/mem.c \
                  src/persist/rdb_dec.c src/persist/rdb_load.c src/persist/rdb_obj.c \
                  src/persist/rdb_zl.c src/persist/rdb_lzf.c src/persist/rdb_enc.c src/ks/kv.c \
                  src/ks/db.c src/ks/ks.c src/ks/listpack.c src/ks/intset.c src/ks/quicklist.c \
                  src/ks/tset.c src/ks/thash.c src/ks/zset.c src/lib/dict.c src/lib/util.c \
                  src/lib/crc16.c src/lib/crc64.c

.PHONY: all deps deps-check test unit integration fuzz bench run clean format cluster docker e2e

all: deps-check $(SERVER) $(CHECK_AOF)

# `make` installs what is missing (and says so) before building.
# BUILD_ONLY=1 (the Docker build stage): check only what compiling the server needs
# (libuv, jemalloc, xxhash headers) and fail instead of installing the test tools.
BUILD_ONLY ?= 0
ifeq ($(BUILD_ONLY),1)
deps-check:
	@if ! pkg-config --exists libuv 2>/dev/null || [ ! -f /usr/include/jemalloc/jemalloc.h ] \
	   || [ ! -f /usr/include/xxhash.h ]; then \
	  echo "make: BUILD_ONLY=1 needs pkg-config libuv1-dev libjemalloc-dev libxxhash-dev"; exit 1; \
	fi
else
deps-check:
	@if ! pkg-config --exists libuv 2>/dev/null || [ ! -f /usr/include/jemalloc/jemalloc.h ] \
	   || [ ! -f /usr/include/xxhash.h ] || [ ! -f /usr/include/cmocka.h ]; then \
	  echo "make: build dependencies are missing; running deps/install.sh"; \
	  bash deps/install.sh; \
	fi
endif

deps:
	bash deps/install.sh

ifeq ($(SANITIZE),1)
$(SERVER): $(BUILD)/tessera-server
	@true
$(BUILD)/tessera-server: $(OBJS)
	$(CC) $(LDEXTRA) -o $@ $^ $(LDLIBS)
else
$(SERVER): $(OBJS)
	$(CC) $(LDEXTRA) -o $@ $^ $(LDLIBS)
endif

$(CHECK_AOF): $(CHECK_AOF_SRCS:%.c=$(BUILD)/%.o)
	$(CC) $(LDEXTRA) -o $@ $^ -ljemalloc -lxxhash -lm -lpthread

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

-include $(OBJS:.o=.d) $(BUILD)/src/tools/check_aof.d

# ---- unit tests ---------------------------------------------------------
# Each tests/unit/test_X.c names the sources it links on a line
#   /* SOURCES: src/lib/dict.c src/lib/mem.c */
# — that list is the audit of the room picture in DESIGN.md §2.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/unit/%)
SANFLAGS  := $(CSTD) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined -Wall -Wextra -Werror -Wno-unused-parameter

build/unit/%: tests/unit/%.c $(shell sed -n 's|.*SOURCES:\(.*\)\*/.*|\1|p' tests/unit/*.c 2>/dev/null) $(wildcard tests/unit/*.h)
	@mkdir -p build/unit
	$(CC) $(SANFLAGS) -Isrc -o $@ $< $$(sed -n 's|.*SOURCES:\(.*\)\*/.*|\1|p' $<) \
	  -lcmocka -ljemalloc -lxxhash -lm -lpthread

unit: deps-check $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	  echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi

integration: all
	$(PYTHON) -m pytest -q -ra tests/integration

test: unit integration

# ---- fuzzing (clang libFuzzer) -------------------------------------------
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(shell sed -n 's|.*SOURCES:\(.*\)\*/.*|\1|p' tests/fuzz/*.c 2>/dev/null)
	@mkdir -p build/fuzz
	clang $(CSTD) -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -o $@ $< \
	  $$(sed -n 's|.*SOURCES:\(.*\)\*/.*|\1|p' $<) -ljemalloc -lxxhash -lm -lpthread
fuzz: $(FUZZ_BINS)

bench: all
	$(PYTHON) tools/bench/bench.py

# Cluster benchmarks against redis-server (tools/bench/*_bench.py; BENCH_ARGS adds options):
# redis-benchmark --cluster SET/GET (bench-cluster; --bus for idle bus bytes/s), failover
# time after SIGKILL of a master (bench-failover), reshard keys/s and GET latency (bench-reshard),
# full sync of a 1M-key replica and the master's longest stall meanwhile (bench-fullsync).
.PHONY: bench-cluster bench-failover bench-reshard bench-fullsync
bench-cluster: all
	$(PYTHON) tools/bench/cluster_bench.py $(BENCH_ARGS)

bench-failover: all
	$(PYTHON) tools/bench/failover_bench.py $(BENCH_ARGS)

bench-reshard: all
	$(PYTHON) tools/bench/reshard_bench.py $(BENCH_ARGS)

bench-fullsync: all
	$(PYTHON) tools/bench/fullsync_bench.py $(BENCH_ARGS)

run: all
	./$(SERVER) --port 6379

# `make cluster` starts 3 masters + 3 replicas on 127.0.0.1:7001-7006 (tools/cluster.sh);
# `make cluster CLUSTER=status|down|clean` for the other actions.
CLUSTER ?= up
cluster:
	@if [ "$(CLUSTER)" = up ]; then $(MAKE) all; fi
	NO_BUILD=1 bash tools/cluster.sh $(CLUSTER)

format:
	clang-format -i $$(find src tests -name '*.[ch]')

# ---- Docker (see README "Run a cluster with Docker") -----------------------
# `make docker` starts a Docker engine if none answers (tools/docker-engine.sh), builds the
# debian:bookworm-slim base locally when no registry can provide it (tools/docker-base-image.sh),
# then builds the image `tessera` (DOCKER_IMAGE). `make e2e` runs the container tests.
DOCKER_IMAGE ?= tessera
docker:
	bash tools/docker-engine.sh start
	bash tools/docker-base-image.sh
	docker build --network host -t $(DOCKER_IMAGE) .
	docker image prune -f --filter label=org.tessera.stage=build >/dev/null
	docker image prune -f --filter label=org.tessera.image=server >/dev/null

e2e:
	$(PYTHON) -m pytest -v -ra tests/e2e

clean:
	rm -rf build $(SERVER) $(CHECK_AOF)
