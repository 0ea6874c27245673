// The two kinds of energyloss errors: bad input (Error, a
// std::invalid_argument) and failures of what a call relies on
// (RuntimeError, a std::runtime_error), with the same message format.
#include <gtest/gtest.h>

#include <stdexcept>

#include "../support/expect_error.h"
#include "energyloss/error.h"

namespace energyloss {
namespace {

using test_support::error_message;
using test_support::expect_error;

TEST(Errors, BadInputIsAnInvalidArgument) {
  EXPECT_THROW(fail("x"), std::invalid_argument);
  EXPECT_NO_THROW(require(true, "never formatted"));
  expect_error([] { require(false, "atoms: expected >= ", 1, ", got ", -2); },
               "energyloss: atoms: expected >= 1, got -2");
}

TEST(Errors, FailuresOfTheMachineryAreRuntimeErrors) {
  EXPECT_THROW(fail<RuntimeError>("x"), std::runtime_error);
  EXPECT_NO_THROW(require<RuntimeError>(true, "never formatted"));
  expect_error<RuntimeError>([] { require<RuntimeError>(false, "socket ", 3, " closed"); },
                             "energyloss: socket 3 closed");
  // Neither kind is caught as the other.
  EXPECT_THROW(EXPECT_EQ(error_message([] { fail<RuntimeError>("x"); }), "unreached"),
               RuntimeError);
  EXPECT_THROW(EXPECT_EQ(error_message<RuntimeError>([] { fail("x"); }), "unreached"), Error);
}

}  // namespace
}  // namespace energyloss
