// SPDX-License-Identifier: Apache-2.0
// Batched symmetric eigendecomposition on cuSOLVER, one launch per chunk of the batch:
//  - cusolverDn<t>syevjBatched (Jacobi) for d <= 32 (EighAlgorithm::automatic) or on request
//    (refused above 32 by the argument checks), in chunks of at most 2^16 items (its workspace
//    size is a 32-bit int for the whole chunk);
//  - cusolverDnXsyevBatched (CUDA >= 12.6.2) otherwise, in chunks with d·d·chunk <= INT32_MAX
//    (the API's limit on n·lda·batchSize).
// Both need packed input (item k at offset d·d·k) and overwrite it with the eigenvectors, so the
// input is first copied into the workspace; eigenvalues come out increasing and are reversed on
// the way out (gaussot's order is decreasing). Spectral functions reuse the decomposition: the
// columns of V are scaled by h(w) and one strided-batched GEMM forms V diag(h²) Vᵀ or V diag(f) Vᵀ.
#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"
#include "spectral_rule.hpp"

#if CUSOLVER_VERSION < 11701
#error \
    "gaussot's CUDA backend needs cusolverDnXsyevBatched: CUDA 12.6 Update 2 (cuSOLVER 11.7.1) or later"
#endif

namespace gaussot::cuda {
namespace {

/// The most items one syevjBatched call takes (the chunk of a larger batch).
constexpr std::int64_t kJacobiMaxChunk = std::int64_t(1) << 16;

/// Runs the batched eigensolver on packed copies of the input held in the context's workspace.
/// Usage: plan() the sizes (with the caller's own buffers), acquire the workspace, bind(), run().
template <typename T>
class BatchedEigensolver {
 public:
  BatchedEigensolver(detail::CudaResources& res, std::int64_t d, std::int64_t count,
                     bool with_vectors, EighAlgorithm algorithm)
      : res_(res), d_(d), count_(count), with_vectors_(with_vectors) {
    jacobi_ = algorithm == EighAlgorithm::jacobi ||
              (algorithm == EighAlgorithm::automatic && d <= kJacobiMaxOrder);  // implicit_qr is
                                                                                // refused upstream
    GAUSSOT_EXPECTS(d * d <= INT_MAX, InvalidArgument,
                    "eigh (CUDA): order " + std::to_string(d) + " exceeds cuSOLVER's 32-bit limit");
    // Jacobi's workspace size is one int for the whole chunk (about 1000 elements per item at
    // d = 4): kJacobiMaxChunk items keep it far from INT_MAX at any d <= 32.
    const std::int64_t largest_chunk = jacobi_ ? kJacobiMaxChunk : INT_MAX / (d * d);
    chunk_ = std::min<std::int64_t>(std::max<std::int64_t>(count, 1), largest_chunk);
    const cusolverEigMode_t jobz = mode();
    // The size queries read no data, but are given a valid device address rather than null.
    const T* placeholder = reinterpret_cast<const T*>(res_.flag);
    if (jacobi_) {
      jacobi_lwork_ = syevj_batched_buffer_size(res_.cusolver, jobz, int(d), placeholder,
                                                placeholder, res_.syevj, int(chunk_));
      if (jacobi_lwork_ < 0) {
        throw_cusolver(CUSOLVER_STATUS_INVALID_VALUE,
                       "cusolverDn<t>syevjBatched_bufferSize (negative workspace size)", __FILE__,
                       __LINE__);
      }
    } else {
      GAUSSOT_CUSOLVER_CHECK(cusolverDnXsyevBatched_bufferSize(
          res_.cusolver, res_.solver_params, jobz, CUBLAS_FILL_MODE_LOWER, d, data_type<T>(),
          placeholder, d, data_type<T>(), placeholder, data_type<T>(), &device_bytes_, &host_bytes_,
          chunk_));
    }
  }

  void plan(WorkspacePlan& plan) {
    a_offset_ = plan.add<T>(d_ * d_ * count_);
    w_offset_ = plan.add<T>(d_ * count_);
    info_offset_ = plan.add<int>(count_);
    work_offset_ = jacobi_ ? plan.add<T>(jacobi_lwork_) : plan.add_bytes(device_bytes_);
  }

  void bind(char* base) { base_ = base; }

  /// Decomposes `a` (lower triangles); throws ConvergenceError naming the first failing item.
  void run(MatrixBatch<const T> a) {
    copy_on_device<T>(res_, a, vectors());
    int* info = at_offset<int>(base_, info_offset_);
    if (!jacobi_ && res_.host_workspace.size() < host_bytes_)
      res_.host_workspace.resize(host_bytes_);
    for (std::int64_t begin = 0; begin < count_; begin += chunk_) {
      const std::int64_t n = std::min(chunk_, count_ - begin);
      T* a_chunk = vectors().item(begin);
      T* w_chunk = values() + begin * d_;
      if (jacobi_) {
        syevj_batched(res_.cusolver, mode(), int(d_), a_chunk, w_chunk,
                      at_offset<T>(base_, work_offset_), jacobi_lwork_, info + begin, res_.syevj,
                      int(n));
      } else {
        GAUSSOT_CUSOLVER_CHECK(cusolverDnXsyevBatched(
            res_.cusolver, res_.solver_params, mode(), CUBLAS_FILL_MODE_LOWER, d_, data_type<T>(),
            a_chunk, d_, data_type<T>(), w_chunk, data_type<T>(), base_ + work_offset_,
            device_bytes_, res_.host_workspace.data(), host_bytes_, info + begin, n));
      }
    }
    reset_flag(res_);
    flag_first_nonzero(res_, info, count_);
    const std::int64_t failed = read_flag(res_);
    if (failed >= 0) {
      int code = 0;
      GAUSSOT_CUDA_CHECK(
          cudaMemcpyAsync(&code, info + failed, sizeof(int), cudaMemcpyDeviceToHost, res_.stream));
      GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(res_.stream));
      throw ConvergenceError(std::string("eigh: ") + (jacobi_ ? "syevjBatched" : "XsyevBatched") +
                                 " failed on batch item " + std::to_string(failed) + " (info " +
                                 std::to_string(code) + ")",
                             failed, code, __FILE__, __LINE__);
    }
  }

  /// Eigenvectors (packed d x d x count, columns in increasing eigenvalue order) after run().
  MatrixBatch<T> vectors() const {
    return square_matrices(at_offset<T>(base_, a_offset_), d_, count_, MemorySpace::device);
  }
  /// Eigenvalues (d x count, increasing within each item) after run().
  T* values() const { return at_offset<T>(base_, w_offset_); }

 private:
  cusolverEigMode_t mode() const {
    return with_vectors_ ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  }

  detail::CudaResources& res_;
  std::int64_t d_, count_, chunk_ = 1;
  bool with_vectors_, jacobi_ = false;
  int jacobi_lwork_ = 0;
  std::size_t device_bytes_ = 0, host_bytes_ = 0;
  std::size_t a_offset_ = 0, w_offset_ = 0, info_offset_ = 0, work_offset_ = 0;
  char* base_ = nullptr;
};

/// w_out = reversed w (decreasing); v_out = V with its columns reversed (if v_out.count > 0).
template <typename T>
__global__ void write_decreasing_kernel(const T* w, MatrixBatch<const T> v, VectorBatch<T> w_out,
                                        MatrixBatch<T> v_out) {
  const std::int64_t d = w_out.size;
  const std::int64_t total = d * (v_out.count > 0 ? d : 1) * w_out.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, v_out.count > 0 ? d : 1);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    if (c == 0) w_out.item(i)[r] = w[i * d + (d - 1 - r)];
    if (v_out.count > 0) v_out.item(i)[r + c * v_out.ld] = v.item(i)[r + (d - 1 - c) * v.ld];
  }
}

/// Flags the first item whose spectrum breaks the clamping rule, and writes each item's rounding
/// level (spectral_rule::noise_level) to noise[i]; one thread per item.
template <typename T>
__global__ void check_spectrum_kernel(const T* w, std::int64_t d, std::int64_t count, T tolerance,
                                      T scale_floor, bool singular_at_zero, T* noise,
                                      unsigned long long* flag) {
  for (std::int64_t i = thread_index(); i < count; i += grid_step()) {
    const T* wi = w + i * d;  // increasing
    const T largest = fmax(fabs(wi[0]), fabs(wi[d - 1]));
    const T scale = fmax(largest, scale_floor);
    noise[i] = spectral_rule::noise_level<T>(d, largest);
    for (std::int64_t j = 0; j < d; ++j) {
      if (spectral_rule::check<T>(wi[j], scale, tolerance, singular_at_zero) != spectral_rule::ok) {
        flag_item(flag, i);
        break;
      }
    }
  }
}

/// scaled(:, c) = V(:, c) · h(w_c) with h = sqrt(f) (square_root) or f.
template <typename T>
__global__ void scale_columns_kernel(MatrixBatch<const T> v, const T* w, const T* noise,
                                     SpectralFunction::Kind kind, T parameter, bool square_root,
                                     MatrixBatch<T> scaled) {
  const std::int64_t d = v.rows;
  const std::int64_t total = d * d * v.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, d);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    const T f = spectral_rule::apply<T>(kind, parameter, w[i * d + c], noise[i]);
    scaled.item(i)[r + c * d] = v.item(i)[r + c * d] * (square_root ? sqrt(f) : f);
  }
}

/// out_i = Σ_j f(w_ij); one thread per item.
template <typename T>
__global__ void trace_function_kernel(const T* w, const T* noise, std::int64_t d,
                                      SpectralFunction::Kind kind, T parameter,
                                      VectorBatch<T> out) {
  for (std::int64_t i = thread_index(); i < out.count; i += grid_step()) {
    T sum = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      sum += spectral_rule::apply<T>(kind, parameter, w[i * d + j], noise[i]);
    }
    out.item(i)[0] = sum;
  }
}

/// Applies the clamping rule to the increasing eigenvalues w (d x count, on the device), writing
/// each item's rounding level to noise (count, on the device): the first failing item, with the
/// details read back, or no failure. Synchronizes the stream.
template <typename T>
SpectralFailure check_spectrum(detail::CudaResources& res, const T* w, std::int64_t d,
                               std::int64_t count, ClampRule rule, bool singular_at_zero,
                               T* noise) {
  reset_flag(res);
  check_spectrum_kernel<T><<<grid_for(count), kThreads, 0, res.stream>>>(
      w, d, count, T(rule.tolerance), T(rule.scale_floor), singular_at_zero, noise, res.flag);
  GAUSSOT_KERNEL_CHECK();
  const std::int64_t failed = read_flag(res);
  if (failed < 0) return {};
  std::vector<T> host(static_cast<std::size_t>(d));
  GAUSSOT_CUDA_CHECK(cudaMemcpyAsync(host.data(), w + failed * d, d * sizeof(T),
                                     cudaMemcpyDeviceToHost, res.stream));
  GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(res.stream));
  const T scale = std::max({std::abs(host[0]), std::abs(host[d - 1]), T(rule.scale_floor)});
  for (std::int64_t j = 0; j < d; ++j) {
    const auto verdict =
        spectral_rule::check<T>(host[j], scale, T(rule.tolerance), singular_at_zero);
    if (verdict != spectral_rule::ok) {
      return {failed, verdict == spectral_rule::not_psd, double(host[j]), double(scale)};
    }
  }
  return {};
}

}  // namespace

template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> w, MatrixBatch<T> v,
          EighAlgorithm algorithm) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = a.rows;
  BatchedEigensolver<T> solver(res, d, a.count, v.count > 0, algorithm);
  WorkspacePlan plan;
  solver.plan(plan);
  solver.bind(acquire_workspace(res, plan.bytes()));
  solver.run(a);
  const std::int64_t total = d * (v.count > 0 ? d : 1) * a.count;
  write_decreasing_kernel<T>
      <<<grid_for(total), kThreads, 0, res.stream>>>(solver.values(), solver.vectors(), w, v);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
SpectralFailure spectral(Context& ctx, MatrixBatch<const T> a,
                         const std::vector<SpectralRequest<T>>& requests, ClampRule rule,
                         EighAlgorithm algorithm) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = a.rows;
  const std::int64_t count = a.count;
  bool singular_at_zero = false;
  for (const SpectralRequest<T>& r : requests) {
    singular_at_zero = singular_at_zero || r.function.singular_at_zero();
  }

  BatchedEigensolver<T> solver(res, d, count, /*with_vectors=*/true, algorithm);
  WorkspacePlan plan;
  solver.plan(plan);
  const std::size_t scaled_offset = plan.add<T>(d * d * count);
  const std::size_t noise_offset = plan.add<T>(count);
  char* base = acquire_workspace(res, plan.bytes());
  solver.bind(base);
  solver.run(a);
  T* noise = at_offset<T>(base, noise_offset);

  const SpectralFailure failure =
      check_spectrum<T>(res, solver.values(), d, count, rule, singular_at_zero, noise);
  if (failure.item >= 0) return failure;

  const MatrixBatch<T> scaled =
      square_matrices(at_offset<T>(base, scaled_offset), d, count, MemorySpace::device);
  const MatrixBatch<const T> vectors = solver.vectors();
  for (const SpectralRequest<T>& r : requests) {
    const bool square_root = spectral_rule::nonnegative(r.function);
    scale_columns_kernel<T><<<grid_for(d * d * count), kThreads, 0, res.stream>>>(
        vectors, solver.values(), noise, r.function.kind, T(r.function.parameter), square_root,
        scaled);
    GAUSSOT_KERNEL_CHECK();
    // f(A) = (V h)(V h)ᵀ for nonnegative f, else (V f) Vᵀ; then exact symmetry.
    gemm_views<T>(res.cublas, Transpose::no, Transpose::yes, T(1), scaled,
                  square_root ? MatrixBatch<const T>(scaled) : vectors, T(0), r.out);
    symmetrize<T>(res, r.out);
  }
  return {};
}

template <typename T>
SpectralFailure spectral_trace(Context& ctx, MatrixBatch<const T> a, SpectralFunction function,
                               ClampRule rule, VectorBatch<T> out, EighAlgorithm algorithm) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = a.rows;
  BatchedEigensolver<T> solver(res, d, a.count, /*with_vectors=*/false, algorithm);
  WorkspacePlan plan;
  solver.plan(plan);
  const std::size_t noise_offset = plan.add<T>(a.count);
  char* base = acquire_workspace(res, plan.bytes());
  solver.bind(base);
  solver.run(a);
  T* noise = at_offset<T>(base, noise_offset);
  const SpectralFailure failure =
      check_spectrum<T>(res, solver.values(), d, a.count, rule, function.singular_at_zero(), noise);
  if (failure.item >= 0) return failure;
  trace_function_kernel<T><<<grid_for(a.count), kThreads, 0, res.stream>>>(
      solver.values(), noise, d, function.kind, T(function.parameter), out);
  GAUSSOT_KERNEL_CHECK();
  return {};
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_EIGH_PRIMITIVES)

}  // namespace gaussot::cuda
