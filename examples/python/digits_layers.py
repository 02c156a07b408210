#!/usr/bin/env python3
"""Compare the hidden layers of small neural networks with gaussot, on real data.

Four small multilayer perceptrons of different widths and depths are trained with scikit-learn on
its bundled handwritten digits (8x8 images, 10 classes; fixed seeds, a few seconds). Every hidden
layer of every network, and the input itself, is then evaluated on the same held-out images, and
all these representations are compared with each other:

* linear CKA (Kornblith et al. 2019): similarity of the activations, in [0, 1];
* IGW, inner-product Gromov-Wasserstein between the Gaussians fitted to the activations
  (Dandapanthula et al. 2025): compares layers of different widths; shown relative,
  IGW^2 / (|S_i|_F^2 + |S_j|_F^2), which is 0 for the same spectrum and at most 1. The means are
  dropped (centered Gaussians), which makes IGW exact;
* BW, the 2-Wasserstein distance between the fitted Gaussians, defined between layers of the
  same width only.

It writes a heatmap of the three matrices (digits_layers.png with matplotlib, else a hand-written
digits_layers.svg) and the matrices (digits_layers.npz) to --out-dir, and prints a short table.

    python examples/python/digits_layers.py [--out-dir DIR] [--format auto|png|svg]
                                            [--method functions|compare] [--dtype float64|float32]

--method functions calls gaussot's functions one by one (sample_moments, linear_cka,
igw_squared, w2_squared); --method compare calls gaussot.compare_representations once.
Needs numpy, scikit-learn and gaussot; matplotlib is optional.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

import gaussot

# Width(s) of the hidden layers, activation, short name.
NETWORKS = [
    ((32,), "relu", "A"),
    ((64, 32), "relu", "B"),
    ((128, 64, 32), "relu", "C"),
    ((48, 48), "tanh", "D"),
]


def train_networks(seed=0):
    """Trains the networks; returns them with the held-out inputs and their accuracies."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    x, y = load_digits(return_X_y=True)
    x = x / 16.0  # pixel intensities 0..16
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=seed,
                                                        stratify=y)
    networks = []
    # One BLAS thread: these products are small, and threaded OpenBLAS can be 30x slower on
    # them when the cores are busy.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 60 epochs are enough here
        for widths, activation, name in NETWORKS:
            net = MLPClassifier(hidden_layer_sizes=widths, activation=activation, max_iter=60,
                                random_state=seed)
            net.fit(x_train, y_train)
            networks.append((name, net, net.score(x_test, y_test)))
    return networks, x_test


def hidden_layers(net, x):
    """The activations of every hidden layer of a fitted MLPClassifier, by a forward pass with its
    weights (coefs_, intercepts_) and activation function."""
    functions = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
                 "logistic": lambda z: 1 / (1 + np.exp(-z)), "identity": lambda z: z}
    f = functions[net.activation]
    layers, h = [], x
    for weights, bias in zip(net.coefs_[:-1], net.intercepts_[:-1]):
        h = f(h @ weights + bias)
        layers.append(h)
    return layers


def representations(networks, x):
    """Names and (n, d) activation arrays: the input, then each network's hidden layers."""
    names, sets = ["input"], [x]
    for name, net, _ in networks:
        for i, h in enumerate(hidden_layers(net, x), start=1):
            names.append(f"{name}{i}")
            sets.append(h)
    return names, sets


def compare_with_functions(sets, dtype=np.float64):
    """CKA, IGW (centered, distance) and BW (distance, NaN across widths) matrices, one gaussot
    call per set or pair."""
    sets = [np.ascontiguousarray(s, dtype=dtype) for s in sets]
    k = len(sets)
    covs = [gaussot.sample_moments(s)[1] for s in sets]
    cka, igw, bw = np.ones((k, k)), np.zeros((k, k)), np.full((k, k), np.nan)
    for i in range(k):
        for j in range(k):
            if i != j:
                cka[i, j] = gaussot.linear_cka(sets[i], sets[j])
            igw[i, j] = np.sqrt(gaussot.igw_squared(covs[i], covs[j]))
            if sets[i].shape[1] == sets[j].shape[1]:
                bw[i, j] = np.sqrt(gaussot.w2_squared(covs[i], covs[j]))
    return {"cka": cka, "igw": igw, "bw": bw, "covs": covs}


def compare_with_compare(sets, names, dtype=np.float64):
    """The same matrices from one gaussot.compare_representations call."""
    sets = [np.ascontiguousarray(s, dtype=dtype) for s in sets]
    out = gaussot.compare_representations(sets, names, centered=True)
    covs = [gaussot.sample_moments(s)[1] for s in sets]
    return {"cka": out["cka"], "igw": out["igw"], "bw": out["bw"], "covs": covs}


def relative_igw(igw, covs):
    """IGW^2 / (|S_i|_F^2 + |S_j|_F^2): in [0, 1] for centered Gaussians, 0 for equal spectra."""
    norms = np.array([np.sum(np.asarray(c, np.float64) ** 2) for c in covs])
    return igw.astype(np.float64) ** 2 / (norms[:, None] + norms[None, :])


# ---- pictures -------------------------------------------------------------------------------------

PANELS = [("cka", "linear CKA"), ("igw_relative", "relative IGW\u00b2 (centered)"),
          ("bw", "BW (W2) distance, same widths")]


def plot_png(path, names, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    for ax, (key, title) in zip(axes, PANELS):
        values = np.ma.masked_invalid(results[key])
        cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
        image = ax.imshow(values, cmap=cmap)
        ax.set_xticks(range(len(names)), names, rotation=90)
        ax.set_yticks(range(len(names)), names)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("Hidden layers of four MLPs on sklearn digits (held-out images), compared "
                 "with gaussot")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# Viridis at 5 anchors, linearly interpolated (for the SVG without matplotlib).
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]])


def _color(t):
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    r, g, b = (_VIRIDIS[i] + (t - i) * (_VIRIDIS[i + 1] - _VIRIDIS[i])).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def plot_svg(path, names, results):
    """The three heatmaps as an SVG written by hand (no plotting library needed)."""
    cell, margin, gap, k = 34, 70, 60, len(names)
    width = 3 * (margin + k * cell) + 2 * gap + 20
    height = margin + k * cell + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for p, (key, title) in enumerate(PANELS):
        values = results[key]
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        x0 = 10 + p * (margin + k * cell + gap) + margin
        y0 = margin
        out.append(f'<text x="{x0}" y="{y0 - 40}" font-size="14">{title}</text>')
        out.append(f'<text x="{x0}" y="{y0 - 24}" fill="#555">range {low:.3g} to {high:.3g}'
                   f'{" (grey: different widths)" if key == "bw" else ""}</text>')
        for i in range(k):
            out.append(f'<text x="{x0 - 6}" y="{y0 + i * cell + cell / 2 + 4}" '
                       f'text-anchor="end">{names[i]}</text>')
            out.append(f'<text x="{x0 + i * cell + cell / 2}" y="{y0 + k * cell + 14}" '
                       f'text-anchor="middle">{names[i]}</text>')
            for j in range(k):
                v = values[i, j]
                fill = "#dddddd" if not np.isfinite(v) else _color(
                    (v - low) / (high - low) if high > low else 0.0)
                out.append(f'<rect x="{x0 + j * cell}" y="{y0 + i * cell}" width="{cell}" '
                           f'height="{cell}" fill="{fill}"/>')
                if np.isfinite(v):
                    light = (v - low) / (high - low) < 0.6 if high > low else True
                    out.append(f'<text x="{x0 + j * cell + cell / 2}" y="{y0 + i * cell + cell / 2 + 4}" '
                               f'text-anchor="middle" font-size="9" '
                               f'fill="{"white" if light else "black"}">{v:.2f}</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


# ---- main -----------------------------------------------------------------------------------------


def print_table(names, widths, networks, results):
    print("networks (held-out accuracy): " + ", ".join(
        f"{name} {'-'.join(map(str, net.hidden_layer_sizes))} {net.activation} {accuracy:.3f}"
        for name, net, accuracy in networks))
    print(f"{'layer':<6} {'width':>5}  {'closest other layer by CKA':<27} "
          f"{'closest by relative IGW':<24}")
    cka, rel = results["cka"], results["igw_relative"]
    for i, name in enumerate(names):
        others = [j for j in range(len(names)) if names[j][0] != name[0]]
        j_cka = max(others, key=lambda j: cka[i, j])
        j_igw = min(others, key=lambda j: rel[i, j])
        print(f"{name:<6} {widths[i]:>5}  {names[j_cka]:<6} CKA {cka[i, j_cka]:.3f}"
              f"{'':<10} {names[j_igw]:<6} {rel[i, j_igw]:.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=None,
                        help="folder for the picture and results (default: a new temporary one)")
    parser.add_argument("--format", choices=["auto", "png", "svg"], default="auto",
                        help="picture format: png needs matplotlib; auto picks png when it is "
                             "installed, else svg")
    parser.add_argument("--method", choices=["functions", "compare"], default="functions",
                        help="gaussot's functions one by one, or compare_representations")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    out_dir = args.out_dir or tempfile.mkdtemp(prefix="gaussot-digits-")
    os.makedirs(out_dir, exist_ok=True)
    fmt = args.format
    if fmt == "auto":
        try:
            import matplotlib  # noqa: F401

            fmt = "png"
        except ImportError:
            fmt = "svg"

    start = time.perf_counter()
    networks, x_test = train_networks(args.seed)
    trained = time.perf_counter()
    names, sets = representations(networks, x_test)
    dtype = np.dtype(args.dtype).type
    if args.method == "compare":
        results = compare_with_compare(sets, names, dtype)
    else:
        results = compare_with_functions(sets, dtype)
    results["igw_relative"] = relative_igw(results["igw"], results["covs"])
    compared = time.perf_counter()

    widths = [s.shape[1] for s in sets]
    picture = os.path.join(out_dir, f"digits_layers.{fmt}")
    (plot_png if fmt == "png" else plot_svg)(picture, names, results)
    data = os.path.join(out_dir, "digits_layers.npz")
    np.savez(data, names=np.array(names), widths=np.array(widths), cka=results["cka"],
             igw=results["igw"], igw_relative=results["igw_relative"], bw=results["bw"],
             accuracy=np.array([a for _, _, a in networks]))
    print_table(names, widths, networks, results)
    print(f"{len(sets)} representations of {x_test.shape[0]} held-out digits; training "
          f"{trained - start:.1f} s, gaussot ({args.method}, {args.dtype}) "
          f"{compared - trained:.2f} s")
    print(f"wrote {picture} and {data}")
    return {"names": names, "widths": widths, "sets": sets, "networks": networks,
            "picture": picture, "data": data, **results}


if __name__ == "__main__":
    main()
    sys.exit(0)
