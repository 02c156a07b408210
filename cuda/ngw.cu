// SPDX-License-Identifier: Apache-2.0
// The neural-GW primitives (backend.hpp, GAUSSOT_NGW_PRIMITIVES) on CUDA: grid-stride kernels over
// the elements of one item, a thread per element, with the host's rules (philox.hpp for the random
// numbers, mlp_rule.hpp for the activations and Adam), so both backends compute the same numbers
// up to rounding. random_columns draws the column index in every thread of the column (Philox is
// a pure function of its counter) so that writes stay coalesced. rescale_to_norm is one block:
// a fixed-order tree reduction of the squares in shared memory (the same input gives the same
// norm), then the scaling. Nothing here synchronizes the stream.
#include "backend.hpp"
#include "kernels.cuh"
#include "mlp_rule.hpp"
#include "philox.hpp"

namespace gaussot::cuda {
namespace {

constexpr int kNormThreads = 1024;  // the one block of rescale_to_norm

/// out(r, c) = the normal number of element r + c·rows of (seed, draw).
template <typename T>
__global__ void random_normal_kernel(std::uint64_t seed, std::uint64_t draw, MatrixBatch<T> out) {
  const std::int64_t rows = out.rows, total = rows * out.cols;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const std::int64_t r = idx % rows, c = idx / rows;
    out.data[r + c * out.ld] = T(philox::normal(seed, draw, std::uint64_t(idx)));
  }
}

/// Column c of out = column j of source, j drawn from element c of (seed, draw).
template <typename T>
__global__ void random_columns_kernel(MatrixBatch<const T> source, std::uint64_t seed,
                                      std::uint64_t draw, MatrixBatch<T> out) {
  const std::int64_t rows = out.rows, total = rows * out.cols;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const std::int64_t r = idx % rows, c = idx / rows;
    const std::int64_t j = philox::below(seed, draw, std::uint64_t(c), source.cols);
    out.data[r + c * out.ld] = source.data[r + j * source.ld];
  }
}

/// a(r, c) = act(a(r, c) + bias(r)).
template <typename T>
__global__ void bias_activation_kernel(Activation activation, VectorBatch<const T> bias,
                                       MatrixBatch<T> a) {
  const std::int64_t rows = a.rows, total = rows * a.cols;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const std::int64_t r = idx % rows, c = idx / rows;
    T& value = a.data[r + c * a.ld];
    value = mlp_rule::activate(activation, value + bias.data[r]);
  }
}

/// g(r, c) *= act'(z) at the value a(r, c) = act(z).
template <typename T>
__global__ void activation_backward_kernel(Activation activation, MatrixBatch<const T> a,
                                           MatrixBatch<T> g) {
  const std::int64_t rows = g.rows, total = rows * g.cols;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const std::int64_t r = idx % rows, c = idx / rows;
    g.data[r + c * g.ld] *= mlp_rule::derivative_at_value(activation, a.data[r + c * a.ld]);
  }
}

/// One Adam update per parameter.
template <typename T>
__global__ void adam_kernel(AdamStep step, VectorBatch<T> parameters,
                            VectorBatch<const T> gradients, VectorBatch<T> first_moment,
                            VectorBatch<T> second_moment) {
  for (std::int64_t i = thread_index(); i < parameters.size; i += grid_step()) {
    mlp_rule::adam(step, parameters.data[i], gradients.data[i], first_moment.data[i],
                   second_moment.data[i]);
  }
}

/// One block of kNormThreads: ‖a‖_F² by a tree reduction in shared memory, then a *= norm / ‖a‖_F
/// unless ‖a‖_F = 0.
template <typename T>
__global__ void __launch_bounds__(kNormThreads) rescale_kernel(MatrixBatch<T> a, T norm) {
  __shared__ T partial[kNormThreads];
  const std::int64_t rows = a.rows, total = rows * a.cols;
  T sum = 0;
  for (std::int64_t idx = threadIdx.x; idx < total; idx += kNormThreads) {
    const T v = a.data[idx % rows + (idx / rows) * a.ld];
    sum += v * v;
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kNormThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  using std::sqrt;
  const T current = sqrt(partial[0]);
  if (!(current > T(0))) return;  // the same for every thread
  const T factor = norm / current;
  for (std::int64_t idx = threadIdx.x; idx < total; idx += kNormThreads) {
    a.data[idx % rows + (idx / rows) * a.ld] *= factor;
  }
}

}  // namespace

template <typename T>
void random_normal(Context& ctx, std::uint64_t seed, std::uint64_t draw, MatrixBatch<T> out) {
  const std::int64_t total = out.rows * out.cols;
  if (total == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  random_normal_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(seed, draw, out);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void random_columns(Context& ctx, MatrixBatch<const T> source, std::uint64_t seed,
                    std::uint64_t draw, MatrixBatch<T> out) {
  const std::int64_t total = out.rows * out.cols;
  if (total == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  random_columns_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(source, seed, draw, out);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void bias_activation(Context& ctx, Activation activation, VectorBatch<const T> bias,
                     MatrixBatch<T> a) {
  const std::int64_t total = a.rows * a.cols;
  if (total == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  bias_activation_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(activation, bias, a);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void activation_backward(Context& ctx, Activation activation, MatrixBatch<const T> a,
                         MatrixBatch<T> g) {
  const std::int64_t total = g.rows * g.cols;
  if (activation == Activation::identity || total == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  activation_backward_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(activation, a, g);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void adam_update(Context& ctx, const AdamStep& step, VectorBatch<T> parameters,
                 VectorBatch<const T> gradients, VectorBatch<T> first_moment,
                 VectorBatch<T> second_moment) {
  const std::int64_t n = parameters.size;
  if (n == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  adam_kernel<T><<<grid_for(n), kThreads, 0, res.stream>>>(step, parameters, gradients,
                                                           first_moment, second_moment);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void rescale_to_norm(Context& ctx, MatrixBatch<T> a, T norm) {
  if (a.rows * a.cols == 0) return;
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  rescale_kernel<T><<<1, kNormThreads, 0, res.stream>>>(a, norm);
  GAUSSOT_KERNEL_CHECK();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_NGW_PRIMITIVES)

}  // namespace gaussot::cuda
