// SPDX-License-Identifier: Apache-2.0
// The fixture of the CUDA-vs-CPU suites (test_cuda_vs_cpu.cpp, test_cuda_edge_cases.cpp): a CPU
// and a CUDA context, seeded random batches, and copies of padded host batches to the device.
// Every test of the fixture skips itself, saying why, when no CUDA device can be used.
#pragma once

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "test_utils.hpp"

namespace gaussot::test {

template <typename T>
class CudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }

  /// A device copy of a host batch with the same layout (padding included).
  struct DeviceBatch {
    Array<T> array;
    MatrixBatch<T> view;
  };
  DeviceBatch to_device(const HostBatch<T>& h) {
    DeviceBatch d{Array<T>(*gpu, static_cast<std::int64_t>(h.storage.size())), h.view};
    const std::int64_t n = d.array.size();
    copy<T>(*gpu, VectorBatch<const T>(h.storage.data(), n, n, 1), d.array.vectors(n, 1));
    d.view.data = d.array.data();
    d.view.space = MemorySpace::device;
    return d;
  }
  /// The device batch back on the host, in a copy of `like` (same layout).
  HostBatch<T> to_host(const DeviceBatch& d, const HostBatch<T>& like) {
    HostBatch<T> h = like;
    const std::int64_t n = d.array.size();
    copy<T>(*gpu, d.array.vectors(n, 1), VectorBatch<T>(h.storage.data(), n, n, 1));
    return h;
  }
  DeviceBatch device_like(const HostBatch<T>& like) { return to_device(like); }

  void random_symmetric(HostBatch<T>& a, const std::vector<long double>& spectrum) {
    for (std::int64_t i = 0; i < a.view.count; ++i) {
      a.set_item(i, with_spectrum(random_orthogonal(a.view.rows, rng), spectrum, a.view.rows));
    }
  }
  void randomize(HostBatch<T>& m) { fill_gaussian(m, rng); }

  Context cpu = Context::cpu();
  std::optional<Context> gpu;
  std::mt19937_64 rng{2026};
};
using Precisions = ::testing::Types<float, double>;

/// A host vector copied to a new device array.
template <typename T>
Array<T> upload(Context& gpu, const std::vector<T>& host) {
  Array<T> out(gpu, static_cast<std::int64_t>(host.size()));
  const std::int64_t n = out.size();
  copy<T>(gpu, vectors<const T>(host.data(), n, 1), out.vectors(n, 1));
  return out;
}

/// A device array back on the host.
template <typename T>
std::vector<T> to_host_vector(Context& gpu, const Array<T>& array) {
  std::vector<T> host(static_cast<std::size_t>(array.size()));
  copy<T>(gpu, array.vectors(array.size(), 1), vectors(host.data(), array.size(), 1));
  return host;
}

template <typename T>
long double relative_distance(const HostBatch<T>& a, const HostBatch<T>& b, std::int64_t i) {
  return frobenius_distance(a.item(i), b.item(i)) / std::max(frobenius(b.item(i)), 1e-300L);
}

}  // namespace gaussot::test
