"""Runs examples/python/digits_layers.py (small MLPs trained with scikit-learn on its digits,
layers compared with gaussot) and checks its results and picture."""

import os
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from examples_path import load_example

import reference as ref

pytest.importorskip("sklearn", reason="scikit-learn is not installed: the digits example needs it "
                                      "(pip install scikit-learn)")


@pytest.fixture(scope="module")
def example():
    return load_example("digits_layers.py")


@pytest.fixture(scope="module")
def run(example, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("digits")
    return example.main(["--out-dir", str(out_dir), "--format", "svg"])


def test_networks_learned_the_digits(run):
    assert len(run["networks"]) == 4
    assert all(accuracy > 0.85 for _, _, accuracy in run["networks"])
    # The input and every hidden layer of every network, on the same held-out images.
    assert run["names"] == ["input", "A1", "B1", "B2", "C1", "C2", "C3", "D1", "D2"]
    assert run["widths"] == [64, 32, 64, 32, 128, 64, 32, 48, 48]
    assert len({s.shape[0] for s in run["sets"]}) == 1


def test_matrices(run):
    cka, igw, rel, bw = run["cka"], run["igw"], run["igw_relative"], run["bw"]
    k = len(run["names"])
    for m in (cka, igw, rel):
        assert m.shape == (k, k)
        np.testing.assert_allclose(m, m.T, rtol=1e-9, atol=1e-12)
    # A layer against itself: CKA 1, IGW and BW 0 (relative to the scale of the matrix).
    np.testing.assert_allclose(np.diag(cka), 1.0, rtol=1e-12)
    assert np.all(np.abs(np.diag(igw)) <= 1e-6 * igw.max())
    assert np.all((cka > 0) & (cka <= 1 + 1e-12))
    assert np.all((rel >= -1e-12) & (rel <= 1 + 1e-12))
    # BW only between equal widths.
    widths = np.array(run["widths"])
    same = widths[:, None] == widths[None, :]
    assert np.all(np.isfinite(bw[same])) and np.all(np.isnan(bw[~same]))
    # (W2 of singular covariances, dead ReLU units here, is the square root of a W2² with
    # rounding errors of order ε‖S‖: compare squares.)
    assert np.all(np.diag(bw) ** 2 <= 1e-8 * np.nanmax(bw) ** 2)
    # Independent checks of one pair in NumPy: CKA from the n × n Gram matrices, IGW from the
    # centered closed form on NumPy's covariances.
    sets = run["sets"]
    np.testing.assert_allclose(cka[1, 4], ref.cka_gram(sets[1], sets[4]), rtol=1e-9)
    c1, c4 = np.cov(sets[1].T), np.cov(sets[4].T)
    np.testing.assert_allclose(igw[1, 4] ** 2, ref.igw_centered(c1, c4), rtol=1e-8)


def test_picture_and_data_files(run):
    picture = run["picture"]
    assert picture.endswith(".svg") and os.path.getsize(picture) > 1000
    root = ElementTree.parse(picture).getroot()
    rects = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(rects) == 1 + 3 * len(run["names"]) ** 2  # background + three heatmaps
    data = np.load(run["data"])
    np.testing.assert_array_equal(data["cka"], run["cka"])
    assert list(data["names"]) == run["names"]


def test_compare_representations_agrees_with_the_functions(example, run):
    out = example.compare_with_compare(run["sets"], run["names"])
    np.testing.assert_allclose(out["cka"], run["cka"], rtol=1e-9)
    # Squares: the distances are square roots of values with rounding errors of order ε‖S‖
    # (compare_representations writes exact zeros on the diagonal).
    np.testing.assert_allclose(out["igw"] ** 2, run["igw"] ** 2, rtol=1e-7,
                               atol=1e-8 * run["igw"].max() ** 2)
    np.testing.assert_allclose(out["bw"] ** 2, run["bw"] ** 2, rtol=1e-7,
                               atol=1e-8 * np.nanmax(run["bw"]) ** 2)


def test_float32_and_png(example, run, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: PNG output skipped")
    out = example.main(["--out-dir", str(tmp_path), "--format", "png", "--dtype", "float32",
                        "--method", "compare"])
    with open(out["picture"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_allclose(out["cka"], run["cka"], rtol=1e-3)
    np.testing.assert_allclose(out["igw_relative"], run["igw_relative"], atol=1e-3)
