// One word2vec step of negative sampling on the CPU, as an XLA FFI handler (see word2vec_kernel.py).
//
// The same update as the XLA path of jaxseq/word2vec.py `_step` (skip-gram, one input row per
// example), without its materialised (b, 1 + K, e) gathers and scatter-adds:
//
//   s_ij = h_i · u_oij          h_i = W_in[x_i], u_o = W_out[o], o_i0 the target, o_i1..K negatives
//   g_ij = (σ(s_ij) − [j = 0]) · w_ij                         w_ij: the weights `_step` computes
//   W_out[o] −= lr · scale(k_o) · Σ_{ij: o_ij = o} g_ij h_i   (h_i, u_o: the values before the step)
//   W_in[r]  −= lr · scale(k_r) · Σ_{i: x_i = r} xw_i Σ_j g_ij u_oij
//   loss      = −Σ_ij w_ij log σ(±s_ij)                       (+ for the target, − for a negative)
//
// with k the summed weights of a row's hits in the step and scale(k) = 1/√max(k, 1), 1/max(k, 1) or 1.
// Two passes over the batch, each on XLA's intra-op threads: (A) scores, g, and dh_i = Σ_j g_ij u_oij
// for each example, reading the rows only, the examples split between threads; (B) the row updates in
// example order, W_out on one thread and W_in on another. The result does not depend on the number of
// threads (bit for bit).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// e^x for x <= 0 (0 below −87): 2^n · p(r), x = n ln 2 + r, |r| <= ln 2 / 2 (Cephes' expf polynomial)
inline float exp_nonpositive(float x) {
  x = x < -87.f ? -87.f : x;
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += static_cast<int32_t>(n) << 23;
  std::memcpy(&p, &bits, 4);
  return p;
}

inline float scale_of(float k, int32_t how) {  // how: 0 = ÷√k, 1 = ÷k, 2 = none
  k = k < 1.f ? 1.f : k;
  return how == 0 ? 1.f / std::sqrt(k) : how == 1 ? 1.f / k : 1.f;
}

// hits[r] >= 0 holds a row's summed weights; its first use turns it into −scale (< 0)
inline float take_scale(float* hits, int64_t r, int32_t how) {
  float c = hits[r];
  if (c >= 0.f) {
    c = -scale_of(c, how);
    hits[r] = c;
  }
  return -c;
}

// body(c) for c in [0, n), spread over the pool's threads and the calling one; returns when all are
// done. A task that starts after every c was claimed returns at once, touching only the shared state.
template <class F>
void parallel_for(ffi::ThreadPool& pool, int64_t n, const F& body) {
  const int64_t threads = std::min<int64_t>(pool.num_threads(), n);
  if (threads <= 1) {
    for (int64_t c = 0; c < n; ++c) body(c);
    return;
  }
  struct State {
    std::atomic<int64_t> next{0}, done{0};
  };
  auto state = std::make_shared<State>();
  const F* fn = &body;
  auto work = [state, n, fn]() {
    for (int64_t c; (c = state->next.fetch_add(1)) < n;) {
      (*fn)(c);
      state->done.fetch_add(1, std::memory_order_release);
    }
  };
  for (int64_t t = 1; t < threads; ++t) pool.Schedule(decltype(work)(work));
  work();
  while (state->done.load(std::memory_order_acquire) < n) std::this_thread::yield();
}

inline int64_t row_of(int32_t x) { return x < 0 ? 0 : x; }

// Rows are handled 8 floats at a time (e is a multiple of 8: `_pad_columns`); GCC's vector type
// compiles to the widest instructions of the machine the kernel is built on.
typedef float v8 __attribute__((vector_size(32)));
inline v8 load8(const float* p) {
  v8 a;
  std::memcpy(&a, p, sizeof a);
  return a;
}
inline void store8(float* p, v8 a) { std::memcpy(p, &a, sizeof a); }
inline float sum8(v8 a) { return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); }
constexpr int64_t kAhead = 3;  // examples ahead that pass A prefetches
inline void prefetch_row(const float* row, int64_t e) {
  for (int64_t c = 0; c < e; c += 16) __builtin_prefetch(row + c);
}
// row += a · x
inline void axpy(float* row, float a, const float* x, int64_t e) {
  for (int64_t c = 0; c < e; c += 8) store8(row + c, load8(row + c) + a * load8(x + c));
}

ffi::Error SgnsStep(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> w_in, ffi::Buffer<ffi::F32> w_out,
                    ffi::Buffer<ffi::S32> x, ffi::Buffer<ffi::F32> x_weight, ffi::Buffer<ffi::S32> outs,
                    ffi::Buffer<ffi::F32> weight, ffi::Buffer<ffi::F32> lr_buf,
                    ffi::ResultBuffer<ffi::F32> w_in_new, ffi::ResultBuffer<ffi::F32> w_out_new,
                    ffi::ResultBuffer<ffi::F32> loss_out, int32_t in_scale, int32_t out_scale) {
  if (w_in.dimensions().size() != 2 || w_out.dimensions().size() != 2 || x.dimensions().size() != 1 ||
      x_weight.dimensions().size() != 1 || outs.dimensions().size() != 2 || weight.dimensions().size() != 2 ||
      lr_buf.element_count() != 1 || w_in.dimensions()[1] != w_out.dimensions()[1] ||
      outs.dimensions()[0] != x.dimensions()[0] || x_weight.dimensions()[0] != x.dimensions()[0] ||
      weight.dimensions()[0] != outs.dimensions()[0] || weight.dimensions()[1] != outs.dimensions()[1])
    return ffi::Error::InvalidArgument(
        "jaxseq_sgns_step: shapes must be W_in (v, e), W_out (v', e), x (b,), x_weight (b,), outs (b, k), "
        "weight (b, k), lr ()");
  if (w_in.dimensions()[1] % 8) return ffi::Error::InvalidArgument("jaxseq_sgns_step: e is not a multiple of 8");
  if (outs.dimensions()[1] > 64) return ffi::Error::InvalidArgument("jaxseq_sgns_step: more than 64 outputs");
  const int64_t v = w_in.dimensions()[0], e = w_in.dimensions()[1], v_out = w_out.dimensions()[0];
  const int64_t b = x.dimensions()[0], k = outs.dimensions()[1];
  float* W_in = w_in_new->typed_data();
  float* W_out = w_out_new->typed_data();
  if (W_in != w_in.typed_data()) std::memcpy(W_in, w_in.typed_data(), sizeof(float) * v * e);
  if (W_out != w_out.typed_data()) std::memcpy(W_out, w_out.typed_data(), sizeof(float) * v_out * e);
  const int32_t* X = x.typed_data();
  const float* XW = x_weight.typed_data();
  const int32_t* O = outs.typed_data();
  const float* W = weight.typed_data();
  const float lr = lr_buf.typed_data()[0];

  thread_local std::vector<float> hits_in, hits_out, g_buf, h_buf, dh_buf, loss_buf;
  if (static_cast<int64_t>(hits_in.size()) < v) hits_in.assign(v, 0.f);
  if (static_cast<int64_t>(hits_out.size()) < v_out) hits_out.assign(v_out, 0.f);
  g_buf.resize(b * k);
  h_buf.resize(b * e);
  dh_buf.resize(b * e);
  loss_buf.resize(b);
  float* HI = hits_in.data();
  float* HO = hits_out.data();
  float* G = g_buf.data();
  float* H = h_buf.data();
  float* DH = dh_buf.data();
  float* L = loss_buf.data();

  for (int64_t i = 0; i < b; ++i) {  // before anything is written: an error leaves the rows and counts as they were
    if (X[i] >= v) return ffi::Error::InvalidArgument("jaxseq_sgns_step: an input id is out of range");
    if (!(XW[i] >= 0.f)) return ffi::Error::InvalidArgument("jaxseq_sgns_step: an input weight is negative or NaN");
    for (int64_t j = 0; j < k; ++j) {
      if (O[i * k + j] < 0 || O[i * k + j] >= v_out)
        return ffi::Error::InvalidArgument("jaxseq_sgns_step: an output id is out of range");
      if (!(W[i * k + j] >= 0.f))
        return ffi::Error::InvalidArgument("jaxseq_sgns_step: an output weight is negative or NaN");
    }
  }
  for (int64_t i = 0; i < b; ++i) {
    HI[row_of(X[i])] += XW[i];
    for (int64_t j = 0; j < k; ++j) HO[O[i * k + j]] += W[i * k + j];
  }

  const int64_t pieces = std::min<int64_t>(b, 8 * std::max<int64_t>(1, pool.num_threads()));
  // A: scores, g and dh from the rows before the step (reads only)
  parallel_for(pool, pieces, [&](int64_t piece) {
    const float* u[64];
    float s[64];
    for (int64_t i = b * piece / pieces, end = b * (piece + 1) / pieces; i < end; ++i) {
      const float* h = W_in + row_of(X[i]) * e;
      float* d = DH + i * e;
      std::memcpy(H + i * e, h, sizeof(float) * e);  // for pass B, which changes W_in
      for (int64_t j = 0; j < k; ++j) u[j] = W_out + static_cast<int64_t>(O[i * k + j]) * e;
      if (i + kAhead < end) {  // the rows of a later example on their way into the cache (≈ 8% faster)
        const int32_t* later = O + (i + kAhead) * k;
        prefetch_row(W_in + row_of(X[i + kAhead]) * e, e);
        for (int64_t j = 0; j < k; ++j) prefetch_row(W_out + static_cast<int64_t>(later[j]) * e, e);
      }
      if (k == 6) {  // the default (one target, K = 5): six dots in one sweep of h
        v8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {};
        for (int64_t c = 0; c < e; c += 8) {
          const v8 hc = load8(h + c);
          a0 += hc * load8(u[0] + c);
          a1 += hc * load8(u[1] + c);
          a2 += hc * load8(u[2] + c);
          a3 += hc * load8(u[3] + c);
          a4 += hc * load8(u[4] + c);
          a5 += hc * load8(u[5] + c);
        }
        s[0] = sum8(a0), s[1] = sum8(a1), s[2] = sum8(a2), s[3] = sum8(a3), s[4] = sum8(a4), s[5] = sum8(a5);
      } else {
        for (int64_t j = 0; j < k; ++j) {
          v8 a = {};
          for (int64_t c = 0; c < e; c += 8) a += load8(h + c) * load8(u[j] + c);
          s[j] = sum8(a);
        }
      }
      // −log σ(y) = max(−y, 0) + log(1 + e^−|y|): for the weight-1 terms, log(1 + t) as t where t < 1e-4
      // (relative error < 5e-5) and the other logs as one log of a product of factors in (1, 2]
      float loss = 0.f, product = 1.f;
      for (int64_t j = 0; j < k; ++j) {
        const float w = W[i * k + j], sj = s[j];
        const float y = j == 0 ? sj : -sj;
        const float t = exp_nonpositive(-std::fabs(sj));
        const float sigma = sj >= 0.f ? 1.f / (1.f + t) : t / (1.f + t);
        if (w == 1.f) {
          loss += y < 0.f ? -y : 0.f;
          if (t < 1e-4f)
            loss += t;
          else
            product *= 1.f + t;
        } else if (w != 0.f) {
          loss += w * ((y < 0.f ? -y : 0.f) + std::log1p(t));
        }
        s[j] = (sigma - (j == 0 ? 1.f : 0.f)) * w;  // now g_ij
        G[i * k + j] = s[j];
      }
      L[i] = loss + std::log(product);
      if (k == 6) {
        const float g0 = s[0], g1 = s[1], g2 = s[2], g3 = s[3], g4 = s[4], g5 = s[5];
        for (int64_t c = 0; c < e; c += 8)
          store8(d + c, g0 * load8(u[0] + c) + g1 * load8(u[1] + c) + g2 * load8(u[2] + c) +
                            g3 * load8(u[3] + c) + g4 * load8(u[4] + c) + g5 * load8(u[5] + c));
      } else {
        for (int64_t c = 0; c < e; c += 8) store8(d + c, v8{});
        for (int64_t j = 0; j < k; ++j) axpy(d, s[j], u[j], e);
      }
    }
  });
  // B: the row updates, in example order: the output rows (from the h_i that pass A copied) on one
  // thread and the input rows on another. Split by row between threads, the output rows took longer
  // than on one (each write then takes its cache line from the other core, which read it in pass A).
  parallel_for(pool, 2, [&](int64_t matrix) {
    if (matrix == 0) {
      for (int64_t i = 0; i < b; ++i) {
        const float* h = H + i * e;
        for (int64_t j = 0; j < k; ++j) {
          const float gij = G[i * k + j];
          if (gij == 0.f) continue;
          const int64_t o = O[i * k + j];
          axpy(W_out + o * e, -lr * gij * take_scale(HO, o, out_scale), h, e);
        }
      }
    } else {
      for (int64_t i = 0; i < b; ++i) {
        if (XW[i] == 0.f) continue;
        const int64_t r = row_of(X[i]);
        axpy(W_in + r * e, -lr * XW[i] * take_scale(HI, r, in_scale), DH + i * e, e);
      }
    }
  });
  double loss = 0.0;
  for (int64_t i = 0; i < b; ++i) {  // the loss, and the counts back to zero for the next call
    loss += L[i];
    HI[row_of(X[i])] = 0.f;
    for (int64_t j = 0; j < k; ++j) HO[O[i * k + j]] = 0.f;
  }
  loss_out->typed_data()[0] = static_cast<float>(loss);
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxseqSgnsStep, SgnsStep,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // W_in (v, e)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // W_out (v_out, e)
                                  .Arg<ffi::Buffer<ffi::S32>>()  // x (b,): input rows (< 0: row 0, weight 0)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // xw (b,): input weights
                                  .Arg<ffi::Buffer<ffi::S32>>()  // outs (b, k): target, then negatives
                                  .Arg<ffi::Buffer<ffi::F32>>()  // w (b, k): their weights
                                  .Arg<ffi::Buffer<ffi::F32>>()  // lr ()
                                  .Ret<ffi::Buffer<ffi::F32>>()  // W_in, in place
                                  .Ret<ffi::Buffer<ffi::F32>>()  // W_out, in place
                                  .Ret<ffi::Buffer<ffi::F32>>()  // loss ()
                                  .Attr<int32_t>("in_scale")
                                  .Attr<int32_t>("out_scale"));
