// Errors raised by energyloss on bad input. Every message names the argument
// (and index, file or line) at fault, so callers never have to guess.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace energyloss {

class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  message << "energyloss: ";
  (message << ... << parts);
  throw Error(message.str());
}

// Cheap check: the message parts are only formatted when `ok` is false.
template <typename... Parts>
inline void require(bool ok, const Parts&... parts) {
  if (!ok) fail(parts...);
}

}  // namespace energyloss
