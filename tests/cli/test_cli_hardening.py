#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input for every `gaussot` command, table-driven (CLI.md: exit 2 on bad usage or bad input
with one stderr line naming the argument and batch item, 1 on a numerical failure; never a crash
or a partial output file). For each command, every file argument gets every fault of
format_faults() (missing, a directory, empty, truncated, malformed headers, other dtypes, absurd
shapes) and value_faults() (NaN and Inf), and the shape and value faults of its kind (rank, squareness, empty axes, dimensions and
counts against the other side, symmetry, definiteness, weights); every numeric option gets
negative, zero, NaN, infinite, non-numeric and absurd values; --out and --save-prefix point into a
missing folder. Each case must exit with its status, print nothing on stdout and exactly one line
on stderr holding the option (and the batch item), and write nothing at all. Standard library
only; every case runs on tiny arrays (d = 2, k = 2), ngw with --steps 1."""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CommandTest, flatten, main  # noqa: E402

# ---- inputs: tiny, valid, batched (k = 2, d = 2) ------------------------------------------------
A = [[2.0, 0.5], [0.5, 1.0]]
B = [[1.0, -0.2], [-0.2, 3.0]]
C3 = [[2.0, 0.0, 0.1], [0.0, 1.0, 0.0], [0.1, 0.0, 1.5]]  # another dimension
ASYMMETRIC = [[1.0, 0.7], [0.2, 1.0]]
INDEFINITE = [[1.0, 2.0], [2.0, 1.0]]
SINGULAR = [[1.0, 1.0], [1.0, 1.0]]
MEANS = [[0.5, -1.0], [0.0, 1.0]]
SAMPLES = [[[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0], [1.0, 3.0]],
           [[1.0, 1.0], [0.5, 2.0], [2.0, 0.0], [0.0, 0.5], [1.5, 1.5]]]
CONSTANT = [[1.0, 2.0]] * 5
NAN, INF = float("nan"), float("inf")
SHOW = bool(os.environ.get("GAUSSOT_SHOW_CASES"))  # print every case's label and stderr line

DTYPE_CODES = {"<f8": "<%dd", "<f4": "<%df", "<i8": "<%dq", "<f2": "<%de", ">f8": ">%dd",
               "|b1": "%d?", "<c16": None, "|O": None}


def npy_bytes(shape, values=None, descr="<f8", shape_text=None, header=None):
    """An .npy file as bytes; `header` (the dict text) or `shape_text` replace what `shape` and
    `descr` would give, for malformed headers."""
    if header is None:
        if shape_text is None:
            shape_text = "(%s)" % ("%d," % shape[0] if len(shape) == 1 else
                                   ", ".join("%d" % s for s in shape))
        header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
    payload = b""
    if values is not None:
        code = DTYPE_CODES.get(descr)
        if code is None:  # complex and object payloads: any bytes, refused by dtype first
            payload = b"\0" * (16 * len(values))
        elif descr == "|b1":
            payload = struct.pack(code % len(values), *[bool(v) for v in values])
        elif descr == "<i8":
            payload = struct.pack(code % len(values), *[int(v) for v in values])
        else:
            payload = struct.pack(code % len(values), *values)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def without(args, option):
    """`args` without `option` and its value: a case gives its own value."""
    args = list(args)
    while option in args:
        at = args.index(option)
        del args[at:at + 2]
    return args


def shape_of(nested):
    shape = []
    while isinstance(nested, list):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return shape


def good_bytes(nested, descr="<f8"):
    return npy_bytes(shape_of(nested), flatten(nested), descr)


def deep_copy(nested):
    return [deep_copy(v) for v in nested] if isinstance(nested, list) else nested


def with_item(nested, item, value):
    """A copy of a batch with `value` as the first entry of item `item` (None: of the array)."""
    copy = deep_copy(nested)
    target = copy if item is None else copy[item]
    while isinstance(target[0], list):
        target = target[0]
    target[0] = value
    return copy


# ---- faults -----------------------------------------------------------------------------------
class Arr:
    """An .npy file given by its shape and flat values (shapes nested lists cannot express)."""

    def __init__(self, shape, values=(), descr="<f8"):
        self.shape, self.values, self.descr = list(shape), list(values), descr


class Raw:
    def __init__(self, data):
        self.data = data


MISSING, DIRECTORY = object(), object()


def format_faults(nested):
    """Faults any .npy input must refuse (label, content, needles): the file, its header, its
    dtype and its size."""
    good = good_bytes(nested)
    n = len(flatten(nested))
    return [
        ("missing file", MISSING, ["cannot open"]),
        ("a directory", DIRECTORY, ["directory"]),
        ("empty file", Raw(b""), ["not a .npy file"]),
        ("header cut", Raw(good[:30]), ["truncated"]),
        ("data cut", Raw(good[:-4]), ["truncated"]),
        ("bytes after the data", Raw(good + b"\0" * 8), ["unexpected bytes"]),
        ("bad magic", Raw(b"\x93NUMPZ" + good[6:]), ["magic"]),
        ("bad version", Raw(good[:6] + b"\x09\x00" + good[8:]), ["version 9.0"]),
        ("garbage header", Raw(npy_bytes(None, header="hello, world")), ["malformed"]),
        ("shape not a tuple", Raw(npy_bytes(None, flatten(nested), shape_text="[%d]" % n)),
         ["malformed"]),
        ("negative dimension", Raw(npy_bytes(None, shape_text="(-2, 2)")), ["malformed"]),
        ("int64", Raw(good_bytes(nested, "<i8")), ["dtype '<i8'"]),
        ("float16", Raw(good_bytes(nested, "<f2")), ["dtype '<f2'"]),
        ("big-endian float64", Raw(good_bytes(nested, ">f8")), ["big-endian"]),
        ("complex128", Raw(good_bytes(nested, "<c16")), ["dtype '<c16'"]),
        ("bool", Raw(good_bytes(nested, "|b1")), ["dtype '|b1'"]),
        ("object", Raw(good_bytes(nested, "|O")), ["dtype '|O'"]),
        ("shape (1e9, 1e9, 1e9), tiny file", Arr([10 ** 9] * 3), ["absurd shape"]),
        ("shape (1e5, 1e5, 1e5), tiny file", Arr([10 ** 5] * 3), ["truncated"]),
        ("0-d array", Arr([], [1.0]), ["got ()"]),
    ]


def value_faults(nested, batched):
    """NaN and +-Inf in item 1 (or in the single item)."""
    item = 1 if batched else None
    where = ["batch item 1"] if batched else []
    faults = []
    for label, value in (("NaN", NAN), ("+Inf", INF), ("-Inf", -INF)):
        faults.append((label + " entry", with_item(nested, item, value),
                       ["NaN or infinite"] + where))
    return faults


def covariance_faults(batched):
    """Shape and value faults of a (k, d, d) (or (d, d)) covariance input."""
    faults = [
        ("vector (d,)", [1.0, 2.0], ["expected shape"]),
        ("rank 4", Arr([1, 2, 2, 2], [1.0] * 8), ["expected shape"]),
        ("(k, d, d+1)", Arr([2, 2, 3], [1.0] * 12), ["square"]),
        ("(d, d+1)", Arr([2, 3], [1.0] * 6), ["square"]),
        ("k = 0", Arr([0, 2, 2]), ["(0, 2, 2)"]),
        ("d = 0", Arr([2, 0, 0]), ["(2, 0, 0)"]),
    ]
    if batched:
        faults += [
            ("non-symmetric item 1", [A, ASYMMETRIC], ["batch item 1 is not symmetric"]),
            ("f32 overflow in item 1", [A, [[1e300, 0.0], [0.0, 1.0]]],
             ["batch item 1", "NaN or infinite"], ["--precision", "f32"]),
        ]
    else:
        faults.append(("non-symmetric", ASYMMETRIC, ["is not symmetric"]))
    return faults


def psd_faults(batched):
    """Covariances that are not positive semidefinite, for commands that need them so."""
    if batched:
        return [("indefinite item 1", [A, INDEFINITE], ["batch item 1", "positive semidefinite"])]
    return [("indefinite", INDEFINITE, ["positive semidefinite"])]


def mean_faults(batched):
    faults = [
        ("rank 3", Arr([2, 2, 2], [0.0] * 8), ["expected shape"]),
        ("k = 0", Arr([0, 2]), ["(0, 2)"]),
        ("d = 0", Arr([2, 0]), ["(2, 0)"]),
        ("other dimension", Arr([2, 3] if batched else [3], [0.0] * (6 if batched else 3)),
         ["to match"]),
    ]
    if batched:
        faults += [("3 items for 2", Arr([3, 2], [0.0] * 6), ["to match"]),
                   ("unbatched for a batch", [0.0, 1.0], ["to match"])]
    else:
        faults.append(("batched for one", MEANS, ["to match"]))
    return faults


def sample_faults(batched):
    faults = [
        ("vector (n,)", [1.0, 2.0, 3.0], ["expected shape"]),
        ("rank 4", Arr([1, 2, 5, 2], [1.0] * 20), ["expected shape"]),
        ("n = 1", Arr([2, 1, 2] if batched else [1, 2], [1.0] * (4 if batched else 2)),
         ["at least 2 samples"]),
        ("n = 0", Arr([2, 0, 2]), ["(2, 0, 2)"]),
        ("d = 0", Arr([2, 5, 0]), ["(2, 5, 0)"]),
        ("k = 0", Arr([0, 5, 2]), ["(0, 5, 2)"]),
    ]
    return faults


def weight_faults(k):
    """--weights (k,) of a set command: the library checks the values, named as --weights."""
    return [
        ("rank 2", Arr([k, 1], [1.0] * k), ["expected shape"]),
        ("k = 0", Arr([0]), ["(0,)"]),
        ("length k + 1", [1.0] * (k + 1), ["length %d" % (k + 1)]),
        ("negative", [1.0] * (k - 1) + [-1.0], ["item %d" % (k - 1)]),
        ("all zero", [0.0] * k, ["positive sum"]),
    ]


def number_faults(kind):
    """Bad values of a numeric option: positive (> 0), non-negative (>= 0), count (integer >= 0),
    positive count (integer >= 1)."""
    common = [("nan", "nan"), ("abc", "abc"), ("empty", ""), ("1e400", "1e400")]
    if kind == "positive":
        return common + [("0", "0"), ("-1", "-1"), ("inf", "inf"), ("-inf", "-inf")]
    if kind == "non-negative":
        return common + [("-1", "-1"), ("inf", "inf"), ("-inf", "-inf")]
    if kind == "count":
        return common + [("-1", "-1"), ("1.5", "1.5"), ("2^64", "18446744073709551616")]
    if kind == "positive count":
        return common + [("0", "0"), ("-1", "-1"), ("1.5", "1.5"),
                         ("2^64", "18446744073709551616")]
    if kind == "unit interval":
        return common + [("-0.1", "-0.1"), ("1.5", "1.5"), ("inf", "inf"), ("-inf", "-inf")]
    raise ValueError(kind)


# ---- commands ---------------------------------------------------------------------------------
class Command:
    """A valid invocation: file options (option -> (kind, nested value)), other arguments, and
    what the command needs (sides of the same dimension, PSD covariances); sides with a partner
    pair their batches (a count mismatch is refused)."""

    def __init__(self, name, files, extra=(), same_dimension=True, psd=True, batched=True,
                 numbers=(), partner=None):
        self.name, self.files, self.extra = name, dict(files), list(extra)
        self.same_dimension, self.psd, self.batched = same_dimension, psd, batched
        self.numbers = list(numbers)  # (option, kind)
        # option -> the option of the other side (dimension and count checks)
        self.partner = partner or {}


def sides(kind, batched=True):
    """Files of the two sides: means and covariances, or sample sets."""
    if kind == "cov":
        if batched:
            return {"--a-cov": ("cov", [A, B]), "--a-mean": ("mean", MEANS),
                    "--b-cov": ("cov", [B, A]), "--b-mean": ("mean", MEANS[::-1])}
        return {"--a-cov": ("cov", A), "--a-mean": ("mean", MEANS[0]), "--b-cov": ("cov", B),
                "--b-mean": ("mean", MEANS[1])}
    if batched:
        return {"--a-samples": ("samples", SAMPLES), "--b-samples": ("samples", SAMPLES[::-1])}
    return {"--a-samples": ("samples", SAMPLES[0]), "--b-samples": ("samples", SAMPLES[1])}


PARTNERS = {"--a-cov": "--b-cov", "--b-cov": "--a-cov", "--a-samples": "--b-samples",
            "--b-samples": "--a-samples"}
ASCENT = [("--restarts", "count"), ("--max-iterations", "count"), ("--tolerance", "non-negative")]
NGW_SMALL = ["--steps", "1", "--map-widths", "4", "--potential-widths", "4", "--batch", "8",
             "--eval-samples", "16"]
NGW_NUMBERS = [("--steps", "count"), ("--k-t", "count"), ("--k-f", "count"), ("--k-p", "count"),
               ("--batch", "positive count"), ("--lr-map", "positive"),
               ("--lr-potential", "positive"), ("--p-step", "positive"),
               ("--eval-samples", "positive count")]


def two_sided(name, **kwargs):
    """The command with both side forms: covariances and means, and sample sets."""
    extra = kwargs.pop("extra", [])
    batched = kwargs.get("batched", True)
    return [Command(name, sides("cov", batched), extra, partner=PARTNERS, **kwargs),
            Command(name, sides("samples", batched), extra, partner=PARTNERS, **kwargs)]


COMMANDS = [
    Command("eigh", {"--cov": ("cov", [A, B])}, psd=False),
    Command("sqrtm", {"--cov": ("cov", [A, B])}),
    Command("sqrtm", {"--cov": ("cov", A)}, batched=False),
    *two_sided("bw"),
    *two_sided("bw-map"),
    *two_sided("bw-geodesic", extra=["--t", "0.5"], numbers=[("--t", "unit interval")]),
    *two_sided("fid"),
    *two_sided("igw", same_dimension=False, numbers=ASCENT),
    *two_sided("igw-map", same_dimension=False, numbers=ASCENT),
    *two_sided("entropic", extra=["--sigma", "1"], numbers=[("--sigma", "positive")]),
    *two_sided("entropic", extra=["--sigma", "1", "--gamma", "2", "--mass-a", "1", "--mass-b",
                                  "2"],
               numbers=[("--gamma", "positive"), ("--mass-a", "positive"),
                        ("--mass-b", "positive")]),
    *two_sided("ngw", extra=NGW_SMALL, same_dimension=False, batched=False,
               numbers=NGW_NUMBERS),
    Command("cka", sides("samples"), same_dimension=False, partner=PARTNERS),
    Command("bw-barycenter", {"--cov": ("cov", [A, B]), "--mean": ("mean", MEANS),
                              "--weights": ("weights", [1.0, 3.0])},
            numbers=[("--tolerance", "non-negative"), ("--max-iterations", "positive count")]),
    Command("mmot", {"--cov": ("cov", [A, B]), "--mean": ("mean", MEANS),
                     "--weights": ("weights", [1.0, 3.0])},
            numbers=[("--tolerance", "non-negative"), ("--max-iterations", "count"),
                     ("--check-every", "positive count"), ("--samples", "count")]),
    Command("igw-barycenter", {"--cov": ("cov", [A, B]), "--weights": ("weights", [1.0, 3.0])}),
    Command("cluster", {"--cov": ("cov", [A, B])}, extra=["--k", "1"],
            numbers=[("--k", "positive count"), ("--n-init", "positive count"),
                     ("--max-iterations", "count")]),
    Command("cluster", {"--cov": ("cov", [A, B]), "--mean": ("mean", MEANS)},
            extra=["--k", "2", "--metric", "bw"]),
    Command("sinkhorn", {"--a-samples": ("samples", SAMPLES),
                         "--b-samples": ("samples", SAMPLES[::-1]),
                         "--a-weights": ("point weights", [[0.2] * 5, [0.1, 0.1, 0.2, 0.3, 0.3]]),
                         "--b-weights": ("point weights", [[0.2] * 5] * 2)},
            extra=["--sigma", "1"], partner=PARTNERS,
            numbers=[("--sigma", "positive"), ("--tolerance", "non-negative"),
                     ("--max-iterations", "positive count"), ("--check-every", "positive count")]),
    Command("sinkhorn", {"--a-samples": ("samples", SAMPLES),
                         "--b-samples": ("samples", SAMPLES[::-1])},
            extra=["--sigma", "1", "--gamma", "1", "--mass-a", "1", "--mass-b", "2"],
            partner=PARTNERS,
            numbers=[("--gamma", "positive"), ("--mass-a", "positive"),
                     ("--mass-b", "positive")]),
]


class Hardening(CommandTest):
    backend = "cpu"
    cases = 0

    @classmethod
    def tearDownClass(cls):
        print("\n%s: %d bad-input cases" % (os.path.basename(__file__), Hardening.cases),
              file=sys.stderr)

    # ---- running one case ----
    def materialise(self, content):
        """A path holding `content`: a nested list, Arr, Raw, MISSING or DIRECTORY."""
        self.files += 1
        path = self.path("in%d.npy" % self.files)
        if content is MISSING:
            return path
        if content is DIRECTORY:
            os.mkdir(path)
            return path
        if isinstance(content, Arr):
            data = npy_bytes(content.shape, content.values, content.descr)
        elif isinstance(content, Raw):
            data = content.data
        else:
            data = good_bytes(content)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def listing(self):
        found = set()
        for root, dirs, files in os.walk(self.tmp):
            for name in dirs + files:
                found.add(os.path.relpath(os.path.join(root, name), self.tmp))
        return found

    def refused(self, label, args, needles, status=2, out=True):
        """Runs a case that must fail: `status`, nothing on stdout, one stderr line with every
        needle, nothing written (the temporary folder is unchanged)."""
        Hardening.cases += 1
        with self.subTest(label):
            outputs = ["--save-prefix", self.path("run_")]
            if out:
                outputs += ["--out", self.path("out.json")]
            before = self.listing()
            result = subprocess.run([test_cli.gaussot_path(), *args, *outputs, "--backend", "cpu"],
                                    capture_output=True, text=True, timeout=60)
            shown = "%s\nstatus %d\nstdout %r\nstderr %r" % (" ".join(args), result.returncode,
                                                             result.stdout[:300], result.stderr)
            self.assertEqual(result.returncode, status, shown)
            self.assertEqual(result.stdout, "", shown)
            lines = result.stderr.split("\n")
            self.assertTrue(len(lines) == 2 and lines[0].strip() and lines[1] == "",
                            "exactly one stderr line: " + shown)
            for needle in needles:
                self.assertIn(needle, lines[0], shown)
            self.assertEqual(self.listing(), before, "nothing written: " + shown)
            if SHOW:
                print("%s | %d | %s" % (label, result.returncode, lines[0]), file=sys.stderr)

    def arguments(self, command, replace=None, drop=()):
        """The command's valid arguments, with option -> content replaced and options dropped."""
        args = [command.name]
        for option, (kind, value) in command.files.items():
            if option in drop:
                continue
            content = replace[1] if replace and replace[0] == option else value
            # An option name, or the name of positional files (compare's FILES).
            args += [option, self.materialise(content)] if option.startswith("--") else [
                self.materialise(content)]
        return args + command.extra

    def sweep(self, name):
        """Every case for every invocation of command `name` in COMMANDS."""
        for command in (c for c in COMMANDS if c.name == name):
            # The valid invocation passes: the faults below are the only thing wrong.
            result = self.run_gaussot(*self.arguments(command))
            self.assertEqual(result.returncode, 0, result.stderr)
            for option, (kind, value) in command.files.items():
                self.sweep_file(command, option, kind, value)
            for option, kind in command.numbers:
                for label, text in number_faults(kind):
                    self.refused("%s %s %s" % (name, option, label),
                                 without(self.arguments(command), option) + [option, text],
                                 [option], out=len(text) % 2 == 0)
            self.sweep_outputs(command)

    def file_cases(self, command, option, kind, value):
        """(label, content, needles, extra arguments, options dropped) for one file option."""
        batched = command.batched and kind != "weights"
        if kind == "point weights":
            batched = True
        cases = [(label, content, needles, [], ()) for label, content, needles in
                 format_faults(value) + value_faults(value, batched)]
        add = cases.append
        own = option.replace("-cov", "-mean") if option.endswith("-cov") else None
        partner = command.partner.get(option)
        if kind == "cov":
            for fault in covariance_faults(batched):
                label, content, needles = fault[:3]
                add((label, content, needles, fault[3] if len(fault) > 3 else [], ()))
            if command.psd:
                for label, content, needles in psd_faults(batched):
                    add((label, content, needles, [], ()))
            if partner and command.same_dimension:
                other = [C3, C3] if batched else C3
                add(("other dimension than " + partner, other, ["dimension 3", partner], [],
                     (own,)))
            if partner and batched:
                add(("3 items against 2", [A, B, A], ["batch items"], [], (own,)))
        elif kind == "mean":
            for label, content, needles in mean_faults(batched):
                add((label, content, needles, [], ()))
        elif kind == "samples":
            for label, content, needles in sample_faults(batched):
                add((label, content, needles, [], ()))
            if partner and command.same_dimension:
                other = [[row + [1.0] for row in s] for s in SAMPLES]
                add(("other dimension than " + partner, other if batched else other[0],
                     ["dimension 3"], [], ()))
            if partner and batched:
                add(("3 items against 2", SAMPLES + SAMPLES[:1], ["batch items"], [], ()))
        elif kind == "weights":
            for label, content, needles in weight_faults(len(value)):
                add((label, content, needles, [], ()))
        elif kind == "point weights":
            add(("length n + 1", [[0.2] * 6] * 2, ["length 6"], [], ()))
            add(("3 vectors for 2 problems", [[0.2] * 5] * 3, ["3 weight vectors"], [], ()))
            add(("rank 3", Arr([2, 5, 1], [0.2] * 10), ["expected shape"], [], ()))
            add(("negative item 1", [[0.2] * 5, [-0.2] + [0.3] * 4], ["batch item 1"], [], ()))
            add(("all zero", [[0.0] * 5] * 2, ["batch item 0", "> 0"], [], ()))
        return cases

    def sweep_file(self, command, option, kind, value):
        for label, content, needles, extra, drop in self.file_cases(command, option, kind, value):
            args = self.arguments(command, (option, content), drop)
            path = args[args.index(option) + 1]
            self.refused("%s %s: %s" % (command.name, option, label), args + extra,
                         [option, path] + needles, out=self.files % 2 == 0)

    def sweep_outputs(self, command):
        """--out into a missing folder, an existing folder as --out, --save-prefix into a missing
        folder, --threads out of range: refused before any work, nothing written."""
        missing = self.path("no_such_dir")
        for label, options, needle in (
                ("--out in a missing folder", ["--out", os.path.join(missing, "r.json")], "--out"),
                ("--out is a folder", ["--out", self.tmp], "--out"),
                ("--save-prefix in a missing folder",
                 ["--save-prefix", os.path.join(missing, "run_")], "--save-prefix"),
                ("--threads -1", ["--threads", "-1"], "--threads"),
                ("--threads abc", ["--threads", "abc"], "--threads"),
                ("--threads 1e12", ["--threads", "1000000000000"], "--threads"),
                ("--threads 100000", ["--threads", "100000"], "--threads")):
            # The case's own --out / --save-prefix come after and would win: run without them.
            Hardening.cases += 1
            with self.subTest("%s %s" % (command.name, label)):
                args = self.arguments(command) + options
                before = self.listing()
                result = self.run_gaussot(*args)
                shown = "%s\n%r" % (label, result)
                self.assertEqual(result.returncode, 2, shown)
                self.assertEqual(result.stdout, "", shown)
                self.assertTrue(result.stderr.endswith("\n") and result.stderr.count("\n") == 1
                                and result.stderr.strip(), "exactly one stderr line: " + shown)
                self.assertIn(needle, result.stderr, shown)
                self.assertEqual(self.listing(), before, shown)
                self.assertFalse(os.path.exists(missing))
                if SHOW:
                    print("%s %s | %d | %s" % (command.name, label, result.returncode,
                                              result.stderr.strip()), file=sys.stderr)

    def test_unreadable_files(self):
        """chmod 000 inputs, one per kind of file option (root reads them anyway: skipped)."""
        probe = self.materialise(A)
        os.chmod(probe, 0)
        try:
            with open(probe, "rb"):
                self.skipTest("files with mode 000 stay readable here (running as root?)")
        except PermissionError:
            pass
        cases = [("sqrtm", "--cov", []), ("bw", "--a-mean", ["--a-cov", [A, B]]),
                 ("fid", "--a-samples", ["--b-samples", SAMPLES]),
                 ("bw-barycenter", "--weights", ["--cov", [A, B]]),
                 ("sinkhorn", "--a-weights", ["--a-samples", SAMPLES[0], "--b-samples",
                                              SAMPLES[1], "--sigma", "1"]),
                 ("ngw", "--apply", ["--a-cov", A, "--b-cov", B, *NGW_SMALL]),
                 ("ngw", "--load-model", ["--a-cov", A, "--b-cov", B, *NGW_SMALL])]
        for command, option, rest in cases:
            args = [command] + [self.materialise(v) if isinstance(v, list) else v for v in rest]
            path = self.materialise(A if option != "--apply" else SAMPLES[0])
            os.chmod(path, 0)
            self.refused("%s %s unreadable" % (command, option), args + [option, path],
                         [option, path])
        path = self.materialise(SAMPLES[0])
        os.chmod(path, 0)
        self.refused("compare FILES unreadable", ["compare", self.materialise(SAMPLES[1]), path],
                     [path])

    # ---- one test per command ----
    def test_info(self):
        self.sweep_outputs(Command("info", {}))

    def test_eigh(self):
        self.sweep("eigh")

    def test_sqrtm(self):
        self.sweep("sqrtm")
        # --inv-sqrt needs positive definite input: a singular item is refused by name.
        self.refused("sqrtm --inv-sqrt singular item 1",
                     ["sqrtm", "--cov", self.materialise([A, SINGULAR]), "--inv-sqrt"],
                     ["--cov", "batch item 1", "positive definite"])

    def test_bw(self):
        self.sweep("bw")

    def test_bw_map(self):
        self.sweep("bw-map")
        # The map needs a's covariances positive definite: singular, or degenerate samples.
        self.refused("bw-map singular a item 1",
                     ["bw-map", "--a-cov", self.materialise([A, SINGULAR]), "--b-cov",
                      self.materialise([A, B])], ["--a-cov", "batch item 1", "positive definite"])
        self.refused("bw-map constant a samples",
                     ["bw-map", "--a-samples", self.materialise([SAMPLES[0], CONSTANT]),
                      "--b-cov", self.materialise(B)],
                     ["--a-samples", "batch item 1", "positive definite"])

    def test_bw_geodesic(self):
        self.sweep("bw-geodesic")

    def test_fid(self):
        self.sweep("fid")
        pair = ["--a-cov", self.materialise(A), "--b-cov", self.materialise(B)]
        self.refused("fid --method samples with covariances", ["fid", *pair, "--method",
                                                               "samples"], ["--method"])
        self.refused("fid --method unknown", ["fid", *pair, "--method", "exact"], ["--method"])

    def test_igw(self):
        self.sweep("igw")
        pair = ["--a-cov", self.materialise(A), "--b-cov", self.materialise(C3)]
        for signs in ("2", "1,x", "1", "1,1,1", ","):
            self.refused("igw --signs %r" % signs, ["igw", *pair, "--signs", signs], ["--signs"])
        self.refused("igw --plan --all-pairs", ["igw", *pair, "--plan", "--all-pairs"], ["--plan"])
        self.refused("igw --plan --signs 1", ["igw", *pair, "--plan", "--signs", "1"],
                     ["--signs"])

    def test_igw_map(self):
        self.sweep("igw-map")
        self.refused("igw-map d_b > d_a", ["igw-map", "--a-cov", self.materialise(A), "--b-cov",
                                           self.materialise(C3)], ["--b-cov", "d_a >= d_b"])
        self.refused("igw-map singular a item 1",
                     ["igw-map", "--a-cov", self.materialise([A, SINGULAR]), "--b-cov",
                      self.materialise(B)], ["--a-cov", "batch item 1", "positive definite"])
        self.refused("igw-map --signs 1,1,1",
                     ["igw-map", "--a-cov", self.materialise(C3), "--b-cov", self.materialise(B),
                      "--signs", "1,1,1"], ["--signs"])

    def test_igw_barycenter(self):
        self.sweep("igw-barycenter")
        # Several --cov files: the fault is named by its file (and item in that file).
        first, second = self.materialise([A, B]), self.materialise([C3, C3])
        self.refused("igw-barycenter second --cov indefinite item 1",
                     ["igw-barycenter", "--cov", first, "--cov",
                      self.materialise([A, INDEFINITE])],
                     ["--cov", "in%d.npy" % self.files, "batch item 1", "positive semidefinite"])
        self.refused("igw-barycenter second --cov NaN item 1",
                     ["igw-barycenter", "--cov", first, "--cov",
                      self.materialise([C3, with_item([C3], 0, NAN)[0]])],
                     ["--cov", "in%d.npy" % self.files, "batch item 1", "NaN"])
        self.refused("igw-barycenter --weights for one file of two",
                     ["igw-barycenter", "--cov", first, "--cov", second, "--weights",
                      self.materialise([1.0, 1.0])], ["--weights", "length 2"])
        self.refused("igw-barycenter second --cov missing",
                     ["igw-barycenter", "--cov", first, "--cov", self.path("missing.npy")],
                     ["--cov", "missing.npy"])

    def test_entropic(self):
        self.sweep("entropic")
        pair = ["--a-cov", self.materialise(A), "--b-cov", self.materialise(B)]
        for sigma, precision in (("1e-300", "f64"), ("1e300", "f64"), ("1e-30", "f32")):
            self.refused("entropic --sigma %s in %s" % (sigma, precision),
                         ["entropic", *pair, "--sigma", sigma, "--precision", precision],
                         ["--sigma"])
        self.refused("entropic masses without --gamma",
                     ["entropic", *pair, "--sigma", "1", "--mass-a", "2"], ["--mass-a"])
        self.refused("entropic --divergence with --gamma",
                     ["entropic", *pair, "--sigma", "1", "--gamma", "1", "--divergence"],
                     ["--divergence"])
        self.refused("entropic without --sigma", ["entropic", *pair], ["--sigma"])

    def test_sinkhorn(self):
        self.sweep("sinkhorn")
        x, y = self.materialise(SAMPLES[0]), self.materialise(SAMPLES[1])
        for sigma, precision in (("1e-300", "f64"), ("1e300", "f64"), ("1e-30", "f32")):
            self.refused("sinkhorn --sigma %s in %s" % (sigma, precision),
                         ["sinkhorn", "--a-samples", x, "--b-samples", y, "--sigma", sigma,
                          "--precision", precision], ["--sigma"])
        self.refused("sinkhorn --mass-a without --gamma",
                     ["sinkhorn", "--a-samples", x, "--b-samples", y, "--sigma", "1", "--mass-a",
                      "2"], ["--mass-a"])
        self.refused("sinkhorn --mass-a with --a-weights",
                     ["sinkhorn", "--a-samples", x, "--b-samples", y, "--sigma", "1", "--gamma",
                      "1", "--mass-a", "2", "--a-weights", self.materialise([0.2] * 5)],
                     ["--mass-a"])
        self.refused("sinkhorn balanced with unequal totals",
                     ["sinkhorn", "--a-samples", x, "--b-samples", y, "--sigma", "1",
                      "--a-weights", self.materialise([0.2] * 5), "--b-weights",
                      self.materialise([0.4] * 5)], ["--b-weights"])

    def test_cka(self):
        self.sweep("cka")
        x = self.materialise(SAMPLES)
        self.refused("cka n differs", ["cka", "--a-samples", x, "--b-samples",
                                       self.materialise([SAMPLES[0] + [[1.0, 1.0]]])],
                     ["--b-samples", "6 samples"])
        self.refused("cka constant features in item 1",
                     ["cka", "--a-samples", x, "--b-samples",
                      self.materialise([SAMPLES[0], CONSTANT])],
                     ["--b-samples", "batch item 1", "constant"])
        self.refused("cka given covariances", ["cka", "--a-cov", self.materialise(A),
                                               "--b-samples", x], ["--a-cov"])
        self.refused("cka without side b", ["cka", "--a-samples", x], ["--b-samples"])

    def test_cluster(self):
        self.sweep("cluster")
        good = [self.materialise(s) for s in SAMPLES]
        self.refused("cluster --k above the items", ["cluster", *good, "--k", "3"], ["--k"])
        self.refused("cluster FILES unreadable", ["cluster", good[0], self.materialise(MISSING),
                                                  "--k", "1"], ["FILES"])
        for label, labels, needles in (
                ("one label for two items", [1.0], ["--labels", "1 labels for 2 items"]),
                ("not integers", [0.5, 1.0], ["--labels", "integers"]),
                ("NaN", [NAN, 1.0], ["--labels", "integers"]),
                ("rank 2", [[0.0, 1.0]], ["--labels", "(k,)"])):
            self.refused("cluster --labels " + label,
                         ["cluster", *good, "--k", "1", "--labels", self.materialise(labels)],
                         needles)
        self.refused("cluster --labels missing", ["cluster", *good, "--k", "1", "--labels",
                                                  self.path("none.txt")], ["--labels"])
        self.refused("cluster --out-dir is a file", ["cluster", *good, "--k", "1", "--out-dir",
                                                     good[0]], ["--out-dir"])

    def test_bw_barycenter(self):
        self.sweep("bw-barycenter")
        self.refused("bw-barycenter --weights NaN", ["bw-barycenter", "--cov",
                                                     self.materialise([A, B]), "--weights",
                                                     self.materialise([1.0, NAN])],
                     ["--weights", "NaN"])

    def test_mmot(self):
        self.sweep("mmot")
        covariances = self.materialise([A, B])
        self.refused("mmot one marginal", ["mmot", "--cov", self.materialise([A])], ["--cov"])
        self.refused("mmot singular item 1", ["mmot", "--cov", self.materialise([A, SINGULAR])],
                     ["--cov", "batch item 1", "positive definite"])
        self.refused("mmot --solver unknown", ["mmot", "--cov", covariances, "--solver", "x"],
                     ["--solver"])
        self.refused("mmot --samples absurd", ["mmot", "--cov", covariances, "--samples",
                                               "100000000000000"], ["--samples"])

    def test_ngw(self):
        self.sweep("ngw")
        pair = ["--a-cov", self.materialise(A), "--b-cov", self.materialise(C3), *NGW_SMALL]
        self.refused("ngw batched side", ["ngw", "--a-cov", self.materialise([A, B]), "--b-cov",
                                          self.materialise(B), *NGW_SMALL], ["--a-cov", "batch"])
        for option, text in (("--map-widths", "0"), ("--map-widths", "-4"),
                             ("--map-widths", "4,x"), ("--map-widths", "99999999"),
                             ("--potential-widths", "4,,4"), ("--activation", "sigmoid"),
                             ("--batch", "100000000000"), ("--eval-samples", "1"),
                             ("--steps", "1e12")):
            self.refused("ngw %s %s" % (option, text), without(["ngw", *pair], option) +
                         [option, text], [option])
        for label, content, needles in (
                format_faults(SAMPLES[0]) + value_faults(SAMPLES[0], False) +
                [("other dimension", [[1.0, 2.0, 3.0]] * 4, ["dimension 3"]),
                 ("batched", SAMPLES, ["(N, m)"]), ("n = 0", Arr([0, 2]), ["(0, 2)"])]):
            path = self.materialise(content)
            self.refused("ngw --apply: " + label,
                         ["ngw", "--a-cov", self.materialise(A), "--b-cov", self.materialise(B),
                          *NGW_SMALL, "--apply", path], ["--apply", path] + needles)
        model = self.path("model.json")
        self.assertEqual(self.run_gaussot("ngw", *pair, "--save-model", model).returncode, 0)
        with open(model) as f:
            text = f.read()
        saved = json.loads(text)
        broken = {"empty": "", "garbage": "{not json", "a list": "[1, 2]",
                  "wrong format": '{"format": "other", "version": 1}', "truncated": text[:200]}
        for label, change in (("absurd width", {"map_hidden": [10 ** 11]}),
                              ("negative width", {"map_hidden": [-4]}),
                              ("zero width", {"potential_hidden": [0]}),
                              ("absurd dimension", {"input_dimension": 10 ** 11}),
                              ("zero dimension", {"output_dimension": 0}),
                              ("unknown activation", {"activation": "sigmoid"}),
                              ("widths a string", {"map_hidden": "4"}),
                              ("p too short", {"p": saved["p"][:-1]}),
                              ("p infinite", {"p": [1e400] + saved["p"][1:]})):
            broken[label] = json.dumps(dict(saved, **change))
        steps0 = without(["ngw", *pair], "--steps") + ["--steps", "0", "--load-model"]
        for label, content in broken.items():
            path = self.path("broken_%s.json" % label.replace(" ", "_"))
            with open(path, "w") as f:
                f.write(content)
            self.refused("ngw --load-model " + label, steps0 + [path], ["--load-model", path])
        for label, path in (("missing", self.path("missing.json")), ("a directory", self.tmp)):
            self.refused("ngw --load-model " + label, steps0 + [path], ["--load-model", path])
        self.refused("ngw --load-model of other dimensions",
                     ["ngw", "--a-cov", self.materialise(C3), "--b-cov", self.materialise(A),
                      *NGW_SMALL, "--load-model", model], ["--load-model"])
        self.refused("ngw --save-model in a missing folder",
                     ["ngw", *pair, "--save-model", self.path("no_such_dir/model.json")],
                     ["--save-model"])
        self.assertFalse(os.path.exists(self.path("no_such_dir")))

    def test_compare(self):
        x = [row + [row[0] * row[1]] for row in SAMPLES[0]]  # (5, 3)
        y = SAMPLES[1]
        good_x, good_y = self.materialise(x), self.materialise(y)
        result = self.run_gaussot("compare", good_x, good_y)
        self.assertEqual(result.returncode, 0, result.stderr)
        for label, content, needles in (
                format_faults(y) + value_faults(y, False) +
                [("rank 3", SAMPLES, ["shape (n, d)"]), ("n = 1", [[1.0, 2.0]], ["n >= 2"]),
                 ("d = 0", Arr([5, 0]), ["d >= 1"]), ("other n", SAMPLES[1][:4], ["4 rows"]),
                 ("constant features", CONSTANT, ["constant"])]):
            path = self.materialise(content)
            self.refused("compare FILES: " + label, ["compare", good_x, path], [path] + needles,
                         out=self.files % 2 == 0)
        # --dir and --manifest
        folder = self.path("inputs")
        os.mkdir(folder)
        with open(os.path.join(folder, "bad.npy"), "wb") as f:
            f.write(b"\x93NUMPY")
        self.refused("compare --dir with a truncated file", ["compare", "--dir", folder],
                     ["--dir", "bad.npy"])
        self.refused("compare --dir missing", ["compare", "--dir", self.path("nope")], ["--dir"])
        self.refused("compare --dir is a file", ["compare", "--dir", good_x], ["--dir"])
        manifest = self.path("list.txt")
        with open(manifest, "w") as f:
            f.write("x %s\nmissing %s\n" % (good_x, self.path("missing.npy")))
        self.refused("compare --manifest line 2 missing", ["compare", "--manifest", manifest],
                     ["--manifest", "line 2", "missing.npy"])
        self.refused("compare --manifest missing", ["compare", "--manifest",
                                                     self.path("nope.txt")], ["--manifest"])
        self.refused("compare --manifest is a folder", ["compare", "--manifest", folder],
                     ["--manifest"])
        self.refused("compare --metrics unknown", ["compare", good_x, good_y, "--metrics",
                                                   "igw,knn"], ["--metrics"])
        self.refused("compare --metrics empty", ["compare", good_x, good_y, "--metrics", ""],
                     ["--metrics"])
        self.refused("compare same name twice", ["compare", good_x, good_x], [good_x])
        for label, text in number_faults("positive"):
            self.refused("compare --memory-limit " + label,
                         ["compare", good_x, good_y, "--memory-limit", text], ["--memory-limit"])
        for option, kind in ASCENT:
            for label, text in number_faults(kind):
                self.refused("compare %s %s" % (option, label),
                             ["compare", good_x, good_y, option, text], [option])
        self.refused("compare --manifest empty",
                     ["compare", "--manifest", self.materialise(Raw(b"# nothing\n"))],
                     ["--manifest", "lists no file"])
        self.refused("compare failing with --out-dir: no folder made",
                     ["compare", good_x, self.materialise(CONSTANT), "--out-dir",
                      self.path("pictures")], ["constant"])
        self.refused("compare --out-dir under a file",
                     ["compare", good_x, good_y, "--out-dir", os.path.join(good_x, "pictures")],
                     ["--out-dir"])
        self.sweep_outputs(Command("compare", {"FILES": ("samples", x)}))


if __name__ == "__main__":
    main()
