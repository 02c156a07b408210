// SPDX-License-Identifier: Apache-2.0
// The CUDA side of Context: handles, stream, workspace, device enumeration and allocation.
#include <memory>
#include <string>

#include "backend.hpp"
#include "cuda_common.hpp"

namespace gaussot::cuda {

void throw_cuda(cudaError_t status, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a sticky launch error so the context stays usable
  const std::string message = std::string("CUDA error ") + cudaGetErrorName(status) + " (" +
                              cudaGetErrorString(status) + ") in " + call;
  if (status == cudaErrorMemoryAllocation)
    throw OutOfMemory("out of device memory: " + message, file, line);
  throw CudaError("cuda", status, message, file, line);
}

void throw_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  const std::string message =
      std::string("cuBLAS error ") + cublasGetStatusName(status) + " in " + call;
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemory("out of device memory: " + message, file, line);
  throw CudaError("cublas", status, message, file, line);
}

void throw_cusolver(cusolverStatus_t status, const char* call, const char* file, int line) {
  const std::string message =
      "cuSOLVER error " + std::to_string(static_cast<int>(status)) + " in " + call;
  if (status == CUSOLVER_STATUS_ALLOC_FAILED)
    throw OutOfMemory("out of device memory: " + message, file, line);
  throw CudaError("cusolver", status, message, file, line);
}

DeviceGuard::DeviceGuard(int device) {
  GAUSSOT_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) GAUSSOT_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
}

int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

std::vector<std::string> device_names() {
  std::vector<std::string> names;
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp properties{};
    GAUSSOT_CUDA_CHECK(cudaGetDeviceProperties(&properties, i));
    names.emplace_back(properties.name);
  }
  return names;
}

void destroy_resources(detail::CudaResources* r) noexcept {
  if (r == nullptr) return;
  int previous = -1;
  const bool switched =
      cudaGetDevice(&previous) == cudaSuccess && cudaSetDevice(r->device) == cudaSuccess;
  if (r->stream != nullptr) cudaStreamSynchronize(r->stream);
  if (r->workspace != nullptr) cudaFree(r->workspace);
  if (r->flag != nullptr) cudaFree(r->flag);
  if (r->syevj != nullptr) cusolverDnDestroySyevjInfo(r->syevj);
  if (r->solver_params != nullptr) cusolverDnDestroyParams(r->solver_params);
  if (r->cusolver != nullptr) cusolverDnDestroy(r->cusolver);
  if (r->cublas != nullptr) cublasDestroy(r->cublas);
  if (r->owns_stream && r->stream != nullptr) cudaStreamDestroy(r->stream);
  cudaGetLastError();
  if (switched && previous >= 0) cudaSetDevice(previous);
  delete r;
}

detail::CudaResources* create_resources(int device, CUstream_st* stream) {
  const int count = device_count();
  GAUSSOT_EXPECTS(device >= 0 && device < count, InvalidArgument,
                  "Context::cuda: argument 'device' is " + std::to_string(device) + " but " +
                      std::to_string(count) + " CUDA device(s) are available");
  std::unique_ptr<detail::CudaResources, detail::CudaResourcesDeleter> r(new detail::CudaResources);
  r->device = device;
  const DeviceGuard guard(device);
  if (stream != nullptr) {
    r->stream = stream;
  } else {
    GAUSSOT_CUDA_CHECK(cudaStreamCreateWithFlags(&r->stream, cudaStreamNonBlocking));
    r->owns_stream = true;
  }
  GAUSSOT_CUBLAS_CHECK(cublasCreate(&r->cublas));
  GAUSSOT_CUBLAS_CHECK(cublasSetStream(r->cublas, r->stream));
  GAUSSOT_CUSOLVER_CHECK(cusolverDnCreate(&r->cusolver));
  GAUSSOT_CUSOLVER_CHECK(cusolverDnSetStream(r->cusolver, r->stream));
  GAUSSOT_CUSOLVER_CHECK(cusolverDnCreateParams(&r->solver_params));
  GAUSSOT_CUSOLVER_CHECK(cusolverDnCreateSyevjInfo(&r->syevj));
  GAUSSOT_CUSOLVER_CHECK(cusolverDnXsyevjSetSortEig(r->syevj, 1));  // ascending
  GAUSSOT_CUDA_CHECK(cudaMalloc(&r->flag, sizeof(unsigned long long)));
  int pools = 0;
  GAUSSOT_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  r->memory_pools = pools != 0;
  return r.release();
}

CUstream_st* stream(const detail::CudaResources& resources) noexcept { return resources.stream; }

void synchronize(const detail::CudaResources& resources) {
  const DeviceGuard guard(resources.device);
  GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(resources.stream));
}

void* allocate(int device, std::int64_t bytes) {
  if (bytes == 0) return nullptr;
  const DeviceGuard guard(device);
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, static_cast<std::size_t>(bytes));
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    GAUSSOT_THROW(OutOfMemory, "out of device memory allocating " + std::to_string(bytes) +
                                   " bytes on CUDA device " + std::to_string(device));
  }
  GAUSSOT_CUDA_CHECK(status);
  return p;
}

// cudaFree synchronises the device before it frees: kernels still queued (on any stream) that use
// the memory finish first. That is what makes releasing an Array or Scratch right after enqueueing
// work safe; it also waits for other contexts' work on the device. A stream-ordered free
// (cudaFreeAsync) would need the stream of the memory's last use, which Array does not track.
void deallocate(int device, void* pointer) noexcept {
  if (pointer == nullptr) return;
  int previous = -1;
  if (cudaGetDevice(&previous) != cudaSuccess) return;
  cudaSetDevice(device);
  cudaFree(pointer);
  cudaGetLastError();
  cudaSetDevice(previous);
}

char* acquire_workspace(detail::CudaResources& r, std::size_t bytes) {
  if (bytes <= r.workspace_bytes) return static_cast<char*>(r.workspace);
  if (r.workspace != nullptr) {
    // After the work already enqueued on the stream, which may still use the old workspace.
    if (r.memory_pools) {
      GAUSSOT_CUDA_CHECK(cudaFreeAsync(r.workspace, r.stream));
    } else {
      GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(r.stream));
      GAUSSOT_CUDA_CHECK(cudaFree(r.workspace));
    }
    r.workspace = nullptr;
    r.workspace_bytes = 0;
  }
  void* p = nullptr;
  const cudaError_t status =
      r.memory_pools ? cudaMallocAsync(&p, bytes, r.stream) : cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    GAUSSOT_THROW(OutOfMemory, "out of device memory: a workspace of " + std::to_string(bytes) +
                                   " bytes on CUDA device " + std::to_string(r.device) +
                                   " (reduce the batch size)");
  }
  GAUSSOT_CUDA_CHECK(status);
  r.workspace = p;
  r.workspace_bytes = bytes;
  return static_cast<char*>(p);
}

void reset_flag(detail::CudaResources& r) {
  GAUSSOT_CUDA_CHECK(cudaMemsetAsync(r.flag, 0xff, sizeof(unsigned long long), r.stream));
}

std::int64_t read_flag(detail::CudaResources& r) {
  unsigned long long value = 0;
  GAUSSOT_CUDA_CHECK(
      cudaMemcpyAsync(&value, r.flag, sizeof(value), cudaMemcpyDeviceToHost, r.stream));
  GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(r.stream));
  return value == ~0ull ? -1 : static_cast<std::int64_t>(value);
}

}  // namespace gaussot::cuda
