# Tessera — build, test, bench. See README.md.
#
#   make            build src/tessera-server (-O2 -g, warnings are errors)
#   make SANITIZE=1 build with ASan+UBSan (objects under build/san)
#   make test       unit tests (sanitized) + integration tests (pytest, real clients)
#   make unit       unit tests only          make integration   integration only
#   make fuzz       build the libFuzzer harnesses (clang)   make bench   benchmarks
#   make run        build and start one node on port 6379 in the foreground
#   make format     clang-format the sources

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
# (Cluster sources join the server once cluster mode is wired: CLUSTER_WIRED=1.)
SRCS    := $(filter-out src/tools/%,$(wildcard src/*.c src/*/*.c))
ifneq ($(CLUSTER_WIRED),1)
SRCS    := $(filter-out src/cluster/%,$(SRCS))
endif
OBJS    := $(SRCS:%.c=$(BUILD)/%.o)
SERVER  := src/tessera-server
# tessera-check-aof: the tool entry point + the pure modules it shares with the server.
CHECK_AOF      := src/tessera-check-aof
CHECK_AOF_SRCS := src/tools/check_aof.c src/persist/aof_manifest.c src/persist/aof_reader.c \
                  src/proto/resp.c src/lib/mem.c

.PHONY: all deps test unit integration fuzz bench run clean format cluster

all: deps-check $(SERVER) $(CHECK_AOF)

# `make` installs what is missing (and says so) before building.
deps-check:
	@if ! pkg-config --exists libuv 2>/dev/null || [ ! -f /usr/include/jemalloc/jemalloc.h ] \
	   || [ ! -f /usr/include/xxhash.h ] || [ ! -f /usr/include/cmocka.h ]; then \
	  echo "make: build dependencies are missing; running deps/install.sh"; \
	  bash deps/install.sh; \
	fi

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
	$(CC) $(LDEXTRA) -o $@ $^ -ljemalloc -lm -lpthread

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

run: all
	./$(SERVER) --port 6379

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build $(SERVER) $(CHECK_AOF)
