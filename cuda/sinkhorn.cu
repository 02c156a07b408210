// SPDX-License-Identifier: Apache-2.0
// The log-domain Sinkhorn primitives (backend.hpp, GAUSSOT_SINKHORN_PRIMITIVES) on CUDA.
// sinkhorn_cost: the common mean by GEMMs against ones, centring and norms by small kernels,
// −2 x̄ᵀȳ by one strided-batched GEMM, then a tiled kernel that adds the norms, clamps at 0 and
// writes the transpose (both coalesced).
// sinkhorn_update: one kernel per half-iteration over all problems, a warp per row (a column of
// `cost`) with an online log-sum-exp per lane merged by shuffles; blocks are laid out as
// (row blocks) x (problems). Statistics are summed per block in a fixed order, then over the
// blocks by a second small kernel (no atomics: the same inputs give the same sums). Nothing here
// synchronizes the stream.
#include <algorithm>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"
#include "shared_rules.hpp"

namespace gaussot::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 8;  // 256 threads, one row per warp at a time
constexpr int kTile = 32;          // the transpose tile of the cost kernel
constexpr int kTileRows = 8;

/// out_i = src_i − centre_i 1ᵀ, packed d x cols per item.
template <typename T>
__global__ void centred_kernel(MatrixBatch<const T> src, std::int64_t count, const T* centre,
                               T* out) {
  const std::int64_t d = src.rows, cols = src.cols, total = d * cols * count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, cols);
    out[idx] = src.item(e.item)[e.row + e.col * src.ld] - centre[e.item * d + e.row];
  }
}

/// norms[k] = ‖column k‖² of packed d x cols items (k runs over all items' columns).
template <typename T>
__global__ void norms_kernel(const T* packed, std::int64_t d, std::int64_t columns, T* norms) {
  for (std::int64_t k = thread_index(); k < columns; k += grid_step()) {
    T sum = 0;
    for (std::int64_t r = 0; r < d; ++r) sum += packed[k * d + r] * packed[k * d + r];
    norms[k] = sum;
  }
}

/// cost_i(r, c) = max(0, cost_i(r, c) + x_norm_i(r) + y_norm_i(c)) and cost_t_i = cost_iᵀ, by
/// 32 x 32 tiles through shared memory; blocks of 32 x 8 threads, a grid-stride loop over tiles.
template <typename T>
__global__ void finish_cost_kernel(MatrixBatch<T> cost, MatrixBatch<T> cost_t, const T* x_norms,
                                   const T* y_norms) {
  __shared__ T tile[kTile][kTile + 1];
  const std::int64_t n = cost.rows, m = cost.cols;
  const std::int64_t tiles_r = (n + kTile - 1) / kTile, tiles_c = (m + kTile - 1) / kTile;
  const std::int64_t tiles = tiles_r * tiles_c;
  for (std::int64_t t = blockIdx.x; t < tiles * cost.count; t += gridDim.x) {
    const std::int64_t i = t / tiles, rest = t - i * tiles;
    const std::int64_t r0 = (rest % tiles_r) * kTile, c0 = (rest / tiles_r) * kTile;
    T* c_i = cost.item(i);
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      const std::int64_t r = r0 + threadIdx.x, c = c0 + k;
      if (r < n && c < m) {
        T v = c_i[r + c * cost.ld] + x_norms[i * n + r] + y_norms[i * m + c];
        v = v > T(0) ? v : T(0);
        c_i[r + c * cost.ld] = v;
        tile[threadIdx.x][k] = v;
      }
    }
    __syncthreads();
    T* ct_i = cost_t.item(i);
    for (int k = threadIdx.y; k < kTile; k += kTileRows) {
      const std::int64_t c = c0 + threadIdx.x, r = r0 + k;
      if (r < n && c < m) ct_i[c + r * cost_t.ld] = tile[k][threadIdx.x];
    }
    __syncthreads();
  }
}

/// The arguments of the half-update kernel (a plain struct passed by value).
template <typename T>
struct UpdateArgs {
  MatrixBatch<const T> cost;
  VectorBatch<const T> log_weights_other, potential_other, log_weights, potential, active;
  T inv_epsilon, scale;
  VectorBatch<T> updated;
  double* partial;  // count x gridDim.x x kStats, when Stats
};

/// One half-update: a warp per row t of problem i (blockIdx.y strides over problems, blockIdx.x
/// and the warps over rows); with Stats, the block's statistics to partial[i][blockIdx.x].
template <typename T, bool Stats>
__global__ void __launch_bounds__(kWarpsPerBlock* kWarpSize) update_kernel(UpdateArgs<T> args) {
  __shared__ double block_stats[kWarpsPerBlock][kStats];
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const std::int64_t others = args.cost.rows, rows = args.cost.cols;
  const bool want_update = args.updated.count > 0;
  for (std::int64_t i = blockIdx.y; i < args.cost.count; i += gridDim.y) {
    if (args.active.count > 0 && args.active.item(i)[0] == T(0)) continue;  // uniform per block
    const T* log_w = args.log_weights_other.item(i);
    const T* pot = args.potential_other.item(i);
    double acc[kStats] = {};
    for (std::int64_t t = std::int64_t(blockIdx.x) * kWarpsPerBlock + warp; t < rows;
         t += std::int64_t(gridDim.x) * kWarpsPerBlock) {
      const T* column = args.cost.item(i) + t * args.cost.ld;
      shared_rule::OnlineLogSumExp<T> state;
      for (std::int64_t o = lane; o < others; o += kWarpSize) {
        const T c = column[o];
        state.template add<Stats>((pot[o] - c) * args.inv_epsilon + log_w[o], c);
      }
      for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        const T o_largest = __shfl_xor_sync(0xffffffffu, state.largest, offset);
        const T o_sum = __shfl_xor_sync(0xffffffffu, state.sum, offset);
        const T o_weighted = Stats ? __shfl_xor_sync(0xffffffffu, state.weighted, offset) : T(0);
        state.merge(o_largest, o_sum, o_weighted);
      }
      if (lane == 0) {
        const T lse = state.log_sum_exp();
        const T next = -args.scale * lse;
        if (Stats) {
          const double old = args.potential.item(i)[t];  // read before `updated` overwrites it
          const double w = exp(double(args.log_weights.item(i)[t]));
          const double u = double(args.inv_epsilon) * old + double(lse);  // log(r_t / w_t)
          const double excess = w * expm1(u), r = w + excess;
          acc[kMassExcess] += excess;
          acc[kPotentialMass] += r * old;
          acc[kMarginalL1] += fabs(excess);
          acc[kMarginalKl] += r * u - excess;
          acc[kTransport] += r * (double(state.weighted) / double(state.sum));
          if (want_update) acc[kChange] = fmax(acc[kChange], fabs(double(next) - old));
        }
        if (want_update) args.updated.item(i)[t] = next;
      }
    }
    if (Stats) {
      if (lane == 0) {
        for (int s = 0; s < kStats; ++s) block_stats[warp][s] = acc[s];
      }
      __syncthreads();
      if (threadIdx.x < kStats) {
        const int s = threadIdx.x;
        double total = 0;
        for (int w = 0; w < kWarpsPerBlock; ++w) {
          total = s == kChange ? fmax(total, block_stats[w][s]) : total + block_stats[w][s];
        }
        args.partial[(i * gridDim.x + blockIdx.x) * kStats + s] = total;
      }
      __syncthreads();
    }
  }
}

/// stats_i[s] = the sum (max for the change) of the blocks' partials, in block order.
template <typename T>
__global__ void finish_stats_kernel(const double* partial, std::int64_t blocks,
                                    VectorBatch<const T> active, MatrixBatch<T> stats) {
  for (std::int64_t idx = thread_index(); idx < stats.count * kStats; idx += grid_step()) {
    const std::int64_t i = idx / kStats;
    const int s = int(idx - i * kStats);
    if (active.count > 0 && active.item(i)[0] == T(0)) continue;
    double total = 0;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const double p = partial[(i * blocks + b) * kStats + s];
      total = s == kChange ? fmax(total, p) : total + p;
    }
    stats.item(i)[s] = T(total);
  }
}

}  // namespace

template <typename T>
void sinkhorn_cost(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                   MatrixBatch<T> cost, MatrixBatch<T> cost_t) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t count = cost.count, d = x.rows, n = x.cols, m = y.cols;
  if (count == 0) return;
  WorkspacePlan plan;
  const std::size_t centre_offset = plan.add<T>(d * count);
  const std::size_t ones_offset = plan.add<T>(std::max(n, m));
  const std::size_t xc_offset = plan.add<T>(d * n * count);
  const std::size_t yc_offset = plan.add<T>(d * m * count);
  const std::size_t xn_offset = plan.add<T>(n * count);
  const std::size_t yn_offset = plan.add<T>(m * count);
  char* base = acquire_workspace(res, plan.bytes());
  T* centre = at_offset<T>(base, centre_offset);
  T* ones = at_offset<T>(base, ones_offset);
  T* xc = at_offset<T>(base, xc_offset);
  T* yc = at_offset<T>(base, yc_offset);
  T* xn = at_offset<T>(base, xn_offset);
  T* yn = at_offset<T>(base, yn_offset);

  // The common mean of x_i and y_i: (x_i 1 + y_i 1) / (n + m).
  fill<T>(res, ones, std::max(n, m), T(1));
  const T inv_total = T(1) / T(n + m);
  add_row_sums<T>(res.cublas, inv_total, x, ones, T(0), centre, count);
  add_row_sums<T>(res.cublas, inv_total, y, ones, T(1), centre, count);
  centred_kernel<T><<<grid_for(d * n * count), kThreads, 0, res.stream>>>(x, count, centre, xc);
  GAUSSOT_KERNEL_CHECK();
  centred_kernel<T><<<grid_for(d * m * count), kThreads, 0, res.stream>>>(y, count, centre, yc);
  GAUSSOT_KERNEL_CHECK();
  norms_kernel<T><<<grid_for(n * count), kThreads, 0, res.stream>>>(xc, d, n * count, xn);
  GAUSSOT_KERNEL_CHECK();
  norms_kernel<T><<<grid_for(m * count), kThreads, 0, res.stream>>>(yc, d, m * count, yn);
  GAUSSOT_KERNEL_CHECK();
  gemm_views<T>(res.cublas, Transpose::yes, Transpose::no, T(-2),
                matrices<const T>(xc, d, n, count, MemorySpace::device),
                matrices<const T>(yc, d, m, count, MemorySpace::device), T(0), cost);
  const std::int64_t tiles = ((n + kTile - 1) / kTile) * ((m + kTile - 1) / kTile) * count;
  const unsigned blocks = static_cast<unsigned>(tiles < 65535 * 8 ? tiles : 65535 * 8);
  finish_cost_kernel<T><<<blocks, dim3(kTile, kTileRows), 0, res.stream>>>(cost, cost_t, xn, yn);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void sinkhorn_update(Context& ctx, MatrixBatch<const T> cost,
                     VectorBatch<const T> log_weights_other, VectorBatch<const T> potential_other,
                     VectorBatch<const T> log_weights, VectorBatch<const T> potential,
                     VectorBatch<const T> active, T inv_epsilon, T scale, VectorBatch<T> updated,
                     MatrixBatch<T> stats) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t count = cost.count, rows = cost.cols;
  if (count == 0 || rows == 0) return;
  // Row blocks per problem: enough blocks in all to fill the device when the batch is small.
  const std::int64_t row_blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const std::int64_t wanted = count >= 2048 ? 1 : (2048 + count - 1) / count;
  const std::int64_t blocks_x = row_blocks < wanted ? row_blocks : wanted;
  const dim3 grid(static_cast<unsigned>(blocks_x),
                  static_cast<unsigned>(count < 65535 ? count : 65535));
  UpdateArgs<T> args{cost,   log_weights_other, potential_other, log_weights, potential,
                     active, inv_epsilon,       scale,           updated,     nullptr};
  if (stats.count == 0) {
    update_kernel<T, false><<<grid, kWarpsPerBlock * kWarpSize, 0, res.stream>>>(args);
    GAUSSOT_KERNEL_CHECK();
    return;
  }
  WorkspacePlan plan;
  const std::size_t partial_offset = plan.add<double>(count * blocks_x * kStats);
  args.partial = at_offset<double>(acquire_workspace(res, plan.bytes()), partial_offset);
  update_kernel<T, true><<<grid, kWarpsPerBlock * kWarpSize, 0, res.stream>>>(args);
  GAUSSOT_KERNEL_CHECK();
  finish_stats_kernel<T><<<grid_for(count * kStats), kThreads, 0, res.stream>>>(
      args.partial, blocks_x, active, stats);
  GAUSSOT_KERNEL_CHECK();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_SINKHORN_PRIMITIVES)

}  // namespace gaussot::cuda
