#include "store/db.h"

#include <cstring>
#include <vector>

#include "store/schema_sql.h"

namespace strata::store {

Error SqliteError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  ErrorCode ec = ErrorCode::kInternal;
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) ec = ErrorCode::kUnavailable;
  if ((code & 0xff) == SQLITE_CONSTRAINT) ec = ErrorCode::kConflict;
  if ((code & 0xff) == SQLITE_CORRUPT) ec = ErrorCode::kDataLoss;
  return Error{ec, std::string(what) + ": " + sqlite3_errmsg(db)};
}

Stmt::~Stmt() {
  if (st_) sqlite3_finalize(st_);
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}
Result<bool> Stmt::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, "sqlite step");
}
Status Stmt::Run() {
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Ok();
  }
}
std::string Stmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(st_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(st_, col))
           : std::string();
}
std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(st_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
Status Stmt::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
  return Ok();
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = raw ? SqliteError(raw, "open " + path) : Internal("open " + path + ": out of memory");
    sqlite3_close(raw);
    return e;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 60000);
  // Most commands only read (images, inspect, history). By default the last connection to
  // close a WAL database checkpoints it and deletes -wal and -shm, so every read-only
  // command would pay for creating both files again, a checkpoint and the unlinks. A
  // connection that never wrote leaves them in place; one that opened a write transaction
  // checkpoints on close as before (~Db), and SQLite's auto-checkpoint still bounds the WAL.
  // Neither setting weakens locking between processes or durability of commits.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // WAL lets readers run while one writer commits; synchronous=FULL makes a
  // committed transaction durable, which the store's crash safety relies on.
  STRATA_TRY(db->Exec("PRAGMA journal_mode=WAL"));
  STRATA_TRY(db->Exec("PRAGMA synchronous=FULL"));
  STRATA_TRY(db->Exec("PRAGMA foreign_keys=ON"));
  STRATA_TRY(db->Migrate());
  return db;
}

Db::~Db() {
  if (wrote_) sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
  sqlite3_close_v2(db_);
}

Status Db::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(db_, "sqlite exec");
    sqlite3_free(err);
    return e;
  }
  return Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, "sqlite prepare");
  }
  return Stmt(db_, st);
}

Result<Db::Tx> Db::Begin() {
  wrote_ = true;
  STRATA_TRY(Exec("BEGIN IMMEDIATE"));
  return Tx(this);
}

Db::Tx::~Tx() {
  if (db_) (void)db_->Exec("ROLLBACK");
}

Status Db::Tx::Commit() {
  Db* db = std::exchange(db_, nullptr);
  return db->Exec("COMMIT");
}

namespace {

// Splits schema.sql into its "-- migration N" sections.
std::vector<std::pair<int, std::string>> Migrations() {
  std::vector<std::pair<int, std::string>> out;
  std::string_view all(kSchemaSql);
  const std::string_view marker = "-- migration ";
  size_t pos = all.find(marker);
  while (pos != std::string_view::npos) {
    size_t num_start = pos + marker.size();
    int n = std::atoi(std::string(all.substr(num_start, 8)).c_str());
    size_t next = all.find(marker, num_start);
    out.emplace_back(
        n, std::string(all.substr(num_start, next == std::string_view::npos ? std::string_view::npos
                                                                            : next - num_start)));
    pos = next;
  }
  return out;
}

}  // namespace

Status Db::Migrate() {
  auto migrations = Migrations();
  {
    // The common case, an up-to-date schema, needs no write lock: read the
    // version first so concurrent readers don't queue behind BEGIN IMMEDIATE.
    STRATA_ASSIGN_OR_RETURN(Stmt v, Prepare("PRAGMA user_version"));
    STRATA_ASSIGN_OR_RETURN(bool row, v.Step());
    version_ = row ? static_cast<int>(v.Int(0)) : 0;
    if (!migrations.empty() && version_ >= migrations.back().first) return Ok();
  }
  for (auto& [n, sql] : migrations) {
    STRATA_ASSIGN_OR_RETURN(Tx tx, Begin());
    int current = 0;
    {
      // Finalized before the migration runs: an open statement locks the schema (DROP fails
      // with "database table is locked").
      STRATA_ASSIGN_OR_RETURN(Stmt v, Prepare("PRAGMA user_version"));
      STRATA_ASSIGN_OR_RETURN(bool row, v.Step());
      if (row) current = static_cast<int>(v.Int(0));
    }
    version_ = current;
    if (current >= n) continue;
    // Drop the "N\n" that follows the marker; the rest is SQL.
    size_t nl = sql.find('\n');
    STRATA_TRY_CTX(Exec(sql.substr(nl == std::string::npos ? sql.size() : nl)),
                   "schema migration " + std::to_string(n));
    STRATA_TRY(Exec("PRAGMA user_version=" + std::to_string(n)));
    STRATA_TRY(tx.Commit());
    version_ = n;
  }
  return Ok();
}

Result<std::vector<std::string>> Db::Check() {
  std::vector<std::string> problems;
  STRATA_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA integrity_check"));
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (s.Text(0) != "ok") problems.push_back("database: " + s.Text(0));
  }
  STRATA_ASSIGN_OR_RETURN(Stmt f, Prepare("PRAGMA foreign_key_check"));
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(bool row, f.Step());
    if (!row) break;
    problems.push_back("database: table " + f.Text(0) + " row " + f.Text(1) +
                       " references a missing " + f.Text(2));
  }
  return problems;
}

}  // namespace strata::store
