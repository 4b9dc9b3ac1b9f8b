# PGXS build of the seqguard extension (C++17 core + PostgreSQL layer + extern "C" shims).
#   make && make install          build and install into $(pg_config --pkglibdir)
#   make installcheck             pg_regress suite (sql/, expected/) then isolation (specs/)
# Unit and libpq integration tests are built by CMakeLists.txt; scripts/test runs all.

EXTENSION  = seqguard
EXTVERSION = 1.1

MODULE_big = seqguard
# Every source under src/ belongs to the module: one list, not a second one to keep in step.
SRCS = $(sort $(wildcard src/core/*.cpp src/pg/*.cpp src/shims/*.cpp))
OBJS = $(SRCS:.cpp=.o)

# The install script is assembled from one file per feature (sql/install/NN_*.sql),
# so that each feature's SQL sits beside nothing else and the order is explicit.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN = sql/$(EXTENSION)--$(EXTVERSION).sql
# Install scripts of earlier releases and the update scripts between releases are frozen
# files: a database made by an older release is updated by exactly these.
DATA = $(filter-out sql/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard sql/$(EXTENSION)--*.sql))

# Every sql/*.sql except install scripts is a regression test; every specs/*.spec an
# isolation test. Globbing means a test file cannot be forgotten in a schedule.
REGRESS = $(sort $(basename $(notdir $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION = $(sort $(basename $(notdir $(wildcard specs/*.spec))))
ISOLATION_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -Iinclude -Isrc -DFMT_HEADER_ONLY
PG_CXXFLAGS = -std=c++17 -Wno-register -Wno-missing-field-initializers
ifeq ($(WERROR),1)
PG_CXXFLAGS += -Werror
endif
SHLIB_LINK = -lstdc++

# PGXS would also emit LLVM bitcode for JIT inlining, which needs clang; nothing in
# seqguard is worth inlining into JIT-compiled expressions.
override with_llvm := no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

# Headers are not tracked by PGXS; rebuild everything when any of them changes.
$(OBJS): $(wildcard include/seqguard/core/*.hpp src/pg/*.hpp)

# The two halves of installcheck, so that scripts/test can count them separately.
.PHONY: installcheck-regress installcheck-isolation
installcheck-regress: submake
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
installcheck-isolation: submake
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
