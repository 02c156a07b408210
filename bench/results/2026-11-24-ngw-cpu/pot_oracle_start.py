# Diagnostic run once for bench/results/2026-11-24-ngw-cpu/README.md (from the repository root:
#   python3 bench/results/2026-11-24-ngw-cpu/pot_oracle_start.py); output in pot-oracle-start.txt.
# Diagnostic: POT's gromov_wasserstein from an oracle start (the permutation matching T*(x_i) to y_j
# by linear OT), same samples as bench/peers_ngw.py --seed 0, vs its default start p q^T.
import sys, time, warnings
import numpy as np, ot
sys.path.insert(0, "bench")
import peers_ngw as P
warnings.simplefilter("ignore")
for m, n in [(16, 4), (64, 16), (256, 64)]:
    rng = np.random.default_rng([0, m, n]); a = P.gaussian(np, rng, m); b = P.gaussian(np, rng, n)
    exact = P.closed_form(np, a[1], b[1])
    rng = np.random.default_rng([0, m, n, 1]); N = 2000
    x = (rng.standard_normal((N, m)) * np.sqrt(a[1])) @ a[2].T
    y = (rng.standard_normal((N, n)) * np.sqrt(b[1])) @ b[2].T
    opt = ((x @ a[2])[:, :n] * np.sqrt(b[1] / a[1][:n])) @ b[2].T
    p = np.full(N, 1.0 / N)
    g0 = ot.emd(p, p, ot.dist(opt, y), numItermax=10**7)
    c0 = P.plan_costs(np, x, y, g0)["i_ne_k"]
    t = time.perf_counter()
    plan, log = ot.gromov.gromov_wasserstein(x @ x.T, y @ y.T, p, p, "square_loss", log=True, G0=g0, numItermaxEmd=10**7)
    t = time.perf_counter() - t
    c = P.plan_costs(np, x, y, plan)
    print(f"{m}x{n}: closed form {exact:.5g}; oracle start i≠k {c0:.5g} ({100*(c0/exact-1):+.2f}%); "
          f"POT from it: i≠k {c['i_ne_k']:.5g} ({100*(c['i_ne_k']/exact-1):+.2f}%), all i,k {c['all_ik']:.5g} "
          f"({100*(c['all_ik']/exact-1):+.2f}%), {len(log['loss'])-1} iterations, {t:.1f} s", flush=True)
