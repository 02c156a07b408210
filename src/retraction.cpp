// SPDX-License-Identifier: Apache-2.0
#include "gaussot/retraction.hpp"

#include "backend.hpp"
#include "gaussot/cholesky.hpp"
#include "validate.hpp"

namespace gaussot {

template <typename T>
void qr_retraction(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> q) {
  const ArgumentChecker check("qr_retraction", &ctx);
  check.input("x", x);
  check.expect(
      x.rows >= x.cols, "x",
      "must be tall (rows >= cols) for a thin QR, got " + ArgumentChecker::shape(x.rows, x.cols));
  check.output("q", q);
  check.same_shape("x", x, "q", q);
  check.no_alias("x", x, "q", q);
  if (x.empty() || x.cols == 0) return;
  check.finite(ctx, "x", x, /*lower_only=*/false);
  const std::int64_t item = GAUSSOT_DISPATCH(ctx, qr_retraction<T>, x, q);
  if (item >= 0) {
    throw ConvergenceError("qr_retraction: argument 'x' batch item " + std::to_string(item) +
                               " has numerically dependent columns",
                           item, 0, __FILE__, __LINE__);
  }
}

template <typename T>
std::int64_t cholesky(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> l) {
  const ArgumentChecker check("cholesky", &ctx);
  check.input("a", a);
  check.square("a", a);
  check.output("l", l);
  check.same_shape("a", a, "l", l);
  check.same_view_or_no_alias("a", a, "l", l);
  if (a.empty() || a.rows == 0) return -1;
  check.finite(ctx, "a", a, /*lower_only=*/true);
  return GAUSSOT_DISPATCH(ctx, cholesky<T>, a, l);
}

template void qr_retraction<float>(Context&, MatrixBatch<const float>, MatrixBatch<float>);
template void qr_retraction<double>(Context&, MatrixBatch<const double>, MatrixBatch<double>);
template std::int64_t cholesky<float>(Context&, MatrixBatch<const float>, MatrixBatch<float>);
template std::int64_t cholesky<double>(Context&, MatrixBatch<const double>, MatrixBatch<double>);

}  // namespace gaussot
