#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The `gaussot` command against its contract (CLI.md): fields, shapes, exit codes, one-line errors,
--out and --save-prefix, and nothing written on failure. Standard library only (no numpy)."""
import argparse
import ast
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest

GAUSSOT = None  # set from the command line


# ---- .npy files without numpy ---------------------------------------------------------------
def write_npy(path, values, shape, dtype="<f8", fortran=False, raw_tail=b""):
    """values: flat list in the order the file stores them."""
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        dtype, "True" if fortran else "False",
        "".join("%d, " % s for s in shape).rstrip(" ") if len(shape) != 1 else "%d," % shape[0])
    unpadded = 10 + len(header) + 1
    header += " " * ((64 - unpadded % 64) % 64) + "\n"
    code = {"<f8": "<%dd", "<f4": "<%df", "<i8": "<%dq"}[dtype]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(code % len(values), *values))
        f.write(raw_tail)


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", "bad magic"
    length = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + length].decode())
    size = math.prod(header["shape"])
    code = {"<f8": "d", "<f4": "f"}[header["descr"]]
    flat = struct.unpack("<%d%s" % (size, code), data[10 + length:])
    return header, list(flat)


def flatten(nested):
    if isinstance(nested, list):
        return [x for item in nested for x in flatten(item)]
    return [nested]


# ---- small dense helpers (row-major lists of lists) --------------------------------------------
def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))]
            for i in range(len(a))]


def max_abs_diff(a, b):
    return max(abs(x - y) for x, y in zip(flatten(a), flatten(b)))


SPD = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 2.0]]
SPD2 = [[2.0, -0.5, 0.0], [-0.5, 1.0, 0.1], [0.0, 0.1, 5.0]]


class CommandTest(unittest.TestCase):
    """The harness every command suite shares: a temporary folder for inputs and outputs, .npy
    inputs written from nested lists, and `gaussot` run with `--backend BACKEND` appended (none
    when `backend` is None)."""
    backend = None

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = self.dir.name
        self.files = 0

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def npy(self, nested, shape=None, **kwargs):
        """Writes a nested list (or a number) as an .npy file of its own shape; returns the path."""
        if shape is None:
            shape, level = [], nested
            while isinstance(level, list):
                shape.append(len(level))
                level = level[0] if level else None
        self.files += 1
        path = self.path("in%d.npy" % self.files)
        write_npy(path, flatten(nested), shape, **kwargs)
        return path

    def sides(self, a_cov, b_cov, a_mean=None, b_mean=None):
        """--a-cov, --b-cov (and --a-mean, --b-mean when given) options for nested lists."""
        args = ["--a-cov", self.npy(a_cov), "--b-cov", self.npy(b_cov)]
        if a_mean is not None:
            args += ["--a-mean", self.npy(a_mean)]
        if b_mean is not None:
            args += ["--b-mean", self.npy(b_mean)]
        return args

    def run_gaussot(self, *args, backend="default"):
        backend = self.backend if backend == "default" else backend
        options = ["--backend", backend] if backend else []
        # A guard against hangs; the sanitizer build runs several times slower and sets more.
        timeout = float(os.environ.get("GAUSSOT_CLI_TIMEOUT", "120"))
        return subprocess.run([GAUSSOT, *args, *options], capture_output=True, text=True,
                              timeout=timeout)

    def ok(self, *args, backend="default"):
        """Runs a command that must succeed; checks the leading fields CLI.md requires."""
        result = self.run_gaussot(*args, backend=backend)
        self.assertEqual(result.returncode, 0, result.stderr)
        document = json.loads(result.stdout)
        self.assertEqual(list(document)[:4], ["command", "backend", "precision", "time_ms"])
        self.assertEqual(document["command"], args[0])
        return document

    def fails(self, status, needles, *args):
        """Runs a command that must fail with `status`, nothing on stdout and one stderr line
        holding every needle."""
        result = self.run_gaussot(*args)
        self.assertEqual(result.returncode, status, result.stdout + result.stderr)
        self.assertEqual(result.stdout, "", "nothing on stdout on failure")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "one line on stderr: %r" % result.stderr)
        for needle in [needles] if isinstance(needles, str) else needles:
            self.assertIn(needle, lines[0])
        return lines[0]


class CommandLine(CommandTest):
    def ok(self, *args):
        result = self.run_gaussot(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def covariance_file(self, matrices, name="cov.npy", **kwargs):
        shape = [len(matrices), len(matrices[0]), len(matrices[0])]
        values = flatten(matrices)
        path = self.path(name)
        write_npy(path, values, shape, **kwargs)
        return path

    # ---- general conventions ----
    def test_help_lists_the_commands(self):
        result = self.run_gaussot("--help")
        self.assertEqual(result.returncode, 0)
        for command in ("info", "eigh", "sqrtm"):
            self.assertIn(command, result.stdout)
        sub = self.run_gaussot("sqrtm", "--help")
        self.assertEqual(sub.returncode, 0)
        for option in ("--backend", "--precision", "--out", "--save-prefix", "--cov"):
            self.assertIn(option, sub.stdout)

    def test_info_fields(self):
        info = self.ok("info")
        self.assertEqual(list(info)[:4], ["command", "backend", "precision", "time_ms"])
        self.assertEqual(info["command"], "info")
        self.assertEqual(info["precision"], "f64")
        self.assertRegex(info["version"], r"^\d+\.\d+\.\d+$")
        self.assertIn("cpu", info["backends"])
        self.assertIsInstance(info["devices"], list)
        self.assertEqual(info["backend"], "cuda" if info["devices"] else "cpu")
        f32 = self.ok("info", "--backend", "cpu", "--precision", "f32")
        self.assertEqual((f32["backend"], f32["precision"]), ("cpu", "f32"))

    def test_bad_usage_exits_2_with_one_line(self):
        self.fails(2, "subcommand", )
        self.fails(2, "frobnicate", "frobnicate")
        self.fails(2, "--backend", "info", "--backend", "gpu")
        self.fails(2, "--precision", "info", "--precision", "f16")
        self.fails(2, "--cov", "sqrtm")

    def test_cuda_backend_without_a_device(self):
        info = self.ok("info")
        if info["devices"]:
            self.skipTest("a CUDA device is present")
        self.fails(2, "--backend cuda", "info", "--backend", "cuda")

    # ---- sqrtm and eigh ----
    def test_sqrtm_of_one_matrix_and_of_a_batch(self):
        single = self.path("single.npy")
        write_npy(single, flatten(SPD), [3, 3])
        result = self.ok("sqrtm", "--cov", single, "--backend", "cpu")
        root = result["sqrt"]
        self.assertEqual((len(root), len(root[0])), (3, 3))
        self.assertLess(max_abs_diff(matmul(root, root), SPD), 1e-13)
        batch = self.covariance_file([SPD, SPD2])
        result = self.ok("sqrtm", "--cov", batch, "--inv-sqrt", "--backend", "cpu")
        self.assertEqual(len(result["sqrt"]), 2)
        for k, a in enumerate([SPD, SPD2]):
            s, inv = result["sqrt"][k], result["inv_sqrt"][k]
            self.assertLess(max_abs_diff(matmul(s, s), a), 1e-13)
            self.assertLess(max_abs_diff(matmul(s, inv), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]), 1e-13)

    def test_precisions_and_input_layouts(self):
        f32 = self.covariance_file([SPD], name="f32.npy", dtype="<f4")
        single = self.ok("sqrtm", "--cov", f32, "--backend", "cpu", "--precision", "f32")
        self.assertEqual(single["precision"], "f32")
        self.assertLess(max_abs_diff(matmul(single["sqrt"][0], single["sqrt"][0]), SPD), 1e-5)
        # Fortran order: the file stores the first index fastest.
        eigen_input = [[5.0, 2.0], [1.0, 5.0]]  # not symmetric on purpose: refused either way
        fortran = self.path("fortran.npy")
        write_npy(fortran, [eigen_input[r][c] for c in range(2) for r in range(2)], [2, 2],
                  fortran=True)
        self.fails(2, "not symmetric", "eigh", "--cov", fortran)
        symmetric = [[5.0, 2.0], [2.0, 1.0]]
        write_npy(fortran, [symmetric[r][c] for c in range(2) for r in range(2)], [2, 2],
                  fortran=True)
        values = self.ok("eigh", "--cov", fortran, "--backend", "cpu")["eigenvalues"]
        self.assertAlmostEqual(values[0], 3 + math.sqrt(8), places=12)
        self.assertAlmostEqual(values[1], 3 - math.sqrt(8), places=12)

    def test_eigh_values_decrease_and_vectors_are_columns(self):
        diagonal = self.covariance_file([[[1.0, 0, 0], [0, 3.0, 0], [0, 0, 2.0]]])
        result = self.ok("eigh", "--cov", diagonal, "--backend", "cpu")
        self.assertEqual(result["eigenvalues"], [[3.0, 2.0, 1.0]])
        vectors = result["eigenvectors"][0]
        self.assertEqual([abs(vectors[r][0]) for r in range(3)], [0.0, 1.0, 0.0])  # column 0
        only = self.ok("eigh", "--cov", diagonal, "--values-only", "--backend", "cpu")
        self.assertNotIn("eigenvectors", only)

    # ---- bad input ----
    def test_bad_input_files(self):
        good = self.covariance_file([SPD])
        self.fails(2, "--cov", "sqrtm", "--cov", self.path("missing.npy"))
        truncated = self.path("truncated.npy")
        with open(good, "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[:-8])
        self.fails(2, "truncated", "sqrtm", "--cov", truncated)
        integers = self.path("int.npy")
        write_npy(integers, [1] * 9, [3, 3], dtype="<i8")
        self.fails(2, "dtype", "sqrtm", "--cov", integers)
        vector = self.path("vector.npy")
        write_npy(vector, [1.0, 2.0, 3.0], [3])
        self.fails(2, "shape", "sqrtm", "--cov", vector)
        rectangular = self.path("rect.npy")
        write_npy(rectangular, [1.0] * 6, [2, 3])
        self.fails(2, "square", "sqrtm", "--cov", rectangular)
        nan = self.covariance_file([SPD, [[1.0, 0, 0], [0, float("nan"), 0], [0, 0, 1.0]]],
                                   name="nan.npy")
        self.fails(2, "batch item 1", "sqrtm", "--cov", nan)
        asymmetric = self.covariance_file([SPD, SPD, [[1.0, 0.5, 0], [0, 1.0, 0], [0, 0, 1.0]]],
                                          name="asym.npy")
        self.fails(2, "batch item 2 is not symmetric", "sqrtm", "--cov", asymmetric)
        indefinite = self.covariance_file([SPD, [[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1.0]]],
                                          name="indefinite.npy")
        line = self.fails(2, "batch item 1 is not positive semidefinite", "sqrtm", "--cov",
                          indefinite, "--backend", "cpu")
        self.assertIn("--cov", line)

    # ---- outputs ----
    def test_out_and_save_prefix(self):
        batch = self.covariance_file([SPD, SPD2])
        out = self.path("result.json")
        prefix = self.path("run_")
        result = self.run_gaussot("sqrtm", "--cov", batch, "--inv-sqrt", "--out", out,
                                  "--save-prefix", prefix, "--backend", "cpu")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        with open(out) as f:
            document = json.load(f)
        for name in ("sqrt", "inv_sqrt"):
            header, values = read_npy(prefix + name + ".npy")
            self.assertEqual(header["shape"], (2, 3, 3))
            self.assertEqual(header["descr"], "<f8")
            self.assertEqual(values, flatten(document[name]))  # bit for bit
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         sorted(["cov.npy", "result.json", "run_sqrt.npy", "run_inv_sqrt.npy"]))

    def test_nothing_is_written_on_failure(self):
        indefinite = self.covariance_file([[[1.0, 2.0], [2.0, 1.0]]])
        out = self.path("result.json")
        prefix = self.path("run_")
        self.fails(2, "not positive semidefinite", "sqrtm", "--cov", indefinite, "--out", out,
                   "--save-prefix", prefix, "--backend", "cpu")
        self.assertEqual(os.listdir(self.tmp), ["cov.npy"])
        good = self.covariance_file([SPD], name="good.npy")
        self.fails(2, "--out", "sqrtm", "--cov", good, "--out",
                   self.path("no/such/dir/result.json"), "--save-prefix", prefix)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["cov.npy", "good.npy"])


def main():
    """Runs the calling script's tests against the binary named by --gaussot."""
    global GAUSSOT
    parser = argparse.ArgumentParser()
    parser.add_argument("--gaussot", required=True, help="path of the gaussot binary")
    args, rest = parser.parse_known_args()
    GAUSSOT = os.path.abspath(args.gaussot)
    unittest.main(module="__main__", argv=[sys.argv[0], "-v", *rest])


def gaussot_path():
    """The binary under test (set by main)."""
    return GAUSSOT


if __name__ == "__main__":
    main()
