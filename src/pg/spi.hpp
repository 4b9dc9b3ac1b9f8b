// SPI access to seqguard's own tables, as the extension's owner.
//
// Ordinary roles allocate IDs without privileges on seqguard's tables: the functions
// switch to the owner of the `seqguard` schema for their own queries only (the way
// SECURITY DEFINER would, without its per-call GUC cost, which a one-million-row
// INSERT ... SELECT would pay a million times). Every query is fully schema-qualified,
// operators included, so search_path cannot redirect it; and every connection that runs
// as a role other than the caller's also pins search_path (PinnedSearchPath), so that a
// name a query forgot to qualify still cannot resolve to a function the caller planted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/bridge.hpp"

namespace seqguard::pg {

// OIDs that belong to the installed extension; looked up once per transaction.
struct Catalog {
  Oid schema;  // the `seqguard` schema
  Oid owner;   // its owner: the role seqguard's own queries run as
};
const Catalog& catalog();

// Which snapshot a query reads with.
enum class Snap {
  transaction,  // the caller's, as any SQL statement would
  latest,       // everything committed now: used under a counter lock, so that waiting
                // for a lock never ends in a serialization failure at REPEATABLE READ
};

// A typed query parameter. Text values are copied into the current memory context.
struct Param {
  Oid type;
  Datum value;
  bool isnull;
  static Param text(const std::string& s);
  static Param int8(int64_t v);
  static Param int4(int32_t v);
  static Param boolean(bool v);
  static Param oid(Oid v);
  static Param null(Oid type);
};

// search_path = pg_catalog, pg_temp for the object's lifetime, in a GUC nest level of
// its own (as a function's SET clause would), restored when the object dies, on errors
// too. Whatever runs with rights the caller lacks must live inside one: the caller
// chose search_path, and a schema of theirs in it could otherwise shadow max() or =.
// Functions and operators never resolve through pg_temp, so pg_temp, listed last, only
// keeps temporary relations from shadowing anything.
class PinnedSearchPath {
 public:
  PinnedSearchPath();
  ~PinnedSearchPath();
  PinnedSearchPath(const PinnedSearchPath&) = delete;
  PinnedSearchPath& operator=(const PinnedSearchPath&) = delete;

 private:
  int level_;
  int uncaught_at_entry_;
};

// One SPI connection. By default it runs as the extension owner for its lifetime, with
// search_path pinned; Role::caller keeps the caller's privileges and search_path
// (reading a user's table, for instance).
enum class Role { owner, caller };
class Spi {
 public:
  explicit Spi(Role role = Role::owner);
  ~Spi();
  Spi(const Spi&) = delete;
  Spi& operator=(const Spi&) = delete;

  // Runs `sql` (prepared once per backend and kept) and returns the number of rows
  // processed. Rows are read with row()/get_*() until the next execute.
  uint64_t execute(const char* sql, const std::vector<Param>& params, Snap snap = Snap::transaction,
                   bool read_only = false);
  // Runs a query text that is built at run time (DDL with quoted identifiers).
  uint64_t execute_dynamic(const std::string& sql, bool read_only = false);

  uint64_t rows() const;
  std::optional<int64_t> get_int8(uint64_t row, int col) const;
  std::optional<std::string> get_text(uint64_t row, int col) const;
  std::optional<bool> get_bool(uint64_t row, int col) const;
  std::optional<Oid> get_oid(uint64_t row, int col) const;

 private:
  std::optional<PinnedSearchPath> pinned_;
  Oid saved_user_;
  int saved_sec_;
  int uncaught_at_entry_;
};

// Runs `f` as the extension owner, for direct calls that resolve no name (nextval() and
// setval() by OID, pg_sequence_last_value()): it does not pin search_path, which keeps
// the per-ID cost of a fast series low. SQL as the owner goes through Spi.
class AsOwner {
 public:
  AsOwner();
  ~AsOwner();
  AsOwner(const AsOwner&) = delete;
  AsOwner& operator=(const AsOwner&) = delete;

 private:
  Oid saved_user_;
  int saved_sec_;
};

// Forgets per-transaction lookups; called at transaction end.
void reset_catalog_cache() noexcept;

// True when the `seqguard` schema this transaction has been using is gone (DROP
// EXTENSION earlier in the transaction): its state has nowhere to be written.
bool catalog_dropped();

// `"schema"."name"` for a relation, safe to paste into SQL.
std::string qualified_name(Oid relid);

}  // namespace seqguard::pg
