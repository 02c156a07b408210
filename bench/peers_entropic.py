#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Unbalanced entropic OT between Gaussians: `gaussot entropic` against OTT-JAX's UnbalancedBures.

The problem (reference formulas-entropic.md §0, §2): α = m_a N(a, A), β = m_b N(b, B),
UOT_σ,γ = inf_π ∫‖x−y‖² dπ + 2σ² KL(π‖α⊗β) + γ KL(π₁‖α) + γ KL(π₂‖β) (unhalved cost, ε = 2σ²),
whose value is γ(m_a + m_b) + 2σ² m_a m_b − 2(σ² + γ) m_π, m_π the mass of the optimal plan.
Only the unbalanced problem: OTT has no balanced entropic Gaussian closed form (§3.2).

Inputs, per d in --d (default 64, 16), seeded by np.random.default_rng([seed, d]) and written to
.npy for both sides: k = --k paired problems (default 10,000); covariances A_i, B_i Wishart,
X Xᵀ / (d + 4) + 1e-3 I with X ~ N(0, 1)^{d×(d+4)}, symmetrised exactly; means a_i, b_i ~ N(0, I/d)
(so that ‖a − b‖² ≈ 2: with N(0, I) means, ‖a − b‖² ≈ 2d and at d = 64 the plan mass drops to
~1e-14 of the masses, leaving nothing of the covariances in the value). For every setting of
--settings "σ,γ,m_a,m_b;..." (default "1,1,1.3,0.7;0.5,10,0.8,1.6") on the same inputs.
The masses are one pair per setting, not per problem: `gaussot entropic` takes one --mass-a and
one --mass-b for the whole batch (OTT would take one per point).

Methods, on the same files, same run, same machine:

  gaussot   `gaussot entropic --a-cov A --b-cov B --a-mean MA --b-mean MB --sigma S --gamma G
            --mass-a MA --mass-b MB --backend cpu --precision f64|f32 --save-prefix P
            [--value-only] [--threads N]`, --repeats times: its "time_ms" (compute, reading the
            files excluded) and the process wall time, in two modes (--gaussot-modes):
              value-only  with --value-only: value and plan_mass only, what OTT computes; the
                          like-for-like comparison.
              plan        without it: the command also computes and writes the whole plan
                          (transport_cost, plan_mean and plan_cov, k × 2d × 2d) as JSON on
                          stdout (read through a pipe here and discarded after its head) and,
                          with --save-prefix, as .npy files (in the working directory, removed
                          after reading value and plan_mass); the wall time pays for all of
                          that, time_ms only for computing the plan.
            Peak RSS: the child's VmHWM from /proc, sampled.
  OTT       ott.geometry.costs.UnbalancedBures(d, sigma=σ, gamma=γ[, threshold=T]) on points
            x = [mass, mean, cov.ravel()], jax.jit(jax.vmap(cost))(x, y) over the k pairs, in a
            child process (this script with --ott-child; one per precision, since float64 is a
            process-wide JAX switch, and so that a hang can be timed out): float64
            (jax_enable_x64) with OTT's default Newton–Schulz sqrtm (threshold 1e-6), float64
            with threshold --ott-tight (default 1e-12; 0 skips it) and float32 (JAX's default).
            Timed after the inputs are packed and on the device: the compilation (lower +
            compile), the first call, then --repeats calls (minimum reported). With --ott-k K < k
            only the first K pairs are run and the times scaled by k/K (marked '*'). OTT
            returns the value only; its plan mass is recovered from it as
            m_π = (γ(m_a + m_b) + 2σ² m_a m_b − value) / (2(σ² + γ)), which cancels when m_π is
            small (float32: meaningless below m_π ~ 1e-6 of the masses). The child also runs
            OTT's sqrtm on the first --reference-k matrices (1/τ)ÃB̃ + σ⁴/4 I of the problems and
            reports its iteration count and final residual.
            XLA's CPU runtime hangs (deadlock: all threads idle, the executable waiting on an
            async value) on this program at k ≥ 100 or so with jax/jaxlib 0.10.2 and 0.10.1 on
            this machine, in most runs; --xla-flags (default
            --xla_cpu_enable_concurrency_optimized_scheduler=false) avoids it. Pass --xla-flags ""
            to reproduce; a child still running after --ott-timeout seconds is killed and
            reported as such.
  numpy     the reference's Appendix transcription (formulas-entropic.md, `uot`: spectral
            log-mass form, float64, one problem at a time) on the first --reference-k pairs
            (default 200); its time scaled to k is shown for orientation (marked '*').

Agreement, per setting: max relative difference of the value and of m_π, against NumPy (first
--reference-k pairs) and against gaussot float64 (--value-only, all pairs run), and NaN counts.
Exit status 1 when a gaussot float64 run differs from NumPy by more than --tolerance (default
1e-9) in value or m_π, or a float32 run by more than --tolerance-f32 (default 1e-4) in value, or
gaussot fails; OTT's numbers are reported, not judged. 2 on bad usage, missing packages or no gaussot executable.

Timing hygiene: before each timed run the script waits (up to --quiet-wait seconds) until no
compiler or linker process runs (/proc/*/comm: cc1plus, cc1, nvcc, cicc, ptxas, ld, collect2, ...)
and records the load average. Threads: gaussot one per core unless --threads N; XLA uses all
cores (its default). Needs NumPy, SciPy, jax and ott-jax (CPU wheels), e.g. in the project venv:

  build/python-venv/bin/pip install ott-jax jax
  build/python-venv/bin/python bench/peers_entropic.py --gaussot build-cpu/apps/gaussot --threads 2
  build/python-venv/bin/python bench/peers_entropic.py --gaussot build-cpu/apps/gaussot \\
      --k 1000 --d 16 --settings 1,1,1.3,0.7                                   # quick check

Memory: at k = 10,000 and d = 64, `gaussot entropic` with the plan peaks near 17 GB (the JSON
of the plans, ~5 GB of text) and writes 1.3 GB of plan_cov.npy (float64); the OTT child needs
~5 GB. About 11-12 minutes on two cores, half of it gaussot writing the plans (--gaussot-modes
value-only: about 6).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402

DEFAULT_SETTINGS = "1,1,1.3,0.7;0.5,10,0.8,1.6"
DEFAULT_XLA_FLAGS = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
COMPILERS = r"cc1plus|cc1|lto1|nvcc|cicc|ptxas|fatbinary|ld|ld\.bfd|ld\.gold|ld\.lld|lld|mold|collect2"
POLL_S = 0.02
MB = 1e6
HEAD_BYTES = 65536


# ---- arguments -----------------------------------------------------------------------------------

def int_list(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def settings_list(text: str) -> list[dict]:
    settings = []
    for item in text.split(";"):
        if not item.strip():
            continue
        try:
            values = [float(v) for v in item.split(",")]
        except ValueError:
            values = []
        if len(values) != 4 or not all(math.isfinite(v) and v > 0 for v in values):
            raise argparse.ArgumentTypeError(f"expected 'σ,γ,m_a,m_b' with positive numbers, got {item!r}")
        settings.append(dict(zip(("sigma", "gamma", "mass_a", "mass_b"), values)))
    if not settings:
        raise argparse.ArgumentTypeError("no setting given")
    return settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Unbalanced entropic OT between Gaussians: gaussot entropic vs OTT-JAX "
                    "UnbalancedBures (float64 and float32) and a NumPy reference, on CPU.")
    parser.add_argument("--k", type=int, default=10000, help="paired problems per d (default: 10000)")
    parser.add_argument("--d", type=int_list, default=[64, 16], metavar="D1,D2,...",
                        help="dimensions (default: 64,16)")
    parser.add_argument("--settings", type=settings_list, default=settings_list(DEFAULT_SETTINGS),
                        metavar="S,G,MA,MB;...", help=f"σ,γ,m_a,m_b per setting (default: {DEFAULT_SETTINGS})")
    parser.add_argument("--reference-k", type=int, default=200,
                        help="pairs for the NumPy reference and OTT's sqrtm report (default: 200)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs of gaussot and timed OTT calls after its first (default: 1)")
    parser.add_argument("--ott-k", type=int, default=None,
                        help="run OTT on the first K pairs only and scale its times (default: all)")
    parser.add_argument("--ott-tight", type=float, default=1e-12,
                        help="threshold of OTT's sqrtm for the extra float64 run (default: 1e-12; 0 skips it)")
    parser.add_argument("--ott-timeout", type=float, default=300.0,
                        help="seconds before an OTT child is killed (default: 300)")
    parser.add_argument("--xla-flags", default=DEFAULT_XLA_FLAGS,
                        help=f"XLA_FLAGS for the OTT children, added to the environment's (default: "
                             f"{DEFAULT_XLA_FLAGS}; \"\" for none)")
    parser.add_argument("--gaussot-modes", default="value-only,plan", metavar="value-only,plan",
                        help="gaussot runs: `value-only` (--value-only: value and plan_mass, like OTT) "
                             "and/or `plan` (the whole plan written as JSON and .npy) (default: both)")
    parser.add_argument("--no-ott", action="store_true", help="skip OTT")
    parser.add_argument("--tolerance", type=float, default=1e-9,
                        help="gaussot f64 vs NumPy, relative, value and m_π (default: 1e-9)")
    parser.add_argument("--tolerance-f32", type=float, default=1e-4,
                        help="gaussot f32 vs NumPy, relative, value (default: 1e-4)")
    parser.add_argument("--quiet-wait", type=float, default=900.0,
                        help="longest wait for running compilers to finish before a timing (default: 900 s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot as --threads N (default: gaussot's, one per core)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the inputs and values here (default: a temporary directory)")
    # Internal: one OTT run in a child process.
    parser.add_argument("--ott-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-files", type=str, help=argparse.SUPPRESS)
    parser.add_argument("--child-d", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-precision", choices=("f64", "f32"), help=argparse.SUPPRESS)
    parser.add_argument("--child-threshold", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-setting", type=settings_list, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.k < 1 or args.reference_k < 1 or args.repeats < 1 or (args.ott_k is not None and args.ott_k < 1):
        parser.error("--k, --reference-k, --repeats and --ott-k must be positive")
    args.reference_k = min(args.reference_k, args.k)
    args.gaussot_modes = [m.strip() for m in args.gaussot_modes.split(",") if m.strip()]
    if not args.gaussot_modes or any(m not in ("value-only", "plan") for m in args.gaussot_modes):
        parser.error("--gaussot-modes: a comma-separated subset of value-only,plan")
    args.ott_k = args.k if args.ott_k is None else min(args.ott_k, args.k)
    args.cases = args.d
    return args


# ---- inputs and the NumPy reference ---------------------------------------------------------------

def write_inputs(np, workdir: Path, d: int, k: int, seed: int) -> dict:
    """Writes A, B (k, d, d), MA, MB (k, d) for this d; returns their paths."""
    rng = np.random.default_rng([seed, d])
    paths = {name: workdir / f"{name}_d{d}.npy" for name in ("A", "B", "MA", "MB")}
    chunk = max(1, 2_000_000 // (d * d))
    for name in ("A", "B"):
        out = np.lib.format.open_memmap(paths[name], mode="w+", dtype=np.float64, shape=(k, d, d))
        for start in range(0, k, chunk):
            x = rng.standard_normal((min(chunk, k - start), d, d + 4))
            s = x @ x.transpose(0, 2, 1) / (d + 4) + 1e-3 * np.eye(d)
            out[start:start + len(x)] = (s + s.transpose(0, 2, 1)) / 2
        out.flush()
        del out
    for name in ("MA", "MB"):
        np.save(paths[name], rng.standard_normal((k, d)) / math.sqrt(d))
    return paths


def reference_uot(np, a, A, b, B, s, g, ma, mb):
    """formulas-entropic.md, Appendix `uot` (unbalanced, spectral log-mass form, §2.1), verbatim
    up to names: returns (value, m_π)."""
    def sqrt_spd(m):
        w, v = np.linalg.eigh((m + m.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    d = len(A); eye = np.eye(d); s2 = s * s; lam = s2 + g / 2; tau = g / (g + 2 * s2)
    at = 0.5 * g * A @ np.linalg.inv(A + lam * eye); bt = 0.5 * g * B @ np.linalg.inv(B + lam * eye)
    r = sqrt_spd((at + at.T) / 2); mu = np.clip(np.linalg.eigvalsh(r @ ((bt + bt.T) / 2) @ r), 0, None)
    c = np.sqrt(mu / tau + s2 * s2 / 4) - s2 / 2; dm = a - b
    lm = (d * s2 / (2 * (s2 + g))) * np.log(s2)
    lm += (np.log(ma * mb) + d * np.log(g / 2) - 0.5 * np.linalg.slogdet(A + lam * eye)[1]
           - 0.5 * np.linalg.slogdet(B + lam * eye)[1]) / (tau + 1)
    lm -= (1 - tau) / (2 * (tau + 1)) * (d * np.log(tau) + np.sum(np.log(c + s2)))
    lm -= 0.5 * np.sum(np.log(g - 2 * c)) - 0.5 * d * np.log(g + 2 * s2)
    lm -= dm @ np.linalg.solve(A + B + lam * eye, dm) / (2 * (tau + 1))
    m = np.exp(lm)
    return g * (ma + mb - 2 * m) + 2 * s2 * (ma * mb - m), m


def mass_constant(setting: dict) -> float:
    """γ(m_a + m_b) + 2σ² m_a m_b: the value when m_π = 0."""
    s2 = setting["sigma"] ** 2
    return setting["gamma"] * (setting["mass_a"] + setting["mass_b"]) + 2 * s2 * setting["mass_a"] * setting["mass_b"]


def mass_from_value(np, setting: dict, value):
    return (mass_constant(setting) - np.asarray(value, dtype=np.float64)) / (2 * (setting["sigma"] ** 2 + setting["gamma"]))


# ---- processes ------------------------------------------------------------------------------------

def compiler_pids() -> list[int]:
    """PIDs of running compiler/linker processes (their /proc/PID/comm matches COMPILERS)."""
    pattern = re.compile(rf"(?:{COMPILERS})")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if pattern.fullmatch(name):
            pids.append(int(entry.name))
    return pids


def wait_quiet(limit_s: float) -> dict:
    """Waits until no compiler/linker process runs (at most limit_s); returns the wait and load."""
    start = time.perf_counter()
    seen = set()
    while True:
        pids = compiler_pids()
        if not pids or time.perf_counter() - start > limit_s:
            break
        seen.update(pids)
        time.sleep(2.0)
    waited = time.perf_counter() - start
    if waited > 1:
        common.progress(f"  (waited {waited:.0f} s for {len(seen)} compiler process(es))")
    return {"waited_s": waited, "compilers_still_running": bool(pids), "loadavg": list(os.getloadavg())}


def vm_hwm_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_process(command: list[str], timeout_s: float | None = None, env: dict | None = None) -> dict:
    """Runs command with stdout through a pipe (its first HEAD_BYTES kept, the rest discarded) and
    stderr kept; returns wall seconds, peak RSS (sampled VmHWM), return code, head, stderr and
    whether it was killed at timeout_s."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=env)
    head, err, total = bytearray(), bytearray(), [0]

    def drain_out() -> None:
        while True:
            block = child.stdout.read(1 << 20)
            if not block:
                return
            total[0] += len(block)
            if len(head) < HEAD_BYTES:
                head.extend(block[:HEAD_BYTES - len(head)])

    def drain_err() -> None:
        for block in iter(lambda: child.stderr.read(1 << 16), b""):
            err.extend(block)

    readers = [threading.Thread(target=drain_out, daemon=True), threading.Thread(target=drain_err, daemon=True)]
    for r in readers:
        r.start()
    ended = {}

    def wait_for_exit() -> None:  # leaves the child a zombie (WNOWAIT) so that /proc/PID stays readable
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        ended["at"] = time.perf_counter()

    waiter = threading.Thread(target=wait_for_exit, daemon=True)
    waiter.start()
    peak, killed = None, False
    while waiter.is_alive():
        reading = vm_hwm_of(child.pid)
        if reading is not None:
            peak = max(peak or 0, reading)
        if timeout_s is not None and not killed and time.perf_counter() - start > timeout_s:
            child.kill()
            killed = True
        waiter.join(POLL_S)
    child.wait()
    for r in readers:
        r.join()
    return {"wall_s": ended["at"] - start, "peak_rss_mb": None if peak is None else peak * 1024 / MB,
            "returncode": child.returncode, "killed": killed, "stdout_bytes": total[0],
            "head": head.decode("utf-8", errors="replace"), "stderr": err.decode("utf-8", errors="replace")}


# ---- gaussot --------------------------------------------------------------------------------------

def run_gaussot(np, args, paths: dict, setting: dict, precision: str, value_only: bool,
                workdir: Path) -> dict:
    prefix = workdir / f"gaussot_{'value' if value_only else 'plan'}_{precision}_"
    command = [str(args.gaussot), "entropic", "--a-cov", str(paths["A"]), "--b-cov", str(paths["B"]),
               "--a-mean", str(paths["MA"]), "--b-mean", str(paths["MB"]),
               "--sigma", repr(setting["sigma"]), "--gamma", repr(setting["gamma"]),
               "--mass-a", repr(setting["mass_a"]), "--mass-b", repr(setting["mass_b"]),
               "--backend", "cpu", "--precision", precision, "--save-prefix", str(prefix)]
    if value_only:
        command.append("--value-only")
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    runs = []
    for _ in range(args.repeats):
        quiet = wait_quiet(args.quiet_wait)
        r = run_process(command)
        if r["returncode"] != 0:
            raise RuntimeError(f"{' '.join(command)} exited with status {r['returncode']}:\n"
                               f"{(r['stderr'].strip() or r['head'].strip())[-2000:]}")
        match = re.search(r'"time_ms"\s*:\s*([-+0-9.eE]+)', r["head"])
        if not match:
            raise RuntimeError(f"{' '.join(command)}: no time_ms in the head of its output")
        runs.append({"time_s": float(match.group(1)) / 1e3, "wall_s": r["wall_s"],
                     "peak_rss_mb": r["peak_rss_mb"], "stdout_mb": r["stdout_bytes"] / MB, **quiet})
    saved = {p.name[len(prefix.name):]: p.stat().st_size / MB for p in workdir.glob(prefix.name + "*.npy")}
    value = np.load(f"{prefix}value.npy").astype(np.float64)
    mass = np.load(f"{prefix}plan_mass.npy").astype(np.float64)
    for p in workdir.glob(prefix.name + "*.npy"):
        p.unlink()
    best = min(runs, key=lambda r: r["time_s"])
    return {"status": "ok", "command": " ".join(command), "runs": runs,
            "time_s": best["time_s"], "wall_s": min(r["wall_s"] for r in runs),
            "peak_rss_mb": max((r["peak_rss_mb"] or 0) for r in runs) or None,
            "stdout_mb": runs[0]["stdout_mb"], "npy_written_mb": saved,
            "value": value, "mass": mass}


# ---- OTT ------------------------------------------------------------------------------------------

def ott_child(args) -> int:
    """One OTT run (see the module docstring); prints one JSON line, writes the values."""
    import numpy as np
    import jax
    if args.child_precision == "f64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from ott.geometry.costs import UnbalancedBures
    from ott.math import matrix_square_root

    setting = args.child_setting[0]
    d, k = args.child_d, args.child_k
    dtype = np.float64 if args.child_precision == "f64" else np.float32
    files = {name: np.load(f"{args.child_files}{name}_d{d}.npy", mmap_mode="r") for name in ("A", "B", "MA", "MB")}

    def points(mass, mean, cov):
        return np.concatenate([np.full((k, 1), mass), mean[:k], cov[:k].reshape(k, d * d)], axis=1).astype(dtype)

    x = jax.device_put(points(setting["mass_a"], files["MA"], files["A"]))
    y = jax.device_put(points(setting["mass_b"], files["MB"], files["B"]))
    x.block_until_ready(); y.block_until_ready()
    kwargs = {} if args.child_threshold is None else {"threshold": args.child_threshold}
    cost = UnbalancedBures(d, sigma=setting["sigma"], gamma=setting["gamma"], **kwargs)
    function = jax.jit(jax.vmap(cost))
    start = time.perf_counter()
    compiled = function.lower(x, y).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    values = compiled(x, y).block_until_ready()
    first_s = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        values = compiled(x, y).block_until_ready()
        times.append(time.perf_counter() - start)
    np.save(args.child_out, np.asarray(values, dtype=np.float64))

    # OTT's sqrtm on the matrices UnbalancedBures hands it, first reference_k problems, batched
    # (one convergence test for the batch: the worst problem decides).
    r = min(args.reference_k, k)
    s2, g = setting["sigma"] ** 2, setting["gamma"]
    lam, tau = s2 + g / 2, g / (g + 2 * s2)
    eye = jnp.eye(d, dtype=dtype)
    a = jnp.asarray(np.asarray(files["A"][:r], dtype=dtype))
    b = jnp.asarray(np.asarray(files["B"][:r], dtype=dtype))
    ta = 0.5 * g * (eye - lam * jnp.linalg.inv(a + lam * eye))
    tb = 0.5 * g * (eye - lam * jnp.linalg.inv(b + lam * eye))
    _, _, errors = matrix_square_root.sqrtm(ta @ tb / tau + 0.25 * s2 * s2 * eye, **kwargs)
    errors = np.asarray(errors, dtype=np.float64)
    checked = errors[errors >= 0]
    inner = 10  # sqrtm's inner_iterations default: one residual check every 10 iterations
    print(json.dumps({
        "compile_s": compile_s, "first_s": first_s, "times_s": times, "k": k,
        "dtype": str(values.dtype), "x64": bool(jax.config.jax_enable_x64),
        "threshold": args.child_threshold if args.child_threshold is not None else 1e-6,
        "devices": [str(dev) for dev in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "sqrtm_iterations": int(len(checked) * inner), "sqrtm_residuals": checked.tolist(),
        "versions": {name: importlib.metadata.version(name) for name in ("jax", "jaxlib", "ott-jax", "numpy")},
    }))
    return 0


def run_ott(np, args, workdir: Path, d: int, setting: dict, precision: str, threshold: float | None) -> dict:
    out = workdir / f"ott_{precision}_{threshold}.npy"
    command = [sys.executable, str(Path(__file__).resolve()), "--ott-child",
               "--child-files", str(workdir) + "/", "--child-d", str(d), "--child-k", str(args.ott_k),
               "--child-precision", precision, "--child-out", str(out), "--repeats", str(args.repeats),
               "--reference-k", str(args.reference_k),
               "--child-setting", ",".join(repr(setting[key]) for key in ("sigma", "gamma", "mass_a", "mass_b"))]
    if threshold is not None:
        command += ["--child-threshold", repr(threshold)]
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    if args.xla_flags:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + args.xla_flags).strip()
    quiet = wait_quiet(args.quiet_wait)
    r = run_process(command, timeout_s=args.ott_timeout, env=env)
    base = {"precision": precision, "threshold": threshold if threshold is not None else 1e-6,
            "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], **quiet}
    if r["killed"]:
        return {**base, "status": f"killed after {args.ott_timeout:g} s (hang?)"}
    if r["returncode"] != 0:
        return {**base, "status": "failed", "error": (r["stderr"].strip() or r["head"].strip())[-1500:]}
    info = json.loads(r["head"].strip().splitlines()[-1])
    value = np.load(out)
    out.unlink()
    scale = args.k / args.ott_k
    return {**base, **info, "status": "ok", "scaled": scale != 1.0,
            "time_s": min(info["times_s"]) * scale, "first_scaled_s": info["first_s"] * scale,
            "value": value}


# ---- one dimension --------------------------------------------------------------------------------

def max_rel(np, x, ref) -> float | None:
    n = min(len(x), len(ref))
    if n == 0:
        return None
    x, ref = np.asarray(x[:n], dtype=np.float64), np.asarray(ref[:n], dtype=np.float64)
    diff = np.abs(x - ref) / np.abs(ref)
    return float(np.max(diff)) if np.all(np.isfinite(diff)) else float("nan")


def run_dimension(np, args, d: int, workdir: Path) -> dict:
    common.progress(f"d = {d}: writing {args.k} pairs")
    paths = write_inputs(np, workdir, d, args.k, args.seed)
    r = args.reference_k
    sub = {name: np.array(np.load(path, mmap_mode="r")[:r]) for name, path in paths.items()}
    case = {"case": f"d{d}", "d": d, "k": args.k, "reference_k": r, "ott_k": args.ott_k, "settings": []}
    for setting in args.settings:
        label = f"σ={setting['sigma']:g} γ={setting['gamma']:g} m=({setting['mass_a']:g}, {setting['mass_b']:g})"
        common.progress(f"d = {d}, {label}: NumPy reference on {r} pairs")
        start = time.perf_counter()
        ref = [reference_uot(np, sub["MA"][i], sub["A"][i], sub["MB"][i], sub["B"][i], setting["sigma"],
                             setting["gamma"], setting["mass_a"], setting["mass_b"]) for i in range(r)]
        numpy_s = time.perf_counter() - start
        ref_value = np.array([v for v, _ in ref])
        ref_mass = np.array([m for _, m in ref])
        methods = {}
        for mode in args.gaussot_modes:
            for precision in ("f64", "f32"):
                common.progress(f"d = {d}, {label}: gaussot {precision} ({mode})")
                name = f"gaussot_{precision}" if mode == "value-only" else f"gaussot_plan_{precision}"
                methods[name] = run_gaussot(np, args, paths, setting, precision, mode == "value-only", workdir)
        if not args.no_ott:
            variants = [("ott_f64", "f64", None)]
            if args.ott_tight > 0:
                variants.append(("ott_f64_tight", "f64", args.ott_tight))
            variants.append(("ott_f32", "f32", None))
            for name, precision, threshold in variants:
                common.progress(f"d = {d}, {label}: OTT {precision}"
                                + (f" (sqrtm threshold {threshold:g})" if threshold else ""))
                m = run_ott(np, args, workdir, d, setting, precision, threshold)
                if m["status"] == "ok":
                    m["mass"] = mass_from_value(np, setting, m["value"])
                methods[name] = m
        g64 = methods.get("gaussot_f64") or methods["gaussot_plan_f64"]
        for name, m in methods.items():
            if m.get("status") != "ok":
                continue
            m["nan"] = int(np.sum(~np.isfinite(m["value"])))
            m["value_vs_numpy"] = max_rel(np, m["value"], ref_value)
            m["mass_vs_numpy"] = max_rel(np, m["mass"], ref_mass)
            m["value_vs_gaussot_f64"] = max_rel(np, m["value"], g64["value"])
            m["mass_vs_gaussot_f64"] = max_rel(np, m["mass"], g64["mass"])
            ott = methods.get("ott_" + name.split("_")[-1]) if name.startswith("gaussot") else None
            if ott is not None and ott.get("status") == "ok":  # this gaussot run / OTT, same precision
                m["time_over_ott"] = m["time_s"] / ott["time_s"]
                m["wall_over_ott"] = m["wall_s"] / ott["time_s"]
        gaussot = {name: m for name, m in methods.items() if name.startswith("gaussot")}
        agree = all(m["nan"] == 0 and m["value_vs_numpy"] <= (args.tolerance if "f64" in name else args.tolerance_f32)
                    and ("f32" in name or m["mass_vs_numpy"] <= args.tolerance) for name, m in gaussot.items())
        share = 2 * (setting["sigma"] ** 2 + setting["gamma"]) * ref_mass / ref_value
        for m in methods.values():  # arrays out of the report
            m.pop("value", None)
            m.pop("mass", None)
        case["settings"].append({
            **setting, "epsilon": 2 * setting["sigma"] ** 2,
            "tau": setting["gamma"] / (setting["gamma"] + 2 * setting["sigma"] ** 2),
            "mass_constant": mass_constant(setting),
            "numpy": {"pairs": r, "time_s": numpy_s, "scaled_time_s": numpy_s * args.k / r},
            "plan_mass_median": float(np.median(ref_mass)), "plan_mass_range": [float(ref_mass.min()), float(ref_mass.max())],
            "mass_term_share_median": float(np.median(share)), "value_median": float(np.median(ref_value)),
            "methods": methods, "agree": bool(agree)})
    for path in paths.values():
        path.unlink()
    case["agree"] = all(s["agree"] for s in case["settings"])
    return case


# ---- report ---------------------------------------------------------------------------------------

def fmt_e(value) -> str:
    if value is None:
        return "-"
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.1e}"


def fmt_s(value, star: bool = False) -> str:
    return "-" if value is None else f"{value:.3g}{'*' if star else ''}"


def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("Unbalanced entropic OT between Gaussians (closed form), CPU", machine)
    lines.append(f"OTT-JAX {machine.get('ott-jax')}, jax {machine.get('jax')}, jaxlib {machine.get('jaxlib')}; "
                 f"XLA_FLAGS for OTT: {machine.get('xla_flags') or '(none)'}")
    labels = {"gaussot_f64": "gaussot --value-only f64", "gaussot_f32": "gaussot --value-only f32",
              "gaussot_plan_f64": "gaussot with plan f64", "gaussot_plan_f32": "gaussot with plan f32",
              "ott_f64": "OTT UnbalancedBures f64", "ott_f64_tight": "OTT f64, sqrtm thr {thr:g}",
              "ott_f32": "OTT UnbalancedBures f32"}
    for case in cases:
        for s in case["settings"]:
            lines += ["", f"d = {case['d']}, k = {case['k']} pairs; σ = {s['sigma']:g}, γ = {s['gamma']:g} "
                          f"(ε = {s['epsilon']:g}, τ = {s['tau']:.4g}), m_a = {s['mass_a']:g}, m_b = {s['mass_b']:g}; "
                          f"m_π median {s['plan_mass_median']:.3g} [{s['plan_mass_range'][0]:.2g}, "
                          f"{s['plan_mass_range'][1]:.2g}], 2(σ²+γ)m_π / value median {s['mass_term_share_median']:.2g}",
                      "  times in s for the k pairs. time: gaussot's time_ms (compute) | OTT's jitted call (after "
                      "the first); wall: the whole process (gaussot: reading, computing, writing the plans; OTT "
                      "child: import, loading, compile, calls); Δ: max relative difference",
                      f"  {'method':<26} {'time':>8} {'wall':>8} {'first':>7} {'compile':>8} {'RSS MB':>7} "
                      f"{'t/OTT':>6} {'wall/OTT':>8} {'Δv NumPy':>9} {'Δm NumPy':>9} {'Δv g64':>8} {'Δm g64':>8} "
                      f"{'NaN':>4} {'sqrtm it':>8}"]
            for name, m in s["methods"].items():
                label = labels[name].format(thr=m.get("threshold", 0))
                if m.get("status") != "ok":
                    lines.append(f"  {label:<26} {m.get('status')}: {(m.get('error') or '')[-300:]}".replace("\n", " "))
                    continue
                star = bool(m.get("scaled"))
                is_ott = name.startswith("ott")
                sq = m.get("sqrtm_residuals") or []
                lines.append(
                    f"  {label:<26} {fmt_s(m['time_s'], star):>8} {fmt_s(m['wall_s']):>8} "
                    f"{fmt_s(m.get('first_scaled_s'), star) if is_ott else '-':>7} "
                    f"{fmt_s(m.get('compile_s')) if is_ott else '-':>8} {fmt_s(m.get('peak_rss_mb')):>7} "
                    f"{fmt_s(m.get('time_over_ott')):>6} {fmt_s(m.get('wall_over_ott')):>8} "
                    f"{fmt_e(m['value_vs_numpy']):>9} {fmt_e(m['mass_vs_numpy']):>9} "
                    f"{fmt_e(m['value_vs_gaussot_f64']):>8} {fmt_e(m['mass_vs_gaussot_f64']):>8} {m['nan']:>4} "
                    + (f"{m['sqrtm_iterations']:>4} ({fmt_e(sq[-1]) if sq else '-'})" if is_ott else ""))
            n = s["numpy"]
            lines.append(f"  {'NumPy appendix (ref)':<26} {fmt_s(n['scaled_time_s'], True):>8}   "
                         f"(float64, one problem at a time; {n['pairs']} pairs in {n['time_s']:.3g} s, scaled)")
            for name in ("gaussot_f64", "gaussot_plan_f64"):
                g = s["methods"].get(name)
                if g is not None:
                    lines.append(f"  {labels[name]}: {g['stdout_mb']:.3g} MB of JSON on stdout, "
                                 f"{sum(g['npy_written_mb'].values()):.3g} MB of .npy; wall − time_ms = "
                                 f"{g['wall_s'] - g['time_s']:.3g} s")
            if not s["agree"]:
                lines.append("  gaussot DISAGREES with NumPy beyond the tolerance")
    lines.append("")
    lines.append("  t/OTT: gaussot time_ms / OTT call (same precision, default sqrtm); wall/OTT: gaussot process wall / OTT call; "
                 "'*': scaled from a subset; sqrtm it: OTT's Newton–Schulz iterations on the first "
                 "reference pairs (final relative residual)")
    summary = {"benchmark": "peers_entropic", "machine": {key: machine.get(key) for key in
               ("cpu_model", "usable_cores", "numpy", "jax", "jaxlib", "ott-jax", "xla_flags",
                "gaussot_version", "gaussot_cpu_threads")}, "cases": cases}
    return "\n".join(lines + ["", json.dumps(summary, separators=(",", ":"))])


# ---- main -----------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.ott_child:
        return ott_child(args)
    try:
        import numpy as np
        import scipy
    except ImportError as e:
        print(f"peers_entropic.py needs NumPy and SciPy ({e}).\n"
              f"Install them with:  {sys.executable} -m pip install numpy scipy", file=sys.stderr)
        return 2
    versions = {}
    for name in ("jax", "jaxlib", "ott-jax"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    if not args.no_ott and None in versions.values():
        print(f"peers_entropic.py needs jax and ott-jax for OTT (or pass --no-ott).\n"
              f"Install them with:  {sys.executable} -m pip install ott-jax jax", file=sys.stderr)
        return 2
    if not common.check_executables("peers_entropic.py", ((args.gaussot, "gaussot_cli", "--gaussot"),)):
        return 2
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine.update(versions)
    machine["xla_flags"] = (os.environ.get("XLA_FLAGS", "") + " " + args.xla_flags).strip()
    return common.run_cases("peers_entropic", args, machine,
                            lambda d, workdir: run_dimension(np, args, d, workdir),
                            format_report, "gaussot entropic failed or disagrees with NumPy (see above)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
