// SPDX-License-Identifier: Apache-2.0
// Private to cpu/: eigenvalues and eigenvectors of symmetric tridiagonal matrices by the implicit
// QR algorithm with Wilkinson shifts (Golub & Van Loan, Matrix Computations, 4th ed., Alg. 8.3.2
// and 8.3.3), written for batches of small matrices.
//
// Why not Eigen's or LAPACK's: for d <= 128 a batched eigh spends most of its time here, and both
// (1) apply each Givens rotation to the eigenvector matrix as soon as it is made, two columns at a
// time, and (2) run one problem at a time, so that every rotation waits for the square root and
// division of the one before. Here (1) the rotations of a sweep are recorded and applied
// afterwards row block by row block, carrying the running column in registers (half the memory
// traffic), and (2) up to four independent problems are swept in lockstep, so that the processor
// overlaps their dependency chains.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace gaussot::cpu {

template <typename T>
class TridiagonalQr {
 public:
  /// One problem: the tridiagonal matrix with diagonal `diag` (n) and subdiagonal `sub` (n − 1),
  /// both overwritten (diag receives the eigenvalues, unsorted), and optionally the column-major
  /// n x n matrix `vectors` (leading dimension n) into which the rotations are accumulated: pass
  /// the Householder Q of the tridiagonalisation to get the eigenvectors of the original matrix.
  struct Problem {
    std::int64_t n = 0;
    T* diag = nullptr;
    T* sub = nullptr;
    T* vectors = nullptr;
  };

  /// At most this many problems are swept in lockstep.
  static constexpr int kLanes = 4;

  /// Solves problems[0..count), count <= kLanes. converged[q] tells whether problem q converged
  /// (false when an eigenvalue needed more than 30·n sweeps in total, LAPACK's limit).
  void solve(const Problem* problems, int count, bool* converged) {
    Sweeper* live[kLanes];
    int n_live = 0;
    for (int q = 0; q < count; ++q) {
      lanes_[q].reset(problems[q]);
      lanes_[q].next_sweep();
      if (!lanes_[q].done) live[n_live++] = &lanes_[q];
    }
    while (n_live > 0) {
      std::int64_t steps = live[0]->remaining();
      for (int q = 1; q < n_live; ++q) steps = std::min(steps, live[q]->remaining());
      // The live problems' rotations interleaved, so that their dependency chains overlap.
      switch (n_live) {
        case 4:
          for (std::int64_t j = 0; j < steps; ++j) {
            live[0]->rotate();
            live[1]->rotate();
            live[2]->rotate();
            live[3]->rotate();
          }
          break;
        case 3:
          for (std::int64_t j = 0; j < steps; ++j) {
            live[0]->rotate();
            live[1]->rotate();
            live[2]->rotate();
          }
          break;
        case 2:
          for (std::int64_t j = 0; j < steps; ++j) {
            live[0]->rotate();
            live[1]->rotate();
          }
          break;
        default:
          for (std::int64_t j = 0; j < steps; ++j) live[0]->rotate();
      }
      int kept = 0;
      for (int q = 0; q < n_live; ++q) {
        if (live[q]->remaining() == 0) {
          live[q]->apply_rotations();
          live[q]->next_sweep();
        }
        if (!live[q]->done) live[kept++] = live[q];
      }
      n_live = kept;
    }
    for (int q = 0; q < count; ++q) converged[q] = !lanes_[q].failed;
  }

 private:
  /// The state of one problem between and within sweeps.
  struct Sweeper {
    Problem p;
    std::int64_t start = 0, end = 0, k = 0;  // active block [start, end]; next rotation k
    std::int64_t sweeps = 0;
    bool done = false, failed = false;
    T x = 0, z = 0;  // the entry to keep and the entry to annihilate at rotation k
    std::vector<T> cosines, sines;

    void reset(const Problem& problem) {
      p = problem;
      end = p.n - 1;
      sweeps = 0;
      done = failed = false;
      cosines.resize(static_cast<std::size_t>(std::max<std::int64_t>(p.n, 1)));
      sines.resize(cosines.size());
    }
    std::int64_t remaining() const { return end - k; }

    /// Deflates negligible subdiagonal entries, finds the trailing unreduced block and starts a
    /// sweep on it with a Wilkinson shift; marks the problem done when it is diagonal.
    void next_sweep() {
      const T eps = std::numeric_limits<T>::epsilon();
      const T tiny = std::numeric_limits<T>::min();
      T* diag = p.diag;
      T* sub = p.sub;
      for (std::int64_t i = 0; i < end; ++i) {
        if (std::abs(sub[i]) <= eps * (std::abs(diag[i]) + std::abs(diag[i + 1])) ||
            std::abs(sub[i]) <= tiny) {
          sub[i] = 0;
        }
      }
      while (end > 0 && sub[end - 1] == T(0)) --end;
      if (end <= 0) {
        done = true;
        return;
      }
      if (++sweeps > 30 * p.n) {
        done = failed = true;
        return;
      }
      start = end - 1;
      while (start > 0 && sub[start - 1] != T(0)) --start;
      // Wilkinson shift: the eigenvalue of the trailing 2x2 block closer to diag[end].
      const T half_gap = (diag[end - 1] - diag[end]) / 2;
      const T e = sub[end - 1];
      const T root = std::sqrt(half_gap * half_gap + e * e);
      const T shift = half_gap == T(0)
                          ? diag[end] - std::abs(e)
                          : diag[end] - e * (e / (half_gap + std::copysign(root, half_gap)));
      x = diag[start] - shift;
      z = sub[start];
      k = start;
    }

    /// Rotation k of the sweep: T ← G_kᵀ T G_k, G_k rotating coordinates k and k+1 (columns:
    /// v_k' = c v_k − s v_(k+1), v_(k+1)' = s v_k + c v_(k+1)), recorded for apply_rotations().
    void rotate() {
      T* diag = p.diag;
      T* sub = p.sub;
      T c, s;
      givens(x, z, c, s);
      cosines[k] = c;
      sines[k] = s;
      if (k > start) sub[k - 1] = c * x - s * z;  // the bulge is annihilated
      // The 2x2 block [[a, b], [b, d]] on rows and columns k, k+1 becomes Gᵀ [[a, b], [b, d]] G.
      const T a = diag[k], b = sub[k], d = diag[k + 1];
      const T cc = c * c, ss = s * s, cs = c * s;
      diag[k] = cc * a - T(2) * cs * b + ss * d;
      diag[k + 1] = ss * a + T(2) * cs * b + cc * d;
      sub[k] = cs * (a - d) + (cc - ss) * b;
      if (k + 1 < end) {  // row k+2 meets the rotation: a new bulge below the subdiagonal
        x = sub[k];
        z = -s * sub[k + 1];
        sub[k + 1] = c * sub[k + 1];
      }
      ++k;
    }

    /// V ← V G_start ⋯ G_(end−1) on columns start..end, row block by row block: the running
    /// column stays in registers and each rotation reads one column and writes one.
    void apply_rotations() const {
      if (p.vectors == nullptr) return;
      constexpr std::int64_t kRows = 16;  // four AVX2 registers of doubles
      using Rows = Eigen::Array<T, kRows, 1>;
      const std::int64_t n = p.n;
      T* v = p.vectors;
      const T* c = cosines.data();
      const T* s = sines.data();
      std::int64_t r0 = 0;
      for (; r0 + kRows <= n; r0 += kRows) {
        Rows carry = Eigen::Map<const Rows>(v + r0 + start * n);
        for (std::int64_t j = start; j < end; ++j) {
          const Rows next = Eigen::Map<const Rows>(v + r0 + (j + 1) * n);
          Eigen::Map<Rows>(v + r0 + j * n) = c[j] * carry - s[j] * next;
          carry = s[j] * carry + c[j] * next;
        }
        Eigen::Map<Rows>(v + r0 + end * n) = carry;
      }
      for (std::int64_t r = r0; r < n; ++r) {  // the remaining rows, one at a time
        T carry = v[r + start * n];
        for (std::int64_t j = start; j < end; ++j) {
          const T next = v[r + (j + 1) * n];
          v[r + j * n] = c[j] * carry - s[j] * next;
          carry = s[j] * carry + c[j] * next;
        }
        v[r + end * n] = carry;
      }
    }
  };

  /// c, s with [c −s; s c]·[a; b] = [r; 0]: one square root and one division while a² + b² is
  /// safely representable, else Golub & Van Loan's givens(a, b), which cannot under- or overflow.
  static void givens(T a, T b, T& c, T& s) {
    const T norm_squared = a * a + b * b;
    if (norm_squared > std::numeric_limits<T>::min() / std::numeric_limits<T>::epsilon() &&
        norm_squared < std::numeric_limits<T>::max() / 4) {
      const T inverse = T(1) / std::sqrt(norm_squared);
      c = a * inverse;
      s = -b * inverse;
    } else if (b == T(0)) {
      c = 1;
      s = 0;
    } else if (std::abs(b) > std::abs(a)) {
      const T tau = -a / b;
      s = T(1) / std::sqrt(T(1) + tau * tau);
      c = s * tau;
    } else {
      const T tau = -b / a;
      c = T(1) / std::sqrt(T(1) + tau * tau);
      s = c * tau;
    }
  }

  Sweeper lanes_[kLanes];
};

}  // namespace gaussot::cpu
