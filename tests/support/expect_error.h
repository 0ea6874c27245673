// The tests' check that a call fails with an energyloss::Error whose message
// carries given fragments (a file name, an atom index, the engine's words).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "energyloss/error.h"

namespace energyloss::test_support {

template <typename Call>
void expect_error(Call&& call, std::initializer_list<std::string> fragments) {
  try {
    call();
    ADD_FAILURE() << "no energyloss::Error was thrown";
  } catch (const Error& error) {
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' missing from: " << error.what();
    }
  }
}

template <typename Call>
void expect_error(Call&& call, const std::string& fragment) {
  expect_error(std::forward<Call>(call), {fragment});
}

}  // namespace energyloss::test_support
