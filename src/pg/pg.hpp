// The one way the PostgreSQL layer includes PostgreSQL's headers.
//
// Core headers (include/seqguard/core) must come before this file: they refuse to be
// compiled after postgres.h, which is what keeps the core free of server dependencies.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

#include "pg/compat.hpp"

// PostgreSQL's c.h defines these as macros; they break the C++ standard library.
#undef printf
#undef sprintf
#undef snprintf
#undef vsnprintf
#undef fprintf
#undef vfprintf
#undef strerror
