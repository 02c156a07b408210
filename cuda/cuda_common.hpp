// SPDX-License-Identifier: Apache-2.0
// Private to cuda/: the CUDA resources of a Context, status checks that throw, the grow-only
// workspace, and the "first flagged batch item" scalar used to report per-item failures.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gaussot/context.hpp"
#include "gaussot/error.hpp"

namespace gaussot::detail {

struct CudaResources {
  int device = 0;
  cudaStream_t stream = nullptr;
  bool owns_stream = false;
  cublasHandle_t cublas = nullptr;
  cusolverDnHandle_t cusolver = nullptr;
  cusolverDnParams_t solver_params = nullptr;
  syevjInfo_t syevj = nullptr;
  bool memory_pools = false;  // the device supports cudaMallocAsync (stream-ordered allocation)
  void* workspace = nullptr;  // grow-only; stream-ordered (cudaMallocAsync on `stream`) when
                              // memory_pools, else cudaMalloc after the stream has drained
  std::size_t workspace_bytes = 0;
  std::vector<char> host_workspace;    // host buffer of cusolverDnXsyevBatched
  unsigned long long* flag = nullptr;  // device scalar: smallest flagged batch item
};

}  // namespace gaussot::detail

namespace gaussot::cuda {

[[noreturn]] void throw_cuda(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas(cublasStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cusolver(cusolverStatus_t status, const char* call, const char* file,
                                 int line);

#define GAUSSOT_CUDA_CHECK(call)                                               \
  do {                                                                         \
    const cudaError_t gaussot_status_ = (call);                                \
    if (gaussot_status_ != cudaSuccess)                                        \
      ::gaussot::cuda::throw_cuda(gaussot_status_, #call, __FILE__, __LINE__); \
  } while (0)
#define GAUSSOT_CUBLAS_CHECK(call)                                               \
  do {                                                                           \
    const cublasStatus_t gaussot_status_ = (call);                               \
    if (gaussot_status_ != CUBLAS_STATUS_SUCCESS)                                \
      ::gaussot::cuda::throw_cublas(gaussot_status_, #call, __FILE__, __LINE__); \
  } while (0)
#define GAUSSOT_CUSOLVER_CHECK(call)                                               \
  do {                                                                             \
    const cusolverStatus_t gaussot_status_ = (call);                               \
    if (gaussot_status_ != CUSOLVER_STATUS_SUCCESS)                                \
      ::gaussot::cuda::throw_cusolver(gaussot_status_, #call, __FILE__, __LINE__); \
  } while (0)
/// After a kernel launch: reports launch failures (bad configuration, no device).
#define GAUSSOT_KERNEL_CHECK() GAUSSOT_CUDA_CHECK(cudaGetLastError())

/// Makes `device` current for the scope and restores the previous device after it.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

/// Byte offsets of typed sub-buffers carved from one workspace, 256-byte aligned.
class WorkspacePlan {
 public:
  template <typename T>
  std::size_t add(std::int64_t count) {
    const std::size_t offset = bytes_;
    bytes_ += round_up(static_cast<std::size_t>(count) * sizeof(T));
    return offset;
  }
  std::size_t add_bytes(std::size_t bytes) {
    const std::size_t offset = bytes_;
    bytes_ += round_up(bytes);
    return offset;
  }
  std::size_t bytes() const { return bytes_; }

 private:
  static std::size_t round_up(std::size_t b) { return (b + 255) / 256 * 256; }
  std::size_t bytes_ = 0;
};

/// The context's device workspace, grown (never shrunk) to at least `bytes`. Valid until the next
/// call; earlier contents are not kept. Throws OutOfMemory, leaving the context usable.
char* acquire_workspace(detail::CudaResources& resources, std::size_t bytes);

/// Typed pointer at `offset` of a workspace base.
template <typename T>
T* at_offset(char* base, std::size_t offset) {
  return reinterpret_cast<T*>(base + offset);
}

/// Sets the flag to "nothing flagged".
void reset_flag(detail::CudaResources& resources);
/// Reads the flag (synchronizes the stream): the smallest flagged item, or -1.
std::int64_t read_flag(detail::CudaResources& resources);

/// Flags (in resources.flag) the first i with info[i] != 0; stream-ordered, no synchronization.
void flag_first_nonzero(detail::CudaResources& resources, const int* info, std::int64_t count);

/// Threads per block and a grid for a grid-stride loop over n elements.
constexpr int kThreads = 256;
inline unsigned grid_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

}  // namespace gaussot::cuda
