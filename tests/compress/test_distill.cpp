// Students, model-level decomposition and teacher-student losses.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "compress/decompose.hpp"
#include "compress/distill.hpp"
#include "compress/distill_loss.hpp"
#include "compress/student.hpp"
#include "layers/batch_norm/batch_norm.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/grouped_conv/grouped_conv.hpp"
#include "layers/linear/linear.hpp"
#include "layers/lstm/lstm.hpp"
#include "layers/max_pool/max_pool.hpp"
#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"

namespace ocrcore::compress {
namespace {

train::Activations random_sequences(int T, int N, int D, std::vector<int> lengths,
                                    std::mt19937& rng) {
  train::Activations a;
  a.resize_sequences(T, N, D);
  a.lengths = std::move(lengths);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : a.values)
    v = nd(rng);
  a.fill_padding(0.0f);
  return a;
}

TEST(DistillLoss, LstmGuidedMatchesDirectComputation) {
  std::mt19937 rng(1);
  const int T = 6, N = 3, D = 5, R = 8;
  auto s = random_sequences(T, N, D, {6, 4, 2}, rng), t = random_sequences(T, N, D, {6, 4, 2}, rng);
  std::vector<float> W(static_cast<std::size_t>(R) * D);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : W)
    v = nd(rng);
  train::Activations grad;
  const double loss = feature_matching_loss(s, t, gram_matrix(W, R, D), &grad);
  double direct = 0;
  for (int n = 0; n < N; ++n) {
    double line = 0;
    for (int tt = 0; tt < s.lengths[n]; ++tt)
      for (int r = 0; r < R; ++r) {
        double e = 0;
        for (int k = 0; k < D; ++k)
          e += W[static_cast<std::size_t>(r) * D + k] * (t.frame(tt, n)[k] - s.frame(tt, n)[k]);
        line += e * e;
      }
    direct += line / s.lengths[n];
  }
  direct /= N;
  EXPECT_NEAR(loss, direct, 1e-4 * direct);
  // Gradient by central differences.
  for (std::size_t i = 0; i < s.values.size(); i += 7) {
    const int n = static_cast<int>((i / D) % N),
              tt = static_cast<int>(i / (static_cast<std::size_t>(D) * N));
    if (tt >= s.lengths[n]) {
      EXPECT_EQ(grad.values[i], 0.0f);
      continue;
    }
    auto p = s, m = s;
    p.values[i] += 1e-2f;
    m.values[i] -= 1e-2f;
    const auto metric = gram_matrix(W, R, D);
    const double num = (feature_matching_loss(p, t, metric, nullptr) -
                        feature_matching_loss(m, t, metric, nullptr)) /
                       2e-2;
    EXPECT_NEAR(grad.values[i], num, 1e-2 * std::max(1.0, std::abs(num))) << i;
  }
  // Directions W ignores cost nothing.
  EXPECT_NEAR(feature_matching_loss(s, s, gram_matrix(W, R, D), nullptr), 0.0, 1e-12);
}

TEST(DistillLoss, KlGradientAndZeroAtEquality) {
  std::mt19937 rng(2);
  auto s = random_sequences(5, 2, 6, {5, 3}, rng), t = random_sequences(5, 2, 6, {5, 3}, rng);
  for (float tau : {1.0f, 2.0f}) {
    train::Activations grad;
    const double loss = kl_loss(s, t, tau, &grad);
    EXPECT_GT(loss, 0);
    EXPECT_NEAR(kl_loss(t, t, tau, nullptr), 0.0, 1e-9);
    for (std::size_t i = 0; i < s.values.size(); i += 3) {
      auto p = s, m = s;
      p.values[i] += 1e-2f;
      m.values[i] -= 1e-2f;
      const double num = (kl_loss(p, t, tau, nullptr) - kl_loss(m, t, tau, nullptr)) / 2e-2;
      EXPECT_NEAR(grad.values[i], num, 2e-3) << i;
    }
  }
}

Architecture teacher_like() {
  return Architecture::from_json(R"({"input_height": 16, "layers": [
    {"type": "conv2d", "name": "cnn.0", "in_channels": 1, "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d", "name": "cnn.1", "num_features": 16}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "name": "cnn.4", "in_channels": 16, "out_channels": 32, "kernel_size": 3, "padding": 1},
    {"type": "batchnorm2d", "name": "cnn.5", "num_features": 32}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
    {"type": "conv2d", "name": "cnn.8", "in_channels": 32, "out_channels": 24, "kernel_size": [1, 3], "padding": [0, 1]},
    {"type": "relu"},
    {"type": "conv2d", "name": "cnn.10", "in_channels": 24, "out_channels": 12, "kernel_size": 1},
    {"type": "relu"},
    {"type": "collapse"},
    {"type": "lstm", "name": "rnn", "input_size": 48, "hidden_size": 8, "num_layers": 2},
    {"type": "linear", "name": "fc", "in_features": 16, "out_features": 9}]})");
}

// Random lines of the given widths at the architecture's height, background
// zero, ink positive.
std::vector<LineTensor> random_lines(int height, const std::vector<int>& widths, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<LineTensor> out;
  for (int w : widths) {
    LineTensor l;
    l.height = height;
    l.width = w;
    l.pixels.resize(static_cast<std::size_t>(height) * w);
    for (float& p : l.pixels)
      p = u(rng) < 0.3f ? u(rng) : 0.0f;
    out.push_back(std::move(l));
  }
  return out;
}

data::Batch batch_of(const std::vector<LineTensor>& pool, const std::vector<std::size_t>& pick) {
  data::Batch b;
  for (std::size_t i : pick) {
    b.lines.push_back(pool[i]);
    b.indices.push_back(i);
  }
  return b;
}

// A small teacher with random weights and the layer its features leave.
class TeacherTargetCacheTest : public ::testing::Test {
 protected:
  TeacherTargetCacheTest() { teacher.load(tensors); }
  const Architecture arch = test::small_crnn(16, 9);
  const TensorMap tensors = test::random_tensors(arch, 3);
  train::Network teacher{arch};
  const int feat = teacher.first_sequence_layer();
};

TEST_F(TeacherTargetCacheTest, CachedTargetsEqualTheTeachersAndSkipItsForwardPass) {
  const auto pool = random_lines(16, {40, 23, 31, 17, 36}, 5);
  auto reference = [&](const data::Batch& b) {
    return teacher.forward(train::Network::make_input(b.lines), train::Mode::evaluation, 0, feat);
  };
  auto expect_close = [](const train::Activations& got, const train::Activations& want) {
    ASSERT_EQ(got.frames, want.frames);
    ASSERT_EQ(got.batch, want.batch);
    ASSERT_EQ(got.features, want.features);
    ASSERT_EQ(got.lengths, want.lengths);
    for (int n = 0; n < want.batch; ++n)
      for (int t = 0; t < want.lengths[n]; ++t)
        for (int k = 0; k < want.features; ++k) {
          const float w = want.frame(t, n)[k];
          EXPECT_NEAR(got.frame(t, n)[k], w, 1e-3f * std::max(1.0f, std::abs(w)))
              << "line " << n << " frame " << t;
        }
  };

  DistillSettings settings;
  settings.teacher_cache = std::make_shared<TeacherTargetCache>(std::size_t{1} << 30);
  DistillObjective cached(arch, tensors, settings);
  const TeacherTargetCache& cache = *settings.teacher_cache;
  // All new, then a batch of held and new lines in another order, then all held.
  train::Activations warm;
  for (const auto& pick : {std::vector<std::size_t>{0, 1, 2}, std::vector<std::size_t>{3, 1, 4, 0},
                           std::vector<std::size_t>{3, 1, 4, 0}}) {
    const data::Batch b = batch_of(pool, pick);
    const train::Activations want = reference(b);
    warm = cached.teacher_targets(b, train::Network::make_input(b.lines), feat, want.frames);
    expect_close(warm, want);
  }
  EXPECT_EQ(cache.lines(), 5u);
  EXPECT_EQ(cache.misses(), 5);
  EXPECT_EQ(cache.hits(), 2 + 4);

  // A budget too small for any line keeps nothing, and the targets are the
  // same to the bit as those served from a warm cache: a resumed run (cache
  // empty again) repeats the uninterrupted one exactly.
  DistillSettings tiny;
  tiny.teacher_cache = std::make_shared<TeacherTargetCache>(16);
  DistillObjective uncached(arch, tensors, tiny);
  const data::Batch b = batch_of(pool, {3, 1, 4, 0});
  for (int repeat = 0; repeat < 2; ++repeat) {
    const train::Activations cold =
        uncached.teacher_targets(b, train::Network::make_input(b.lines), feat, warm.frames);
    EXPECT_EQ(cold.lengths, warm.lengths);
    EXPECT_EQ(cold.values, warm.values);
  }
  EXPECT_EQ(tiny.teacher_cache->lines(), 0u);
  EXPECT_EQ(tiny.teacher_cache->misses(), 8);
}

TEST_F(TeacherTargetCacheTest, ADirectoryServesLaterRunsAndIgnoresDamagedFiles) {
  const auto pool = random_lines(16, {40, 23, 31, 17}, 7);
  const test::TempDir tmp;
  const auto dir = teacher_target_directory(tmp.path(), arch, tensors, "features");
  // Another teacher, or its logits, get a directory of their own.
  EXPECT_NE(dir, teacher_target_directory(tmp.path(), arch, tensors, "logits"));
  EXPECT_NE(dir,
            teacher_target_directory(tmp.path(), arch, test::random_tensors(arch, 4), "features"));
  // A line is keyed by its pixels, not by its place in a dataset.
  LineTensor changed = pool[0];
  changed.pixels[5] += 0.25f;
  EXPECT_NE(line_key(pool[0]), line_key(changed));
  EXPECT_EQ(line_key(pool[0]), line_key(LineTensor(pool[0])));

  const data::Batch b = batch_of(pool, {0, 1, 2, 3});
  const auto input = train::Network::make_input(b.lines);
  const int frames = teacher.forward(input, train::Mode::evaluation, 0, feat).frames;
  train::Activations first;
  {
    DistillSettings s;  // memory budget 0: only the directory keeps lines
    s.teacher_cache = std::make_shared<TeacherTargetCache>(0, dir);
    DistillObjective run(arch, tensors, s);
    first = run.teacher_targets(b, input, feat, frames);
    EXPECT_EQ(s.teacher_cache->misses(), 4);
    EXPECT_EQ(s.teacher_cache->files_written(), 4);
    EXPECT_EQ(s.teacher_cache->lines(), 0u);
  }
  // A later run (a new cache on the same directory) runs the teacher for no
  // line and gets the same targets to the bit, lines in another order.
  {
    DistillSettings s;
    s.teacher_cache = std::make_shared<TeacherTargetCache>(std::size_t{1} << 20, dir);
    DistillObjective run(arch, tensors, s);
    const data::Batch again = batch_of(pool, {0, 1, 2, 3});
    EXPECT_EQ(run.teacher_targets(again, input, feat, frames).values, first.values);
    EXPECT_EQ(s.teacher_cache->directory_hits(), 4);
    EXPECT_EQ(s.teacher_cache->misses(), 0);
    EXPECT_EQ(s.teacher_cache->lines(), 4u);  // now in memory too
    run.teacher_targets(again, input, feat, frames);
    EXPECT_EQ(s.teacher_cache->memory_hits(), 4);
  }
  // Damaged files (cut short, a value changed, not a cache file) are not
  // trusted: the teacher runs again and the file is written anew.
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files.push_back(e.path());
  ASSERT_EQ(files.size(), 4u);
  std::sort(files.begin(), files.end());
  const std::string whole = test::read_bytes(files[0]);
  test::write_bytes(files[0], whole.substr(0, whole.size() - 2));
  std::string flipped = test::read_bytes(files[1]);
  flipped[flipped.size() - 3] ^= 0x10;
  test::write_bytes(files[1], flipped);
  test::write_bytes(files[2], "not a cache file");
  {
    DistillSettings s;
    s.teacher_cache = std::make_shared<TeacherTargetCache>(0, dir);
    DistillObjective run(arch, tensors, s);
    EXPECT_EQ(run.teacher_targets(b, input, feat, frames).values, first.values);
    EXPECT_EQ(s.teacher_cache->misses(), 3);
    EXPECT_EQ(s.teacher_cache->directory_hits(), 1);
  }
  EXPECT_EQ(test::read_bytes(files[0]), whole);
}

TEST(DistillObjective, LstmGuidedLossIsScaledLikeL2) {
  // A first LSTM layer whose input weights are c times orthonormal columns
  // has W'W = c^2 I: after scaling to a mean eigenvalue of 1 the LSTM-guided
  // loss is the l2 loss, whatever c.
  const Architecture arch = test::small_crnn(16, 9);
  TensorMap tensors = test::random_tensors(arch, 4);
  Tensor& forward = tensors.at("rnn.weight_ih_l0");
  Tensor& reverse = tensors.at("rnn.weight_ih_l0_reverse");
  const auto rows = static_cast<int>(forward.shape[0]), d = static_cast<int>(forward.shape[1]);
  ASSERT_GE(rows, d);
  std::fill(forward.data.begin(), forward.data.end(), 0.0f);
  std::fill(reverse.data.begin(), reverse.data.end(), 0.0f);
  for (int i = 0; i < d; ++i)
    forward.data[static_cast<std::size_t>(i) * d + i] = 7.5f;
  const auto pool = random_lines(16, {40, 23}, 6);
  const data::Batch b = batch_of(pool, {0, 1});
  std::vector<double> losses;
  for (TsLoss loss : {TsLoss::lstm_guided, TsLoss::l2}) {
    DistillSettings settings;
    settings.loss = loss;
    DistillObjective objective(arch, tensors, settings);
    train::Network student(arch);
    student.load(test::random_tensors(arch, 5));
    losses.push_back(objective.step(student, b, *train::single_process()).loss);
  }
  EXPECT_GT(losses[1], 0.0);
  EXPECT_NEAR(losses[0], losses[1], 1e-4 * losses[1]);
}

TEST(Student, WidthMultiplierKeepsTheFeatureDimension) {
  const Architecture t = teacher_like();
  EXPECT_EQ(feature_dimension(t), 48);
  const Architecture s = derive_student(t, 0.5);
  EXPECT_EQ(feature_dimension(s), 48);
  EXPECT_EQ(s.layers[0].get<Conv2dSpec>().out_channels, 8);
  EXPECT_EQ(s.layers[1].get<BatchNormSpec>().num_features, 8);
  EXPECT_EQ(s.layers[4].get<Conv2dSpec>().in_channels, 8);
  EXPECT_LT(s.parameter_count(), t.parameter_count());
  const Architecture c = derive_student(t, 0, {4, 8, 6, 12});
  EXPECT_EQ(c.layers[8].get<Conv2dSpec>().out_channels, 6);
  EXPECT_THROW(derive_student(t, 0, {4, 8}), Error);
  try {
    derive_student(t, 0, {4, 8, 6, 10});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("feature dimension"), std::string::npos) << e.what();
  }
  EXPECT_EQ(recurrent_prefixes(t), (std::vector<std::string>{"rnn.", "fc."}));
}

TEST(Student, ItsOwnSequenceHalfAndFrameRate) {
  const Architecture t = teacher_like();
  ASSERT_EQ(t.width_stride(), 2);
  // The teacher's own sequence half: nothing to learn there.
  const StudentFit same = check_student(derive_student(t, 0.5), t);
  EXPECT_EQ(same.frame_ratio, 1);
  EXPECT_FALSE(same.own_sequence_half);
  StudentShape shape;
  shape.width_stride = 4;
  shape.lstm_hidden = 5;
  shape.lstm_layers = 1;
  const Architecture s = derive_student(t, 0.5, {}, shape);
  EXPECT_EQ(s.width_stride(), 4);
  // The first pool that kept the width halves it now; the other layers stay.
  EXPECT_EQ(s.layers[7].get<MaxPoolSpec>().stride_w, 2);
  EXPECT_EQ(s.layers[7].get<MaxPoolSpec>().kernel_w, 2);
  EXPECT_EQ(s.layers[3].get<MaxPoolSpec>().stride_w, 2);
  EXPECT_EQ(s.layers[13].get<LstmSpec>().hidden_size, 5);
  EXPECT_EQ(s.layers[13].get<LstmSpec>().num_layers, 1);
  EXPECT_EQ(s.layers[14].get<LinearSpec>().in_features, 10);
  EXPECT_EQ(feature_dimension(s), 48);
  const StudentFit own = check_student(s, t);
  EXPECT_EQ(own.frame_ratio, 2);
  EXPECT_TRUE(own.own_sequence_half);
  // Only the frame rate changed: still its own (the teacher's DBLSTM would
  // see frames of another width), started from the teacher's tensors.
  StudentShape faster;
  faster.width_stride = 4;
  const Architecture f = derive_student(t, 0.5, {}, faster);
  EXPECT_TRUE(check_student(f, t).own_sequence_half);
  const TensorMap teacher_tensors = test::random_tensors(t, 2);
  train::Network net(f);
  net.initialize(1);
  const TensorMap start = student_start(net.tensors(), t, teacher_tensors);
  EXPECT_EQ(start.at("rnn.weight_ih_l0").data, teacher_tensors.at("rnn.weight_ih_l0").data);
  EXPECT_EQ(start.at("cnn.0.weight").data, net.tensors().at("cnn.0.weight").data);
  // A narrower DBLSTM keeps its fresh tensors (the teacher's do not fit).
  train::Network narrow(s);
  narrow.initialize(1);
  EXPECT_EQ(student_start(narrow.tensors(), t, teacher_tensors).at("rnn.weight_ih_l0").data,
            narrow.tensors().at("rnn.weight_ih_l0").data);
  // Grouped convolutions: the layer becomes a grouped_conv, D unchanged.
  StudentShape grouped;
  grouped.conv_groups = {1, 2, 2, 3};
  const Architecture g = derive_student(t, 0, {4, 8, 6, 12}, grouped);
  EXPECT_EQ(g.layers[4].get<GroupedConvSpec>().groups, 2);
  EXPECT_EQ(g.layers[10].get<GroupedConvSpec>().groups, 3);
  EXPECT_TRUE(g.layers[0].is<Conv2dSpec>());
  EXPECT_EQ(feature_dimension(g), 48);
  EXPECT_LT(g.parameter_count(), derive_student(t, 0, {4, 8, 6, 12}).parameter_count());
  grouped.conv_groups = {1, 3, 1, 1};  // 4 -> 8 channels do not split in 3
  EXPECT_THROW(derive_student(t, 0, {4, 8, 6, 12}, grouped), Error);
  for (int bad : {3, 6}) {
    StudentShape b;
    b.width_stride = bad;
    EXPECT_THROW(derive_student(t, 0.5, {}, b), Error) << bad;
  }
  StudentShape too_far;
  too_far.width_stride = 8;  // the teacher has one pool that keeps the width
  try {
    derive_student(t, 0.5, {}, too_far);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too few pools"), std::string::npos) << e.what();
  }
}

TEST(DistillLoss, PooledTeacherFramesAreMeansOverTheStudentsFrames) {
  std::mt19937 rng(11);
  // Line 0: 7 teacher frames -> 3 student frames (the 7th is past them);
  // line 1: 5 -> 3, its last student frame the mean of one teacher frame.
  const train::Activations t = random_sequences(7, 2, 3, {7, 5}, rng);
  const train::Activations p = pool_frames(t, 2, {3, 3}, 4);
  EXPECT_EQ(p.frames, 4);
  EXPECT_EQ(p.lengths, (std::vector<int>{3, 3}));
  for (int d = 0; d < 3; ++d) {
    EXPECT_FLOAT_EQ(p.frame(1, 0)[d], (t.frame(2, 0)[d] + t.frame(3, 0)[d]) / 2);
    EXPECT_FLOAT_EQ(p.frame(2, 1)[d], t.frame(4, 1)[d]);
    EXPECT_EQ(p.frame(3, 0)[d], 0.0f);  // padding
  }
  // Ratio 1 is the identity on the student's frames.
  const train::Activations same = pool_frames(t, 1, {7, 5}, 7);
  EXPECT_EQ(same.values, t.values);
  // A line whose teacher frames cannot cover its student frames.
  EXPECT_THROW(pool_frames(t, 2, {4, 4}, 4), Error);
}

TEST(DistillObjective, AFasterStudentLearnsFromPooledTargetsAndCtc) {
  const Architecture t = teacher_like();
  const TensorMap tensors = test::random_tensors(t, 4);
  StudentShape shape;
  shape.width_stride = 4;
  shape.lstm_hidden = 6;
  const Architecture s = derive_student(t, 0.5, {}, shape);
  const auto pool = random_lines(16, {40, 23, 31}, 6);
  data::Batch b = batch_of(pool, {0, 1, 2});
  b.texts = {"ab", "c", "ba"};
  b.targets = {{1, 2}, {3}, {2, 1}};
  b.labelled = {1, 1, 1};
  DistillSettings settings;
  settings.frame_ratio = 2;
  settings.ctc_weight = 0.5f;
  DistillObjective objective(t, tensors, settings);
  train::Network student(s);
  student.initialize(3);
  const train::StepLoss loss = objective.step(student, b, *train::single_process());
  EXPECT_TRUE(std::isfinite(loss.loss));
  EXPECT_GT(loss.loss, 0.0);
  EXPECT_TRUE(loss.problems.empty());
  // Both terms reach the student's own DBLSTM and its CNN.
  bool rnn = false, cnn = false;
  for (const train::Parameter* p : student.parameters()) {
    double sum = 0;
    for (float v : p->grad)
      sum += std::abs(v);
    if (p->name.rfind("rnn.", 0) == 0 && sum > 0) rnn = true;
    if (p->name.rfind("cnn.0.", 0) == 0 && sum > 0) cnn = true;
  }
  EXPECT_TRUE(rnn);
  EXPECT_TRUE(cnn);
  // The KL loss compares frame by frame: refused at another frame rate.
  settings.loss = TsLoss::kl;
  EXPECT_THROW(DistillObjective(t, tensors, settings), Error);
}

TEST(Decompose, FullEnergyKeepsTheNetworkAndBudgetsHold) {
  const Architecture arch = teacher_like();
  const TensorMap tensors = test::random_tensors(arch, 3);
  const auto exact = decompose_model(arch, tensors, parse_rank_rule("energy:1.0"));
  std::mt19937 rng(4);
  std::vector<LineTensor> lines = {test::random_line(16, 50, rng)};
  RecognizerOptions o;
  o.backend = Backend::reference;
  auto a =
      Recognizer(Model::from_parts(arch, test::test_alphabet(9), Preprocessing{16}, tensors), o)
          .forward(lines);
  auto b = Recognizer(Model::from_parts(exact.architecture, test::test_alphabet(9),
                                        Preprocessing{16}, exact.tensors),
                      o)
               .forward(lines);
  EXPECT_LT(test::max_abs_diff(a[0].values, b[0].values), 1e-4f);
  // At full rank only layers whose factorised form is cheaper are decomposed.
  for (const auto& l : exact.layers)
    if (l.method != "kept") EXPECT_LT(l.params_after, l.params_before) << l.name;

  for (double budget : {0.3, 0.6}) {
    const auto d =
        decompose_model(arch, tensors, parse_rank_rule("budget:flops=" + std::to_string(budget)));
    double before = 0, after = 0;
    for (const auto& l : d.layers) {
      before += l.flops_before;
      after += l.flops_after;
    }
    EXPECT_LE(after, budget * before * 1.0001) << budget;
    EXPECT_GT(after, 0.5 * budget * before) << "budget " << budget << " should be mostly used";
  }
  // cnn.0 at rank 6 would cost more than the original (kept); at 3 it pays.
  const auto fixed =
      decompose_model(arch, tensors, parse_rank_rule("fixed:4,6;cnn.4=2,3;cnn.0=0,3"));
  for (const auto& l : fixed.layers) {
    if (l.name == "cnn.4") EXPECT_EQ(std::pair(l.rank_in, l.rank_out), std::pair(2, 3));
    if (l.name == "cnn.0") EXPECT_EQ(l.method, "tucker1");  // one input channel
    if (l.name == "cnn.10") EXPECT_EQ(l.method, "svd");     // 1x1
  }
  EXPECT_THROW(parse_rank_rule("energy:1.5"), Error);
  EXPECT_THROW(parse_rank_rule("bogus"), Error);
  EXPECT_THROW(decompose_model(arch, tensors, parse_rank_rule("fixed:2,2;nope=1,1")), Error);
}

}  // namespace
}  // namespace ocrcore::compress
