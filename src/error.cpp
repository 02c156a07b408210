// SPDX-License-Identifier: Apache-2.0
#include "gaussot/error.hpp"

#include <cstring>
#include <utility>

#include "gaussot/config.hpp"
#include "gaussot/gaussot.hpp"

namespace gaussot {
namespace {
std::string with_location(const std::string& message, const char* file, int line) {
  // Keep the path from "src/", "cpu/" or "cuda/" on: short and unambiguous.
  const char* short_file = file;
  for (const char* marker : {"/src/", "/cpu/", "/cuda/", "/apps/"}) {
    if (const char* p = std::strstr(file, marker)) {
      short_file = p + 1;
      break;
    }
  }
  return message + " [" + short_file + ":" + std::to_string(line) + "]";
}
}  // namespace

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(with_location(message, file, line)), message_(message) {}

InvalidArgument::InvalidArgument(const std::string& message, const char* file, int line,
                                 std::string argument, std::int64_t batch_index)
    : Error(message, file, line), argument_(std::move(argument)), batch_index_(batch_index) {}

CudaError::CudaError(const std::string& library, std::int64_t status, const std::string& message,
                     const char* file, int line)
    : Error(message, file, line), library_(library), status_(status) {}

ConvergenceError::ConvergenceError(const std::string& message, std::int64_t batch_index,
                                   std::int64_t info, const char* file, int line)
    : Error(message, file, line), batch_index_(batch_index), info_(info) {}

const char* version() noexcept { return GAUSSOT_VERSION_STRING; }

}  // namespace gaussot
