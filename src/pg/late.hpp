// Late-bound gapless numbers: a column of a table whose IDs are drawn at commit.
//
// A gapless counter is locked from the first allocation to the end of the transaction,
// so one slow transaction stalls every other writer of the counter. A late-bound column
// is inserted NULL; a deferred constraint trigger (AFTER INSERT, FOR EACH ROW,
// DEFERRABLE INITIALLY DEFERRED) fires in CommitTransaction, before the
// XACT_EVENT_PRE_COMMIT callback that writes the counter, draws the number with
// next_value() and writes it into the row. The counter's lock is therefore taken and held
// only while the transaction commits.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/bridge.hpp"
#include "pg/spi.hpp"

namespace seqguard::pg {

// Installs the trigger that fills `column` of `table` from `series` at commit. The
// column must be nullable, without a DEFAULT, and of a text or integer type; the scope
// column (if any) gives each row's scope. The caller must own the table.
// on_change says what an UPDATE that changes an assigned number gets: "error" (23001)
// or "keep" (the number is silently kept); "" for a database still at 1.0, which has
// no guard yet.
void attach(Oid table, const std::string& column, const std::string& series,
            const std::optional<std::string>& scope_column, const std::string& on_change);

// Removes it. Rows inserted before keep the IDs they got.
void detach(Oid table, const std::string& column);

// The trigger function: fills the column of the newest version of the inserted row.
Datum late_bind_trigger(FunctionCallInfo fcinfo);

// BEFORE UPDATE OF the column: a number, once assigned, stays assigned.
Datum late_guard_trigger(FunctionCallInfo fcinfo);

// Trigger plumbing shared with protect.cpp. Both features install triggers on a user's
// table that call a function of the `seqguard` schema; the caller must own the table
// (the triggers then act on it as its owner would), and the DDL itself runs as the
// extension owner, the only role sure to reach the `seqguard` schema.
namespace triggers {

// 42809 unless `table` is an ordinary or partitioned table, 42501 unless the current
// user owns it. `function` names the SQL function for the messages.
void require_owned_table(Oid table, const char* function);

// The OID of seqguard.<name>(), a trigger function of the extension (InvalidOid when
// missing_ok and it does not exist).
Oid extension_function(const char* name, bool missing_ok = false);

struct Found {
  std::string name;
  std::vector<std::string> args;
  bool clone;           // inherited from the partitioned table above (dropped with it)
  bool has_new_table;   // declared REFERENCING NEW TABLE
};
// The triggers of `table` that call `function`.
std::vector<Found> calling(Oid table, Oid function);

// Runs DDL as the extension owner.
void run_ddl(const std::string& sql);

// Acts as a table's owner for the lifetime of the object, without row-level security
// forced on the owner, the way PostgreSQL's foreign-key triggers act on a table: the
// triggers touch rows the statement itself wrote, which a policy must not hide. The
// inserting role chose search_path: it is pinned for as long (see PinnedSearchPath).
class AsTableOwner {
 public:
  explicit AsTableOwner(Oid owner);
  ~AsTableOwner();
  AsTableOwner(const AsTableOwner&) = delete;
  AsTableOwner& operator=(const AsTableOwner&) = delete;

 private:
  PinnedSearchPath pinned_;  // first: pinned before the switch, restored after it
  Oid saved_user_;
  int saved_sec_;
};

std::string quote_ident(const std::string& s);
std::string quote_literal(const std::string& s);
// A name for a new trigger on `table`: "<prefix><suffix>" when it fits in an identifier
// (NAMEDATALEN - 1 bytes); else that name clipped, without splitting a character, plus
// "_" and 8 hex digits of a hash of the whole suffix, so that suffixes sharing a long
// beginning get different names. Never the name of a trigger that `table` or one of its
// partitions already has (another hash is tried), because PostgreSQL clones a
// partitioned table's row triggers, under its name, to every partition.
std::string trigger_name(Oid table, const std::string& prefix, const std::string& suffix);

}  // namespace triggers

}  // namespace seqguard::pg
