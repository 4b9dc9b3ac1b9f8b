// The wall between seqguard's pure C++ core and PostgreSQL.
//
// Every core header includes this file first. The core must compile and be unit-tested
// without a server, and PostgreSQL's headers redefine things C++ relies on (bool-ish
// macros, `Assert`, `elog` jumping over destructors), so a core header that ends up in
// a translation unit after postgres.h is a bug we want the compiler to report.
#pragma once

#if defined(POSTGRES_H) || defined(PG_CONFIG_H)
#error "seqguard core headers must be included before, and independently of, postgres.h"
#endif

namespace seqguard::core::detail {
// Also caught when postgres.h is included *after* a core header in the same unit:
// src/pg/pg.hpp checks this marker.
inline constexpr bool core_included = true;
}  // namespace seqguard::core::detail
