// SPDX-License-Identifier: Apache-2.0
#include <algorithm>

#include "backend.hpp"
#include "lapack.hpp"
#include "parallel.hpp"
#include "shared_rules.hpp"

namespace gaussot::cpu {
namespace {

/// Smallest m·n·k (multiply-adds) of a product that goes to the BLAS rather than Eigen: the BLAS's
/// kernels use the widest vectors of the machine it runs on (Eigen's, those the build targets).
constexpr double kBlasMinWork = 64.0 * 64.0 * 64.0;

/// c = alpha op(a) op(b) + beta c by the BLAS, for column-major maps with any leading dimension.
template <typename T, typename A, typename B, typename C>
void blas_gemm(bool ta, bool tb, T alpha, const A& a, const B& b, T beta, C& c) {
  const auto inner = ta ? a.rows() : a.cols();
  lapack::gemm(ta ? "T" : "N", tb ? "T" : "N", int(c.rows()), int(c.cols()), int(inner), alpha,
               a.data(), int(a.outerStride()), b.data(), int(b.outerStride()), beta, c.data(),
               int(c.outerStride()));
}

/// Whether the strictly upper triangle of a square matrix is zero (a Cholesky factor).
template <typename M>
bool lower_triangular(const M& m) {
  for (Eigen::Index c = 1; c < m.cols(); ++c) {
    for (Eigen::Index r = 0; r < c; ++r) {
      if (m(r, c) != 0) return false;
    }
  }
  return true;
}

}  // namespace

template <typename T>
void gemm(Context& ctx, Transpose transpose_a, Transpose transpose_b, T alpha,
          MatrixBatch<const T> a, MatrixBatch<const T> b, T beta, MatrixBatch<T> c) {
  const double inner = double(transpose_a == Transpose::yes ? a.rows : a.cols);
  const double work = double(c.rows) * double(c.cols) * inner;
  const bool ta = transpose_a == Transpose::yes, tb = transpose_b == Transpose::yes;
  for_each_item(ctx, c.count, work, [&](std::int64_t i) {
    auto ci = item(c, i);
    if (work >= kBlasMinWork && inner > 0) {
      blas_gemm(ta, tb, alpha, item(a, i), item(b, i), beta, ci);
      return;
    }
    if (beta == T(0)) {
      ci.setZero();  // BLAS semantics: c is not read when beta == 0
    } else if (beta != T(1)) {
      ci *= beta;
    }
    const auto ai = item(a, i);
    const auto bi = item(b, i);
    if (ta && tb) {
      ci.noalias() += alpha * ai.transpose() * bi.transpose();
    } else if (ta) {
      ci.noalias() += alpha * ai.transpose() * bi;
    } else if (tb) {
      ci.noalias() += alpha * ai * bi.transpose();
    } else {
      ci.noalias() += alpha * ai * bi;
    }
  });
}

/// out_i = s_iᵀ b_i s_i. Large orders go to the BLAS; there a factor s_i whose strictly upper
/// triangle is zero (a Cholesky factor, covariance_factor) is multiplied as triangular (?trmm),
/// half the multiply-adds of two general products.
template <typename T>
void sandwich(Context& ctx, MatrixBatch<const T> s, MatrixBatch<const T> b, MatrixBatch<T> out) {
  const std::int64_t d = s.rows;
  const double work = double(d) * double(d) * double(d);
  const bool blas = work >= kBlasMinWork;
  for_each_item(
      ctx, out.count, 2 * work, [d] { return Matrix<T>(d, d); },
      [&](Matrix<T>& sb, std::int64_t i) {
        const auto si = item(s, i);
        auto oi = item(out, i);
        if (blas && lower_triangular(si)) {
          oi = item(b, i);
          lapack::trmm_lower("R", "N", int(d), int(d), si.data(), int(s.ld), oi.data(),
                             int(out.ld));
          lapack::trmm_lower("L", "T", int(d), int(d), si.data(), int(s.ld), oi.data(),
                             int(out.ld));
        } else if (blas) {
          blas_gemm(true, false, T(1), si, item(b, i), T(0), sb);
          blas_gemm(false, false, T(1), sb, si, T(0), oi);
        } else {
          sb.noalias() = si.transpose() * item(b, i);
          oi.noalias() = sb * si;
        }
        // Average the two triangles: exact symmetry, and the better of both roundings.
        for (std::int64_t col = 1; col < d; ++col) {
          for (std::int64_t row = 0; row < col; ++row) {
            const T mean = (oi(row, col) + oi(col, row)) / T(2);
            oi(row, col) = mean;
            oi(col, row) = mean;
          }
        }
      });
}

template <typename T>
void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out) {
  for_each_item(ctx, a.count, double(a.rows),
                [&](std::int64_t i) { out.at(i, 0) = item(a, i).trace(); });
}

template <typename T>
void frobenius_inner(Context& ctx, MatrixBatch<const T> a, MatrixBatch<const T> b,
                     VectorBatch<T> out) {
  for_each_item(ctx, a.count, double(a.rows) * double(a.cols),
                [&](std::int64_t i) { out.at(i, 0) = item(a, i).cwiseProduct(item(b, i)).sum(); });
}

template <typename T>
void combine(Context& ctx, const LinearCombination<T>& combination, MatrixBatch<T> out) {
  const double work = double(out.rows) * double(out.cols) * double(combination.count);
  for_each_item(ctx, out.count, work, [&](std::int64_t i) {
    auto o = item(out, i);
    for (std::int64_t c = 0; c < out.cols; ++c) {
      for (std::int64_t r = 0; r < out.rows; ++r) {
        T value = 0;  // every term is read before out is written: terms may alias out
        for (int j = 0; j < combination.count; ++j) {
          value += combination.coefficients[j] * combination.terms[j].at(i, r, c);
        }
        o(r, c) = combination.has_floor ? shared_rule::at_least(value, combination.floor) : value;
      }
    }
  });
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_BLAS_PRIMITIVES)

}  // namespace gaussot::cpu
