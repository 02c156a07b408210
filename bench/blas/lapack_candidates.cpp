// lapack_candidates.cpp — time LAPACK/BLAS routines of one candidate library,
// loaded at run time with dlopen/dlsym.
//
// Build:  g++ -O2 -std=c++17 -o lapack_candidates lapack_candidates.cpp -ldl
//
// One process measures one (library, thread count, mode) configuration and
// prints one JSON object per line on stdout (one per routine x size, plus a
// header line "kind":"info").  The driver script lapack_candidates.py runs the
// grid; see README.md.
//
// Usage:
//   lapack_candidates --lib PATH [--lib PATH ...]   libraries, dlopen'ed RTLD_GLOBAL
//                                                   in order (e.g. BLIS, then libflame);
//                                                   a symbol is taken from the first
//                                                   library that defines it
//                     [--prefix P] [--suffix S]     symbol = P + routine + "_" + S,
//                                                   e.g. scipy_ + dsyevd + _ + 64_
//                     [--int64]                     64-bit integer (ILP64) interface
//                     [--name NAME] [--mode quiet|loaded] [--threads N]
//                     [--sizes 768,2048] [--reps 768:5,2048:3]
//                     [--budget SECONDS]            stop repeating a routine once its
//                                                   repeats took this long (>=1 repeat)
//                     [--routines LIST]             comma list, default all:
//                       syevd_N,syevd_V,syevr_N,syevr_V,syevd2s_N,syevr2s_N,potrf,gemm
//                     [--seed N] [--eigdir DIR]     write dsyevd 'N' eigenvalues to
//                                                   DIR/NAME_tT_MODE_dD.bin (raw doubles)
//                     [--adir DIR]                  cache A in DIR/A_dD_seedS.bin (building A
//                                                   at d = 2048 takes seconds without BLAS)
//                     [--no-api]                    don't call the library's
//                                                   set-num-threads function (env only)
//
// Timing: each repeat runs on a fresh copy of A (copied outside the timed
// region); workspace queries (lwork = -1) are made once per routine and size,
// outside the timed region.  Reported: min, median and all repeat times.

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
using flen = std::size_t;  // gfortran hidden character-length argument type

std::vector<void*> g_handles;

void* find_sym(const std::string& name) {
  for (void* h : g_handles) {
    if (void* p = dlsym(h, name.c_str())) return p;
  }
  return nullptr;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

struct Options {
  std::vector<std::string> libs;
  std::string prefix, suffix, name = "lib", mode = "quiet", eigdir, adir;
  bool int64 = false, use_api = true;
  int threads = 0;
  std::vector<int> sizes{768, 2048};
  std::map<int, int> reps{{768, 5}, {2048, 3}};
  double budget = 1e30;
  std::vector<std::string> routines{"syevd_N",   "syevd_V",   "syevr_N", "syevr_V",
                                    "syevd2s_N", "syevr2s_N", "potrf",   "gemm"};
  unsigned seed = 20240611u;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// A = G G^T / d + I, G with N(0,1) entries from a fixed-seed mt19937_64 and a
// Box-Muller transform written out here so every build produces identical A.
std::vector<double> make_spd(int d, unsigned seed) {
  std::mt19937_64 rng(seed + static_cast<unsigned>(d));
  auto unif = [&]() {
    return (static_cast<double>(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  };
  std::vector<double> g(static_cast<std::size_t>(d) * d);
  for (std::size_t i = 0; i < g.size(); i += 2) {
    double u1 = unif(), u2 = unif();
    double r = std::sqrt(-2.0 * std::log(u1));
    g[i] = r * std::cos(2.0 * M_PI * u2);
    if (i + 1 < g.size()) g[i + 1] = r * std::sin(2.0 * M_PI * u2);
  }
  // Plain triple loop with blocking (no BLAS, so A does not depend on the library).
  std::vector<double> a(static_cast<std::size_t>(d) * d, 0.0);
  const int B = 64;
  for (int ib = 0; ib < d; ib += B)
    for (int jb = 0; jb <= ib; jb += B)
      for (int kb = 0; kb < d; kb += B)
        for (int i = ib; i < std::min(ib + B, d); ++i)
          for (int j = jb; j < std::min(jb + B, d); ++j) {
            if (j > i) continue;
            double s = 0.0;
            const double* gi = &g[static_cast<std::size_t>(i) * d];
            const double* gj = &g[static_cast<std::size_t>(j) * d];
            for (int k = kb; k < std::min(kb + B, d); ++k) s += gi[k] * gj[k];
            a[static_cast<std::size_t>(i) * d + j] += s;
          }
  for (int i = 0; i < d; ++i)
    for (int j = 0; j <= i; ++j) {
      double v = a[static_cast<std::size_t>(i) * d + j] / d + (i == j ? 1.0 : 0.0);
      a[static_cast<std::size_t>(i) * d + j] = v;
      a[static_cast<std::size_t>(j) * d + i] = v;
    }
  return a;
}

std::vector<double> get_spd(int d, const Options& o) {
  if (o.adir.empty()) return make_spd(d, o.seed);
  std::string path =
      o.adir + "/A_d" + std::to_string(d) + "_seed" + std::to_string(o.seed) + ".bin";
  std::vector<double> a(static_cast<size_t>(d) * d);
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    size_t got = std::fread(a.data(), sizeof(double), a.size(), f);
    std::fclose(f);
    if (got == a.size()) return a;
  }
  a = make_spd(d, o.seed);
  std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(getpid()));
  if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
    std::fwrite(a.data(), sizeof(double), a.size(), f);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
  }
  return a;
}

template <class I>
struct Lapack {
  using syevd_t = void (*)(const char*, const char*, const I*, double*, const I*, double*, double*,
                           const I*, I*, const I*, I*, flen, flen);
  using syevr_t = void (*)(const char*, const char*, const char*, const I*, double*, const I*,
                           const double*, const double*, const I*, const I*, const double*, I*,
                           double*, double*, const I*, I*, double*, const I*, I*, const I*, I*,
                           flen, flen, flen);
  using potrf_t = void (*)(const char*, const I*, double*, const I*, I*, flen);
  using gemm_t = void (*)(const char*, const char*, const I*, const I*, const I*, const double*,
                          const double*, const I*, const double*, const I*, const double*, double*,
                          const I*, flen, flen);
  syevd_t syevd = nullptr, syevd2s = nullptr;
  syevr_t syevr = nullptr, syevr2s = nullptr;
  potrf_t potrf = nullptr;
  gemm_t gemm = nullptr;
  std::map<std::string, std::string> symname;

  void resolve(const Options& o) {
    auto get = [&](const char* base) {
      std::string s = o.prefix + base + "_" + o.suffix;
      symname[base] = s;
      return find_sym(s);
    };
    syevd = reinterpret_cast<syevd_t>(get("dsyevd"));
    syevd2s = reinterpret_cast<syevd_t>(get("dsyevd_2stage"));
    syevr = reinterpret_cast<syevr_t>(get("dsyevr"));
    syevr2s = reinterpret_cast<syevr_t>(get("dsyevr_2stage"));
    potrf = reinterpret_cast<potrf_t>(get("dpotrf"));
    gemm = reinterpret_cast<gemm_t>(get("dgemm"));
  }
};

struct Result {
  std::string status = "ok";  // ok | missing | error
  std::string detail;
  std::vector<double> times;
  std::vector<double> w;  // eigenvalues (for eigen routines)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <class I>
Result run_routine(const Lapack<I>& L, const std::string& r, int d, const std::vector<double>& A,
                   int reps, double budget) {
  Result res;
  const I n = d, lda = d;
  std::vector<double> a(A.size());
  std::vector<double> w(d);
  I info = 0;

  const bool is_syevd = r == "syevd_N" || r == "syevd_V" || r == "syevd2s_N";
  const bool is_syevr = r == "syevr_N" || r == "syevr_V" || r == "syevr2s_N";
  const char jobz = (r.back() == 'V') ? 'V' : 'N';
  const char uplo = 'L';

  typename Lapack<I>::syevd_t fd = (r == "syevd2s_N") ? L.syevd2s : L.syevd;
  typename Lapack<I>::syevr_t fr = (r == "syevr2s_N") ? L.syevr2s : L.syevr;
  if ((is_syevd && !fd) || (is_syevr && !fr) || (r == "potrf" && !L.potrf) ||
      (r == "gemm" && !L.gemm)) {
    res.status = "missing";
    return res;
  }

  // ---- workspace (queried once, outside the timed region) ----
  std::vector<double> work, z, b, c;
  std::vector<I> iwork, isuppz;
  I lwork = 0, liwork = 0, m = 0, ldz = 1;
  const double vl = 0.0, vu = 0.0, abstol = 0.0;
  const I il = 0, iu = 0;
  if (is_syevd || is_syevr) {
    a = A;
    double wq = 0.0;
    I iwq = 0;
    const I q = -1;
    if (is_syevd) {
      fd(&jobz, &uplo, &n, a.data(), &lda, w.data(), &wq, &q, &iwq, &q, &info, 1, 1);
    } else {
      ldz = (jobz == 'V') ? n : 1;
      z.assign(static_cast<size_t>(ldz) * (jobz == 'V' ? d : 1), 0.0);
      isuppz.assign(2 * static_cast<size_t>(d), 0);
      const char range = 'A';
      fr(&jobz, &range, &uplo, &n, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(),
         z.data(), &ldz, isuppz.data(), &wq, &q, &iwq, &q, &info, 1, 1, 1);
    }
    if (info != 0) {
      res.status = "error";
      res.detail = "workspace query info=" + std::to_string(static_cast<long long>(info));
      return res;
    }
    lwork = static_cast<I>(wq * (1.0 + 1e-12)) + 1;
    liwork = std::max<I>(iwq, 1);
    work.assign(static_cast<size_t>(lwork), 0.0);
    iwork.assign(static_cast<size_t>(liwork), 0);
  } else if (r == "gemm") {
    b = A;
    c.assign(A.size(), 0.0);
  }

  double total = 0.0;
  for (int rep = 0; rep < reps; ++rep) {
    a = A;  // fresh input, outside the timed region
    info = 0;
    auto t0 = clk::now();
    if (is_syevd) {
      fd(&jobz, &uplo, &n, a.data(), &lda, w.data(), work.data(), &lwork, iwork.data(), &liwork,
         &info, 1, 1);
    } else if (is_syevr) {
      const char range = 'A';
      fr(&jobz, &range, &uplo, &n, a.data(), &lda, &vl, &vu, &il, &iu, &abstol, &m, w.data(),
         z.data(), &ldz, isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
    } else if (r == "potrf") {
      L.potrf(&uplo, &n, a.data(), &lda, &info, 1);
    } else {  // gemm: C = A * B
      const double alpha = 1.0, beta = 0.0;
      const char tr = 'N';
      L.gemm(&tr, &tr, &n, &n, &n, &alpha, a.data(), &lda, b.data(), &lda, &beta, c.data(), &lda, 1,
             1);
    }
    double t = std::chrono::duration<double>(clk::now() - t0).count();
    if (info != 0) {
      res.status = "error";
      res.detail = "info=" + std::to_string(static_cast<long long>(info));
      return res;
    }
    if (is_syevr && m != n) {
      res.status = "error";
      res.detail = "syevr found m=" + std::to_string(static_cast<long long>(m)) + " eigenvalues";
      return res;
    }
    res.times.push_back(t);
    total += t;
    if (total > budget) break;
  }
  if (is_syevd || is_syevr) res.w = w;
  if (r == "gemm") {  // sanity: C(0,0) = sum_k A(0,k) A(k,0)
    double s = 0.0;
    for (int k = 0; k < d; ++k) s += A[static_cast<size_t>(k) * d] * A[k];
    if (std::abs(c[0] - s) > 1e-9 * std::abs(s)) {
      res.status = "error";
      res.detail = "gemm result wrong";
    }
  }
  return res;
}

double max_rel_diff(const std::vector<double>& x, const std::vector<double>& ref) {
  double m = 0.0;
  for (size_t i = 0; i < x.size() && i < ref.size(); ++i)
    m = std::max(m, std::abs(x[i] - ref[i]) / std::max(std::abs(ref[i]), 1e-300));
  return m;
}

template <class I>
int run_all(const Options& o, const std::string& info_json) {
  Lapack<I> L;
  L.resolve(o);
  std::printf("%s\n", info_json.c_str());
  std::fflush(stdout);

  // Warm-up: start the library's thread pool, dispatch tables, etc.
  {
    std::vector<double> A = make_spd(96, o.seed);
    for (const char* r : {"gemm", "syevd_N", "potrf"}) run_routine<I>(L, r, 96, A, 1, 1e30);
  }

  for (int d : o.sizes) {
    std::vector<double> A = get_spd(d, o);
    int reps = o.reps.count(d) ? o.reps.at(d) : 3;
    std::vector<double> ref_w;
    for (const std::string& r : o.routines) {
      Result res = run_routine<I>(L, r, d, A, reps, o.budget);
      std::ostringstream js;
      js.precision(6);
      js << "{\"kind\":\"time\",\"name\":\"" << json_escape(o.name) << "\",\"mode\":\"" << o.mode
         << "\",\"threads\":" << o.threads << ",\"routine\":\"" << r << "\",\"d\":" << d
         << ",\"status\":\"" << res.status << "\"";
      if (!res.detail.empty()) js << ",\"detail\":\"" << json_escape(res.detail) << "\"";
      if (!res.times.empty()) {
        js << ",\"t_min\":" << *std::min_element(res.times.begin(), res.times.end())
           << ",\"t_med\":" << median(res.times) << ",\"reps\":" << res.times.size()
           << ",\"times\":[";
        for (size_t i = 0; i < res.times.size(); ++i) js << (i ? "," : "") << res.times[i];
        js << "]";
      }
      if (!res.w.empty()) {
        if (r == "syevd_N") {
          ref_w = res.w;
          if (!o.eigdir.empty()) {
            std::string path = o.eigdir + "/" + o.name + "_t" + std::to_string(o.threads) + "_" +
                               o.mode + "_d" + std::to_string(d) + ".bin";
            if (FILE* f = std::fopen(path.c_str(), "wb")) {
              std::fwrite(res.w.data(), sizeof(double), res.w.size(), f);
              std::fclose(f);
            }
          }
          js << ",\"lambda_min\":" << res.w.front() << ",\"lambda_max\":" << res.w.back();
        } else if (!ref_w.empty()) {
          js << ",\"maxrel_vs_syevd_N\":" << max_rel_diff(res.w, ref_w);
        }
      }
      js << "}";
      std::printf("%s\n", js.str().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--lib")
      o.libs.push_back(val());
    else if (k == "--prefix")
      o.prefix = val();
    else if (k == "--suffix")
      o.suffix = val();
    else if (k == "--int64")
      o.int64 = true;
    else if (k == "--name")
      o.name = val();
    else if (k == "--mode")
      o.mode = val();
    else if (k == "--threads")
      o.threads = std::atoi(val().c_str());
    else if (k == "--budget")
      o.budget = std::atof(val().c_str());
    else if (k == "--seed")
      o.seed = static_cast<unsigned>(std::strtoul(val().c_str(), nullptr, 10));
    else if (k == "--eigdir")
      o.eigdir = val();
    else if (k == "--adir")
      o.adir = val();
    else if (k == "--no-api")
      o.use_api = false;
    else if (k == "--routines")
      o.routines = split(val(), ',');
    else if (k == "--sizes") {
      o.sizes.clear();
      for (auto& s : split(val(), ',')) o.sizes.push_back(std::atoi(s.c_str()));
    } else if (k == "--reps") {
      for (auto& s : split(val(), ',')) {
        auto kv = split(s, ':');
        if (kv.size() == 2)
          o.reps[std::atoi(kv[0].c_str())] = std::atoi(kv[1].c_str());
        else if (kv.size() == 1)
          for (int d : o.sizes) o.reps[d] = std::atoi(kv[0].c_str());
      }
    } else {
      std::fprintf(stderr, "unknown argument %s (see the header of lapack_candidates.cpp)\n",
                   k.c_str());
      return 2;
    }
  }
  if (o.libs.empty()) {
    std::fprintf(stderr, "need at least one --lib\n");
    return 2;
  }
  for (const auto& p : o.libs) {
    void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      std::printf(
          "{\"kind\":\"info\",\"name\":\"%s\",\"status\":\"load_failed\",\"detail\":\"%s\"}\n",
          json_escape(o.name).c_str(), json_escape(dlerror()).c_str());
      return 3;
    }
    g_handles.push_back(h);
  }

  // libflame's LAPACK layer wants FLA_Init before use.
  if (auto fla_init = reinterpret_cast<void (*)()>(find_sym("FLA_Init"))) fla_init();

  // Thread count through the library's own API (the driver also sets the
  // environment variables), and version strings.
  std::string api = "none", version;
  int reported = -1;
  const std::string sfx = o.suffix;  // "" or "64_" for the scipy-openblas builds
  if (auto set =
          reinterpret_cast<void (*)(int)>(find_sym(o.prefix + "openblas_set_num_threads" + sfx))) {
    if (o.use_api && o.threads > 0) set(o.threads), api = "openblas_set_num_threads";
    if (auto get =
            reinterpret_cast<int (*)()>(find_sym(o.prefix + "openblas_get_num_threads" + sfx)))
      reported = get();
    if (auto cfg =
            reinterpret_cast<const char* (*)()>(find_sym(o.prefix + "openblas_get_config" + sfx)))
      version = cfg();
  } else if (auto set = reinterpret_cast<void (*)(int)>(find_sym("MKL_Set_Num_Threads"))) {
    if (o.use_api && o.threads > 0) set(o.threads), api = "MKL_Set_Num_Threads";
    if (auto get = reinterpret_cast<int (*)()>(find_sym("MKL_Get_Max_Threads"))) reported = get();
    if (auto ver = reinterpret_cast<void (*)(char*, int)>(find_sym("MKL_Get_Version_String"))) {
      char buf[256] = {0};
      ver(buf, sizeof buf - 1);
      version = buf;
    }
  } else if (auto set = reinterpret_cast<void (*)(long)>(find_sym("bli_thread_set_num_threads"))) {
    if (o.use_api && o.threads > 0) set(o.threads), api = "bli_thread_set_num_threads";
    if (auto get = reinterpret_cast<long (*)()>(find_sym("bli_thread_get_num_threads")))
      reported = static_cast<int>(get());
    if (auto ver = reinterpret_cast<const char* (*)()>(find_sym("bli_info_get_version_str")))
      version = std::string("BLIS ") + ver();
  }
  while (!version.empty() && (version.back() == ' ' || version.back() == '\n')) version.pop_back();

  std::ostringstream info;
  info << "{\"kind\":\"info\",\"name\":\"" << json_escape(o.name) << "\",\"status\":\"loaded\""
       << ",\"mode\":\"" << o.mode << "\",\"threads\":" << o.threads << ",\"thread_api\":\"" << api
       << "\",\"threads_reported\":" << reported << ",\"version\":\"" << json_escape(version)
       << "\",\"int64\":" << (o.int64 ? "true" : "false") << ",\"libs\":[";
  for (size_t i = 0; i < o.libs.size(); ++i)
    info << (i ? "," : "") << "\"" << json_escape(o.libs[i]) << "\"";
  info << "],\"symbols\":{";
  {
    Lapack<int> tmp;
    tmp.resolve(o);
    bool first = true;
    for (auto& kv : tmp.symname) {
      info << (first ? "" : ",") << "\"" << kv.first << "\":\""
           << (find_sym(kv.second) ? kv.second : std::string("MISSING:") + kv.second) << "\"";
      first = false;
    }
  }
  info << "}}";

  return o.int64 ? run_all<int64_t>(o, info.str()) : run_all<int32_t>(o, info.str());
}
