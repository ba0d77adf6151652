// ocr-compress's pipeline end to end on a tiny rendered set: a small teacher
// learns ten lines, then all three stages (teacher-student learning with the
// LSTM-guided loss, Tucker-2, fine-tuning) run, and the compressed student
// reads the lines far better than the untrained student did.

#include <gtest/gtest.h>

#include <fstream>

#include "compress/pipeline.hpp"
#include "compress/student.hpp"
#include "ocrcore/ocrcore.hpp"
#include "test_util.hpp"
#include "training/data/dataset.hpp"
#include "training/data/synth.hpp"
#include "training/train/trainer.hpp"

namespace ocrcore::compress {
namespace {

constexpr const char* kTeacher = R"({"input_height": 16, "layers": [
  {"type": "conv2d", "name": "cnn.0", "in_channels": 1, "out_channels": 32, "kernel_size": 3, "padding": 1},
  {"type": "batchnorm2d", "name": "cnn.1", "num_features": 32}, {"type": "relu"},
  {"type": "maxpool2d", "kernel_size": 2},
  {"type": "conv2d", "name": "cnn.4", "in_channels": 32, "out_channels": 64, "kernel_size": 3, "padding": 1},
  {"type": "batchnorm2d", "name": "cnn.5", "num_features": 64}, {"type": "relu"},
  {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
  {"type": "conv2d", "name": "cnn.8", "in_channels": 64, "out_channels": 32, "kernel_size": 3, "padding": 1},
  {"type": "relu"},
  {"type": "collapse"},
  {"type": "lstm", "name": "rnn", "input_size": 128, "hidden_size": 32, "num_layers": 1},
  {"type": "linear", "name": "fc", "in_features": 64, "out_features": 96}]})";

double cer_on(const std::shared_ptr<const Model>& model, const std::filesystem::path& dir) {
  const data::Codec codec(model->alphabet());
  std::vector<LabelledLine> lines;
  for (const auto& l :
       data::read_dataset({dir.string()}, codec, data::UnknownCharacters::skip_line, nullptr))
    lines.push_back({l.image, l.text});
  RecognizerOptions o;
  o.threads = 1;
  Recognizer rec(model, o);
  return evaluate(rec, lines).cer();
}

const std::filesystem::path kFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// Lines of 24 pixels rendered from the fixed test corpus in DejaVu Sans.
data::SynthSettings rendered_lines(int count) {
  data::SynthSettings ss;
  ss.corpus = {std::filesystem::path(OCRCORE_FIXTURES_DIR) / "corpus.txt"};
  ss.fonts = {kFont};
  ss.alphabet = data::printable_ascii_alphabet();
  ss.count = count;
  ss.height = 24;
  return ss;
}

// Six rendered lines of at most `max_chars` in dir/lines, and settings for a
// short stage ts on them from a small teacher with random weights (the
// student a quarter of its width; one thread, unaugmented, no validation).
CompressSettings short_ts_run(const test::TempDir& dir, int max_chars, std::int64_t iterations) {
  data::SynthSettings ss = rendered_lines(6);
  ss.max_chars = max_chars;
  data::synthesize_lines(ss, dir / "lines");
  const Architecture arch = Architecture::from_json(kTeacher);
  Preprocessing pre;
  pre.height = arch.input_height;
  CompressSettings s;
  s.teacher =
      Model::from_parts(arch, data::printable_ascii_alphabet(), pre, test::random_tensors(arch, 1));
  s.width_multiplier = 0.25;
  s.train_inputs = {(dir / "lines").string()};
  s.stages = {"ts"};
  s.ts_iterations = iterations;
  s.training.batch_size = 3;
  s.training.validate_every = s.training.checkpoint_every = 1000000;
  s.training.augment = false;
  s.training.threads = 1;
  s.latency_lines = 0;
  return s;
}

TEST(CompressPipeline, AllStagesImproveOverTheUntrainedStudent) {
  if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  data::SynthSettings ss = rendered_lines(10);
  ss.min_chars = 4;
  ss.max_chars = 12;
  ss.degrade = 0.0;
  data::synthesize_lines(ss, dir / "lines");

  // The teacher learns the ten lines.
  train::TrainerSettings t;
  t.architecture = Architecture::from_json(kTeacher);
  t.alphabet = ss.alphabet;
  t.preprocessing.height = 16;
  t.train_inputs = {(dir / "lines").string()};
  t.run_dir = dir / "teacher";
  t.batch_size = 10;
  t.iterations = 500;
  t.optimizer.clip_norm = 10.0f;
  t.schedule.base = 3e-3f;
  t.schedule.decay = train::LearningRateSchedule::Decay::constant;
  t.validate_every = t.checkpoint_every = 1000000;
  t.log_every = 100;
  t.augment = false;
  t.threads = 1;
  std::atomic<bool> stop{false};
  auto quiet = [](const train::TrainerEvent&) {};
  ASSERT_TRUE(train::Trainer(t).run(stop, quiet));
  auto teacher = Model::load(dir / "teacher/last.ocrm");
  const double teacher_cer = cer_on(teacher, dir / "lines");
  ASSERT_LT(teacher_cer, 0.05) << "the teacher did not learn the lines";

  CompressSettings s;
  s.teacher = teacher;
  s.width_multiplier = 0.25;
  s.train_inputs = s.validation_inputs = s.eval_inputs = {(dir / "lines").string()};
  s.run_dir = dir / "compress";
  s.ts_iterations = 250;
  s.finetune_iterations = 100;
  s.ranks = parse_rank_rule("energy:0.9");
  s.training.batch_size = 10;
  s.training.schedule.base = 3e-3f;
  s.training.schedule.warmup_steps = 10;
  s.training.validate_every = 50;
  s.training.checkpoint_every = 1000000;
  s.training.log_every = 100;
  s.training.augment = false;
  s.training.optimizer.clip_norm = 10.0f;
  s.training.threads = 1;
  s.latency_lines = 5;
  s.latency_repeats = 1;

  // The untrained student: a fresh narrow CNN under the teacher's DBLSTM.
  const Architecture student_arch = derive_student(teacher->architecture(), s.width_multiplier);
  train::Network fresh(student_arch);
  fresh.initialize(s.training.seed);
  TensorMap init = fresh.tensors();
  for (auto& [name, tensor] : recurrent_tensors(teacher->architecture(), teacher->tensors()))
    init[name] = tensor;
  const double untrained_cer =
      cer_on(Model::from_parts(student_arch, teacher->alphabet(), teacher->preprocessing(), init),
             dir / "lines");

  const CompressResult r = run_compress(s, stop, quiet);
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.models.size(), 4u);  // teacher, student, + Tucker, + fine-tuning
  const double final_cer = r.models.back().errors.at(0).second.first;
  std::printf(
      "teacher CER %.3f, untrained student %.3f, after ts %.3f, + Tucker %.3f, + fine-tuning "
      "%.3f\n",
      teacher_cer, untrained_cer, r.models[1].errors[0].second.first,
      r.models[2].errors[0].second.first, final_cer);
  EXPECT_LT(final_cer, 0.5 * untrained_cer);
  EXPECT_GT(r.models.back().footprint_reduction, 1.5);
  EXPECT_FALSE(r.decomposition.empty());
  for (const char* f : {"student-ts.ocrm", "student-tucker.ocrm", "student-finetune.ocrm",
                        "report.json", "report.md"})
    EXPECT_TRUE(std::filesystem::exists(s.run_dir / f)) << f;
  // The student kept the teacher's DBLSTM and output layer, unchanged in stage 1.
  auto ts = Model::load(s.run_dir / "student-ts.ocrm");
  for (auto& [name, tensor] : recurrent_tensors(teacher->architecture(), teacher->tensors()))
    EXPECT_EQ(ts->tensors().at(name).data, tensor.data) << name;
}

// With a teacher cache directory, a second run meets every line's targets on
// disk, runs the teacher for none, and trains the same student to the bit
// as the first run, which filled the directory.
TEST(CompressPipeline, ALaterRunReadsTheTeachersTargetsFromDisk) {
  if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  CompressSettings s = short_ts_run(dir, 10, 6);
  s.teacher_cache_bytes = 0;  // the directory alone carries the targets over
  s.teacher_cache_dir = dir / "cache";
  std::atomic<bool> stop{false};
  std::vector<std::string> said;
  auto listen = [&](const train::TrainerEvent& e) {
    if (e.kind == train::TrainerEvent::Kind::message) said.push_back(e.message);
  };
  auto cache_summary = [&] {
    for (const auto& m : said)
      if (m.find("teacher outputs") != std::string::npos) return m;
    return std::string("(no cache summary)");
  };
  s.run_dir = dir / "first";
  ASSERT_TRUE(run_compress(s, stop, listen).finished);
  // Three epochs of six lines: the teacher runs once per line.
  EXPECT_NE(cache_summary().find(", 6 run through the teacher"), std::string::npos)
      << cache_summary();
  said.clear();
  s.run_dir = dir / "second";
  ASSERT_TRUE(run_compress(s, stop, listen).finished);
  EXPECT_NE(cache_summary().find(", 0 run through the teacher"), std::string::npos)
      << cache_summary();
  const auto first = Model::load(dir / "first/student-ts.ocrm");
  const auto second = Model::load(dir / "second/student-ts.ocrm");
  for (const auto& [name, tensor] : first->tensors())
    EXPECT_EQ(second->tensors().at(name).data, tensor.data) << name;
}

// A student with fewer frames and a narrower DBLSTM of its own: stage ts
// refuses a loss that stops at its CNN, and with a CTC term trains all of it,
// the teacher's features pooled to its frame rate.
TEST(CompressPipeline, AFasterStudentTrainsItsOwnDblstm) {
  if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  CompressSettings s = short_ts_run(dir, 6, 20);
  const Architecture& arch = s.teacher->architecture();
  s.student_shape.width_stride = 2 * arch.width_stride();
  s.student_shape.lstm_hidden = 12;
  s.run_dir = dir / "compress";
  std::atomic<bool> stop{false};
  auto quiet = [](const train::TrainerEvent&) {};
  try {
    run_compress(s, stop, quiet);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a loss that reaches them"), std::string::npos)
        << e.what();
  }
  s.ts.ctc_weight = 1.0f;
  // A whole student architecture and a shape for a derived one contradict.
  s.student_architecture = Architecture::from_json(kTeacher);
  try {
    run_compress(s, stop, quiet);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--student-arch gives the whole student"),
              std::string::npos)
        << e.what();
  }
  s.student_architecture.reset();
  const CompressResult r = run_compress(s, stop, quiet);
  ASSERT_TRUE(r.finished);
  const auto student = Model::load(s.run_dir / "student-ts.ocrm");
  EXPECT_EQ(student->architecture().width_stride(), 2 * arch.width_stride());
  EXPECT_EQ(student->tensors().at("rnn.weight_hh_l0").shape,
            (std::vector<std::int64_t>{4 * 12, 12}));
  // Its DBLSTM learnt: not the fresh initialisation of the same seed.
  train::Network fresh(student->architecture());
  fresh.initialize(s.training.seed);
  EXPECT_NE(student->tensors().at("rnn.weight_hh_l0").data,
            fresh.tensors().at("rnn.weight_hh_l0").data);
}

// Two evaluation sets whose directories share a name (a rendered "test" and a
// scanned "test") stay apart in the report.
TEST(CompressPipeline, EvaluationSetsWithTheSameNameStayApart) {
  if (!std::filesystem::exists(kFont)) GTEST_SKIP() << "DejaVu fonts not installed";
  test::TempDir dir;
  data::SynthSettings ss = rendered_lines(2);
  ss.max_chars = 8;
  data::synthesize_lines(ss, dir / "rendered/test");
  ss.seed = 2;
  data::synthesize_lines(ss, dir / "scans/test");
  const Architecture arch = Architecture::from_json(kTeacher);
  Preprocessing pre;
  pre.height = arch.input_height;
  const auto model =
      Model::from_parts(arch, data::printable_ascii_alphabet(), pre, test::random_tensors(arch, 1));
  const auto summary =
      summarize_models({{"teacher", model}},
                       {(dir / "rendered/test").string(), (dir / "scans/test/").string()}, 0, 1);
  ASSERT_EQ(summary.size(), 1u);
  ASSERT_EQ(summary[0].errors.size(), 2u);
  EXPECT_EQ(summary[0].errors[0].first, "rendered/test");
  EXPECT_EQ(summary[0].errors[1].first, "scans/test");
}

}  // namespace
}  // namespace ocrcore::compress
