// The extern "C" side of seqguard, part 1: the module itself.
//
// src/shims/ is the only place that declares functions PostgreSQL calls by name; each
// file there maps SQL functions to their C++ bodies in src/pg/.
#include "pg/series.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) { seqguard::pg::register_series_callbacks(); }
}
