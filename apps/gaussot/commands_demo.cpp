// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"
namespace gaussot::cli {
void register_demo(CLI::App&) {}
}  // namespace gaussot::cli
