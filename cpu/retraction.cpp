// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <limits>

#include "backend.hpp"
#include "lapack.hpp"
#include "parallel.hpp"

namespace gaussot::cpu {

template <typename T>
std::int64_t qr_retraction(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> q) {
  const std::int64_t m = x.rows;
  const std::int64_t r = x.cols;
  FirstItem first_dependent;
  struct State {
    Eigen::HouseholderQR<Matrix<T>> qr;
    Matrix<T> thin_identity;
  };
  for_each_item(
      ctx, x.count, 4.0 * double(m) * double(r) * double(r),
      [&] {
        return State{Eigen::HouseholderQR<Matrix<T>>(m, r), Matrix<T>::Identity(m, r)};
      },
      [&](State& s, std::int64_t i) {
        const auto xi = item(x, i);
        s.qr.compute(xi);
        auto qi = item(q, i);
        qi.noalias() = s.qr.householderQ() * s.thin_identity;
        // Sign fix: make diag(R) positive by flipping the matching columns of Q.
        const T tolerance = T(8) * T(m) * std::numeric_limits<T>::epsilon() * xi.norm();
        for (std::int64_t j = 0; j < r; ++j) {
          const T rjj = s.qr.matrixQR()(j, j);
          if (!(std::abs(rjj) > tolerance)) {
            first_dependent.record(i);
          }
          if (rjj < T(0)) qi.col(j) = -qi.col(j);
        }
      });
  return first_dependent.get();
}

template <typename T>
std::int64_t cholesky(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> l) {
  const std::int64_t d = a.rows;
  constexpr std::int64_t kLapackMinOrder = 160;  // blocked LAPACK ?potrf from here, as for eigh
  FirstItem first_failure;
  for_each_item(
      ctx, a.count, double(d) * double(d) * double(d) / 3,
      [d] { return Eigen::LLT<Matrix<T>>(d < kLapackMinOrder ? d : 0); },
      [&](Eigen::LLT<Matrix<T>>& llt, std::int64_t i) {
        auto li = item(l, i);
        if (d < kLapackMinOrder) {
          llt.compute(item(a, i));  // reads the lower triangle
          if (llt.info() != Eigen::Success) {
            first_failure.record(i);
            return;
          }
          li = llt.matrixL();
        } else {
          if (li.data() != item(a, i).data())
            li.template triangularView<Eigen::Lower>() = item(a, i);
          int info = 0;
          lapack::potrf(int(d), li.data(), int(l.ld), &info);
          if (info != 0) {
            first_failure.record(i);
            return;
          }
        }
        li.template triangularView<Eigen::StrictlyUpper>().setZero();
      });
  return first_failure.get();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_RETRACTION_PRIMITIVES)

}  // namespace gaussot::cpu
