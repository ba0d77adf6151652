#include "training/train/trainer.hpp"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ocrcore/error.hpp"
#include "ocrcore/evaluation.hpp"
#include "ocrcore/metrics.hpp"
#include "ocrcore/model.hpp"
#include "ocrcore/recognizer.hpp"
#include "runtime/core/file_io.hpp"
#include "runtime/core/preprocessing_json.hpp"
#include "runtime/core/safetensors.hpp"
#include "training/data/batch_loader.hpp"
#include "training/data/dataset.hpp"
#include "training/train/ctc_loss.hpp"
#include "training/train/network.hpp"
#include "training/train/objective.hpp"

namespace ocrcore::train {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Appends one JSON object per line, flushed, so a crash loses at most a line.
class JsonLog {
 public:
  explicit JsonLog(const std::filesystem::path& path)
      : path_(path), out_(drop_partial_line(path), std::ios::app) {
    if (!out_)
      throw Error(path.string() + ": cannot open log for appending: " + std::strerror(errno));
  }
  void write(json j) {
    j["time"] =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    out_ << j.dump() << '\n';
    out_.flush();
    // A log that silently stops (a full disk) would hide the run's history.
    if (!out_) throw Error(path_.string() + ": write error: " + std::strerror(errno));
  }

 private:
  std::filesystem::path path_;
  std::ofstream out_;

  // A run killed in the middle of a write may leave half a line; a resumed run
  // cuts it off rather than appending after it.
  static const std::filesystem::path& drop_partial_line(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size == 0) return path;
    // Lines are short: the end of the file holds the last line break.
    const auto tail = std::min<std::uintmax_t>(size, 1 << 16);
    std::string text(tail, '\0');
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - tail));
    in.read(text.data(), static_cast<std::streamsize>(tail));
    if (in && text.back() != '\n') {
      const auto last = text.rfind('\n');
      const std::uintmax_t keep = last == std::string::npos ? size - tail : size - tail + last + 1;
      std::filesystem::resize_file(path, keep, ec);
      if (ec) throw Error(path.string() + ": cannot cut off a partial line: " + ec.message());
    }
    return path;
  }
};

struct ValidationSet {
  std::vector<LineTensor> lines;
  std::vector<std::string> texts;
  std::size_t failed = 0;
};

ValidationSet load_validation(const TrainerSettings& s, const data::Codec& codec,
                              const std::function<void(const TrainerEvent&)>& report) {
  ValidationSet v;
  if (s.validation_inputs.empty()) return v;
  data::DatasetReport r;
  auto lines = data::read_dataset(s.validation_inputs, codec, s.unknown_characters, &r);
  if (s.max_validation_lines && lines.size() > s.max_validation_lines)
    lines.resize(s.max_validation_lines);
  for (const auto& l : lines) {
    try {
      v.lines.push_back(data::prepare_line(l.image, s.preprocessing, nullptr, 0));
      v.texts.push_back(l.text);
    } catch (const std::exception& e) {
      ++v.failed;
      report({TrainerEvent::Kind::message, std::string("validation line skipped: ") + e.what()});
    }
  }
  std::string used;
  if (v.lines.size() < r.lines)
    used = "; validating on the first " + std::to_string(v.lines.size());
  report({TrainerEvent::Kind::message, "validation set: " + r.summary() + used});
  return v;
}

Evaluation evaluate(const std::shared_ptr<const Model>& model, const ValidationSet& v,
                    int threads) {
  Evaluation e;
  RecognizerOptions o;
  o.threads = threads;
  Recognizer rec(model, o);
  const TextScore score = ocrcore::evaluate(rec, v.lines, v.texts);
  e.cer = score.cer();
  e.wer = score.wer();
  e.lines = v.lines.size();
  return e;
}

}  // namespace

StepLoss CtcObjective::step(Network& net, const data::Batch& batch) {
  const Activations& log_probs = net.forward(Network::make_input(batch.lines), Mode::training);
  Activations grad;
  CtcLossResult ctc = ctc_loss(log_probs, batch.targets, &grad);
  StepLoss out;
  for (int n : ctc.unaligned)
    out.problems.push_back("line cannot be aligned (more characters than frames): " +
                           batch.texts[n]);
  out.lines = batch.lines.size() - ctc.unaligned.size();
  if (out.lines == 0) return out;
  // Mean over the aligned lines.
  const float scale = 1.0f / static_cast<float>(out.lines);
  for (float& g : grad.values)
    g *= scale;
  net.backward(grad);
  for (double l : ctc.loss)
    if (std::isfinite(l)) out.loss += l;
  out.loss /= static_cast<double>(out.lines);
  return out;
}

Trainer::Trainer(TrainerSettings settings) : s_(std::move(settings)) {
  if (s_.batch_size < 1) throw Error("batch size must be at least 1");
  if (s_.iterations < 1) throw Error("iterations must be at least 1");
  if (s_.preprocessing.height != s_.architecture.input_height)
    throw Error("preprocessing height " + std::to_string(s_.preprocessing.height) +
                " differs from the architecture's input height " +
                std::to_string(s_.architecture.input_height));
  const int classes = s_.architecture.validate();
  if (classes != static_cast<int>(s_.alphabet.size()))
    throw Error("the architecture outputs " + std::to_string(classes) +
                " classes but the alphabet has " + std::to_string(s_.alphabet.size()) +
                " (blank included)");
}

bool Trainer::run(const std::atomic<bool>& stop,
                  const std::function<void(const TrainerEvent&)>& report) {
  auto say = [&](const std::string& m) { report({TrainerEvent::Kind::message, m}); };
  omp_set_num_threads(std::max(1, s_.threads));
  std::filesystem::create_directories(s_.run_dir);
  remove_stale_temporary_files(s_.run_dir);
  const auto ckpt_path = s_.run_dir / "checkpoint.ckpt";
  JsonLog log(s_.run_dir / "log.jsonl");

  const data::Codec codec(s_.alphabet);
  CtcObjective ctc_objective;
  Objective& objective = s_.objective ? *s_.objective : ctc_objective;
  Network net(s_.architecture);
  Optimizer opt(s_.optimizer);
  std::int64_t iteration = 0;
  double best_cer = std::numeric_limits<double>::infinity();
  double elapsed_before = 0;
  data::LoaderPosition position;

  if (s_.resume && std::filesystem::exists(ckpt_path)) {
    detail::MappedFile file(ckpt_path);
    auto view = detail::parse_safetensors(file.data(), file.size(), ckpt_path.string());
    auto meta_it = view.metadata.find("ocrcore.checkpoint");
    if (meta_it == view.metadata.end())
      throw Error(ckpt_path.string() + ": not an ocr-train checkpoint");
    const json meta = json::parse(meta_it->second);
    if (Architecture::from_json(meta.at("architecture").get<std::string>()).to_json() !=
        s_.architecture.to_json())
      throw Error(ckpt_path.string() + ": checkpoint was made with a different architecture");
    TensorMap tensors;
    for (const auto& [name, entry] : view.entries)
      tensors.emplace(name, detail::read_f32_tensor(view, name));
    net.load(tensors);
    opt.load_state(tensors, net.parameters());
    iteration = meta.at("iteration").get<std::int64_t>();
    // null until the first validation.
    if (meta.contains("best_cer") && meta["best_cer"].is_number())
      best_cer = meta["best_cer"].get<double>();
    elapsed_before = meta.value("elapsed_seconds", 0.0);
    position = {meta.at("epoch").get<std::int64_t>(), meta.at("pool").get<std::int64_t>(),
                meta.at("batch").get<std::int64_t>()};
    say("resumed from " + ckpt_path.string() + " at iteration " + std::to_string(iteration));
    log.write({{"event", "resume"}, {"iteration", iteration}});
  } else if (s_.init_tensors) {
    net.load(*s_.init_tensors);
  } else if (s_.init_model) {
    auto m = Model::load(*s_.init_model);
    net.load(m->tensors());
    say("initialised from " + s_.init_model->string());
  } else {
    net.initialize(s_.seed);
  }
  if (!s_.freeze.empty()) say("frozen parameters: " + std::to_string(net.freeze(s_.freeze)));

  data::DatasetReport train_report;
  auto train_lines = data::read_dataset(s_.train_inputs, codec, s_.unknown_characters,
                                        &train_report, !objective.needs_labels());
  say("training set: " + train_report.summary());
  const ValidationSet validation = load_validation(s_, codec, report);

  data::LoaderSettings ls;
  ls.batch_size = s_.batch_size;
  ls.seed = s_.seed;
  ls.augment = s_.augment;
  ls.augmentation = s_.augmentation;
  ls.preprocessing = s_.preprocessing;
  ls.threads = s_.loader_threads;
  const Architecture arch = s_.architecture;
  ls.frames_for_width = [arch](int w) { return arch.frames_for_width(w); };
  data::BatchLoader loader(std::move(train_lines), ls, position);

  auto save_checkpoint = [&](double elapsed) {
    TensorMap tensors = net.tensors();
    for (auto& [k, v] : opt.state())
      tensors.emplace(k, v);
    const auto pos = loader.position();
    json meta = {{"iteration", iteration},
                 {"epoch", pos.epoch},
                 {"pool", pos.pool},
                 {"batch", pos.batch},
                 {"best_cer", std::isfinite(best_cer) ? json(best_cer) : json(nullptr)},
                 {"elapsed_seconds", elapsed},
                 {"seed", s_.seed},
                 {"architecture", s_.architecture.to_json()},
                 {"alphabet", s_.alphabet},
                 {"preprocessing", json::parse(detail::preprocessing_to_json(s_.preprocessing))}};
    detail::write_safetensors(ckpt_path, {{"ocrcore.checkpoint", meta.dump()}}, tensors);
    log.write({{"event", "checkpoint"}, {"iteration", iteration}});
    report({TrainerEvent::Kind::checkpoint, "checkpoint at iteration " + std::to_string(iteration),
            iteration});
  };
  auto metadata = [&](const std::string& what) {
    auto m = s_.model_metadata;
    m["training.iteration"] = std::to_string(iteration);
    m["training.kind"] = what;
    return m;
  };
  auto validate = [&](double elapsed) {
    if (validation.lines.empty()) return;
    const TensorMap tensors = net.tensors();
    auto model =
        Model::from_parts(s_.architecture, s_.alphabet, s_.preprocessing, tensors, "training");
    const Evaluation e = evaluate(model, validation, s_.threads);
    const bool best = e.cer < best_cer;
    if (best) {
      best_cer = e.cer;
      auto m = metadata("best by validation CER");
      m["training.validation_cer"] = std::to_string(e.cer);
      save_model(s_.run_dir / "best.ocrm", s_.architecture, s_.alphabet, s_.preprocessing, tensors,
                 m);
    }
    log.write({{"event", "validation"},
               {"iteration", iteration},
               {"cer", e.cer},
               {"wer", e.wer},
               {"lines", e.lines},
               {"best", best},
               {"elapsed_s", elapsed}});
    TrainerEvent ev;
    ev.kind = TrainerEvent::Kind::validation;
    ev.iteration = iteration;
    ev.iterations = s_.iterations;
    ev.cer = e.cer;
    ev.wer = e.wer;
    ev.best = best;
    report(ev);
  };

  const auto start = Clock::now();
  auto elapsed = [&] {
    return elapsed_before + std::chrono::duration<double>(Clock::now() - start).count();
  };
  double loss_avg = 0, lines_window = 0;
  bool have_average = false;
  std::int64_t window_iterations = 0;
  auto window_start = Clock::now();
  std::size_t unaligned_total = 0;

  auto should_stop = [&] { return stop.load() || (s_.stop_at > 0 && iteration >= s_.stop_at); };
  while (iteration < s_.iterations && !should_stop()) {
    data::Batch batch = loader.next();
    for (const std::string& p : batch.problems)
      say("line skipped: " + p);
    if (batch.lines.empty()) continue;
    net.set_step_seed(s_.seed ^ static_cast<std::uint64_t>(iteration));
    net.zero_grad();
    const StepLoss step = objective.step(net, batch);
    for (const std::string& p : step.problems)
      say(p);
    unaligned_total += batch.lines.size() - step.lines;
    ++iteration;
    if (step.lines == 0) continue;
    const double loss = step.loss;
    const float lr = s_.schedule.at(iteration - 1);
    const double norm = opt.step(net.parameters(), lr);
    if (std::isnan(norm))
      say("iteration " + std::to_string(iteration) + ": non-finite gradient, update skipped");
    loss_avg = have_average ? 0.98 * loss_avg + 0.02 * loss : loss;
    have_average = true;
    lines_window += static_cast<double>(batch.lines.size());
    ++window_iterations;

    if (iteration % s_.log_every == 0 || iteration == s_.iterations) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double rate = lines_window / std::max(1e-9, secs);
      const double it_rate = static_cast<double>(window_iterations) / std::max(1e-9, secs);
      log.write({{"event", "train"},
                 {"iteration", iteration},
                 {"loss", loss},
                 {"loss_avg", loss_avg},
                 {"lr", lr},
                 {"grad_norm", norm},
                 {"lines_per_s", rate},
                 {"epoch", batch.position.epoch},
                 {"unaligned", unaligned_total},
                 {"elapsed_s", elapsed()}});
      TrainerEvent ev;
      ev.kind = TrainerEvent::Kind::progress;
      ev.iteration = iteration;
      ev.iterations = s_.iterations;
      ev.loss = loss_avg;
      ev.lines_per_second = rate;
      ev.learning_rate = lr;
      ev.eta_seconds = static_cast<double>(s_.iterations - iteration) / std::max(1e-9, it_rate);
      report(ev);
      lines_window = 0;
      window_iterations = 0;
      window_start = Clock::now();
    }
    if (iteration % s_.validate_every == 0 || iteration == s_.iterations) validate(elapsed());
    if (iteration % s_.checkpoint_every == 0 || iteration == s_.iterations)
      save_checkpoint(elapsed());
  }
  if (should_stop() && iteration < s_.iterations) {
    save_checkpoint(elapsed());
    say("stopped at iteration " + std::to_string(iteration) +
        "; --resume continues from the checkpoint");
    return false;
  }
  save_model(s_.run_dir / "last.ocrm", s_.architecture, s_.alphabet, s_.preprocessing,
             net.tensors(), metadata("last iteration"));
  if (validation.lines.empty())
    save_model(s_.run_dir / "best.ocrm", s_.architecture, s_.alphabet, s_.preprocessing,
               net.tensors(), metadata("last iteration (no validation set)"));
  log.write({{"event", "done"},
             {"iteration", iteration},
             {"best_cer", std::isfinite(best_cer) ? json(best_cer) : json(nullptr)},
             {"elapsed_s", elapsed()}});
  return true;
}

}  // namespace ocrcore::train
