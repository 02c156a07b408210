#!/usr/bin/env python3
"""Driver: install/locate candidate LAPACK/BLAS libraries, build
lapack_candidates.cpp, run the (library x threads x mode) grid and write a
Markdown report plus the raw JSON lines.  See README.md.

    python3 bench/blas/lapack_candidates.py RESULTS_FILE [options]

Only the Python standard library is used here; PyPI candidates go into a
dedicated venv (default /work/blas-venv) and Debian packages that are not
installed are fetched with `apt-get download` and unpacked into a cache
directory, so the system's BLAS/LAPACK alternatives are never switched.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ARCH_LIB = "/usr/lib/x86_64-linux-gnu"
ROUTINES = ["syevd_N", "syevd_V", "syevr_N", "syevr_V", "syevd2s_N", "syevr2s_N", "potrf", "gemm"]
LOADED_ROUTINES = ["syevd_N", "syevd_V", "syevd2s_N", "potrf", "gemm"]
THREAD_ENV = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "GOTO_NUM_THREADS", "OPENBLAS_DEFAULT_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"]
PIP_PACKAGES = ["numpy", "scipy-openblas32", "scipy-openblas64", "mkl", "intel-openmp", "tbb"]
DEB_PACKAGES = ["libopenblas0-openmp", "libopenblas0-pthread", "libopenblas0-serial",
                "libblis4-openmp", "libblis4-pthread", "libflame1", "liblapack3", "libblas3"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=False, text=True, capture_output=True, **kw)


# --------------------------------------------------------------------------- install / locate
def setup_venv(venv, skip_install):
    py = os.path.join(venv, "bin", "python")
    notes = {}
    if not os.path.exists(py):
        if skip_install:
            return None, {"venv": "missing (--no-install)"}
        log(f"creating venv {venv}")
        r = run([sys.executable, "-m", "venv", venv])
        if r.returncode != 0:
            return None, {"venv": "python3 -m venv failed: " + r.stderr.strip()[-300:]}
    if not skip_install:
        for pkg in PIP_PACKAGES:  # one at a time so one failure does not block the others
            r = run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", pkg])
            if r.returncode != 0:
                notes[pkg] = "pip install failed: " + r.stderr.strip()[-300:]
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            f"for p in {PIP_PACKAGES!r}:\n"
            "    try: out[p] = m.version(p)\n"
            "    except Exception as e: out[p] = None\n"
            "import sysconfig; out['_site'] = sysconfig.get_paths()['purelib']\n"
            "out['_prefix'] = sys.prefix\n"
            "print(json.dumps(out))\n")
    r = run([py, "-c", code])
    info = json.loads(r.stdout) if r.returncode == 0 else {}
    info["_notes"] = notes
    return py, info


def deb_version(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}|${Version}", pkg])
    if r.returncode == 0 and r.stdout.startswith("install ok installed"):
        return r.stdout.split("|", 1)[1], True
    return None, False


def fetch_debs(cache, skip_install):
    """Return {pkg: (version, root_dir or '/', note)}.  Installed packages are used in
    place; others are `apt-get download`ed and unpacked under cache/root."""
    out = {}
    root = os.path.join(cache, "root")
    os.makedirs(root, exist_ok=True)
    for pkg in DEB_PACKAGES:
        ver, installed = deb_version(pkg)
        if installed:
            out[pkg] = (ver, "/", "installed")
            continue
        debs = glob.glob(os.path.join(cache, pkg + "_*.deb"))
        if not debs and not skip_install:
            r = run(["apt-get", "download", pkg], cwd=cache)
            debs = glob.glob(os.path.join(cache, pkg + "_*.deb"))
            if not debs:
                out[pkg] = (None, None, "apt-get download failed: " + r.stderr.strip()[-300:])
                continue
        if not debs:
            out[pkg] = (None, None, "not installed and --no-install")
            continue
        deb = sorted(debs)[-1]
        r = run(["dpkg-deb", "-x", deb, root])
        if r.returncode != 0:
            out[pkg] = (None, None, "dpkg-deb -x failed: " + r.stderr.strip()[-300:])
            continue
        v = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
        out[pkg] = (v, root, "unpacked from " + os.path.basename(deb))
    return out


def candidates(debs, venv_info, only):
    """List of candidate dicts: name, libs, prefix, suffix, int64, env, ldpath, threads,
    loaded, pkgver, note.  Candidates whose files are missing get a 'skip' reason."""
    cands = []

    def debdir(pkg, sub):
        v, root, _ = debs.get(pkg, (None, None, None))
        if root is None:
            return None, v
        return os.path.join(root, ARCH_LIB.lstrip("/"), sub), v

    # 1. Debian OpenBLAS 0.3.21 (openmp / pthread / serial); plus the same libraries with
    #    OPENBLAS_CORETYPE=SkylakeX, because 0.3.21 does not know this CPU model and its
    #    DYNAMIC_ARCH dispatch falls back to the generic Prescott kernels.
    for flavour, pkg in [("openmp", "libopenblas0-openmp"), ("pthread", "libopenblas0-pthread"),
                         ("serial", "libopenblas0-serial")]:
        d, v = debdir(pkg, "openblas-" + flavour)
        lib = os.path.join(d, "libopenblas.so.0") if d else None
        base = dict(libs=[lib] if lib else [], prefix="", suffix="", int64=False, ldpath=None,
                    pkgver=f"{pkg} {v}", skip=None if lib and os.path.exists(lib) else
                    f"{pkg}: {debs.get(pkg, (None, None, 'unknown'))[2]}")
        threads = [1] if flavour == "serial" else [1, 2]
        cands.append(dict(base, name=f"deb-openblas-{flavour}", env={}, threads=threads,
                          loaded=True))
        if flavour != "serial":
            cands.append(dict(base, name=f"deb-openblas-{flavour}+SKX",
                              env={"OPENBLAS_CORETYPE": "SkylakeX"}, threads=threads,
                              loaded=True))
    # 2. Debian BLIS 0.9 (+ libflame 5.2, + reference LAPACK 3.11)
    lapack_ref = os.path.join(ARCH_LIB, "lapack", "liblapack.so.3")
    ld, lv = debdir("liblapack3", "lapack")
    if ld:
        lapack_ref = os.path.join(ld, "liblapack.so.3")
    flame_dir, fv = debdir("libflame1", "")
    flame = os.path.join(flame_dir, "libflame.so.1") if flame_dir else None
    for flavour in ["openmp", "pthread"]:
        pkg = "libblis4-" + flavour
        d, v = debdir(pkg, "blis-" + flavour)
        blis = os.path.join(d, "libblis.so.4") if d else None
        ok = blis and os.path.exists(blis)
        cands.append(dict(name=f"blis-{flavour}+libflame", libs=[blis, flame], prefix="",
                          suffix="", int64=False, env={}, ldpath=d, threads=[1, 2], loaded=True,
                          pkgver=f"{pkg} {v}; libflame1 {fv}",
                          skip=None if ok and flame and os.path.exists(flame) else
                          f"{pkg}/libflame1 not available"))
        if flavour == "openmp":
            cands.append(dict(name=f"blis-{flavour}+refLAPACK", libs=[blis, lapack_ref],
                              prefix="", suffix="", int64=False, env={}, ldpath=d,
                              threads=[1, 2], loaded=True,
                              pkgver=f"{pkg} {v}; liblapack3 {lv}",
                              skip=None if ok and os.path.exists(lapack_ref) else
                              f"{pkg}/liblapack3 not available"))
    # 3. reference LAPACK + reference BLAS (single thread only)
    bd, bv = debdir("libblas3", "blas")
    blas_ref = os.path.join(bd or os.path.join(ARCH_LIB, "blas"), "libblas.so.3")
    cands.append(dict(name="refLAPACK+refBLAS", libs=[blas_ref, lapack_ref], prefix="",
                      suffix="", int64=False, env={}, ldpath=os.path.dirname(blas_ref),
                      threads=[1], loaded=False, pkgver=f"liblapack3 {lv}; libblas3 {bv}",
                      skip=None if os.path.exists(blas_ref) and os.path.exists(lapack_ref)
                      else "liblapack3/libblas3 not available"))
    # 4. PyPI scipy-openblas32 / scipy-openblas64
    site = venv_info.get("_site", "")
    for bits, pkg, libname, suffix in [(32, "scipy-openblas32", "libscipy_openblas.so", ""),
                                       (64, "scipy-openblas64", "libscipy_openblas64_.so", "64_")]:
        lib = os.path.join(site, pkg.replace("-", "_"), "lib", libname)
        cands.append(dict(name=f"pypi-{pkg}", libs=[lib], prefix="scipy_", suffix=suffix,
                          int64=(bits == 64), env={}, ldpath=None, threads=[1, 2], loaded=True,
                          pkgver=f"{pkg} {venv_info.get(pkg)}",
                          skip=None if os.path.exists(lib) else
                          venv_info.get("_notes", {}).get(pkg, f"{lib} missing")))
    # 5. MKL from PyPI through libmkl_rt, threading layer GNU (libgomp), INTEL (libiomp5), TBB
    prefix = venv_info.get("_prefix", "")
    mkl_rt = sorted(glob.glob(os.path.join(prefix, "lib", "libmkl_rt.so.*")))
    venv_lib = os.path.join(prefix, "lib")
    # The TBB layer ignores MKL_NUM_THREADS / MKL_Set_Num_Threads (it reports and uses 2
    # threads when asked for 1), so it is only run at 2 threads.
    for layer, need in [("GNU", None), ("INTEL", "libiomp5.so"), ("TBB", "libtbb.so.12")]:
        skip = None
        if not mkl_rt:
            skip = venv_info.get("_notes", {}).get("mkl", "libmkl_rt.so.* not found in venv")
        elif need and not os.path.exists(os.path.join(venv_lib, need)):
            skip = f"{need} not found in venv (intel-openmp / tbb package)"
        cands.append(dict(name=f"pypi-mkl-{layer.lower()}", libs=mkl_rt[-1:], prefix="",
                          suffix="", int64=False, env={"MKL_THREADING_LAYER": layer,
                                                       "MKL_INTERFACE_LAYER": "LP64"},
                          ldpath=venv_lib, threads=[2] if layer == "TBB" else [1, 2],
                          loaded=True, pkgver=f"mkl {venv_info.get('mkl')}" +
                          (f"; intel-openmp {venv_info.get('intel-openmp')}" if layer == "INTEL"
                           else f"; tbb {venv_info.get('tbb')}" if layer == "TBB" else ""),
                          skip=skip))
    # 6. NumPy's bundled OpenBLAS (the reference for the ratio columns)
    npl = sorted(glob.glob(os.path.join(site, "numpy.libs", "libscipy_openblas64_*.so")))
    cands.append(dict(name="numpy-bundled-openblas", libs=npl[-1:], prefix="scipy_",
                      suffix="64_", int64=True, env={}, ldpath=None, threads=[1, 2],
                      loaded=True, pkgver=f"numpy {venv_info.get('numpy')}",
                      skip=None if npl else "numpy.libs/libscipy_openblas64_*.so not found"))
    if only:
        cands = [c for c in cands if any(o in c["name"] for o in only)]
    return cands


# --------------------------------------------------------------------------- running
def build(out_bin):
    cxx = os.environ.get("CXX", "g++")
    cmd = [cxx, "-O2", "-std=c++17", "-o", out_bin, os.path.join(HERE, "lapack_candidates.cpp"),
           "-ldl"]
    r = run(cmd)
    if r.returncode != 0:
        sys.exit("build failed:\n" + r.stderr)
    return " ".join(cmd)


def run_one(binary, cand, threads, mode, args, workdir):
    env = dict(os.environ)
    for k in THREAD_ENV + ["OPENBLAS_CORETYPE", "MKL_THREADING_LAYER", "MKL_INTERFACE_LAYER"]:
        env.pop(k, None)
    for k in THREAD_ENV[:4]:
        env[k] = str(threads)
    env.update(cand["env"])
    if cand["ldpath"]:
        env["LD_LIBRARY_PATH"] = cand["ldpath"] + (":" + env["LD_LIBRARY_PATH"]
                                                   if env.get("LD_LIBRARY_PATH") else "")
    cmd = [binary, "--name", cand["name"], "--mode", mode, "--threads", str(threads),
           "--sizes", args.sizes,
           "--reps", args.loaded_reps if mode == "loaded" else args.reps,
           "--budget", str(args.budget),
           "--seed", str(args.seed), "--eigdir", workdir, "--adir", workdir,
           "--prefix", cand["prefix"], "--suffix", cand["suffix"]]
    routines = args.routines or (LOADED_ROUTINES if mode == "loaded" else ROUTINES)
    if isinstance(routines, list):
        routines = ",".join(routines)
    cmd += ["--routines", routines]
    if cand["name"].startswith("refLAPACK"):  # very slow: one repeat at every size
        cmd += ["--reps", "1"]
    if cand["int64"]:
        cmd.append("--int64")
    for lib in cand["libs"]:
        cmd += ["--lib", lib]
    t0 = time.time()
    busy0, child0 = busy_cpu_s(), children_cpu_s()
    try:
        r = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=args.timeout)
        out, err, rc = r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = f"timeout after {args.timeout} s", -1
    lines = []
    for line in out.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        j["pkgver"] = cand["pkgver"]
        j["env"] = {k: v for k, v in cand["env"].items()}
        lines.append(j)
    if rc != 0:
        lines.append({"kind": "error", "name": cand["name"], "mode": mode, "threads": threads,
                      "rc": rc, "stderr": err.strip()[-500:]})
    wall = time.time() - t0
    # CPU used by everything else on the machine while this process ran, in cores
    # (the loaded mode's busy loop counts, ~1.0 there by design).
    other = max(0.0, (busy_cpu_s() - busy0) - (children_cpu_s() - child0)) / max(wall, 1e-9)
    lines.append({"kind": "proc", "name": cand["name"], "mode": mode, "threads": threads,
                  "wall_s": round(wall, 2), "rc": rc, "other_cores_busy": round(other, 2)})
    log(f"  {cand['name']:28s} {mode:6s} t={threads}  {wall:6.1f} s  rc={rc}  "
        f"other load {other:.2f} cores")
    return lines


def busy_cpu_s():
    """Non-idle CPU seconds of the whole machine since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class BusyLoop:
    """One process spinning on one core for the 'loaded' mode."""

    def __init__(self):
        self.p = None

    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.p.kill()


# --------------------------------------------------------------------------- report
def fmt_t(t):
    if t is None:
        return ""
    return f"{t:.3g}" if t < 100 else f"{t:.0f}"


def report(records, cands, skipped, meta, args, workdir):
    lines = []
    P = lines.append
    P(f"# LAPACK/BLAS candidates for gaussot — {meta['date']}")
    P("")
    P(f"Host: {meta['cpu']}, {meta['ncpu']} CPUs, {meta['os']}.  Build: `{meta['build']}`.")
    P(f"Sizes {args.sizes}, repeats {args.reps} (loaded: {args.loaded_reps}; min reported; "
      f"a routine stops repeating after {args.budget} s), seed {args.seed}.  Input A = G Gᵀ/d + I.  Grid wall time "
      f"{meta['wall']:.0f} s.")
    if args.note:
        P("")
        P(f"**Note:** {args.note}")
    procs = [r for r in records if r.get("kind") == "proc"]
    if procs:
        # The loaded mode adds ~1 to the load average by design; quiet runs should see < ~0.5.
        q = [r["other_cores_busy"] for r in procs if r["mode"] == "quiet"]
        if q:
            P("")
            P(f"CPU used by other processes during the quiet runs: mean {sum(q) / len(q):.2f}, "
              f"max {max(q):.2f} cores (of {os.cpu_count()})"
              + ("  — **the machine was busy; treat the numbers as noisy**" if max(q) > 0.2
                 else "") + ".  Per-process values are in the `proc` JSON lines.")
    P("")
    P("## Libraries")
    P("")
    P("| name | packages | library-reported version | threads (env / reported) |")
    P("|---|---|---|---|")
    infos = {}
    for r in records:
        if r.get("kind") == "info" and r.get("status") == "loaded":
            infos.setdefault(r["name"], []).append(r)
    for c in cands:
        if c.get("skip"):
            continue
        inf = infos.get(c["name"], [])
        ver = inf[0]["version"] if inf else "(did not load)"
        thr = ", ".join(f"{i['threads']}/{i['threads_reported']}" for i in inf
                        if i["mode"] == "quiet")
        env = " ".join(f"{k}={v}" for k, v in c["env"].items())
        P(f"| {c['name']} | {c['pkgver']}{'; ' + env if env else ''} | {ver or '—'} | {thr} |")
    if skipped:
        P("")
        P("Not measured:")
        for name, why in skipped:
            P(f"- **{name}**: {why}")
    missing = {}
    for r in records:
        if r.get("kind") == "time" and r.get("status") == "missing":
            missing.setdefault(r["name"], set()).add(r["routine"])
    if missing:
        P("")
        P("Routines a library does not export (cells left empty):")
        for k, v in missing.items():
            P(f"- {k}: {', '.join(sorted(v))}")
    errs = [r for r in records if r.get("kind") == "error" or
            (r.get("kind") == "time" and r.get("status") == "error")]
    if errs:
        P("")
        P("Errors:")
        for r in errs:
            P(f"- {r.get('name')} {r.get('mode')} t={r.get('threads')} {r.get('routine', '')} "
              f"d={r.get('d', '')}: {r.get('detail') or r.get('stderr')}")

    # timing tables
    T = {}
    for r in records:
        if r.get("kind") == "time" and r.get("status") == "ok":
            T[(r["name"], r["mode"], r["threads"], r["routine"], r["d"])] = r["t_min"]
    ref = args.reference
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = [("quiet", 1), ("quiet", 2), ("loaded", 2)]
    for d in sizes:
        P("")
        P(f"## d = {d}: seconds (min of repeats), and ratio to {ref} in the same column "
          "and configuration (< 1 = faster)")
        for mode, thr in configs:
            rows = [c for c in cands if not c.get("skip") and
                    any((c["name"], mode, thr, rt, d) in T for rt in ROUTINES)]
            if not rows:
                continue
            cols = [rt for rt in ROUTINES if any((c["name"], mode, thr, rt, d) in T for c in rows)]
            P("")
            label = {"quiet": f"quiet, {thr} thread{'s' if thr > 1 else ''}",
                     "loaded": f"loaded (one core kept busy by another process), {thr} threads"}
            P(f"### {label[mode]}")
            P("")
            P("| library | " + " | ".join(cols) + " |")
            P("|---|" + "---:|" * len(cols))
            for c in rows:
                cells = []
                for rt in cols:
                    t = T.get((c["name"], mode, thr, rt, d))
                    tr = T.get((ref, mode, thr, rt, d))
                    if t is None:
                        cells.append("")
                    elif tr and c["name"] != ref:
                        cells.append(f"{fmt_t(t)} ({t / tr:.2f}×)")
                    else:
                        cells.append(fmt_t(t))
                P(f"| {c['name']} | " + " | ".join(cells) + " |")

    # two-stage vs one-stage, values only
    P("")
    P("## Two-stage tridiagonalisation, values only: t(dsyevd 'N') / t(dsyevd_2stage 'N') "
      "and t(dsyevr 'N') / t(dsyevr_2stage 'N')  (> 1 = two-stage faster)")
    P("")
    P("| library | config | " + " | ".join(f"syevd d={d} | syevr d={d}" for d in sizes) + " |")
    P("|---|---|" + "---:|---:|" * len(sizes))
    for c in cands:
        for mode, thr in configs:
            cells, any_ = [], False
            for d in sizes:
                for a, b in [("syevd_N", "syevd2s_N"), ("syevr_N", "syevr2s_N")]:
                    ta, tb = T.get((c["name"], mode, thr, a, d)), T.get((c["name"], mode, thr, b, d))
                    if ta and tb:
                        cells.append(f"{ta / tb:.2f}")
                        any_ = True
                    else:
                        cells.append("")
            if any_:
                P(f"| {c['name']} | {mode} t={thr} | " + " | ".join(cells) + " |")

    # eigenvalue agreement
    P("")
    P("## Eigenvalue agreement")
    P("")
    P("max_i |λᵢ − μᵢ| / |μᵢ| of each run's dsyevd 'N' eigenvalues against the reference "
      f"library's ({ref}, quiet, 1 thread); and, within each run, the largest difference "
      "between any other eigen-routine and that run's own dsyevd 'N'.")
    P("")
    P("| library | config | " + " | ".join(f"vs ref d={d} | internal d={d}" for d in sizes) + " |")
    P("|---|---|" + "---:|---:|" * len(sizes))
    refw = {}
    for d in sizes:
        p = os.path.join(workdir, f"{ref}_t1_quiet_d{d}.bin")
        if os.path.exists(p):
            with open(p, "rb") as f:
                b = f.read()
            refw[d] = struct.unpack(f"{len(b) // 8}d", b)
    worst = 0.0
    for c in cands:
        for mode, thr in configs:
            cells, any_ = [], False
            for d in sizes:
                p = os.path.join(workdir, f"{c['name']}_t{thr}_{mode}_d{d}.bin")
                cell = ""
                if os.path.exists(p) and d in refw:
                    with open(p, "rb") as f:
                        b = f.read()
                    w = struct.unpack(f"{len(b) // 8}d", b)
                    if len(w) == len(refw[d]):
                        m = max(abs(x - y) / abs(y) for x, y in zip(w, refw[d]))
                        worst = max(worst, m)
                        cell = f"{m:.1e}"
                        any_ = True
                internal = [r.get("maxrel_vs_syevd_N") for r in records
                            if r.get("kind") == "time" and r["name"] == c["name"] and
                            r["mode"] == mode and r["threads"] == thr and r["d"] == d and
                            r.get("maxrel_vs_syevd_N") is not None]
                cells += [cell, f"{max(internal):.1e}" if internal else ""]
                if internal:
                    worst = max(worst, max(internal))
            if any_:
                P(f"| {c['name']} | {mode} t={thr} | " + " | ".join(cells) + " |")
    P("")
    P(f"Largest relative eigenvalue difference over everything: {worst:.2e}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="file to write the Markdown report and raw JSON lines to")
    ap.add_argument("--venv", default="/work/blas-venv", help="venv for the PyPI candidates")
    ap.add_argument("--cache", default=None,
                    help="where downloaded .deb files are unpacked (default VENV/debian)")
    ap.add_argument("--no-install", action="store_true",
                    help="use what is already there; no pip/apt-get")
    ap.add_argument("--sizes", default="768,2048")
    ap.add_argument("--reps", default="768:5,2048:3", help="repeats per size, d:n,...")
    ap.add_argument("--loaded-reps", default="768:3,2048:2",
                    help="repeats per size in the loaded mode")
    ap.add_argument("--budget", type=float, default=6.0,
                    help="stop repeating a routine after its repeats took this many seconds")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-process timeout (s)")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--only", default="", help="comma list of substrings of candidate names")
    ap.add_argument("--routines", default="", help="comma list (default: all; loaded: "
                    + ",".join(LOADED_ROUTINES) + ")")
    ap.add_argument("--modes", default="quiet,loaded")
    ap.add_argument("--reference", default="numpy-bundled-openblas",
                    help="candidate the ratio columns refer to")
    ap.add_argument("--note", default="", help="free text put at the top of the report")
    args = ap.parse_args()

    t_start = time.time()
    cache = args.cache or os.path.join(args.venv, "debian")
    os.makedirs(cache, exist_ok=True)
    workdir = os.path.join(cache, "..", "run-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)

    log("== locating / installing candidates")
    py, venv_info = setup_venv(args.venv, args.no_install)
    debs = fetch_debs(cache, args.no_install)
    only = [s for s in args.only.split(",") if s]
    cands = candidates(debs, venv_info or {}, only)
    skipped = [(c["name"], c["skip"]) for c in cands if c.get("skip")]
    for n, why in skipped:
        log(f"  skip {n}: {why}")

    binary = os.path.join(workdir, "lapack_candidates")
    log("== building")
    build_cmd = build(binary)

    records = []
    modes = [m for m in args.modes.split(",") if m]
    todo = [c for c in cands if not c.get("skip")]
    if "quiet" in modes:
        log("== quiet runs")
        for c in todo:
            for thr in c["threads"]:
                records += run_one(binary, c, thr, "quiet", args, workdir)
    if "loaded" in modes:
        log("== loaded runs (one busy-loop process on one core)")
        with BusyLoop():
            for c in todo:
                if c["loaded"]:
                    records += run_one(binary, c, 2, "loaded", args, workdir)

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = ""
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            osname = "Debian " + f.read().strip()
    meta = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), cpu=cpu,
                ncpu=os.cpu_count(), os=osname or platform.platform(), build=build_cmd,
                wall=time.time() - t_start)
    text = report(records, cands, skipped, meta, args, workdir)
    text += "\n\n## Raw JSON lines\n\n```\n" + "\n".join(json.dumps(r) for r in records) + "\n```\n"
    with open(args.results, "w") as f:
        f.write(text)
    print(text.split("\n## Raw JSON lines")[0])
    log(f"== wrote {args.results} ({meta['wall']:.0f} s); work files in {workdir}")


if __name__ == "__main__":
    main()
