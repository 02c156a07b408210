// SPDX-License-Identifier: Apache-2.0
#include "backend.hpp"
#include "lapack.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {

// Chunk merge of statistics.hpp (Chan, Golub & LeVeque): the chunk is centred on its own mean,
// its scatter added with a symmetric rank-m update (BLAS ?syrk: Eigen's rank update does not use
// threads, which a single large set needs), and the means reconciled by a rank-one term.
template <typename T>
void accumulate_moments(Context& ctx, MatrixBatch<const T> chunk, std::int64_t samples_before,
                        VectorBatch<T> mean, MatrixBatch<T> scatter) {
  const std::int64_t d = chunk.rows;
  const std::int64_t m = chunk.cols;
  const std::int64_t n = samples_before + m;
  struct State {
    Matrix<T> centred;
    Vector<T> chunk_mean;
    Vector<T> delta;
  };
  for_each_item(
      ctx, chunk.count, 2.0 * double(d) * double(d) * double(m),
      [&] {
        return State{Matrix<T>(d, m), Vector<T>(d), Vector<T>(d)};
      },
      [&](State& s, std::int64_t i) {
        const auto x = item(chunk, i);
        auto mu = item(mean, i);
        auto scatter_i = item(scatter, i);
        s.chunk_mean = x.rowwise().sum() / T(m);
        s.centred = x.colwise() - s.chunk_mean;
        if (samples_before == 0) {
          mu = s.chunk_mean;
          scatter_i.setZero();
        } else {
          s.delta = s.chunk_mean - mu;
          mu += s.delta * (T(m) / T(n));
          scatter_i.template selfadjointView<Eigen::Lower>().rankUpdate(
              s.delta, T(samples_before) * T(m) / T(n));
        }
        lapack::syrk_lower(int(d), int(m), s.centred.data(), int(d), scatter_i.data(),
                           int(scatter.ld));
        mirror_lower(scatter_i);
      });
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_MOMENT_PRIMITIVES)

}  // namespace gaussot::cpu
