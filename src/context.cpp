// SPDX-License-Identifier: Apache-2.0
#include "gaussot/context.hpp"

#include <omp.h>

#include <utility>

#include "backend.hpp"
#include "gaussot/config.hpp"
#include "gaussot/error.hpp"

namespace gaussot {

const char* to_string(Backend backend) noexcept {
  return backend == Backend::cuda ? "cuda" : "cpu";
}

const char* to_string(MemorySpace space) noexcept {
  return space == MemorySpace::device ? "device" : "host";
}

void detail::CudaResourcesDeleter::operator()(detail::CudaResources* resources) const noexcept {
  cuda::destroy_resources(resources);
}

Context::Context(Backend backend, int device, int num_threads,
                 std::unique_ptr<detail::CudaResources, detail::CudaResourcesDeleter> cuda)
    : backend_(backend), device_(device), num_threads_(num_threads), cuda_(std::move(cuda)) {}

Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

Context Context::cpu(int num_threads) {
  GAUSSOT_EXPECTS(num_threads >= 0, InvalidArgument,
                  "Context::cpu: num_threads must be >= 0, got " + std::to_string(num_threads));
  return Context(Backend::cpu, -1, num_threads > 0 ? num_threads : omp_get_max_threads(), nullptr);
}

Context Context::cuda(int device, CUstream_st* stream) {
  std::unique_ptr<detail::CudaResources, detail::CudaResourcesDeleter> resources(
      cuda::create_resources(device, stream));
  return Context(Backend::cuda, device, 1, std::move(resources));
}

Context Context::automatic() {
  if (cuda_device_count() > 0) {
    return cuda(0);
  }
  return cpu();
}

CUstream_st* Context::stream() const noexcept { return cuda_ ? cuda::stream(*cuda_) : nullptr; }

void Context::synchronize() const {
  if (cuda_) {
    cuda::synchronize(*cuda_);
  }
}

detail::CudaResources& Context::cuda_resources() const {
  GAUSSOT_EXPECTS(cuda_ != nullptr, NotCompiled, "CUDA resources requested from a CPU context");
  return *cuda_;
}

std::vector<Backend> compiled_backends() {
  std::vector<Backend> backends{Backend::cpu};
  if (GAUSSOT_HAS_CUDA) {
    backends.push_back(Backend::cuda);
  }
  return backends;
}

int cuda_device_count() noexcept { return cuda::device_count(); }

std::vector<std::string> cuda_device_names() { return cuda::device_names(); }

}  // namespace gaussot
