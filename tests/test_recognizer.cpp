#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "test_util.hpp"

using namespace ocrcore;
using namespace ocrcore::test;

namespace {

// Log-probs with a chosen argmax per frame (prob 0.9, the rest shared).
LogProbs peaked(const std::vector<int>& argmax, int classes) {
  LogProbs lp{static_cast<int>(argmax.size()), classes, {}};
  for (int k : argmax)
    for (int c = 0; c < classes; ++c)
      lp.values.push_back(std::log(c == k ? 0.9f : 0.1f / float(classes - 1)));
  return lp;
}

}  // namespace

TEST(Recognizer, DecodeGivesTextConfidencesAndPositions) {
  auto model = random_model(small_crnn(16, 5), 1);  // alphabet: blank a b c d
  const int stride = model->architecture().width_stride();
  ASSERT_EQ(stride, 4);
  for (Decoder d : {Decoder::greedy, Decoder::beam}) {
    Recognizer rec(model, {d, 8, Backend::reference, 1});
    // frames: _ a a _ b _ _ b c
    auto r = rec.decode(peaked({0, 1, 1, 0, 2, 0, 0, 2, 3}, 5), 2.0f);
    EXPECT_EQ(r.text, "abbc");
    ASSERT_EQ(r.chars.size(), 4u);
    EXPECT_EQ(r.chars[0].frame_begin, 1);
    EXPECT_EQ(r.chars[0].frame_end, 3);
    EXPECT_EQ(r.chars[0].x_begin, 1 * stride * 2);
    EXPECT_EQ(r.chars[0].x_end, 3 * stride * 2);
    EXPECT_EQ(r.chars[3].frame_begin, 8);
    EXPECT_NEAR(r.chars[1].confidence, 0.9f, 1e-5);
    EXPECT_GT(r.confidence, 0.0f);
    EXPECT_LE(r.confidence, 1.0f);
    std::string joined;
    for (auto& c : r.chars)
      joined += c.text;
    EXPECT_EQ(joined, r.text);
  }
}

TEST(Recognizer, LineConfidenceIsSequenceProbability) {
  auto model = random_model(small_crnn(16, 3), 2);
  Recognizer rec(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  // 2 frames, P(a) = .4, P(blank) = .6 : greedy says "", P("") = .36.
  LogProbs lp{
      2, 3, {std::log(0.6f), std::log(0.4f), -30.0f, std::log(0.6f), std::log(0.4f), -30.0f}};
  auto r = rec.decode(lp);
  EXPECT_EQ(r.text, "");
  EXPECT_NEAR(r.confidence, 0.36f, 1e-4);
  Recognizer beam(
      model,
      {.decoder = Decoder::beam, .beam_width = 4, .backend = Backend::reference, .threads = 1});
  auto b = beam.decode(lp);
  EXPECT_EQ(b.text, "a");
  EXPECT_NEAR(b.confidence, 0.64f, 1e-4);
}

TEST(Recognizer, ImagesEndToEndBothBackendsAgree) {
  auto model = random_model(small_crnn(16, 9), 3);
  std::vector<Image> images{random_image(120, 30, 1), random_image(40, 16, 2),
                            random_image(300, 45, 3), random_image(3, 20, 4)};
  std::vector<ImageView> views(images.begin(), images.end());
  Recognizer ref(model, {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 2});
  auto a = ref.recognize(views), b = fast.recognize(views);
  ASSERT_EQ(a.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_NEAR(a[i].confidence, b[i].confidence, 1e-3);
    for (const auto& c : a[i].chars) {
      EXPECT_GE(c.x_begin, 0);
      EXPECT_LT(c.x_begin, c.x_end);
      EXPECT_LE(c.x_begin, images[i].width() + 4 * 8);
    }
  }
  EXPECT_EQ(ref.recognize(images[0]).text, a[0].text);
}

TEST(Recognizer, SharedModelConcurrentRecognizers) {
  auto model = random_model(small_crnn(16, 9), 4);
  std::vector<Image> images;
  for (unsigned i = 0; i < 6; ++i)
    images.push_back(random_image(80 + 30 * int(i), 24, i));
  std::vector<ImageView> views(images.begin(), images.end());
  Recognizer single(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  auto expected = single.recognize(views);
  std::vector<std::vector<LineResult>> got(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      Recognizer rec(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
      for (int rep = 0; rep < 3; ++rep)
        got[t] = rec.recognize(views);
    });
  for (auto& th : threads)
    th.join();
  for (int t = 0; t < 3; ++t)
    for (std::size_t i = 0; i < views.size(); ++i) {
      EXPECT_EQ(got[t][i].text, expected[i].text);
      EXPECT_FLOAT_EQ(got[t][i].confidence, expected[i].confidence);
    }
}

TEST(Recognizer, NonFiniteNetworkOutputIsAnError) {
  // Found by fuzz_model_file: a model with finite but huge weights overflowed
  // to NaN, which the decoders then ranked (confidence NaN).
  auto model = random_model(small_crnn(16, 5), 1);
  for (Decoder d : {Decoder::greedy, Decoder::beam}) {
    Recognizer rec(model, {d, 4, Backend::reference, 1});
    LogProbs lp = peaked({1, 0, 2}, 5);
    lp.values[7] = std::nanf("");
    try {
      rec.decode(lp);
      ADD_FAILURE() << "decoded NaN";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a number at frame 1"), std::string::npos)
          << e.what();
    }
    lp.values[7] = -INFINITY;  // log of 0 is fine
    EXPECT_NO_THROW(rec.decode(lp));
  }
  // The fuzzer's model file itself (fuzz/regressions/fuzz_model_file).
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(OCRCORE_SOURCE_DIR) / "fuzz/regressions/fuzz_model_file")) {
    const Image line = random_image(96, 24, 3);
    try {
      Recognizer(Model::load(e.path()),
                 {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1})
          .recognize(line);
    } catch (const Error& error) {
      SUCCEED() << error.what();
    }
  }
}

TEST(Recognizer, EachLineOnItsOwnInInputOrder) {
  auto model = random_model(small_crnn(16, 9), 6);
  std::vector<Image> images;
  for (unsigned i = 0; i < 7; ++i)
    images.push_back(random_image(30 + 57 * int((i * 5) % 7), 16 + 4 * int(i % 3), 10 + i));
  std::vector<ImageView> views(images.begin(), images.end());
  views.insert(views.begin() + 3, ImageView());  // an unusable image among them
  Recognizer oracle(model,
                    {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  Recognizer fast(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 2});
  for (int batch_size : {1, 3, 16}) {
    SCOPED_TRACE("batch size " + std::to_string(batch_size));
    const auto outcomes = fast.recognize_each(views, batch_size);
    ASSERT_EQ(outcomes.size(), views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (i == 3) {
        EXPECT_FALSE(outcomes[i].result);
        ASSERT_TRUE(outcomes[i].error);
        EXPECT_NE(std::string(outcomes[i].error->what()).find("empty"), std::string::npos)
            << outcomes[i].error->what();
        EXPECT_EQ(outcomes[i].error->kind(), ErrorKind::bad_input);
        continue;
      }
      ASSERT_TRUE(outcomes[i].result) << "line " << i << ": " << outcomes[i].error->what();
      EXPECT_FALSE(outcomes[i].error);
      const LineResult want = oracle.recognize(views[i]);
      EXPECT_EQ(outcomes[i].result->text, want.text) << "line " << i;
      EXPECT_NEAR(outcomes[i].result->confidence, want.confidence, 1e-3) << "line " << i;
      for (const CharResult& c : outcomes[i].result->chars)
        EXPECT_LE(c.x_end, views[i].width);
    }
  }
  EXPECT_THROW(fast.recognize_each(views, 0), Error);
}

// A line whose recognition fails is reported alone; the lines batched with
// it are run again on their own. Here every weight is positive and every bias
// zero, so a blank line stays zero throughout, while ink drives the LSTM's
// outputs up and an output layer of huge weights to +inf in every class,
// whose log-softmax is NaN.
TEST(Recognizer, EachLineIsolatesALineWhoseRecognitionFails) {
  auto base = random_model(small_crnn(16, 9), 7);
  TensorMap tensors = base->tensors();
  for (auto& [name, t] : tensors) {
    const bool bias = name.find("bias") != std::string::npos || name.ends_with("running_mean");
    for (float& v : t.data)
      v = bias                                                      ? 0.0f
          : name.starts_with("fc.")                                 ? 3e38f
          : name.ends_with("running_var") || name.starts_with("bn") ? 1.0f
                                                                    : std::abs(v) + 0.1f;
  }
  auto model =
      Model::from_parts(base->architecture(), base->alphabet(), base->preprocessing(), tensors);
  const Image blank(80, 16, 255);
  const Image inked = random_image(80, 16, 3);
  std::vector<ImageView> views{blank, inked, blank};
  Recognizer rec(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 1});
  EXPECT_THROW(rec.recognize(views), Error) << "the whole batch fails";
  const auto outcomes = rec.recognize_each(views, 3);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].result);
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_FALSE(outcomes[1].result);
  ASSERT_TRUE(outcomes[1].error);
  EXPECT_NE(std::string(outcomes[1].error->what()).find("recognition failed"), std::string::npos)
      << outcomes[1].error->what();
  // The network's output is not a number: the model's weights are at fault.
  EXPECT_EQ(outcomes[1].error->kind(), ErrorKind::bad_model) << outcomes[1].error->what();
  EXPECT_TRUE(outcomes[2].result);
}

// Files read a window (8 batches) at a time: results in input order across
// windows, unreadable files reported with their names, the rest recognised;
// with several threads (the whole program in parallel) the same.
TEST(Recognizer, FilesInInputOrderWithTheirOwnErrors) {
  auto model = random_model(small_crnn(16, 9), 8);
  TempDir dir;
  std::vector<std::filesystem::path> paths;
  std::vector<Image> images;
  for (int i = 0; i < 39; ++i) {
    paths.push_back(dir / ("line" + std::to_string(i) + ".png"));
    if (i == 4) {
      write_bytes(paths.back(), "not a png");
      images.emplace_back();
      continue;
    }
    images.push_back(random_image(40 + 13 * (i * 3 % 5), 18, 50u + i));
    save_png(paths.back(), images.back());
  }
  paths.push_back(dir / "missing.png");
  const std::size_t missing = paths.size() - 1;
  Recognizer oracle(model,
                    {.decoder = Decoder::greedy, .backend = Backend::reference, .threads = 1});
  for (int threads : {1, 2, 3})
    for (int batch_size : {1, 4}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + ", batch " + std::to_string(batch_size));
      Recognizer rec(model,
                     {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = threads});
      std::vector<std::size_t> order;
      rec.recognize_files(
          paths,
          [&](std::size_t i, LineOutcome&& o) {
            order.push_back(i);
            if (i == 4 || i == missing) {
              EXPECT_FALSE(o.result);
              ASSERT_TRUE(o.error);
              EXPECT_NE(std::string(o.error->what()).find(paths[i].string()), std::string::npos)
                  << o.error->what();
              // Not an image: bad input; missing: the file system said so.
              EXPECT_EQ(o.error->kind(), i == 4 ? ErrorKind::bad_input : ErrorKind::io)
                  << o.error->what();
              return;
            }
            ASSERT_TRUE(o.result) << o.error->what();
            EXPECT_EQ(o.result->text, oracle.recognize(images[i]).text) << "file " << i;
          },
          batch_size);
      ASSERT_EQ(order.size(), paths.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        EXPECT_EQ(order[i], i);
    }
  Recognizer rec(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 2});
  EXPECT_THROW(rec.recognize_files(
                   paths, [](std::size_t, LineOutcome&&) {}, 0),
               Error);
  // A callback that throws (an output that cannot be written) stops the
  // workers and the exception reaches the caller; the Recognizer still works.
  std::size_t calls = 0;
  EXPECT_THROW(rec.recognize_files(
                   paths,
                   [&](std::size_t i, LineOutcome&&) {
                     ++calls;
                     if (i == 9) throw Error("output: disk full", ErrorKind::io);
                   },
                   1),
               Error);
  EXPECT_EQ(calls, 10u);
  std::size_t read = 0;
  rec.recognize_files(
      paths, [&](std::size_t, LineOutcome&&) { ++read; }, 1);
  EXPECT_EQ(read, paths.size());
}

TEST(Recognizer, BadOptionsAndImages) {
  auto model = random_model(small_crnn(16, 9), 5);
  EXPECT_THROW(
      Recognizer(model, {.decoder = Decoder::greedy, .backend = Backend::onednn, .threads = 0}),
      Error);
  EXPECT_THROW(
      Recognizer(
          model,
          {.decoder = Decoder::beam, .beam_width = 0, .backend = Backend::onednn, .threads = 1}),
      Error);
  EXPECT_THROW(Recognizer(nullptr), Error);
  Recognizer rec(model);
  EXPECT_THROW(rec.decode(peaked({0, 1, 2}, 12)), Error);  // model has 9 classes
  LogProbs short_values = peaked({0, 1}, 9);
  short_values.values.pop_back();
  EXPECT_THROW(rec.decode(short_values), Error);
  Image ok = random_image(50, 20, 1);
  std::vector<ImageView> views{ok, ImageView()};
  try {
    rec.recognize(views);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 1 of the batch"), std::string::npos);
  }
}

// A Recognizer moved from says so on every call instead of dereferencing
// nothing; the one moved to works.
TEST(Recognizer, MovedFromThrowsAClearError) {
  auto model = random_model(small_crnn(16, 9), 5);
  Recognizer from(model);
  Recognizer to(std::move(from));
  const Image line = random_image(50, 16, 2);
  const ImageView view = line;
  auto expect_moved = [](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "a moved-from Recognizer ran";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("moved from"), std::string::npos) << e.what();
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    }
  };
  expect_moved([&] { from.recognize(view); });
  expect_moved([&] { from.recognize_each(std::span(&view, 1)); });
  expect_moved([&] { from.decode(peaked({0, 1}, 9)); });
  expect_moved([&] { from.forward({}); });
  expect_moved([&] { from.model(); });
  expect_moved([&] {
    from.recognize_files(std::vector<std::filesystem::path>{"x.png"},
                         [](std::size_t, LineOutcome&&) {});
  });
  EXPECT_EQ(to.recognize(view).text, Recognizer(model).recognize(view).text);
  Recognizer assigned(model);
  assigned = std::move(to);
  expect_moved([&] { to.recognize(view); });
  EXPECT_NO_THROW(assigned.recognize(view));
}

// Each kind of failure carries its category: what the caller passed, a bad
// model, the file system, what this CPU cannot run.
TEST(Recognizer, ErrorsCarryTheirKind) {
  auto model = random_model(small_crnn(16, 9), 5);
  auto kind_of = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.kind();
    }
    ADD_FAILURE() << "no error";
    return ErrorKind::internal;
  };
  EXPECT_EQ(kind_of([&] { Recognizer(model, {.threads = 0}); }), ErrorKind::bad_input);
  EXPECT_EQ(kind_of([&] { Recognizer(model, {.lstm_precision = Precision::bf16}); }),
            ErrorKind::bad_input);
  TempDir dir;
  EXPECT_EQ(kind_of([&] { Model::load(dir / "missing.ocrm"); }), ErrorKind::io);
  EXPECT_EQ(kind_of([&] { load_image(dir / "missing.png"); }), ErrorKind::io);
  write_bytes(dir / "garbage.ocrm", std::string(64, 'x'));
  EXPECT_EQ(kind_of([&] { Model::load(dir / "garbage.ocrm"); }), ErrorKind::bad_model);
  write_bytes(dir / "garbage.png", "not a png");
  EXPECT_EQ(kind_of([&] { load_image(dir / "garbage.png"); }), ErrorKind::bad_input);
  write_bytes(dir / "garbage.arpa", "no data here\n");
  EXPECT_EQ(kind_of([&] { LanguageModel::load(dir / "garbage.arpa"); }), ErrorKind::bad_model);
  // A model whose tensors do not fit its architecture.
  TensorMap tensors = model->tensors();
  tensors.erase(tensors.begin());
  EXPECT_EQ(kind_of([&] {
              Model::from_parts(model->architecture(), model->alphabet(), model->preprocessing(),
                                tensors);
            }),
            ErrorKind::bad_model);
  EXPECT_EQ(kind_of([&] { parse_precision("fp8"); }), ErrorKind::bad_input);
  if (!bf16_conv_supported())
    EXPECT_EQ(kind_of([&] { Recognizer(model, {.conv_precision = Precision::bf16}); }),
              ErrorKind::unsupported);
  EXPECT_EQ(error_kind_name(ErrorKind::io), "I/O");
}
