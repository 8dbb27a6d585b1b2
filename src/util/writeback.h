// Early writeback: start flushing written file ranges to disk while work
// goes on, so the fsync/syncfs that makes a blob or snapshot durable finds
// most data already written instead of waiting for all of it at the end.
#pragma once

#include <fcntl.h>

#include <cstdint>

namespace strata {

// Non-blocking: queues the range for writeback and returns (errors ignored;
// durability still comes from the later fsync).
inline void StartWriteback(int fd, int64_t offset, int64_t length) {
  if (length > 0) (void)::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

inline constexpr int64_t kWritebackChunk = 8 << 20;

}  // namespace strata
