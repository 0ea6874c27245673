// The tests' check that a call fails with an energyloss::Error (or another
// exception type, e.g. OpenMM::OpenMMException) whose message carries given
// fragments (a file name, an atom index, the engine's words), and the message
// itself for tests that compare it.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "energyloss/error.h"

namespace energyloss::test_support {

template <typename Exception = Error, typename Call>
void expect_error(Call&& call, std::initializer_list<std::string> fragments) {
  try {
    std::forward<Call>(call)();
    ADD_FAILURE() << "no exception was thrown";
  } catch (const Exception& error) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' missing from: " << error.what();
    }
  }
}

template <typename Exception = Error, typename Call>
void expect_error(Call&& call, const std::string& fragment) {
  expect_error<Exception>(std::forward<Call>(call), {fragment});
}

// The message of the exception `call` throws, or "no error".
template <typename Exception = Error, typename Call>
std::string error_message(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const Exception& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace energyloss::test_support
