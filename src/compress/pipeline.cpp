#include "compress/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compress/student.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/evaluation.hpp"
#include "ocrcore/metrics.hpp"
#include "ocrcore/recognizer.hpp"
#include "runtime/core/file_io.hpp"
#include "training/data/batch_loader.hpp"
#include "training/data/dataset.hpp"
#include "training/train/network.hpp"

namespace ocrcore::compress {

namespace {

using json = nlohmann::json;

// The job of the stages' trainers (one process unless set).
train::Collective& team_of(const CompressSettings& s) {
  static const std::shared_ptr<train::Collective> alone = train::single_process();
  return s.training.team ? *s.training.team : *alone;
}

// A stage's model from the root's run directory, on every rank (nullptr when
// the root has none).
std::shared_ptr<const Model> load_if_exists(train::Collective& team,
                                            const std::filesystem::path& p) {
  std::string exists = team.is_root() && std::filesystem::exists(p) ? "1" : "";
  team.broadcast(exists);
  return exists.empty() ? nullptr : train::load_model_from_root(team, p);
}

// Teacher outputs kept across the stages of one run.
struct TeacherCaches {
  std::shared_ptr<TeacherTargetCache> features, logits;
};

// Runs one training stage through the trainer; returns its best model (or
// nullptr when stopped early).
std::shared_ptr<const Model> train_stage(
    const CompressSettings& s, const std::string& stage, const Architecture& arch,
    const TensorMap& init, DistillSettings loss, std::int64_t iterations,
    const std::vector<std::string>& freeze, TeacherCaches& caches, const std::atomic<bool>& stop,
    const std::function<void(const train::TrainerEvent&)>& report) {
  // Unaugmented lines look the same every epoch: the teacher runs once per
  // line and stage after stage reuses what it said.
  if (!s.training.augment && (s.teacher_cache_bytes > 0 || !s.teacher_cache_dir.empty()) &&
      loss.loss != TsLoss::ctc) {
    const bool logits = loss.loss == TsLoss::kl;
    auto& cache = logits ? caches.logits : caches.features;
    if (!cache) {
      std::filesystem::path dir;
      if (!s.teacher_cache_dir.empty())
        dir = teacher_target_directory(s.teacher_cache_dir, s.teacher->architecture(),
                                       s.teacher->tensors(), logits ? "logits" : "features");
      cache = std::make_shared<TeacherTargetCache>(s.teacher_cache_bytes, dir);
    }
    loss.teacher_cache = cache;
  }
  train::TrainerSettings t = s.training;
  t.architecture = arch;
  t.alphabet = s.teacher->alphabet();
  t.preprocessing = s.teacher->preprocessing();
  t.init_tensors = init;
  t.train_inputs = s.train_inputs;
  t.validation_inputs = s.validation_inputs;
  t.run_dir = s.run_dir / stage;
  t.resume = s.resume;
  t.iterations = iterations;
  t.schedule.total_steps = iterations;
  t.freeze = freeze;
  loss.frame_ratio = check_student(arch, s.teacher->architecture()).frame_ratio;
  t.objective =
      std::make_shared<DistillObjective>(s.teacher->architecture(), s.teacher->tensors(), loss);
  t.model_metadata["compress.stage"] = stage;
  t.model_metadata["compress.loss"] = ts_loss_name(loss.loss);
  report({train::TrainerEvent::Kind::message, "stage " + stage + ": " + ts_loss_name(loss.loss) +
                                                  ", " + std::to_string(iterations) +
                                                  " iterations"});
  train::Trainer trainer(t);
  const bool finished = trainer.run(stop, report);
  if (const auto& c = loss.teacher_cache) {
    std::string on_disk;
    if (!c->directory().empty())
      on_disk = " (" + std::to_string(c->directory_hits()) + " of them from " +
                c->directory().string() + ", where " + std::to_string(c->files_written()) +
                " were written" +
                (c->write_failures() ? ", " + std::to_string(c->write_failures()) + " could not be"
                                     : std::string()) +
                ")";
    report({train::TrainerEvent::Kind::message,
            "stage " + stage + ": teacher outputs of " + std::to_string(c->lines()) +
                " lines held in memory (" + std::to_string(c->bytes() >> 20) + " MiB); " +
                std::to_string(c->hits()) + " lines served from the cache" + on_disk + ", " +
                std::to_string(c->misses()) + " run through the teacher"});
  }
  if (!finished) return nullptr;
  return train::load_model_from_root(team_of(s), t.run_dir / "best.ocrm");
}

// The root writes the job's files.
void save(train::Collective& team, const std::filesystem::path& p, const Model& m) {
  if (team.is_root())
    save_model(p, m.architecture(), m.alphabet(), m.preprocessing(), m.tensors(), m.metadata());
}

std::string markdown(const CompressResult& r) {
  std::ostringstream o;
  o << "| model | parameters | footprint | reduction | GFLOP (32x512) | latency ms/line | speedup "
       "|";
  std::vector<std::string> sets;
  if (!r.models.empty())
    for (const auto& [set, e] : r.models[0].errors)
      sets.push_back(set);
  for (const auto& set : sets)
    o << " CER " << set << " | WER " << set << " |";
  o << "\n|---|---:|---:|---:|---:|---:|---:|";
  for (std::size_t i = 0; i < sets.size(); ++i)
    o << "---:|---:|";
  o << "\n";
  char buf[256];
  for (const auto& m : r.models) {
    std::snprintf(buf, sizeof buf, "| %s | %lld | %.2f MB | %.2fx | %.3f | %.2f | %.2fx |",
                  m.name.c_str(), static_cast<long long>(m.parameters),
                  static_cast<double>(m.bytes) / 1e6, m.footprint_reduction, m.gflops, m.latency_ms,
                  m.speedup);
    o << buf;
    for (const auto& [set, e] : m.errors) {
      std::snprintf(buf, sizeof buf, " %.2f%% | %.2f%% |", 100 * e.first, 100 * e.second);
      o << buf;
    }
    o << "\n";
  }
  if (!r.decomposition.empty()) {
    o << "\nTucker-2 per layer:\n\n| layer | method | shape | ranks | params before | after | "
         "MFLOP before | after | "
         "kernel error |\n|---|---|---|---|---:|---:|---:|---:|---:|\n";
    for (const auto& l : r.decomposition) {
      std::snprintf(buf, sizeof buf,
                    "| %s | %s | %dx%dx%dx%d | %d, %d | %lld | %lld | %.1f | %.1f | %.4f |\n",
                    l.name.c_str(), l.method.c_str(), l.out_channels, l.in_channels, l.kernel_h,
                    l.kernel_w, l.rank_in, l.rank_out, static_cast<long long>(l.params_before),
                    static_cast<long long>(l.params_after), l.flops_before / 1e6,
                    l.flops_after / 1e6, l.relative_error);
      o << buf;
    }
  }
  return o.str();
}

json to_json(const CompressResult& r) {
  json j;
  for (const auto& m : r.models) {
    json e;
    for (const auto& [set, v] : m.errors)
      e[set] = {{"cer", v.first}, {"wer", v.second}};
    j["models"].push_back({{"name", m.name},
                           {"parameters", m.parameters},
                           {"bytes", m.bytes},
                           {"gflops_32x512", m.gflops},
                           {"latency_ms_per_line", m.latency_ms},
                           {"footprint_reduction", m.footprint_reduction},
                           {"speedup", m.speedup},
                           {"errors", e}});
  }
  for (const auto& l : r.decomposition)
    j["decomposition"].push_back(
        {{"layer", l.name},
         {"method", l.method},
         {"in", l.in_channels},
         {"out", l.out_channels},
         {"kernel", {l.kernel_h, l.kernel_w}},
         {"ranks", {l.rank_in, l.rank_out}},
         {"params_before", l.params_before},
         {"params_after", l.params_after},
         {"flops_before", l.flops_before},
         {"flops_after", l.flops_after},
         {"relative_error", l.relative_error},
         {"singular_values", {{"in", l.spectra.in}, {"out", l.spectra.out}}}});
  j["final_model"] = r.final_model.string();
  return j;
}

// A set's name in the report: its directory's name, or parent/name when
// another set has the same name (".../rendered/test" and ".../uw3-dev/test").
std::string set_name(const std::string& input, const std::vector<std::string>& all) {
  auto last = [](const std::string& p, int parts) {
    std::filesystem::path path = std::filesystem::path(p).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();
    std::string name = path.filename().string();
    if (parts > 1 && path.has_parent_path() && !path.parent_path().filename().empty())
      name = path.parent_path().filename().string() + "/" + name;
    return name.empty() ? p : name;
  };
  const std::string name = last(input, 1);
  for (const std::string& other : all)
    if (other != input && last(other, 1) == name) return last(input, 2);
  return name;
}

}  // namespace

std::vector<ModelSummary> summarize_models(
    const std::vector<std::pair<std::string, std::shared_ptr<const Model>>>& models,
    const std::vector<std::string>& eval_inputs, int latency_lines, int latency_repeats) {
  std::vector<ModelSummary> out;
  struct Set {
    std::string name;
    std::vector<LabelledLine> lines;
  };
  std::vector<Set> sets;
  for (const std::string& in : eval_inputs) {
    Set set;
    set.name = set_name(in, eval_inputs);
    const data::Codec codec(models.at(0).second->alphabet());
    for (const auto& l : data::read_dataset({in}, codec, data::UnknownCharacters::map, nullptr))
      set.lines.push_back({l.image, l.text});
    sets.push_back(std::move(set));
  }
  for (const auto& [name, model] : models) {
    ModelSummary m;
    m.name = name;
    m.parameters = model->parameter_count();
    m.bytes = m.parameters * 4;
    m.gflops = model->architecture().flops(512) * 1e-9;
    RecognizerOptions o;
    o.threads = 1;
    Recognizer rec(model, o);
    for (const Set& set : sets) {
      const TextScore score = evaluate(rec, set.lines);
      m.errors.push_back({set.name, {score.cer(), score.wer()}});
    }
    // Latency: the first `latency_lines` lines of the sets, one at a time.
    std::vector<LineTensor> timing;
    for (const Set& set : sets)
      for (const LabelledLine& l : set.lines) {
        if (static_cast<int>(timing.size()) >= latency_lines) break;
        try {
          timing.push_back(normalize_line(load_image(l.image), model->preprocessing()));
        } catch (const Error&) {
          // unreadable: already scored as such
        }
      }
    if (!timing.empty()) {
      std::vector<double> per_line;
      rec.forward(std::span<const LineTensor>(timing.data(), 1));  // warm-up
      for (int r = 0; r < std::max(1, latency_repeats); ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (const LineTensor& l : timing)
          rec.forward(std::span<const LineTensor>(&l, 1));
        per_line.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count() /
            static_cast<double>(timing.size()));
      }
      std::sort(per_line.begin(), per_line.end());
      m.latency_ms = per_line[per_line.size() / 2];
    }
    out.push_back(m);
  }
  for (ModelSummary& m : out) {
    m.footprint_reduction = static_cast<double>(out[0].bytes) / static_cast<double>(m.bytes);
    m.speedup = m.latency_ms > 0 ? out[0].latency_ms / m.latency_ms : 0;
  }
  return out;
}

CompressResult run_compress(const CompressSettings& s, const std::atomic<bool>& stop,
                            const std::function<void(const train::TrainerEvent&)>& report) {
  if (!s.teacher) throw Error("no teacher model");
  train::Collective& team = team_of(s);
  auto say = [&](const std::string& m) {
    if (team.is_root()) report({train::TrainerEvent::Kind::message, m});
  };
  if (team.is_root()) {
    std::filesystem::create_directories(s.run_dir);
    remove_stale_temporary_files(s.run_dir);
  }
  const Architecture& teacher = s.teacher->architecture();
  const auto ts_path = s.run_dir / "student-ts.ocrm",
             tucker_path = s.run_dir / "student-tucker.ocrm",
             finetune_path = s.run_dir / "student-finetune.ocrm";
  CompressResult result;
  std::vector<std::pair<std::string, std::shared_ptr<const Model>>> models = {
      {"teacher", s.teacher}};
  TeacherCaches caches;

  // Stage 1: teacher-student learning into a fresh student CNN.
  std::shared_ptr<const Model> student = s.student_model;
  if (s.stages.count("ts")) {
    if (s.student_architecture && !s.student_shape.keeps_teachers())
      throw Error(
          "--student-arch gives the whole student; --student-width-stride, --student-lstm-* and "
          "--student-groups shape one derived from the teacher");
    Architecture arch =
        s.student_architecture
            ? *s.student_architecture
            : derive_student(teacher, s.width_multiplier, s.student_channels, s.student_shape);
    const StudentFit fit = check_student(arch, teacher);
    // A student with its own sequence half learns it: from CTC on the
    // transcriptions or from the teacher's posteriors, since feature losses
    // stop at the CNN.
    if (fit.own_sequence_half && s.ts.loss != TsLoss::ctc && s.ts.loss != TsLoss::kl &&
        s.ts.ctc_weight <= 0)
      throw Error(
          "the student's DBLSTM and output layer are its own (" +
          std::string(fit.frame_ratio > 1 ? "it runs at another frame rate than the teacher"
                                          : "they differ from the teacher's") +
          "): stage ts needs a loss that reaches them (--ctc-weight > 0, or --ts-loss ctc or kl)");
    train::Network net(arch);
    net.initialize(s.training.seed);
    const TensorMap init = student_start(net.tensors(), teacher, s.teacher->tensors());
    const auto frozen =
        fit.own_sequence_half ? std::vector<std::string>{} : recurrent_prefixes(arch);
    student = train_stage(s, "ts", arch, init, s.ts, s.ts_iterations, frozen, caches, stop, report);
    if (!student) {
      result.finished = false;
      return result;
    }
    save(team, ts_path, *student);
    say("stage ts: " + ts_path.string());
  } else if (!student) {
    student = load_if_exists(team, ts_path);
  }
  if (student) models.emplace_back("student (" + ts_loss_name(s.ts.loss) + ")", student);

  // Stage 2: Tucker-2 decomposition of the student's convolutions.
  if (s.stages.count("tucker")) {
    if (!student)
      throw Error("the tucker stage needs a student: run the ts stage or give --student-model");
    // On the root; the other ranks load its result.
    if (team.is_root()) {
      auto d =
          decompose_model(student->architecture(), student->tensors(), s.ranks, s.hooi_iterations);
      result.decomposition = d.layers;
      auto meta = student->metadata();
      meta["compress.stage"] = "tucker";
      save_model(tucker_path, d.architecture, student->alphabet(), student->preprocessing(),
                 d.tensors, meta);
    }
    student = train::load_model_from_root(team, tucker_path);
    say("stage tucker: " + tucker_path.string());
    models.emplace_back("+ Tucker", student);
  }

  // Stage 3: fine-tune the decomposed student under the teacher's guidance.
  if (s.stages.count("finetune")) {
    if (!student)
      throw Error(
          "the finetune stage needs a student: run the earlier stages or give --student-model");
    const auto frozen = s.finetune_unfreeze_rnn ? std::vector<std::string>{}
                                                : recurrent_prefixes(student->architecture());
    auto tuned = train_stage(s, "finetune", student->architecture(), student->tensors(), s.finetune,
                             s.finetune_iterations, frozen, caches, stop, report);
    if (!tuned) {
      result.finished = false;
      return result;
    }
    student = tuned;
    save(team, finetune_path, *student);
    say("stage finetune: " + finetune_path.string());
    models.emplace_back("+ fine-tuning", student);
  }
  if (!student) throw Error("no stage produced a model");
  result.final_model = s.stages.count("finetune") ? finetune_path
                       : s.stages.count("tucker") ? tucker_path
                                                  : ts_path;

  if (!team.is_root()) return result;  // the root evaluates and writes the report
  if (!s.eval_inputs.empty() || s.latency_lines > 0) {
    say("evaluating " + std::to_string(models.size()) + " models");
    result.models = summarize_models(models, s.eval_inputs, s.latency_lines, s.latency_repeats);
  }
  write_file_atomic(s.run_dir / "report.json", to_json(result).dump(2) + "\n");
  write_file_atomic(s.run_dir / "report.md", markdown(result));
  return result;
}

}  // namespace ocrcore::compress
