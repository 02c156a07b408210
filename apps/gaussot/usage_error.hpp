// SPDX-License-Identifier: Apache-2.0
// The command line's own error: bad usage or bad input, exit status 2 (CLI.md). The command's
// helpers throw it; the library's InvalidArgument is turned into it only where the command knows
// which option or file the library's argument came from.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "gaussot/error.hpp"

namespace gaussot::cli {

/// Bad usage or bad input: exit status 2, the message on one line of stderr.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs `action`, which hands a user's option (a file or folder it names) to the library; an
/// InvalidArgument it throws becomes a UsageError that starts with `where` ("--out: FILE").
template <typename Action>
decltype(auto) blaming(const std::string& where, Action&& action) {
  try {
    return std::forward<Action>(action)();
  } catch (const InvalidArgument& e) {
    throw UsageError(where + ": " + e.message());
  }
}

}  // namespace gaussot::cli
