// Thin RAII wrapper over SQLite: the metadata database (WAL mode, busy
// timeout for concurrent strata processes, numbered migrations from
// schema.sql) with prepared statements and IMMEDIATE transactions.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "util/result.h"

namespace strata::store {

class Stmt {
 public:
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(std::exchange(o.st_, nullptr)) {}
  Stmt(const Stmt&) = delete;
  ~Stmt();
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  Stmt& BindNull(int i);
  Stmt& BindOpt(int i, const std::optional<std::string>& v) {
    return v ? Bind(i, *v) : BindNull(i);
  }
  // Steps once: true = a row is available, false = done.
  Result<bool> Step();
  // Runs to completion, ignoring rows.
  Status Run();
  // Steps to the end, making each row a value with `read`, which reads the columns.
  template <typename Read>
  Result<std::vector<std::invoke_result_t<Read&, const Stmt&>>> Rows(Read read) {
    std::vector<std::invoke_result_t<Read&, const Stmt&>> out;
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return out;
      out.push_back(read(*this));
    }
  }
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;
  int64_t Int(int col) const;
  bool IsNull(int col) const;
  Status Reset();

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  sqlite3* db_;
  sqlite3_stmt* st_;
};

class Db {
 public:
  // Opens (creating) the database and applies pending migrations.
  static Result<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  int SchemaVersion() const { return version_; }
  // Runs "PRAGMA integrity_check" and foreign key checks; returns problems.
  Result<std::vector<std::string>> Check();

  // BEGIN IMMEDIATE; rolled back on destruction unless committed. IMMEDIATE
  // takes the write lock up front so concurrent writers wait (busy timeout)
  // instead of failing with SQLITE_BUSY on lock upgrade.
  class Tx {
   public:
    Tx(Tx&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    ~Tx();
    Status Commit();

   private:
    friend class Db;
    explicit Tx(Db* db) : db_(db) {}
    Db* db_;
  };
  Result<Tx> Begin();

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  Status Migrate();
  sqlite3* db_;
  int version_ = 0;
  bool wrote_ = false;  // a write transaction was begun: checkpoint on close
};

Error SqliteError(sqlite3* db, std::string_view what);

}  // namespace strata::store
