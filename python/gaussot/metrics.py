"""Streamed metrics: the Fréchet distance (FID) over features added batch by batch, and the
comparison of a model's layers (:class:`ComparisonAccumulator`) as the model runs.

Both wrap the C++ classes (``fid.hpp`` FrechetDistance, ``compare.hpp`` ComparisonAccumulator),
whose state lives on a context of their own: the CPU for host arrays, the CUDA device of the first
device arrays they see (``backend='auto'``), or the backend named. Their flat states come back as
NumPy arrays.
"""

from __future__ import annotations

import numpy as np

from ._gaussot import (
    _IGW_ASCENT_DEFAULTS,
    InvalidArgument,
    _ComparisonAccumulator,
    _FrechetDistance,
)

_SIDES = ("real", "generated")
_KDLCUDA = 2  # DLPack's device type of CUDA memory


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


def _batch_backend(arrays) -> str:
    """'cuda:N' when an array is in CUDA device memory (by its __dlpack_device__), else 'cpu'."""
    for x in arrays:
        device = getattr(x, "__dlpack_device__", None)
        if device is not None:
            kind, ordinal = device()
            if int(kind) == _KDLCUDA:
                return f"cuda:{int(ordinal)}"
    return "cpu"


def _dtype_name(x) -> str:
    """'float32', 'float64', ... of a NumPy array or a DLPack tensor (torch.float64 -> 'float64')."""
    return str(getattr(x, "dtype", "")).replace("torch.", "")


class FrechetDistance:
    """The Fréchet distance between the Gaussians fitted to two streams of features.

    ``update(features, real=True)`` adds an (m, d) batch (rows are samples; NumPy or DLPack,
    host or device; float32 or float64, one dtype per metric) to the real or the generated side;
    ``compute()`` returns W2² between the two fitted Gaussians (the FID for Inception pool
    features; the same as :func:`gaussot.frechet_distance` on the concatenated batches, to
    rounding). The running moments are the C++ ``MomentAccumulator`` (Chan, Golub and LeVeque's
    pairwise update, ``statistics.hpp``) on the metric's context. A side can be fixed to
    published statistics (``load_stats``: the ``.npz`` with ``mu`` and ``sigma`` that pytorch-fid
    and clean-fid write), and ``save_stats`` writes that format. ``merge`` adds another metric's
    samples (shards of a data set on several processes); ``state_dict`` / ``load_state_dict`` give
    the flat state (counts, means, scatter matrices; NumPy arrays) for saving it or reducing it.
    ``backend``: 'auto' (where the first features live), 'cpu', 'cuda' or 'cuda:N'.

    Bad input (wrong width, a batch that is not 2-D, NaN/Inf, a fixed side) raises
    :class:`gaussot.InvalidArgument` naming it, and the metric is unchanged.
    """

    def __init__(self, dimension: int | None = None, *, backend: str = "auto"):
        if dimension is not None and (not isinstance(dimension, int) or dimension < 1):
            raise InvalidArgument(f"dimension: expected None or an integer >= 1, got {dimension!r}")
        self.dimension = dimension
        self.backend = backend
        self._dtype = None  # of the first arrays; later ones must have it
        self._engine = None
        self._backend_used = None

    def _start(self, dimension: int, dtype: str, arrays) -> None:
        """Creates the engine at the first features or statistics."""
        if dtype not in ("float32", "float64"):
            raise InvalidArgument(f"features: dtype {dtype or type(arrays[0]).__name__}; "
                                  "expected float32 or float64")
        backend = _batch_backend(arrays) if self.backend == "auto" else self.backend
        self._engine = _FrechetDistance(dimension, dtype == "float32", backend)
        self.dimension, self._dtype, self._backend_used = dimension, dtype, backend

    def _check_dtype(self, x, name: str) -> None:
        dtype = _dtype_name(x)
        if self._dtype is not None and dtype != self._dtype:
            raise InvalidArgument(f"{name}: dtype {dtype}, this metric {self._dtype} (one dtype "
                                  "per metric)")

    # ---- adding features ----------------------------------------------------------------------

    def update(self, features, real: bool = True) -> None:
        shape = tuple(getattr(features, "shape", ()))
        if len(shape) != 2:
            raise InvalidArgument(f"features: expected an (m, d) array, got shape {shape}")
        m, d = int(shape[0]), int(shape[1])
        if self.dimension is not None and d != self.dimension:
            raise InvalidArgument(f"features: expected {self.dimension} features per row, got {d}")
        self._check_dtype(features, "features")
        if m == 0:
            return
        if self._engine is None:
            self._start(d, _dtype_name(features), [features])
        self._engine.update(features, bool(real))

    def merge(self, other: "FrechetDistance") -> None:
        if not isinstance(other, FrechetDistance):
            raise InvalidArgument(f"other: expected a FrechetDistance, got {type(other).__name__}")
        if other is self:
            raise InvalidArgument("other: is this metric (merge a copy)")
        if None not in (self.dimension, other.dimension) and self.dimension != other.dimension:
            raise InvalidArgument(f"other: has features of dimension {other.dimension}, this "
                                  f"metric {self.dimension}")
        if other._engine is None:
            return
        if self._engine is None:
            self._engine = _FrechetDistance(other.dimension, other._dtype == "float32",
                                            other._backend_used)
            self.dimension, self._dtype = other.dimension, other._dtype
            self._backend_used = other._backend_used
        self._engine.merge(other._engine)

    def reset(self, real: bool | None = None) -> None:
        """Empties one side (real=True or False) or both (None)."""
        if self._engine is None:
            return
        for side in (True, False) if real is None else (bool(real),):
            self._engine.reset(side)

    # ---- results --------------------------------------------------------------------------------

    def samples(self, real: bool = True) -> int:
        return 0 if self._engine is None else self._engine.samples(bool(real))

    def statistics(self, real: bool = True):
        """(mean, covariance) of one side, NumPy arrays: its fixed statistics, or its samples'
        (n >= 2)."""
        if self._engine is None:
            raise InvalidArgument(f"{_side(real)}: has 0 feature vector(s) and no statistics; a "
                                  "covariance needs at least 2")
        return self._engine.statistics(bool(real))

    def compute(self) -> float:
        if self._engine is None:
            self.statistics(True)  # raises, naming the side
        return self._engine.compute()

    # ---- statistics files and the flat state ----------------------------------------------------

    def save_stats(self, path, real: bool = True) -> None:
        """Writes one side's mean and covariance as pytorch-fid does: ``np.savez(path, mu=, sigma=)``."""
        mean, cov = self.statistics(real)
        np.savez(path, mu=mean, sigma=np.ascontiguousarray(cov))

    def load_stats(self, path, real: bool = True) -> None:
        """Fixes one side to the ``mu`` (d,) and ``sigma`` (d, d) of an ``.npz`` file (pytorch-fid,
        clean-fid, or save_stats); its features can no longer be added until reset."""
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
        dtype = self._dtype or ("float32" if mean.dtype == np.float32 else "float64")
        mean, covariance = mean.astype(dtype), covariance.astype(dtype)
        if self._engine is None:
            self._start(d, dtype, [mean])
        try:
            self._engine.set_statistics(bool(real), mean, covariance)
        except InvalidArgument as e:
            raise InvalidArgument(f"{side} statistics: {e}") from None

    def state_dict(self) -> dict:
        """The flat state: for each side with samples, ``{side}_samples`` (int), ``{side}_mean``
        (d,), ``{side}_scatter`` (d, d); fixed sides as ``{side}_mu`` and ``{side}_sigma``.
        States of shards combine by :meth:`merge` after ``load_state_dict`` (Chan's update)."""
        state = {"dimension": self.dimension}
        if self._engine is None:
            return state
        for real, side in ((True, "real"), (False, "generated")):
            if self._engine.fixed(real):
                mu, sigma = self._engine.statistics(real)
                state.update({f"{side}_mu": mu, f"{side}_sigma": sigma})
            elif self._engine.samples(real) > 0:
                n, mean, scatter = self._engine.state(real)
                state.update({f"{side}_samples": n, f"{side}_mean": mean,
                              f"{side}_scatter": scatter})
        return state

    def load_state_dict(self, state: dict) -> None:
        restored = FrechetDistance(state.get("dimension"), backend=self.backend)
        for real, side in ((True, "real"), (False, "generated")):
            if f"{side}_mu" in state:
                restored.set_statistics(state[f"{side}_mu"], state[f"{side}_sigma"], real=real)
            if f"{side}_samples" in state:
                n = int(state[f"{side}_samples"])
                mean, scatter = _to_numpy(state[f"{side}_mean"]), _to_numpy(state[f"{side}_scatter"])
                d = mean.shape[0] if mean.ndim == 1 else -1
                if n < 1 or d < 1 or scatter.shape != (d, d):
                    raise InvalidArgument(f"{side}: expected samples >= 1, mean (d,) and scatter "
                                          f"(d, d), got {n}, {mean.shape} and {scatter.shape}")
                if restored._engine is None:
                    restored._start(d, str(mean.dtype), [mean])
                restored._engine.restore(real, n, mean.astype(restored._dtype),
                                         np.ascontiguousarray(scatter, dtype=restored._dtype))
        self.__dict__.update(restored.__dict__)


_STATE_ARRAYS = ("reference", "sums", "products", "norm_sums", "norm_products")
class ComparisonAccumulator:
    """The comparison of named layers accumulated batch by batch, as a model runs over a data
    loader: ``compute()`` returns the dict :func:`gaussot.compare_representations` returns on the
    concatenated batches (to rounding) for every metric — IGW (centered or not), BW within equal
    widths, linear and debiased CKA, NBS and the Procrustes angle — without keeping the
    activations. The C++ ``ComparisonAccumulator`` (``compare.hpp``) holds, for D = Σ d_i, the
    sums about a reference point that every metric needs: O(D² + kD) numbers.

    ``names`` label the layers; ``widths`` (their d_i) may be left to the first batch.
    ``update(batch)`` takes one batch of m inputs: a sequence of (m, d_i) arrays in ``names``
    order or a dict name → array (NumPy or DLPack; host or CUDA device memory). ``precision``
    ('float64' or 'float32') is the dtype of the state: NumPy batches of the other dtype are
    converted, other arrays must have it. ``backend`` 'auto' runs where the first batch lives
    (a CUDA device for device arrays, else the CPU); 'cpu', 'cuda' or 'cuda:N' fix it.

    The metrics are chosen when computing, with the keywords of compare_representations
    (``igw``, ``bw``, ``cka``, ``cka_debiased``, ``nbs``, ``procrustes``, ``centered`` and the
    ascent's options): the state serves all of them, so one accumulator gives any of them.

    Shards of a data set (processes, devices) each accumulate and are combined by ``merge``, or
    through the flat state: ``state_dict()`` gives NumPy arrays (``samples``, ``reference``,
    ``sums``, ``products``, ``norm_sums``, ``norm_products``) and ``load_state_dict`` takes them
    back. States about one reference add entrywise (all but ``reference``, with the samples
    summed): call ``rebase(reference)`` with a common point on every shard before an
    all-reduce of sums.

    Bad batches (a missing or unknown layer, a wrong width, an m that differs between layers,
    NaN/Inf) raise :class:`gaussot.InvalidArgument` naming the layer, and the accumulator is
    unchanged.
    """

    def __init__(self, names, widths=None, *, precision: str = "float64",
                 backend: str = "auto"):
        if isinstance(names, str):
            raise InvalidArgument(f"names: expected a sequence of layer names, got the string "
                                  f"{names!r}")
        self.names = [str(name) for name in names]
        if not self.names:
            raise InvalidArgument("names: is empty: nothing to compare")
        if len(set(self.names)) != len(self.names):
            raise InvalidArgument(f"names: has repeated names {self.names}")
        if precision not in ("float64", "float32"):
            raise InvalidArgument(f"precision: expected 'float64' or 'float32', got {precision!r}")
        self.precision = precision
        self.backend = backend
        self.widths = None
        self._engine = None
        self._backend_used = None
        if widths is not None:
            self._start([int(w) for w in widths], None if backend == "auto" else backend)

    def _start(self, widths, backend):
        """Creates the engine for these widths on `backend` ('auto' resolved: kept pending)."""
        if len(widths) != len(self.names):
            raise InvalidArgument(f"widths: {len(widths)} widths for {len(self.names)} names")
        self.widths = widths
        if backend is not None:
            self._engine = _ComparisonAccumulator(self.names, widths,
                                                  self.precision == "float32", backend)
            self._backend_used = backend

    def _layers(self, batch):
        """The batch as a list in names order, NumPy inputs converted to the state's dtype."""
        if isinstance(batch, dict):
            unknown = [key for key in batch if str(key) not in self.names]
            if unknown:
                raise InvalidArgument(f"batch: unknown layer(s) {unknown}; the layers are "
                                      f"{self.names}")
            missing = [name for name in self.names if name not in batch]
            if missing:
                raise InvalidArgument(f"batch: has no {', '.join(repr(m) for m in missing)} "
                                      "(every layer needs its activations in each batch)")
            layers = [batch[name] for name in self.names]
        elif isinstance(batch, (list, tuple)):
            if len(batch) != len(self.names):
                raise InvalidArgument(f"batch: has {len(batch)} arrays for {len(self.names)} "
                                      f"layers {self.names}")
            layers = list(batch)
        else:
            raise InvalidArgument("batch: expected a list of (m, d_i) arrays in names order or a "
                                  f"dict name -> array, got {type(batch).__name__}")
        converted = []
        for layer in layers:
            if isinstance(layer, (list, tuple)) or (isinstance(layer, np.ndarray)
                                                    and layer.dtype != self.precision):
                layer = np.asarray(layer, dtype=self.precision)
            converted.append(layer)
        return converted

    def update(self, batch) -> None:
        layers = self._layers(batch)
        if self._engine is None:
            for i, layer in enumerate(layers):
                shape = tuple(getattr(layer, "shape", ()))
                if len(shape) != 2:
                    raise InvalidArgument(f"layers[{i}] ('{self.names[i]}'): expected an (m, d_i) "
                                          f"array, got shape {shape}")
            widths = self.widths or [int(layer.shape[1]) for layer in layers]
            backend = _batch_backend(layers) if self.backend == "auto" else self.backend
            self._start(widths, backend)
        self._engine.update(layers)

    def merge(self, other: "ComparisonAccumulator") -> None:
        if not isinstance(other, ComparisonAccumulator):
            raise InvalidArgument(f"other: expected a ComparisonAccumulator, got "
                                  f"{type(other).__name__}")
        if other is self:
            raise InvalidArgument("other: is this accumulator (merge a copy)")
        if other.names != self.names or None not in (self.widths, other.widths) and \
                other.widths != self.widths:
            raise InvalidArgument(f"other: has layers {other.names} of widths {other.widths}, "
                                  f"this one {self.names} of widths {self.widths}")
        if other._engine is None or other.samples == 0:
            return
        if self._engine is None:
            self._start(other.widths, other._backend_used)
        self._engine.merge(other._engine)

    @property
    def samples(self) -> int:
        return 0 if self._engine is None else self._engine.samples

    def reset(self) -> None:
        if self._engine is not None:
            self._engine.reset()

    def compute(self, *, igw: bool = True, bw: bool = True, cka: bool = True,
                cka_debiased: bool = False, nbs: bool = False, procrustes: bool = False,
                centered: bool = False, ascent: bool = True,
                max_iterations: int = _IGW_ASCENT_DEFAULTS[0],
                tolerance: float = _IGW_ASCENT_DEFAULTS[1], restarts: int = 0,
                seed: int = 0) -> dict:
        """The dict of compare_representations (with these keywords) for everything added."""
        if self._engine is None:
            raise InvalidArgument("samples: need at least 2 inputs, got 0")
        return self._engine.compute(igw, bw, cka, cka_debiased, nbs, procrustes, centered,
                                    ascent, max_iterations, tolerance, restarts, seed)

    def rebase(self, reference) -> None:
        """Sums the same inputs about another point (length D = Σ d_i)."""
        if self._engine is None:
            raise InvalidArgument("rebase: the widths are not known yet (give widths= or add a "
                                  "batch first)")
        self._engine.rebase(np.asarray(_to_numpy(reference), dtype=self.precision))

    def state_dict(self) -> dict:
        state = {"names": list(self.names), "widths": self.widths, "samples": self.samples}
        if self._engine is not None:
            state.update(self._engine.state())
        return state

    def load_state_dict(self, state: dict) -> None:
        names = [str(name) for name in state.get("names", self.names)]
        if names != self.names:
            raise InvalidArgument(f"state: is for layers {names}, this accumulator has "
                                  f"{self.names}")
        widths = state.get("widths")
        if widths is None:
            self.reset()
            return
        missing = [key for key in ("samples",) + _STATE_ARRAYS if key not in state]
        if missing:
            raise InvalidArgument(f"state: has no {', '.join(missing)}")
        arrays = {key: np.ascontiguousarray(_to_numpy(state[key]), dtype=self.precision)
                  for key in _STATE_ARRAYS}
        shape = arrays["norm_sums"].shape
        if len(shape) != 2:
            raise InvalidArgument(f"norm_sums: expected a (k, D) array, got shape {shape}")
        engine = _ComparisonAccumulator(self.names, [int(w) for w in widths],
                                        self.precision == "float32",
                                        "cpu" if self.backend == "auto" else self.backend)
        engine.restore(int(state["samples"]), arrays["reference"], arrays["sums"],
                       arrays["products"], np.ascontiguousarray(arrays["norm_sums"].T),
                       arrays["norm_products"])
        self.widths = [int(w) for w in widths]
        self._engine = engine
        self._backend_used = "cpu" if self.backend == "auto" else self.backend
