// SPDX-License-Identifier: Apache-2.0
// Context, Array, views, copy() and the error types.
#include "test_utils.hpp"

namespace gaussot::test {
namespace {

TEST(Context, CpuContextAndCompiledBackends) {
  const Context ctx = Context::cpu(3);
  EXPECT_EQ(ctx.backend(), Backend::cpu);
  EXPECT_EQ(ctx.memory_space(), MemorySpace::host);
  EXPECT_EQ(ctx.num_threads(), 3);
  EXPECT_EQ(ctx.device(), -1);
  EXPECT_EQ(ctx.stream(), nullptr);
  EXPECT_NO_THROW(ctx.synchronize());
  EXPECT_GE(Context::cpu().num_threads(), 1);
  EXPECT_THROW(Context::cpu(-1), InvalidArgument);
  const auto backends = compiled_backends();
  ASSERT_FALSE(backends.empty());
  EXPECT_EQ(backends.front(), Backend::cpu);
  EXPECT_EQ(backends.size(), GAUSSOT_HAS_CUDA ? 2u : 1u);
  EXPECT_STREQ(to_string(Backend::cuda), "cuda");
  EXPECT_STREQ(to_string(MemorySpace::device), "device");
}

TEST(Context, CudaContextWithoutCudaFailsClearly) {
  if (GAUSSOT_HAS_CUDA && cuda_device_count() > 0) {
    GTEST_SKIP() << "a CUDA device is present; the failure paths do not apply";
  }
  EXPECT_EQ(cuda_device_count(), 0);
  EXPECT_TRUE(cuda_device_names().empty());
  EXPECT_EQ(Context::automatic().backend(), Backend::cpu);
  try {
    Context::cuda(0);
    ADD_FAILURE() << "no exception";
  } catch (const NotCompiled& e) {
    EXPECT_FALSE(GAUSSOT_HAS_CUDA) << e.what();
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(GAUSSOT_HAS_CUDA) << e.what();
    EXPECT_NE(std::string(e.what()).find("'device'"), std::string::npos) << e.what();
  }
}

TEST(Context, MovedContextKeepsItsState) {
  Context a = Context::cpu(2);
  Context b = std::move(a);
  EXPECT_EQ(b.num_threads(), 2);
  EXPECT_THROW(b.cuda_resources(), NotCompiled);
}

TEST(Array, HostArrayViewsAndBounds) {
  Array<double> array = Array<double>::host(24);
  EXPECT_EQ(array.size(), 24);
  EXPECT_EQ(array.space(), MemorySpace::host);
  const MatrixBatch<double> m = array.matrices(2, 3, 4);
  EXPECT_EQ(m.ld, 2);
  EXPECT_EQ(m.stride, 6);
  EXPECT_TRUE(m.is_packed());
  EXPECT_EQ(array.vectors(6, 4).stride, 6);
  EXPECT_THROW(array.matrices(5, 5, 1), InvalidArgument);
  EXPECT_THROW(Array<float>::host(-1), InvalidArgument);
  EXPECT_THROW(Array<double>::host(std::numeric_limits<std::int64_t>::max() / 4), OutOfMemory);
  Array<double> empty = Array<double>::host(0);
  EXPECT_EQ(empty.data(), nullptr);
  const Context ctx = Context::cpu();
  Array<float> from_context(ctx, 5);
  EXPECT_EQ(from_context.space(), MemorySpace::host);
}

TEST(Array, FromHostAdoptsOnCpuAndTakeHostHandsBack) {
  Context ctx = Context::cpu();
  std::vector<double> values{1, 2, 3, 4, 5, 6};
  const double* storage = values.data();
  Array<double> adopted = Array<double>::from_host(ctx, std::move(values));
  EXPECT_EQ(adopted.data(), storage);  // no copy on the CPU
  Array<double> moved = std::move(adopted);
  EXPECT_EQ(moved.data(), storage);  // and none when the array moves
  EXPECT_EQ(moved.matrices(2, 3, 1).data[4], 5);
  const std::vector<double> back = moved.take_host(ctx);
  EXPECT_EQ(back.data(), storage);
  EXPECT_EQ(back, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(moved.size(), 0);
  // An allocated host array is copied out.
  Array<float> allocated(ctx, 3);
  for (int i = 0; i < 3; ++i) allocated.data()[i] = float(i) + 0.5f;
  EXPECT_EQ(allocated.take_host(ctx), (std::vector<float>{0.5f, 1.5f, 2.5f}));
  EXPECT_TRUE(Array<float>::from_host(ctx, {}).take_host(ctx).empty());
}

TEST(Array, FromHostAndTakeHostRoundTripOnTheDevice) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: the device round trip is not run";
  Context ctx = Context::cuda(0);
  const std::vector<double> values{3, 1, 4, 1, 5};
  Array<double> on_device = Array<double>::from_host(ctx, values);
  EXPECT_EQ(on_device.space(), MemorySpace::device);
  EXPECT_EQ(on_device.take_host(ctx), values);
  EXPECT_EQ(on_device.size(), 0);
}

TEST(Copy, HostCopiesHonourPaddingAndBroadcast) {
  Context ctx = Context::cpu();
  HostBatch<double> src(3, 2, 4, 1, 2), dst(3, 2, 4, 2, 0);
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t r = 0; r < 3; ++r) src.view.at(i, r, c) = 100 * i + 10 * c + r;
  copy<double>(ctx, src.cview(), dst.view);
  for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(dst.item(i), src.item(i));
  std::size_t finite = 0;
  for (double x : dst.storage) finite += std::isfinite(x);
  EXPECT_EQ(finite, 24u);
  copy<double>(ctx, broadcast(src.cview().slice(1, 2), 4), dst.view);
  EXPECT_EQ(dst.item(3), src.item(1));
  HostVectors<float> a(3, 2), b(3, 2, 1);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) a.view.at(i, j) = float(i + j);
  copy<float>(ctx, VectorBatch<const float>(a.view), b.view);
  EXPECT_EQ(b.view.at(1, 2), 3.0f);
}

TEST(Copy, RefusesMismatchesAndDeviceMemoryWithoutCuda) {
  Context ctx = Context::cpu();
  HostBatch<double> a(3, 3, 2), b(3, 2, 2), c(3, 3, 3);
  EXPECT_THROW(copy<double>(ctx, a.cview(), b.view), InvalidArgument);
  EXPECT_THROW(copy<double>(ctx, a.cview(), c.view), InvalidArgument);
  MatrixBatch<double> device = c.view.slice(0, 2);
  device.space = MemorySpace::device;
  try {
    copy<double>(ctx, a.cview(), device);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA context"), std::string::npos) << e.what();
  }
}

TEST(Views, SliceColumnsAndConstConversion) {
  std::vector<double> data(2 * 3 * 4);
  const MatrixBatch<double> m = matrices(data.data(), 2, 3, 4);
  const MatrixBatch<const double> c = m;  // implicit T -> const T
  EXPECT_EQ(c.item(2), data.data() + 12);
  EXPECT_EQ(m.slice(1, 3).count, 2);
  EXPECT_EQ(m.slice(1, 3).data, data.data() + 6);
  const MatrixBatch<double> cols = m.columns(1, 3);
  EXPECT_EQ(cols.cols, 2);
  EXPECT_EQ(cols.data, data.data() + 2);
  EXPECT_FALSE(cols.is_packed());
  EXPECT_EQ(broadcast(m, 9).stride, 0);
  EXPECT_EQ(scalars(data.data(), 5).size, 1);
}

TEST(Errors, MessagesCarryTheLocationAndTheFields) {
  const InvalidArgument e("something is off", "/x/y/src/file.cpp", 12);
  EXPECT_EQ(e.message(), "something is off");
  EXPECT_STREQ(e.what(), "something is off [src/file.cpp:12]");
  const ConvergenceError c("no convergence", 4, 17, "cpu/eigh.cpp", 3);
  EXPECT_EQ(c.batch_index(), 4);
  EXPECT_EQ(c.info(), 17);
  const CudaError cuda("cublas", 13, "failed", "f.cu", 1);
  EXPECT_EQ(cuda.library(), "cublas");
  EXPECT_EQ(cuda.status(), 13);
  EXPECT_STREQ(version(), GAUSSOT_VERSION_STRING);
}

}  // namespace
}  // namespace gaussot::test
