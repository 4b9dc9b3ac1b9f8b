// Drift prevented at the source: sequences that move past explicit values as they are
// inserted, in the same statement.
//
// A column draws from a sequence when it is an identity column, or its DEFAULT is
// nextval('seq') (serial, bigserial, smallserial, or written by hand), possibly under a
// cast. An INSERT or COPY that writes explicit values into such a column (a migration,
// an import, a restore of some rows) leaves the sequence behind the data, and the next
// default-only insert fails with a duplicate key. seqguard_protect() installs a
// statement-level AFTER INSERT trigger that moves each such sequence past the largest
// value the statement wrote (below the smallest, for descending sequences).
#pragma once

#include "pg/bridge.hpp"

namespace seqguard::pg {

// Protects `table` and, when it is partitioned, each of its partitions (rows inserted
// straight into a partition bypass the parent's statement triggers). Also moves the
// sequences past the rows already there. Running it again re-installs the triggers.
void protect(Oid table);

// Removes what protect() installed on `table` and its partitions.
void unprotect(Oid table);

// The trigger function.
Datum protect_trigger(FunctionCallInfo fcinfo);

}  // namespace seqguard::pg
