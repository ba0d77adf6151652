// ocr-compress: teacher-student learning with the LSTM-guided loss, Tucker-2
// decomposition and fine-tuning (DESIGN.md 3-4), stage by stage, with a
// report comparing the teacher and every stage's model.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "compress/pipeline.hpp"
#include "data_parallel_options.hpp"
#include "ocrcore/ocrcore.hpp"
#include "onnx/model_import.hpp"
#include "runtime/core/file_io.hpp"
#include "tool_main.hpp"
#include "training/data/codec.hpp"
#include "training/distributed/collective.hpp"

namespace fs = std::filesystem;
using ocrcore::Error;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop.store(true);
}

}  // namespace

namespace {

int tool_main(int argc, char** argv) {
  CLI::App app{
      "Compress a CNN-DBLSTM-CTC teacher: teacher-student learning, Tucker-2, fine-tuning."};
  ocrcore::compress::CompressSettings s;
  std::string teacher, teacher_arch, alphabet, student_arch, student_model, output,
      stages = "ts,tucker,finetune";
  std::string ts_loss = "lstm-guided", finetune_loss = "lstm-guided", ranks = "energy:0.95",
              optimizer = "adam";
  std::vector<int> channels;
  bool no_augment = false, quiet = false;
  s.training.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.training.schedule.base = 1e-3f;
  s.training.schedule.warmup_steps = 100;
  s.training.validate_every = 500;
  s.training.checkpoint_every = 200;
  s.training.log_every = 50;
  app.add_option("--teacher", teacher,
                 "Teacher: .ocrm, .onnx, or a state_dict .safetensors (with --teacher-arch)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--teacher-arch", teacher_arch, "Architecture JSON of a state_dict teacher")
      ->check(CLI::ExistingFile);
  app.add_option("--alphabet", alphabet, "'ascii' or a file, when the teacher carries no alphabet");
  app.add_option("--student-arch", student_arch, "Student architecture JSON")
      ->check(CLI::ExistingFile);
  app.add_option("--width", s.width_multiplier, "Student = teacher CNN with channels x this")
      ->capture_default_str();
  app.add_option("--student-channels", channels, "Student CNN output channels per convolution")
      ->delimiter(',');
  app.add_option("--student-width-stride", s.student_shape.width_stride,
                 "Student's input columns per frame (the teacher's times a power of two: its "
                 "DBLSTM runs over fewer frames); default the teacher's");
  app.add_option("--student-lstm-hidden", s.student_shape.lstm_hidden,
                 "Student's DBLSTM units per direction; default the teacher's");
  app.add_option("--student-lstm-layers", s.student_shape.lstm_layers,
                 "Student's DBLSTM layers; default the teacher's");
  app.add_option("--student-groups", s.student_shape.conv_groups,
                 "Student's groups per convolution (1: not grouped; more: a grouped convolution)")
      ->delimiter(',');
  app.add_option("--student-model", student_model, "Start later stages from this student")
      ->check(CLI::ExistingFile);
  app.add_option("--train", s.train_inputs,
                 "Training lines (transcriptions optional unless --ts-loss ctc)")
      ->required();
  app.add_option("--val", s.validation_inputs, "Labelled validation lines (best model by CER)");
  app.add_option("--eval", s.eval_inputs,
                 "Labelled sets for the report (default: --val; 'none': no evaluation)");
  app.add_option("--run-dir", s.run_dir,
                 "Directory for stage models, checkpoints, logs and the report")
      ->required();
  app.add_option("-o,--output", output, "Also write the final model here");
  app.add_option("--stages", stages, "Any of ts,tucker,finetune")->capture_default_str();
  app.add_flag("--resume", s.resume, "Continue interrupted stages from their checkpoints");
  app.add_option("--ts-loss", ts_loss, "lstm-guided, l2, kl or ctc")->capture_default_str();
  app.add_option("--kl-temperature", s.ts.kl_temperature, "Temperature of the kl loss")
      ->capture_default_str();
  app.add_option("--ctc-weight", s.ts.ctc_weight,
                 "Weight of an added CTC term on labelled lines (stage 1)")
      ->capture_default_str();
  app.add_option("--ranks", ranks,
                 "energy:F, vbmf, fixed:R1,R2, budget:flops=F, budget:params=F [;LAYER=R1,R2]")
      ->capture_default_str();
  app.add_option("--hooi", s.hooi_iterations, "HOOI refinement iterations")->capture_default_str();
  app.add_option("--finetune-loss", finetune_loss, "lstm-guided, l2, kl or ctc")
      ->capture_default_str();
  app.add_option("--finetune-ctc-weight", s.finetune.ctc_weight,
                 "Weight of an added CTC term (stage 3)")
      ->capture_default_str();
  app.add_flag("--unfreeze-rnn", s.finetune_unfreeze_rnn,
               "Fine-tune the DBLSTM and output layer too");
  app.add_option("--ts-iterations", s.ts_iterations, "Stage 1 iterations")->capture_default_str();
  app.add_option("--finetune-iterations", s.finetune_iterations, "Stage 3 iterations")
      ->capture_default_str();
  app.add_option("-b,--batch-size", s.training.batch_size, "Lines per batch")
      ->capture_default_str();
  app.add_option("--lr", s.training.schedule.base, "Peak learning rate")->capture_default_str();
  app.add_option("--warmup", s.training.schedule.warmup_steps, "Warm-up iterations")
      ->capture_default_str();
  app.add_option("--optimizer", optimizer, "adam, adamw, sgd")->capture_default_str();
  app.add_option("--validate-every", s.training.validate_every, "Iterations between validations")
      ->capture_default_str();
  app.add_option("--checkpoint-every", s.training.checkpoint_every,
                 "Iterations between checkpoints")
      ->capture_default_str();
  app.add_option("--log-every", s.training.log_every, "Iterations between progress lines")
      ->capture_default_str();
  app.add_option("--max-val-lines", s.training.max_validation_lines,
                 "Validate on at most this many lines")
      ->capture_default_str();
  app.add_option("--latency-lines", s.latency_lines, "Lines timed per model in the report")
      ->capture_default_str();
  app.add_option("--seed", s.training.seed, "Random seed")->capture_default_str();
  app.add_option("-t,--threads", s.training.threads, "Compute threads")->capture_default_str();
  app.add_flag("--no-augment", no_augment,
               "Train on the images as they are (the teacher then runs once per line)");
  std::size_t cache_mb = s.teacher_cache_bytes >> 20;
  app.add_option("--teacher-cache-mb", cache_mb,
                 "Memory for the teacher's outputs per line with --no-augment (0: none)")
      ->capture_default_str();
  std::string cache_dir;
  app.add_option("--teacher-cache-dir", cache_dir,
                 "Also keep the teacher's outputs here, for later runs of the same teacher "
                 "(with --no-augment)");
  app.add_flag("-q,--quiet", quiet, "Only errors and the summary");
  ocrcore::tools::DataParallelOptions data_parallel;
  data_parallel.add_to(app, s.training);
  CLI11_PARSE(app, argc, argv);
  // Under mpirun, one rank of a data-parallel job (README: Training on several machines).
  std::shared_ptr<ocrcore::train::Collective> team;
  try {
    team = data_parallel.join("ocr-compress", s.training);
    s.teacher = ocrcore::onnx_io::import_model(
        teacher, teacher_arch,
        alphabet.empty() ? std::vector<std::string>{} : ocrcore::data::load_alphabet(alphabet));
    if (!student_arch.empty()) s.student_architecture = ocrcore::Architecture::load(student_arch);
    s.student_channels = channels;
    if (!student_model.empty()) s.student_model = ocrcore::Model::load(student_model);
    s.stages.clear();
    std::istringstream st(stages);
    for (std::string item; std::getline(st, item, ',');) {
      if (item != "ts" && item != "tucker" && item != "finetune")
        throw Error("--stages: unknown stage '" + item + "' (ts, tucker, finetune)");
      s.stages.insert(item);
    }
    s.ts.loss = ocrcore::compress::parse_ts_loss(ts_loss);
    s.finetune.loss = ocrcore::compress::parse_ts_loss(finetune_loss);
    s.finetune.kl_temperature = s.ts.kl_temperature;
    s.ranks = ocrcore::compress::parse_rank_rule(ranks);
    s.training.optimizer.kind = ocrcore::train::parse_optimizer_kind(optimizer);
    s.training.augment = !no_augment;
    s.teacher_cache_bytes = cache_mb << 20;
    if (!cache_dir.empty() && !no_augment)
      throw Error("--teacher-cache-dir needs --no-augment: augmented lines differ every time");
    s.teacher_cache_dir = cache_dir;
    if (s.eval_inputs.empty()) s.eval_inputs = s.validation_inputs;
    if (s.eval_inputs == std::vector<std::string>{"none"}) s.eval_inputs.clear();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto result =
        ocrcore::compress::run_compress(s, g_stop, [&](const ocrcore::train::TrainerEvent& e) {
          using K = ocrcore::train::TrainerEvent::Kind;
          if (!team->is_root()) return;
          if (e.kind == K::progress && !quiet)
            std::fprintf(stderr, "[%lld/%lld] loss %.5f  %.1f lines/s  lr %.2e  ETA %.0f s\n",
                         static_cast<long long>(e.iteration), static_cast<long long>(e.iterations),
                         e.loss, e.lines_per_second, e.learning_rate, e.eta_seconds);
          else if (e.kind == K::validation)
            std::fprintf(stderr, "[%lld/%lld] validation CER %.3f%%  WER %.3f%%%s\n",
                         static_cast<long long>(e.iteration), static_cast<long long>(e.iterations),
                         100 * e.cer, 100 * e.wer, e.best ? "  (best so far)" : "");
          else if (e.kind == K::message && !quiet)
            std::fprintf(stderr, "ocr-compress: %s\n", e.message.c_str());
        });
    if (!result.finished) return g_stop.load() ? 130 : 0;
    if (!team->is_root()) return 0;
    if (!output.empty())
      ocrcore::write_file_atomic(output, ocrcore::detail::read_text_file(result.final_model));
    std::fprintf(stderr, "ocr-compress: done; %s\n%s", result.final_model.c_str(),
                 ocrcore::detail::read_text_file(s.run_dir / "report.md").c_str());
    return 0;
  } catch (const std::exception& e) {
    return ocrcore::train::fail_job("ocr-compress", e, team.get());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ocrcore::tools::run_tool("ocr-compress", argc, argv, tool_main);
}
