// SPDX-License-Identifier: Apache-2.0
/// @file context.hpp
/// The Context: which backend runs a computation, on which device and stream, and the resources it
/// reuses between calls (cuBLAS and cuSOLVER handles, a grow-only device workspace).
///
/// Thread safety: a Context is used by one thread at a time. Give each thread its own Context;
/// several contexts, on one device or several, may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gaussot/views.hpp"

struct CUstream_st;  // what cudaStream_t points to; keeps this header free of CUDA includes

namespace gaussot {

/// The compute backends.
enum class Backend { cpu, cuda };

/// Name of a backend ("cpu" or "cuda").
const char* to_string(Backend backend) noexcept;

namespace detail {
struct CudaResources;  // defined by the CUDA backend
struct CudaResourcesDeleter {
  void operator()(CudaResources* resources) const noexcept;
};
}  // namespace detail

/// Owns the backend selection and its per-backend resources. Movable, not copyable.
///
/// CPU contexts run batched work on an OpenMP thread team across the batch; CUDA contexts own (or
/// borrow) a non-default stream on one device and enqueue all work on it. Functions document when
/// they synchronize that stream; the others return as soon as the work is enqueued.
class Context {
 public:
  /// A CPU context. `num_threads` threads share a batch; 0 uses OpenMP's default
  /// (OMP_NUM_THREADS, else one per core).
  static Context cpu(int num_threads = 0);

  /// A CUDA context on `device`. With `stream == nullptr` the context creates and owns a
  /// non-blocking stream; otherwise it enqueues on the caller's stream, which must outlive it.
  /// Throws NotCompiled when the CUDA backend is not built, InvalidArgument for a bad device.
  static Context cuda(int device = 0, CUstream_st* stream = nullptr);

  /// CUDA on device 0 when the CUDA backend is built and a device is present, else CPU.
  static Context automatic();

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  Backend backend() const noexcept { return backend_; }
  /// Host for CPU contexts, device for CUDA contexts: the space every view must be in.
  MemorySpace memory_space() const noexcept {
    return backend_ == Backend::cuda ? MemorySpace::device : MemorySpace::host;
  }
  /// CUDA device ordinal, -1 for a CPU context.
  int device() const noexcept { return device_; }
  /// Threads a CPU context uses across a batch (1 for a CUDA context's host-side work).
  int num_threads() const noexcept { return num_threads_; }
  /// The CUDA stream (nullptr for a CPU context).
  CUstream_st* stream() const noexcept;
  /// Waits until all work enqueued on this context has finished (no-op on CPU).
  void synchronize() const;

  /// Internal: the CUDA backend's resources. Throws NotCompiled for a CPU context.
  detail::CudaResources& cuda_resources() const;

 private:
  Context(Backend backend, int device, int num_threads,
          std::unique_ptr<detail::CudaResources, detail::CudaResourcesDeleter> cuda);

  Backend backend_;
  int device_;
  int num_threads_;
  std::unique_ptr<detail::CudaResources, detail::CudaResourcesDeleter> cuda_;
};

/// The backends compiled into this build (always includes cpu).
std::vector<Backend> compiled_backends();

/// The BLAS and LAPACK under the CPU backend, as the library reports itself: for the default
/// build "scipy-openblas (OpenBLAS <version> <build options>; <kernels> kernels)", the kernels
/// being those chosen for this CPU (CMake option GAUSSOT_BLAS, README "The BLAS underneath").
std::string cpu_blas();

/// Number of CUDA devices this process can use: 0 when the CUDA backend is not built, no driver is
/// loaded or no device is present. Never throws.
int cuda_device_count() noexcept;

/// Names of the CUDA devices (empty when cuda_device_count() is 0).
std::vector<std::string> cuda_device_names();

}  // namespace gaussot
