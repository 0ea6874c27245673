// Errors raised by energyloss. Every message starts "energyloss: " and names
// the argument (and index, file or line) at fault, so callers never have to
// guess. Two kinds:
//   Error         bad input: an argument, a file's content, an option
//                 (std::invalid_argument; Python ValueError);
//   RuntimeError  the input may be fine but something the call relies on
//                 failed: a socket, a worker process, the CUDA device
//                 (std::runtime_error; Python RuntimeError).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace energyloss {

class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Exception (default Error) with "energyloss: " and the parts.
template <typename Exception = Error, typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  message << "energyloss: ";
  (message << ... << parts);
  throw Exception(message.str());
}

// Cheap check: the message parts are only formatted when `ok` is false.
template <typename Exception = Error, typename... Parts>
inline void require(bool ok, const Parts&... parts) {
  if (!ok) fail<Exception>(parts...);
}

}  // namespace energyloss
