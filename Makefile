# convstore build: `make run` serves, `make test` tests; both install what is missing first.

CC ?= cc
PKGS := libmicrohttpd jansson uuid libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PG_CFLAGS = -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -I. -Iservice -Iroutes -Idb $(PG_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LIBS = $(PKG_LIBS) -lpq -lpthread

B ?= build
SRC := $(wildcard service/*.c routes/*.c db/*.c)
OBJ := $(patsubst %.c,$(B)/obj/%.o,$(SRC)) $(B)/obj/gen/embedded.o
LIBOBJ := $(filter-out $(B)/obj/service/main.o,$(OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
SPEC ?= openapi/openapi.yaml

.PHONY: all build libobj deps run stop test unit fuzz check-format format lint bench clean

all build: $(B)/convstore

$(B)/convstore: $(OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/obj/%.o: %.c $(wildcard service/*.h routes/*.h db/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Migrations and the OpenAPI document are compiled into the binary.
$(B)/gen/embedded.c: $(MIGRATIONS) $(SPEC) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(SPEC) $(MIGRATIONS)

$(B)/obj/gen/embedded.o: $(B)/gen/embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(LIBOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) -lcmocka

libobj: $(LIBOBJ)

# Every suite runs even when one before it fails; the target fails if any did.
unit: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || rc=1; done; exit $$rc

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run.sh

stop:
	@scripts/pg.sh stop .convstore/pg

test: deps
	@scripts/test.sh

bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build
	@bench/run.sh

# libFuzzer targets (clang): each runs FUZZ_SECONDS from its seed corpus in tests/fuzz/corpus/;
# what it finds new goes to a scratch corpus, so the repo's seeds change only by hand.
FUZZ_SECONDS ?= 60
FUZZ_B := build-fuzz
FUZZ_CFLAGS := -O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined \
  -Wno-missing-field-initializers
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBOBJ := $(patsubst $(B)/%,$(FUZZ_B)/%,$(LIBOBJ))

$(FUZZ_B)/fuzz/%: tests/fuzz/%.c
	@$(MAKE) -s --no-print-directory B=$(FUZZ_B) CC=clang CFLAGS="$(FUZZ_CFLAGS)" libobj
	@mkdir -p $(dir $@)
	@clang $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer -D_GNU_SOURCE -I. -Iservice -Iroutes -Idb \
	  $(PG_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIBOBJ) $(LIBS)

fuzz: $(patsubst %,$(FUZZ_B)/fuzz/%,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	  name=$${t#fuzz_}; scratch=$(FUZZ_B)/corpus/$$name; log=$(FUZZ_B)/$$t.log; mkdir -p $$scratch; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  if $(FUZZ_B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_B)/$$t- \
	      $$scratch tests/fuzz/corpus/$$name >$$log 2>&1; then \
	    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units)' $$log; \
	    echo "fuzz: 1 passed, 0 failed"; \
	  else \
	    tail -n 60 $$log; echo "$$t crashed; the input is in $(FUZZ_B)/"; echo "fuzz: 0 passed, 1 failed"; exit 1; \
	  fi; \
	done

FORMAT_FILES = $(wildcard service/*.[ch] routes/*.[ch] db/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c)
check-format:
	clang-format --dry-run --Werror $(FORMAT_FILES)

format:
	clang-format -i $(FORMAT_FILES)

lint: $(B)/gen/embedded.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr --suppress=missingIncludeSystem \
	  -I. -Iservice -Iroutes -Idb service routes db

clean:
	rm -rf $(B) build-asan $(FUZZ_B)
