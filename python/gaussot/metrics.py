"""Streamed metrics: the Fréchet distance (FID) over features added batch by batch.

The pattern of torchmetrics' ``FrechetInceptionDistance``: running sums, never the samples. Each
side keeps its sample count n, mean and scatter matrix M = Σ (x − mean)(x − mean)ᵀ; a batch's own
mean and covariance come from :func:`gaussot.sample_moments` and are merged with the pairwise
update of Chan, Golub and LeVeque (the formula of ``statistics.hpp``, ``MomentAccumulator::merge``
in C++): n = n_a + n_b, δ = mean_b − mean_a, mean = mean_a + δ n_b / n,
M = M_a + M_b + δδᵀ n_a n_b / n. The state stays in the framework and on the device of the
features (NumPy, or a DLPack framework such as torch or cupy; only elementwise arithmetic is
applied to it), and :meth:`FrechetDistance.compute` is :func:`gaussot.w2_squared` of the fitted
Gaussians (covariance divisor n − 1).
"""

from __future__ import annotations

import numpy as np

from ._gaussot import InvalidArgument, sample_moments, w2_squared

_SIDES = ("real", "generated")


def _side(real: bool) -> str:
    return _SIDES[0] if real else _SIDES[1]


def _to_numpy(x):
    """A host NumPy copy of x: a NumPy array, a torch tensor or a cupy array (host or device), or
    anything np.asarray reads (jax arrays, scalars)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch
        x = x.detach().cpu()
    elif type(x).__module__.startswith("cupy"):
        x = x.get()
    return np.asarray(x)


class FrechetDistance:
    """The Fréchet distance between the Gaussians fitted to two streams of features.

    ``update(features, real=True)`` adds an (m, d) batch (rows are samples; NumPy or DLPack,
    host or device; float32 or float64, one dtype per metric) to the real or the generated side;
    ``compute()`` returns W2² between the two fitted Gaussians (the FID for Inception pool
    features; the same as :func:`gaussot.frechet_distance` on the concatenated batches, to
    rounding). A side can be fixed to published statistics (``load_stats``: the ``.npz`` with
    ``mu`` and ``sigma`` that pytorch-fid and clean-fid write), and ``save_stats`` writes that
    format. ``merge`` adds another metric's samples (shards of a data set on several processes);
    ``state_dict`` / ``load_state_dict`` give the flat state (counts, means, scatter matrices) for
    saving it or reducing it with an all-reduce of sums. ``backend`` is passed to the gaussot calls.

    Bad input (wrong width, a batch that is not 2-D, NaN/Inf, a fixed side) raises
    :class:`gaussot.InvalidArgument` naming it, and the metric is unchanged.
    """

    def __init__(self, dimension: int | None = None, *, backend: str = "auto"):
        if dimension is not None and (not isinstance(dimension, int) or dimension < 1):
            raise InvalidArgument(f"dimension: expected None or an integer >= 1, got {dimension!r}")
        self.dimension = dimension
        self.backend = backend
        self._dtype = None  # of the first features; later batches must have it
        self._state = {side: None for side in _SIDES}  # (n, mean, scatter) or None
        self._fixed = {side: None for side in _SIDES}  # (mu, sigma) or None

    # ---- adding features ----------------------------------------------------------------------

    def update(self, features, real: bool = True) -> None:
        side = _side(real)
        if self._fixed[side] is not None:
            raise InvalidArgument(f"{side}: the side is fixed to given statistics (load_stats); "
                                  "reset it before adding features")
        shape = tuple(getattr(features, "shape", ()))
        if len(shape) != 2:
            raise InvalidArgument(f"features: expected an (m, d) array, got shape {shape}")
        m, d = int(shape[0]), int(shape[1])
        if self.dimension is not None and d != self.dimension:
            raise InvalidArgument(f"features: expected {self.dimension} features per row, got {d}")
        dtype = str(getattr(features, "dtype", ""))
        if self._dtype is not None and dtype != self._dtype:
            raise InvalidArgument(f"features: dtype {dtype}, earlier batches {self._dtype} (one "
                                  "dtype per metric)")
        if m == 0:
            return
        if m == 1:  # sample_moments needs 2 rows: one row is its own mean, with zero scatter
            if not bool(np.isfinite(_to_numpy(features)).all()):
                raise InvalidArgument("features: the row holds NaN or Inf")
            mean = features[0] * 1
            scatter = features[0][:, None] * features[0][None, :] * 0
        else:
            try:
                mean, cov = sample_moments(features, backend=self.backend)
            except InvalidArgument as e:
                raise InvalidArgument(f"features: {e}") from None
            scatter = cov * (m - 1)
        self.dimension, self._dtype = d, dtype
        self._state[side] = self._merged(self._state[side], (m, mean, scatter))

    @staticmethod
    def _merged(a, b):
        """Chan's pairwise update of two (n, mean, scatter) states (either may be None)."""
        if a is None:
            return b
        if b is None:
            return a
        n_a, mean_a, scatter_a = a
        n_b, mean_b, scatter_b = b
        n = n_a + n_b
        delta = mean_b - mean_a
        scatter = scatter_a + scatter_b + delta[:, None] * delta[None, :] * (n_a * n_b / n)
        return n, mean_a + delta * (n_b / n), scatter

    def merge(self, other: "FrechetDistance") -> None:
        if not isinstance(other, FrechetDistance):
            raise InvalidArgument(f"other: expected a FrechetDistance, got {type(other).__name__}")
        if other is self:
            raise InvalidArgument("other: is this metric (merge a copy)")
        if None not in (self.dimension, other.dimension) and self.dimension != other.dimension:
            raise InvalidArgument(f"other: has features of dimension {other.dimension}, this "
                                  f"metric {self.dimension}")
        for side in _SIDES:
            if self._fixed[side] is not None or other._fixed[side] is not None:
                raise InvalidArgument(f"{side}: fixed to given statistics on one of the metrics; "
                                      "only streamed features merge")
        for side in _SIDES:
            self._state[side] = self._merged(self._state[side], other._state[side])
        self.dimension = self.dimension if self.dimension is not None else other.dimension

    def reset(self, real: bool | None = None) -> None:
        """Empties one side (real=True or False) or both (None)."""
        for side in _SIDES if real is None else (_side(real),):
            self._state[side] = None
            self._fixed[side] = None

    # ---- results --------------------------------------------------------------------------------

    def samples(self, real: bool = True) -> int:
        state = self._state[_side(real)]
        return 0 if state is None else int(state[0])

    def statistics(self, real: bool = True):
        """(mean, covariance) of one side: its fixed statistics, or its samples' (n >= 2)."""
        side = _side(real)
        if self._fixed[side] is not None:
            return self._fixed[side]
        n = self.samples(real)
        if n < 2:
            raise InvalidArgument(f"{side}: has {n} feature vector(s) and no statistics; a "
                                  "covariance needs at least 2")
        _, mean, scatter = self._state[side]
        return mean, scatter / (n - 1)

    def compute(self) -> float:
        mean_r, cov_r = self.statistics(True)
        mean_g, cov_g = self.statistics(False)
        return float(_to_numpy(w2_squared(cov_r, cov_g, a_mean=mean_r, b_mean=mean_g,
                                          backend=self.backend)))

    # ---- statistics files and the flat state ----------------------------------------------------

    def save_stats(self, path, real: bool = True) -> None:
        """Writes one side's mean and covariance as pytorch-fid does: ``np.savez(path, mu=, sigma=)``."""
        mean, cov = self.statistics(real)
        np.savez(path, mu=_to_numpy(mean), sigma=_to_numpy(cov))

    def load_stats(self, path, real: bool = True) -> None:
        """Fixes one side to the ``mu`` (d,) and ``sigma`` (d, d) of an ``.npz`` file (pytorch-fid,
        clean-fid, or save_stats); its features can no longer be added until reset."""
        side = _side(real)
        try:
            with np.load(path) as data:
                missing = {"mu", "sigma"} - set(data.files)
                if missing:
                    raise InvalidArgument(f"{path}: has no {' or '.join(sorted(missing))} array "
                                          f"(found {', '.join(data.files) or 'none'})")
                mu, sigma = np.array(data["mu"]), np.array(data["sigma"])
        except (OSError, ValueError) as e:
            if isinstance(e, InvalidArgument):
                raise
            raise InvalidArgument(f"{path}: cannot be read as an .npz file ({e})") from None
        self.set_statistics(mu, sigma, real)

    def set_statistics(self, mean, covariance, real: bool = True) -> None:
        """Fixes one side to a mean (d,) and covariance (d, d) (checked: finite, symmetric,
        positive semidefinite by gaussot's clamping rule)."""
        side = _side(real)
        mean, covariance = _to_numpy(mean), _to_numpy(covariance)
        d = mean.shape[0] if mean.ndim == 1 else -1
        if mean.ndim != 1 or covariance.shape != (d, d):
            raise InvalidArgument(f"{side} statistics: expected mu (d,) and sigma (d, d), got "
                                  f"{mean.shape} and {covariance.shape}")
        if self.dimension is not None and d != self.dimension:
            raise InvalidArgument(f"{side} statistics: dimension {d}, this metric {self.dimension}")
        # w2_squared of the Gaussian with itself checks it as every gaussot input is checked.
        try:
            w2_squared(covariance, covariance, a_mean=mean, b_mean=mean, backend="cpu")
        except InvalidArgument as e:
            raise InvalidArgument(f"{side} statistics: {e}") from None
        self.dimension = d
        self._state[side] = None
        self._fixed[side] = (mean, covariance)

    def state_dict(self) -> dict:
        """The flat state: for each side with samples, ``{side}_samples`` (int), ``{side}_mean``
        (d,), ``{side}_scatter`` (d, d); fixed sides as ``{side}_mu`` and ``{side}_sigma``.
        States of shards combine by :meth:`merge` after ``load_state_dict`` (Chan's update)."""
        state = {"dimension": self.dimension}
        for side in _SIDES:
            if self._state[side] is not None:
                n, mean, scatter = self._state[side]
                state.update({f"{side}_samples": n, f"{side}_mean": mean,
                              f"{side}_scatter": scatter})
            if self._fixed[side] is not None:
                state.update({f"{side}_mu": self._fixed[side][0],
                              f"{side}_sigma": self._fixed[side][1]})
        return state

    def load_state_dict(self, state: dict) -> None:
        restored = FrechetDistance(state.get("dimension"), backend=self.backend)
        for side in _SIDES:
            if f"{side}_mu" in state:
                restored.set_statistics(state[f"{side}_mu"], state[f"{side}_sigma"],
                                        real=side == "real")
            if f"{side}_samples" in state:
                n = int(state[f"{side}_samples"])
                mean, scatter = state[f"{side}_mean"], state[f"{side}_scatter"]
                d = tuple(mean.shape)[0] if len(tuple(mean.shape)) == 1 else -1
                if n < 1 or d < 1 or tuple(scatter.shape) != (d, d):
                    raise InvalidArgument(f"{side}: expected samples >= 1, mean (d,) and scatter "
                                          f"(d, d), got {n}, {tuple(mean.shape)} and "
                                          f"{tuple(scatter.shape)}")
                restored._state[side] = (n, mean, scatter)
                restored._dtype = str(mean.dtype)
        self.__dict__.update(restored.__dict__)
