// Wire protocol between the LAMMPS oracle (client) and energyloss_lammps_worker.
// Both ends run on the same machine from the same build, so values travel in
// native byte order. The worker talks over the socket it finds on file
// descriptor kWorkerSocketFd.
//
// Worker start:  worker -> client  Status, then on kOk:
//                  int64 atoms, uint32 length + unit style name, atoms x int32 types (atom-ID
//                  order)
// Request:       client -> worker  RequestHeader, then count x atoms x 3 doubles (atom-ID order)
// Reply:         worker -> client  Status, then on kOk: count energies, and
//                  count x atoms x 3 forces when the request asked for them
// Any failure:   Status kError (the worker carries on) or kFatal (the worker
//                  exits next, e.g. after any LAMMPS error), then int64 batch entry
//                  (-1: none), uint32 length + message.
#pragma once

#include <unistd.h>
#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace energyloss::lammps_protocol {

constexpr int kWorkerSocketFd = 3;

enum Status : int32_t { kOk = 0, kError = 1, kFatal = 2 };

struct RequestHeader {
  int64_t count;        // configurations in this request
  int64_t first_entry;  // batch index of the first one, for error messages
  int32_t want_forces;  // 0 or 1
  int32_t unused = 0;
};

// Full-length read/write on a blocking descriptor; false on EOF or error.
inline bool read_all(int fd, void* data, size_t bytes) {
  auto* cursor = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t got = ::read(fd, cursor, bytes);
    if (got == 0) return false;
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    cursor += got;
    bytes -= size_t(got);
  }
  return true;
}

// `send_flags` lets the client pass MSG_NOSIGNAL (a dead worker must not
// raise SIGPIPE in the caller's process); the worker writes plainly.
template <typename Writer>
bool write_all_with(Writer&& writer, const void* data, size_t bytes) {
  const auto* cursor = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t put = writer(cursor, bytes);
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    cursor += put;
    bytes -= size_t(put);
  }
  return true;
}

}  // namespace energyloss::lammps_protocol
