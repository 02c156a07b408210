// SPDX-License-Identifier: Apache-2.0
#include "run.hpp"

int main(int argc, char** argv) { return gaussot::cli::run(argc, argv); }
