// SPDX-License-Identifier: Apache-2.0
#include "gaussot/blas.hpp"

#include "backend.hpp"
#include "validate.hpp"

namespace gaussot {

template <typename T>
void gemm(Context& ctx, Transpose transpose_a, Transpose transpose_b, T alpha,
          MatrixBatch<const T> a, MatrixBatch<const T> b, T beta, MatrixBatch<T> c) {
  const ArgumentChecker check("gemm", &ctx);
  check.input("a", a);
  check.input("b", b);
  check.output("c", c);
  const std::int64_t m = transpose_a == Transpose::yes ? a.cols : a.rows;
  const std::int64_t k = transpose_a == Transpose::yes ? a.rows : a.cols;
  const std::int64_t k_b = transpose_b == Transpose::yes ? b.cols : b.rows;
  const std::int64_t n = transpose_b == Transpose::yes ? b.rows : b.cols;
  check.expect(k == k_b, "b",
               "has " + std::to_string(k_b) + " rows in op(b), but op(a) has " + std::to_string(k) +
                   " columns");
  check.matrix_shape("c", c, m, n);
  check.count("b", b.count, a.count);
  check.count("c", c.count, a.count);
  check.no_alias("a", a, "c", c);
  check.no_alias("b", b, "c", c);
  if (c.empty() || m == 0 || n == 0) return;
  GAUSSOT_DISPATCH(ctx, gemm<T>, transpose_a, transpose_b, alpha, a, b, beta, c);
}

template <typename T>
void sandwich(Context& ctx, MatrixBatch<const T> s, MatrixBatch<const T> b, MatrixBatch<T> out) {
  const ArgumentChecker check("sandwich", &ctx);
  check.input("s", s);
  check.square("s", s);
  check.input("b", b);
  check.output("out", out);
  check.matrix_shape("b", b, s.rows, s.rows);
  check.matrix_shape("out", out, s.rows, s.rows);
  check.count("b", b.count, s.count);
  check.count("out", out.count, s.count);
  check.no_alias("s", s, "out", out);
  check.no_alias("b", b, "out", out);
  if (out.empty() || s.rows == 0) return;
  GAUSSOT_DISPATCH(ctx, sandwich<T>, s, b, out);
}

template <typename T>
void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out) {
  const ArgumentChecker check("trace", &ctx);
  check.input("a", a);
  check.square("a", a);
  check.output("out", out);
  check.vector_size("out", out, 1);
  check.count("out", out.count, a.count);
  check.no_alias("a", a, "out", out.as_matrices());
  if (a.empty()) return;
  GAUSSOT_DISPATCH(ctx, trace<T>, a, out);
}

template <typename T>
void frobenius_inner(Context& ctx, MatrixBatch<const T> a, MatrixBatch<const T> b,
                     VectorBatch<T> out) {
  const ArgumentChecker check("frobenius_inner", &ctx);
  check.input("a", a);
  check.input("b", b);
  check.same_shape("a", a, "b", b);
  check.output("out", out);
  check.vector_size("out", out, 1);
  check.count("out", out.count, a.count);
  check.no_alias("a", a, "out", out.as_matrices());
  check.no_alias("b", b, "out", out.as_matrices());
  if (a.empty()) return;
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, a, b, out);
}

#define GAUSSOT_INSTANTIATE(T)                                                                     \
  template void gemm<T>(Context&, Transpose, Transpose, T, MatrixBatch<const T>,                   \
                        MatrixBatch<const T>, T, MatrixBatch<T>);                                  \
  template void sandwich<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, MatrixBatch<T>); \
  template void trace<T>(Context&, MatrixBatch<const T>, VectorBatch<T>);                          \
  template void frobenius_inner<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,           \
                                   VectorBatch<T>);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
