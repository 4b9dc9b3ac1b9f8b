#include "pg/spi.hpp"

#include <exception>
#include <unordered_map>

namespace seqguard::pg {

namespace {

std::optional<Catalog> cached_catalog;

// Plans are prepared once per backend and kept (SPI_keepplan): the first allocation of
// every transaction runs them, and planning would otherwise cost more than the query.
// The plan cache revalidates them if the extension is dropped and re-created.
std::unordered_map<std::string, SPIPlanPtr>& plans() {
  static auto* map = new std::unordered_map<std::string, SPIPlanPtr>();
  return *map;
}

}  // namespace

const Catalog& catalog() {
  if (!cached_catalog) {
    Oid schema = pg_call([] { return get_namespace_oid("seqguard", true); });
    if (schema == InvalidOid)
      fail(core::sqlstate::object_not_in_prerequisite_state, "schema \"seqguard\" does not exist",
           {}, "Run CREATE EXTENSION seqguard.");
    Oid owner = InvalidOid;
    pg_try([&] {
      HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(schema));
      if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for namespace %u", schema);
      owner = ((Form_pg_namespace)GETSTRUCT(tup))->nspowner;
      ReleaseSysCache(tup);
    });
    cached_catalog = Catalog{schema, owner};
  }
  return *cached_catalog;
}

void reset_catalog_cache() noexcept { cached_catalog.reset(); }

bool catalog_dropped() {
  if (!cached_catalog) return false;
  Oid schema = cached_catalog->schema;
  return !pg_call([&] { return SearchSysCacheExists1(NAMESPACEOID, ObjectIdGetDatum(schema)); });
}

Param Param::text(const std::string& s) {
  Datum d = pg_call([&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), (int)s.size())); });
  return Param{TEXTOID, d, false};
}
Param Param::int8(int64_t v) { return Param{INT8OID, Int64GetDatum(v), false}; }
Param Param::int4(int32_t v) { return Param{INT4OID, Int32GetDatum(v), false}; }
Param Param::boolean(bool v) { return Param{BOOLOID, BoolGetDatum(v), false}; }
Param Param::oid(Oid v) { return Param{OIDOID, ObjectIdGetDatum(v), false}; }
Param Param::null(Oid type) { return Param{type, 0, true}; }

PinnedSearchPath::PinnedSearchPath() : level_(NewGUCNestLevel()), uncaught_at_entry_(std::uncaught_exceptions()) {
  try {
    pg_try([] {
      (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                              true, 0, false);
    });
  } catch (...) {
    AtEOXact_GUC(false, level_);
    throw;
  }
}

PinnedSearchPath::~PinnedSearchPath() {
  // Also while an error unwinds: the transaction has not aborted yet (the error was
  // caught by pg_call), so the nest level is still ours to pop. Restoring search_path
  // runs only its assign hook, which raises nothing; the guard is for certainty.
  bool ok = std::uncaught_exceptions() == uncaught_at_entry_;
  MemoryContext ctx = CurrentMemoryContext;
  PG_TRY();
  { AtEOXact_GUC(ok, level_); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(ctx);
    FlushErrorState();
  }
  PG_END_TRY();
}

Spi::Spi(Role role) : uncaught_at_entry_(std::uncaught_exceptions()) {
  Oid user = role == Role::owner ? catalog().owner : InvalidOid;
  GetUserIdAndSecContext(&saved_user_, &saved_sec_);
  if (role == Role::owner) pinned_.emplace();
  pg_try([] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  });
  if (user != InvalidOid) SetUserIdAndSecContext(user, saved_sec_ | SECURITY_LOCAL_USERID_CHANGE);
}

Spi::~Spi() {
  SetUserIdAndSecContext(saved_user_, saved_sec_);
  // While an error unwinds, the transaction is about to abort and AtEOXact_SPI cleans
  // up; calling SPI_finish then could raise a second error through a destructor.
  if (std::uncaught_exceptions() == uncaught_at_entry_) {
    MemoryContext ctx = CurrentMemoryContext;
    PG_TRY();
    { SPI_finish(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(ctx);
      FlushErrorState();
    }
    PG_END_TRY();
  }
}

uint64_t Spi::execute(const char* sql, const std::vector<Param>& params, Snap snap, bool read_only) {
  SPIPlanPtr plan = nullptr;
  auto& cache = plans();
  auto it = cache.find(sql);
  if (it != cache.end()) {
    plan = it->second;
  } else {
    Oid types[16];
    if (params.size() > 16) fail(core::sqlstate::internal_error, "too many SPI parameters");
    for (size_t i = 0; i < params.size(); i++) types[i] = params[i].type;
    plan = pg_call([&] {
      SPIPlanPtr p = SPI_prepare(sql, (int)params.size(), types);
      if (p == nullptr) elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
      SPI_keepplan(p);
      return p;
    });
    cache.emplace(sql, plan);
  }
  Datum values[16];
  char nulls[17];
  for (size_t i = 0; i < params.size(); i++) {
    values[i] = params[i].value;
    nulls[i] = params[i].isnull ? 'n' : ' ';
  }
  nulls[params.size()] = '\0';
  int rc = pg_call([&] {
    if (snap == Snap::latest)
      return SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot, read_only,
                                  false, 0);
    return SPI_execute_plan(plan, values, nulls, read_only, 0);
  });
  if (rc < 0) fail(core::sqlstate::internal_error, std::string("SPI failed: ") + SPI_result_code_string(rc));
  return SPI_processed;
}

uint64_t Spi::execute_dynamic(const std::string& sql, bool read_only) {
  int rc = pg_call([&] { return SPI_execute(sql.c_str(), read_only, 0); });
  if (rc < 0) fail(core::sqlstate::internal_error, std::string("SPI failed: ") + SPI_result_code_string(rc));
  return SPI_processed;
}

uint64_t Spi::rows() const { return SPI_tuptable ? SPI_processed : 0; }

namespace {
Datum get_datum(uint64_t row, int col, bool* isnull) {
  if (SPI_tuptable == nullptr || row >= SPI_processed) fail(core::sqlstate::internal_error, "SPI row out of range");
  return pg_call([&] { return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull); });
}
}  // namespace

std::optional<int64_t> Spi::get_int8(uint64_t row, int col) const {
  bool isnull = false;
  Datum d = get_datum(row, col, &isnull);
  if (isnull) return std::nullopt;
  return DatumGetInt64(d);
}

std::optional<bool> Spi::get_bool(uint64_t row, int col) const {
  bool isnull = false;
  Datum d = get_datum(row, col, &isnull);
  if (isnull) return std::nullopt;
  return DatumGetBool(d);
}

std::optional<Oid> Spi::get_oid(uint64_t row, int col) const {
  bool isnull = false;
  Datum d = get_datum(row, col, &isnull);
  if (isnull) return std::nullopt;
  return DatumGetObjectId(d);
}

std::optional<std::string> Spi::get_text(uint64_t row, int col) const {
  bool isnull = false;
  Datum d = get_datum(row, col, &isnull);
  if (isnull) return std::nullopt;
  char* s = pg_call([&] { return TextDatumGetCString(d); });
  std::string out(s);
  pfree(s);
  return out;
}

AsOwner::AsOwner() {
  const Catalog& cat = catalog();
  GetUserIdAndSecContext(&saved_user_, &saved_sec_);
  SetUserIdAndSecContext(cat.owner, saved_sec_ | SECURITY_LOCAL_USERID_CHANGE);
}

AsOwner::~AsOwner() { SetUserIdAndSecContext(saved_user_, saved_sec_); }

std::string qualified_name(Oid relid) {
  char* s = pg_call([&] {
    char* rel = get_rel_name(relid);
    if (rel == nullptr)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
    return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
  });
  std::string out(s);
  return out;
}

}  // namespace seqguard::pg
