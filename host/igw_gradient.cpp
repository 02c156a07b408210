// SPDX-License-Identifier: Apache-2.0
#include "igw_gradient.hpp"

#include <Eigen/Dense>

namespace gaussot::host {
namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;
using Solver = Eigen::SelfAdjointEigenSolver<Matrix>;

/// The adjoint of the derivative of S ↦ S^½ at S = Q diag(α) Qᵀ applied to the symmetric N:
/// d⟨S^½, N⟩ = ⟨dS, L(N)⟩ with L(N) = Q [(QᵀNQ)_ij / (√α_i + √α_j)] Qᵀ (from R dR + dR R = dS).
Matrix root_adjoint(const Solver& s, const Matrix& n) {
  const Matrix& q = s.eigenvectors();
  const Vector r = s.eigenvalues().cwiseSqrt();
  Matrix m = q.transpose() * n * q;
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) m(i, j) /= r(i) + r(j);
  return q * m * q.transpose();
}

Matrix spectral(const Solver& s, double power) {
  const Vector w = s.eigenvalues().array().pow(power);
  return s.eigenvectors() * w.asDiagonal() * s.eigenvectors().transpose();
}

}  // namespace

int igw_envelope_gradient(const IgwPair& pair, double tolerance, double* grad_m1, double* grad_s1,
                          double* grad_m2, double* grad_s2) {
  const Eigen::Index d1 = pair.d1, d2 = pair.d2;
  const Eigen::Map<const Matrix> s1(pair.s1, d1, d1), s2(pair.s2, d2, d2), k(pair.k, d1, d2);
  const Eigen::Map<const Vector> m1(pair.m1, d1), m2(pair.m2, d2);
  const Solver e1(s1), e2(s2);
  for (const auto& [side, e] : {std::pair{1, &e1}, std::pair{2, &e2}}) {
    const Vector& w = e->eigenvalues();  // increasing
    if (!(w(0) > tolerance * w(w.size() - 1))) return side;
  }
  // C = S1^-½ K S2^-½ (a contraction; an isometry at the ascent's points), and the vectors of the
  // mean term 2 m1ᵀ S1^½ C S2^½ m2 of I3.
  const Matrix c = spectral(e1, -0.5) * k * spectral(e2, -0.5);
  const Vector w1 = c * (spectral(e2, 0.5) * m2), w2 = c.transpose() * (spectral(e1, 0.5) * m1);
  const double n1 = m1.squaredNorm(), n2 = m2.squaredNorm();
  // I1 = tr S1² + 2 m1ᵀS1m1 + ‖m1‖⁴, I3 = tr(S1 C S2 Cᵀ) + 2 m1ᵀS1^½ C S2^½ m2 + ‖m1‖²‖m2‖².
  Eigen::Map<Matrix>(grad_s1, d1, d1) =
      2 * s1 + 2 * m1 * m1.transpose() -
      2 * (c * s2 * c.transpose() + root_adjoint(e1, m1 * w1.transpose() + w1 * m1.transpose()));
  Eigen::Map<Matrix>(grad_s2, d2, d2) =
      2 * s2 + 2 * m2 * m2.transpose() -
      2 * (c.transpose() * s1 * c + root_adjoint(e2, m2 * w2.transpose() + w2 * m2.transpose()));
  Eigen::Map<Vector>(grad_m1, d1) = 4 * s1 * m1 + 4 * n1 * m1 - 4 * k * m2 - 4 * n2 * m1;
  Eigen::Map<Vector>(grad_m2, d2) =
      4 * s2 * m2 + 4 * n2 * m2 - 4 * k.transpose() * m1 - 4 * n1 * m2;
  return 0;
}

}  // namespace gaussot::host
