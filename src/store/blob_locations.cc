#include "store/blob_locations.h"

namespace strata::store {

Status AddBlobLocation(Db& db, const BlobLocation& loc) {
  // REPLACE moves the row to the end of rowid order: the newest location is tried first.
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db.Prepare("INSERT OR REPLACE INTO blob_locations "
                         "(diff_id, repository, digest, media_type, size) VALUES (?,?,?,?,?)"));
  s.Bind(1, loc.diff_id).Bind(2, loc.repository).Bind(3, loc.digest).Bind(4, loc.media_type);
  s.Bind(5, loc.size);
  return s.Run();
}

Result<std::vector<BlobLocation>> BlobLocationsOf(Db& db, const std::string& diff_id) {
  STRATA_ASSIGN_OR_RETURN(Stmt s,
                          db.Prepare("SELECT diff_id, repository, digest, media_type, size FROM "
                                     "blob_locations WHERE diff_id=? ORDER BY rowid DESC"));
  s.Bind(1, diff_id);
  return s.Rows([](const Stmt& row) {
    return BlobLocation{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)};
  });
}

Status RemoveBlobLocation(Db& db, const BlobLocation& loc) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db.Prepare("DELETE FROM blob_locations WHERE diff_id=? AND "
                                             "repository=? AND digest=?"));
  s.Bind(1, loc.diff_id).Bind(2, loc.repository).Bind(3, loc.digest);
  return s.Run();
}

}  // namespace strata::store
