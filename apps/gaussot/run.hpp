// SPDX-License-Identifier: Apache-2.0
// The whole `gaussot` command as a function, for main() and for the command-line fuzzer.
#pragma once

namespace gaussot::cli {

/// Parses argv (argv[0] is the program name), runs the command and returns its exit status:
/// 0 on success, 2 on bad usage or bad input, 1 on a numerical or device failure. Results go to
/// stdout (or --out), every failure is one line on stderr; no exception escapes.
int run(int argc, char** argv);

}  // namespace gaussot::cli
