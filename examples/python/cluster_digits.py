#!/usr/bin/env python3
"""Cluster "users" seen through two different networks with IGW k-means, on real data.

The heterogeneous clustering of the IGW paper (§7.3: users, each a set of documents, embedded
alternately by two sentence-embedding models of different widths, summarised by the spectra of
their embeddings' covariances and clustered with IGW k-means) on scikit-learn's bundled
handwritten digits:

* two small multilayer perceptrons with one tanh hidden layer of different widths (WIDTHS: 32
  and 64) are trained on all ten digits (fixed seeds, a few seconds);
* each "user" holds a few dozen images of one digit class (CLASSES, USERS per class, IMAGES
  images each, drawn at random from the class); users are embedded alternately by one network or
  the other, so that half of them are sets of points in R^32 and half in R^64;
* each network's activations are divided by one number, the square root of their total variance
  over all images (a network's scale is arbitrary: without this the clustering would first
  separate the networks);
* gaussot.cluster(metric="igw", k=3) fits a centered Gaussian to every user's activations and
  clusters the users with IGW k-means (Euclidean k-means of the zero-padded spectra), and maps
  them in 2-D by classical MDS of their IGW distances.

It prints the adjusted Rand index and the normalized mutual information of the clusters against
the users' true classes, and saves the MDS map (cluster_digits.png, with matplotlib; skipped,
saying so, without it).

    python examples/python/cluster_digits.py [--out FILE.png] [--seed N] [--dtype float64|float32]

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

WIDTHS = (32, 64)  # hidden widths of the two networks
CLASSES = (0, 1, 8)  # the users' digit classes (the true clusters)
USERS = 12  # users per class
IMAGES = 60  # images per user, drawn without replacement from its class (~180 images)


def train_networks(seed=0):
    """Two MLPClassifiers with one tanh hidden layer of WIDTHS units, trained on all the digits;
    returns them with the images (pixels in [0, 1]) and labels."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    x, y = load_digits(return_X_y=True)
    x = x / 16.0  # pixel intensities 0..16
    networks = []
    # One BLAS thread: these products are small, and threaded OpenBLAS can be 30x slower on
    # them when the cores are busy.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 epochs are enough here
        for width in WIDTHS:
            net = MLPClassifier(hidden_layer_sizes=(width,), activation="tanh", max_iter=100,
                                random_state=seed)
            networks.append(net.fit(x, y))
    return networks, x, y


def hidden_layer(net, x):
    """The hidden (tanh) activations of a fitted one-hidden-layer MLPClassifier."""
    return np.tanh(x @ net.coefs_[0] + net.intercepts_[0])


def make_users(networks, x, y, seed=0, classes=CLASSES, users=USERS, images=IMAGES):
    """The users' activation sets (images, width) and their true classes. Users alternate between
    the networks; each network's activations are scaled to unit total variance over all x."""
    activations = []
    for net in networks:
        h = hidden_layer(net, x)
        activations.append(h / np.sqrt(np.sum(np.var(h, axis=0))))
    rng = np.random.default_rng(seed)
    sets, labels, embedded_by = [], [], []
    for c in classes:
        pool = np.flatnonzero(y == c)
        for u in range(users):
            k = len(sets) % len(networks)
            sets.append(activations[k][rng.choice(pool, images, replace=False)])
            labels.append(c)
            embedded_by.append(k)
    return sets, np.array(labels), np.array(embedded_by)


def plot_map(path, result, labels, embedded_by):
    """The MDS map of the users: colour = cluster found, marker = network, label = true class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = result["embedding"]
    fig, ax = plt.subplots(figsize=(7, 6))
    colours = plt.get_cmap("tab10")
    markers = ["o", "s"]
    for k, width in enumerate(WIDTHS):
        for cluster in range(int(result["assignment"].max()) + 1):
            m = (embedded_by == k) & (result["assignment"] == cluster)
            ax.scatter(e[m, 0], e[m, 1], c=[colours(cluster)], marker=markers[k], s=45,
                       edgecolors="black", linewidths=0.4,
                       label=f"cluster {cluster}, {width}-wide network")
    for i, (px, py) in enumerate(e):
        ax.annotate(str(labels[i]), (px, py), textcoords="offset points", xytext=(4, 3),
                    fontsize=7, color="#444444")
    ax.set_title(f"IGW k-means of {len(labels)} digit users (classes {', '.join(map(str, CLASSES))})"
                 f"\nARI {result['ari']:.3f}, NMI {result['nmi']:.3f}; text: true class")
    ax.set_xlabel("MDS 1")
    ax.set_ylabel("MDS 2")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None,
                        help="the PNG of the MDS map (default: cluster_digits.png in a new "
                             "temporary folder); needs matplotlib")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the networks' training and of the users' images")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    networks, x, y = train_networks(args.seed)
    trained = time.perf_counter()
    sets, labels, embedded_by = make_users(networks, x, y, args.seed)
    sets = [s.astype(args.dtype) for s in sets]
    result = gaussot.cluster(sets, len(CLASSES), metric="igw", inputs_are="samples",
                             labels=labels)
    clustered = time.perf_counter()

    print("networks (training accuracy): " + ", ".join(
        f"{width}-wide {net.score(x, y):.3f}" for width, net in zip(WIDTHS, networks)))
    print(f"{len(sets)} users ({USERS} per class {', '.join(map(str, CLASSES))}, {IMAGES} images "
          f"each), embedded alternately in R^{WIDTHS[0]} and R^{WIDTHS[1]}")
    print(f"{'class':>5}  clusters of its users (network {WIDTHS[0]} | network {WIDTHS[1]})")
    for c in CLASSES:
        row = [" ".join(str(a) for a in result["assignment"][(labels == c) & (embedded_by == k)])
               for k in range(len(WIDTHS))]
        print(f"{c:>5}  {row[0]} | {row[1]}")
    print(f"IGW k-means: objective {result['objective']:.6g}, {result['iterations']} iterations, "
          f"MDS variance kept {result['embedding_variance_kept']:.3f}")
    print(f"ARI {result['ari']:.4f}  NMI {result['nmi']:.4f}  (1 = the true classes)")
    print(f"training {trained - start:.1f} s, gaussot ({args.dtype}) {clustered - trained:.2f} s")

    picture = None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no picture (pip install matplotlib)")
    else:
        picture = args.out or os.path.join(tempfile.mkdtemp(prefix="gaussot-cluster-"),
                                           "cluster_digits.png")
        if os.path.dirname(picture):
            os.makedirs(os.path.dirname(picture), exist_ok=True)
        plot_map(picture, result, labels, embedded_by)
        print(f"wrote {picture}")
    return {"result": result, "labels": labels, "embedded_by": embedded_by, "sets": sets,
            "networks": networks, "picture": picture}


if __name__ == "__main__":
    main()
    sys.exit(0)
