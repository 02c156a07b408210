// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: gaussot's .npy reader on arbitrary bytes. Every input must either be refused
// with InvalidArgument (any other exception, a crash or a sanitizer report is a finding), or read
// to an array whose size matches its shape and which survives a write/read round trip bit for bit.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "gaussot/error.hpp"
#include "gaussot/npy.hpp"

namespace {

std::string scratch_path(const char* suffix) {
  return std::string("/tmp/gaussot_fuzz_npy_") + std::to_string(getpid()) + suffix;
}

template <typename T>
void read_and_round_trip(const std::string& path, const std::string& copy) {
  gaussot::NdArray<T> a;
  try {
    a = gaussot::read_npy<T>(path);
  } catch (const gaussot::InvalidArgument&) {
    return;
  }
  std::int64_t size = 1;
  for (std::int64_t extent : a.shape) size *= extent;
  if (size != a.size()) __builtin_trap();
  gaussot::write_npy(copy, a.data.data(), a.shape);
  const gaussot::NdArray<T> b = gaussot::read_npy<T>(copy);
  if (b.shape != a.shape || b.data.size() != a.data.size() ||
      (a.size() > 0 && std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(T)) != 0)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = scratch_path(".npy"), copy = scratch_path("_copy.npy");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)gaussot::read_npy_header(path);
  } catch (const gaussot::InvalidArgument&) {
  }
  read_and_round_trip<double>(path, copy);
  read_and_round_trip<float>(path, copy);
  return 0;
}
