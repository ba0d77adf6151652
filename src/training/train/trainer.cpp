#include "training/train/trainer.hpp"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

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
#include "training/data/seeding.hpp"
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

// This rank's share of the validation lines (line i goes to rank i mod N).
struct ValidationSet {
  std::vector<LineTensor> lines;
  std::vector<std::string> texts;
  bool any = false;  // whether the job validates at all (some rank has lines)
};

ValidationSet load_validation(const TrainerSettings& s, const data::Codec& codec, Collective& team,
                              const std::function<void(const std::string&)>& say) {
  ValidationSet v;
  if (s.validation_inputs.empty()) return v;
  v.any = true;
  data::DatasetReport r;
  auto lines = data::read_dataset(s.validation_inputs, codec, s.unknown_characters, &r);
  if (s.max_validation_lines && lines.size() > s.max_validation_lines)
    lines.resize(s.max_validation_lines);
  std::vector<std::string> problems;
  for (std::size_t i = static_cast<std::size_t>(team.rank()); i < lines.size();
       i += static_cast<std::size_t>(team.size())) {
    try {
      v.lines.push_back(data::prepare_line(lines[i].image, s.preprocessing, nullptr, 0));
      v.texts.push_back(lines[i].text);
    } catch (const std::exception& e) {
      problems.push_back(std::string("validation line skipped: ") + e.what());
    }
  }
  double used[2] = {static_cast<double>(v.lines.size()), static_cast<double>(lines.size())};
  team.sum(used);
  for (const auto& rank_problems : team.gather(problems))
    for (const std::string& p : rank_problems)
      say(p);
  std::string note;
  if (static_cast<std::size_t>(used[0]) < r.lines)
    note = "; validating on " + std::to_string(static_cast<std::size_t>(used[0]));
  if (team.size() > 1) note += " (split across " + std::to_string(team.size()) + " ranks)";
  say("validation set: " + r.summary() + note);
  return v;
}

// CER and WER of `model` on the job's validation lines: each rank reads its
// share, the counts are summed.
TextScore evaluate(const std::shared_ptr<const Model>& model, const ValidationSet& v, int threads,
                   Collective& team) {
  TextScore score;
  if (!v.lines.empty()) {
    RecognizerOptions o;
    o.threads = threads;
    Recognizer rec(model, o);
    score = ocrcore::evaluate(rec, v.lines, v.texts);
  }
  double counts[6] = {
      static_cast<double>(score.chars.errors), static_cast<double>(score.chars.reference_length),
      static_cast<double>(score.words.errors), static_cast<double>(score.words.reference_length),
      static_cast<double>(score.lines),        static_cast<double>(score.unreadable)};
  team.sum(counts);
  TextScore total;
  total.chars = {static_cast<std::size_t>(counts[0]), static_cast<std::size_t>(counts[1])};
  total.words = {static_cast<std::size_t>(counts[2]), static_cast<std::size_t>(counts[3])};
  total.lines = static_cast<std::size_t>(counts[4]);
  total.unreadable = static_cast<std::size_t>(counts[5]);
  return total;
}

// Sums the trainable parameters' gradients over the ranks: one allreduce of
// one buffer (per-tensor calls cost a latency each; overlapping buckets with
// the backward pass would hide at most the allreduce, a few percent of a step
// here: benchmarks/results/mpi.md).
class GradientReduction {
 public:
  void run(const std::vector<Parameter*>& params, Collective& team) {
    if (team.size() == 1) return;
    const auto start = Clock::now();
    buffer_.clear();
    for (const Parameter* p : params)
      if (p->trainable && !p->frozen) buffer_.insert(buffer_.end(), p->grad.begin(), p->grad.end());
    team.sum(buffer_);
    std::size_t at = 0;
    for (Parameter* p : params)
      if (p->trainable && !p->frozen) {
        std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(at), p->grad.size(),
                    p->grad.begin());
        at += p->grad.size();
      }
    seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
    bytes_ = buffer_.size() * sizeof(float);
  }
  // Seconds spent since the last call, and resets.
  double take_seconds() { return std::exchange(seconds_, 0.0); }
  std::size_t bytes() const { return bytes_; }

 private:
  std::vector<float> buffer_;
  double seconds_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace

StepLoss CtcObjective::step(Network& net, const data::Batch& batch, Collective& team) {
  const Activations& log_probs = net.forward(Network::make_input(batch.lines), Mode::training);
  Activations grad;
  CtcLossResult ctc = ctc_loss(log_probs, batch.targets, &grad);
  StepLoss out;
  for (int n : ctc.unaligned)
    out.problems.push_back("line cannot be aligned (more characters than frames): " +
                           batch.texts[n]);
  // [lines, sum of their losses] over the global batch.
  double totals[2] = {static_cast<double>(batch.lines.size() - ctc.unaligned.size()), 0.0};
  for (double l : ctc.loss)
    if (std::isfinite(l)) totals[1] += l;
  team.sum(totals);
  out.lines = static_cast<std::size_t>(totals[0]);
  if (out.lines == 0) return out;
  // Mean over the aligned lines.
  const float scale = 1.0f / static_cast<float>(totals[0]);
  for (float& g : grad.values)
    g *= scale;
  net.backward(grad);
  out.loss = totals[1] / totals[0];
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

std::uint64_t parameter_checksum(const std::vector<Parameter*>& params) {
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  for (const Parameter* p : params) {
    std::uint64_t t = data::mix_bits(p->value.size());
    for (float v : p->value) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      t = (t ^ bits) * 0x100000001b3ULL;
    }
    h = data::mix_bits(h ^ t);
  }
  return h;
}

bool Trainer::run(const std::atomic<bool>& stop,
                  const std::function<void(const TrainerEvent&)>& report_all) {
  const std::shared_ptr<Collective> team_ptr = s_.team ? s_.team : single_process();
  Collective& team = *team_ptr;
  const bool root = team.is_root();
  // The root speaks for the job; the others' problems reach it by gather().
  auto report = [&](const TrainerEvent& e) {
    if (root) report_all(e);
  };
  auto say = [&](const std::string& m) { report({TrainerEvent::Kind::message, m}); };
  auto say_gathered = [&](const std::vector<std::string>& local) {
    const auto all = team.gather(local);
    for (std::size_t r = 0; r < all.size(); ++r)
      for (const std::string& p : all[r])
        say(team.size() > 1 ? "rank " + std::to_string(r) + ": " + p : p);
  };
  if (s_.batch_size < team.size())
    throw Error("batch size " + std::to_string(s_.batch_size) + " is smaller than the " +
                std::to_string(team.size()) +
                " ranks: the batch size is the global batch, split across the ranks");
  omp_set_num_threads(std::max(1, s_.threads));
  const auto ckpt_path = s_.run_dir / "checkpoint.ckpt";
  std::optional<JsonLog> log;
  if (root) {
    std::filesystem::create_directories(s_.run_dir);
    remove_stale_temporary_files(s_.run_dir);
    log.emplace(s_.run_dir / "log.jsonl");
  }
  auto write_log = [&](json j) {
    if (log) log->write(std::move(j));
  };

  const data::Codec codec(s_.alphabet);
  CtcObjective ctc_objective;
  Objective& objective = s_.objective ? *s_.objective : ctc_objective;
  Network net(s_.architecture);
  if (team.size() > 1) net.set_collective(&team);
  Optimizer opt(s_.optimizer);
  std::int64_t iteration = 0;
  double best_cer = std::numeric_limits<double>::infinity();
  double elapsed_before = 0;
  data::LoaderPosition position;
  data::BatchWidths widths = s_.batch_widths;

  // The root's checkpoint, on every rank.
  std::string resume_flag = root && s_.resume && std::filesystem::exists(ckpt_path) ? "1" : "";
  team.broadcast(resume_flag);
  if (!resume_flag.empty()) {
    const std::string bytes = read_on_root(team, ckpt_path);
    auto view = detail::parse_safetensors(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                          bytes.size(), ckpt_path.string());
    auto meta_it = view.metadata.find("ocrcore.checkpoint");
    if (meta_it == view.metadata.end())
      throw Error(ckpt_path.string() + ": not an ocr-train checkpoint");
    const json meta = json::parse(meta_it->second);
    if (Architecture::from_json(meta.at("architecture").get<std::string>()).to_json() !=
        s_.architecture.to_json())
      throw Error(ckpt_path.string() + ": checkpoint was made with a different architecture");
    if (meta.value("batch_size", s_.batch_size) != s_.batch_size)
      throw Error(ckpt_path.string() + ": checkpoint was made with batch size " +
                  std::to_string(meta.value("batch_size", 0)) + ", not " +
                  std::to_string(s_.batch_size) + " (the global batch must stay the same)");
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
    // Batches (widths planned before loading), batch statistics and steps
    // do not depend on the number of ranks, so a run resumes on any number.
    const int ranks_before = meta.value("ranks", 1);
    widths = data::parse_batch_widths(meta.value("batch_widths", "measured"));
    say("resumed from " + ckpt_path.string() + " at iteration " + std::to_string(iteration) +
        (ranks_before != team.size()
             ? " (written by " + std::to_string(ranks_before) + " ranks, continued on " +
                   std::to_string(team.size()) + ")"
             : ""));
    write_log({{"event", "resume"}, {"iteration", iteration}, {"ranks", team.size()}});
  } else if (s_.init_tensors) {
    net.load(*s_.init_tensors);
  } else if (s_.init_model) {
    net.load(load_model_from_root(team, *s_.init_model)->tensors());
    say("initialised from " + s_.init_model->string());
  } else {
    net.initialize(s_.seed);
  }
  if (!s_.freeze.empty()) say("frozen parameters: " + std::to_string(net.freeze(s_.freeze)));

  data::DatasetReport train_report;
  auto train_lines = data::read_dataset(s_.train_inputs, codec, s_.unknown_characters,
                                        &train_report, !objective.needs_labels());
  say("training set: " + train_report.summary());
  const ValidationSet validation = load_validation(s_, codec, team, say);

  if (team.size() > 1 && widths == data::BatchWidths::measured) {
    if (!resume_flag.empty())
      say("the checkpoint's batches were formed from widths measured after loading, one "
          "process's way; from here the job's ranks form them from widths measured before "
          "training (other batches of the same lines)");
    widths = data::BatchWidths::premeasured;
  }
  data::LoaderSettings ls;
  ls.widths = widths;
  ls.batch_size = s_.batch_size;
  ls.seed = s_.seed;
  ls.augment = s_.augment;
  ls.augmentation = s_.augmentation;
  ls.preprocessing = s_.preprocessing;
  ls.threads = s_.loader_threads;
  ls.rank = team.rank();
  ls.ranks = team.size();
  const Architecture arch = s_.architecture;
  ls.frames_for_width = [arch](int w) { return arch.frames_for_width(w); };
  {
    // Ranks that read different training sets would train on different batches.
    std::uint64_t digest = data::mix_bits(train_lines.size());
    for (const auto& l : train_lines)
      digest = data::mix_bits(digest ^ std::hash<std::string>{}(l.image.string() + '\n' + l.text));
    const auto all = team.all_gather(digest);
    for (std::size_t r = 1; r < all.size(); ++r)
      if (all[r] != all[0])
        throw Error("rank " + std::to_string(r) +
                    " reads a different training set than rank 0 (the data must be the same "
                    "on every host)");
  }
  if (widths == data::BatchWidths::premeasured) {
    // Each rank measures its share of the lines; the sum is every line's
    // width, the same on every rank, so all plan the same global batches.
    // (After the digest check: the sum needs the same lines on every rank.)
    const auto start = std::chrono::steady_clock::now();
    const int threads = std::max(s_.threads, s_.loader_threads);
    say("measuring the widths of " + std::to_string(train_lines.size()) +
        " training lines before training" +
        (team.size() > 1 ? " (each rank its share)" : std::string()));
    const std::vector<int> mine =
        data::measure_widths(train_lines, s_.preprocessing, team.rank(), team.size(), threads);
    std::vector<double> sum(mine.begin(), mine.end());
    team.sum(sum);
    auto all = std::make_shared<std::vector<int>>(sum.size());
    std::transform(sum.begin(), sum.end(), all->begin(),
                   [](double w) { return static_cast<int>(std::lround(w)); });
    ls.line_widths = std::move(all);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_log({{"event", "widths_measured"}, {"lines", sum.size()}, {"seconds", seconds}});
    say("widths measured in " + std::to_string(std::lround(seconds)) + " s");
  }
  data::BatchLoader loader(std::move(train_lines), ls, position);

  // Compares every rank's parameters; the same verdict on every rank.
  auto verify_replicas = [&] {
    if (team.size() == 1) return;
    const auto sums = team.all_gather(parameter_checksum(net.parameters()));
    json list = json::array();
    for (std::uint64_t v : sums)
      list.push_back(v);
    write_log({{"event", "replicas"}, {"iteration", iteration}, {"checksums", list}});
    for (std::size_t r = 1; r < sums.size(); ++r)
      if (sums[r] != sums[0])
        throw Error("the parameters of rank " + std::to_string(r) + " differ from rank 0's after " +
                    "iteration " + std::to_string(iteration));
  };
  verify_replicas();

  auto save_checkpoint = [&](double elapsed, data::LoaderPosition pos) {
    verify_replicas();
    if (!root) return;
    TensorMap tensors = net.tensors();
    for (auto& [k, v] : opt.state())
      tensors.emplace(k, v);
    json meta = {{"iteration", iteration},
                 {"epoch", pos.epoch},
                 {"pool", pos.pool},
                 {"batch", pos.batch},
                 {"best_cer", std::isfinite(best_cer) ? json(best_cer) : json(nullptr)},
                 {"elapsed_seconds", elapsed},
                 {"seed", s_.seed},
                 {"batch_size", s_.batch_size},
                 {"batch_widths", data::batch_widths_name(widths)},
                 {"ranks", team.size()},
                 {"architecture", s_.architecture.to_json()},
                 {"alphabet", s_.alphabet},
                 {"preprocessing", json::parse(detail::preprocessing_to_json(s_.preprocessing))}};
    detail::write_safetensors(ckpt_path, {{"ocrcore.checkpoint", meta.dump()}}, tensors);
    write_log({{"event", "checkpoint"}, {"iteration", iteration}});
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
    if (!validation.any) return;
    const TensorMap tensors = net.tensors();
    auto model =
        Model::from_parts(s_.architecture, s_.alphabet, s_.preprocessing, tensors, "training");
    const TextScore e = evaluate(model, validation, s_.threads, team);
    const bool best = e.cer() < best_cer;
    if (best) {
      best_cer = e.cer();
      auto m = metadata("best by validation CER");
      m["training.validation_cer"] = std::to_string(e.cer());
      if (root)
        save_model(s_.run_dir / "best.ocrm", s_.architecture, s_.alphabet, s_.preprocessing,
                   tensors, m);
    }
    write_log({{"event", "validation"},
               {"iteration", iteration},
               {"cer", e.cer()},
               {"wer", e.wer()},
               {"lines", e.lines},
               {"best", best},
               {"elapsed_s", elapsed}});
    TrainerEvent ev;
    ev.kind = TrainerEvent::Kind::validation;
    ev.iteration = iteration;
    ev.iterations = s_.iterations;
    ev.cer = e.cer();
    ev.wer = e.wer();
    ev.best = best;
    report(ev);
  };

  const auto start = Clock::now();
  auto elapsed = [&] {
    return elapsed_before + std::chrono::duration<double>(Clock::now() - start).count();
  };
  double loss_avg = 0, lines_window = 0;
  double columns_window = 0, padded_columns_window = 0;  // this rank's input, for the log
  bool have_average = false;
  std::int64_t window_iterations = 0;
  auto window_start = Clock::now();
  std::size_t unaligned_total = 0;
  GradientReduction reduction;

  bool stopped = false;
  while (iteration < s_.iterations) {
    if (s_.stop_at > 0 && iteration >= s_.stop_at) {
      stopped = true;
      break;
    }
    data::Batch batch = loader.next();
    // [ranks asked to stop (a signal reaches them at different moments),
    //  ranks without a usable line, the global batch's lines]: one verdict.
    double control[3] = {stop.load() ? 1.0 : 0.0, batch.lines.empty() ? 1.0 : 0.0,
                         static_cast<double>(batch.lines.size())};
    team.sum(control);
    if (control[0] > 0) {
      save_checkpoint(elapsed(), batch.position);  // resumes with this batch
      stopped = true;
      break;
    }
    std::vector<std::string> problems = std::move(batch.problems);
    if (control[2] == 0) {  // no usable line in the whole batch: not a step
      say_gathered(problems);
      continue;
    }
    StepLoss step;
    if (control[1] > 0) {
      // A rank whose whole share is unusable cannot take part in the step's
      // batch statistics: the step is skipped on every rank.
      problems.push_back("iteration " + std::to_string(iteration + 1) +
                         ": no usable line in this rank's share of the batch; step skipped on "
                         "every rank");
    } else {
      const std::vector<std::uint64_t> line_keys(batch.indices.begin(), batch.indices.end());
      net.set_step_seed(s_.seed ^ static_cast<std::uint64_t>(iteration), line_keys);
      net.zero_grad();
      step = objective.step(net, batch, team);
      for (std::string& p : step.problems)
        problems.push_back(std::move(p));
    }
    say_gathered(problems);
    unaligned_total += static_cast<std::size_t>(control[2]) - step.lines;
    ++iteration;
    if (step.lines == 0) continue;
    const double loss = step.loss;
    const float lr = s_.schedule.at(iteration - 1);
    reduction.run(net.parameters(), team);
    const double norm = opt.step(net.parameters(), lr);
    if (std::isnan(norm))
      say("iteration " + std::to_string(iteration) + ": non-finite gradient, update skipped");
    loss_avg = have_average ? 0.98 * loss_avg + 0.02 * loss : loss;
    have_average = true;
    lines_window += control[2];
    ++window_iterations;
    {
      // What the batch's padding costs: the network runs on padded columns.
      int widest = 1;
      for (const LineTensor& l : batch.lines) {
        widest = std::max(widest, l.width);
        columns_window += l.width;
      }
      const int q = Network::kWidthQuantum;
      padded_columns_window += static_cast<double>(batch.lines.size()) * ((widest + q - 1) / q * q);
    }

    if (iteration % s_.log_every == 0 || iteration == s_.iterations) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double rate = lines_window / std::max(1e-9, secs);
      const double it_rate = static_cast<double>(window_iterations) / std::max(1e-9, secs);
      json record = {{"event", "train"},
                     {"iteration", iteration},
                     {"loss", loss},
                     {"loss_avg", loss_avg},
                     {"lr", lr},
                     {"grad_norm", norm},
                     {"lines_per_s", rate},
                     {"epoch", batch.position.epoch},
                     {"unaligned", unaligned_total},
                     {"padding", 1.0 - columns_window / std::max(1.0, padded_columns_window)},
                     {"elapsed_s", elapsed()}};
      if (team.size() > 1) {
        record["ranks"] = team.size();
        record["allreduce_ms_per_step"] =
            1e3 * reduction.take_seconds() /
            static_cast<double>(std::max<std::int64_t>(1, window_iterations));
        record["gradient_bytes"] = reduction.bytes();
      }
      write_log(record);
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
      columns_window = padded_columns_window = 0;
      window_iterations = 0;
      window_start = Clock::now();
    }
    if (s_.verify_replicas_every > 0 && iteration % s_.verify_replicas_every == 0 &&
        iteration % s_.checkpoint_every != 0)
      verify_replicas();
    if (iteration % s_.validate_every == 0 || iteration == s_.iterations) validate(elapsed());
    if (iteration % s_.checkpoint_every == 0 || iteration == s_.iterations)
      save_checkpoint(elapsed(), loader.position());
  }
  if (stopped && iteration < s_.iterations) {
    if (s_.stop_at > 0 && iteration >= s_.stop_at) save_checkpoint(elapsed(), loader.position());
    say("stopped at iteration " + std::to_string(iteration) +
        "; --resume continues from the checkpoint");
    return false;
  }
  if (root) {
    save_model(s_.run_dir / "last.ocrm", s_.architecture, s_.alphabet, s_.preprocessing,
               net.tensors(), metadata("last iteration"));
    if (!validation.any)
      save_model(s_.run_dir / "best.ocrm", s_.architecture, s_.alphabet, s_.preprocessing,
                 net.tensors(), metadata("last iteration (no validation set)"));
  }
  write_log({{"event", "done"},
             {"iteration", iteration},
             {"best_cer", std::isfinite(best_cer) ? json(best_cer) : json(nullptr)},
             {"elapsed_s", elapsed()}});
  return true;
}

}  // namespace ocrcore::train
