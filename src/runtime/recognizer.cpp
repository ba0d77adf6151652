#include "ocrcore/recognizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "ocrcore/ctc.hpp"
#include "ocrcore/error.hpp"
#include "runtime/engines/engine.hpp"
#include "runtime/image/orientation.hpp"
#include "runtime/kernels/kernels.hpp"
#include "runtime/model/model_access.hpp"

namespace ocrcore {

struct Recognizer::Engine {
  Engine(std::unique_ptr<detail::Engine> engine,
         std::function<std::unique_ptr<detail::Engine>()> make_one_thread)
      : backend(std::move(engine)), make_single(std::move(make_one_thread)) {}
  std::unique_ptr<detail::Engine> backend;  // runs `threads` threads over a batch's lines
  // recognize_files' pipeline with several threads: one single-thread engine
  // per worker, made on first use (the prepared weights are the model's,
  // shared; each engine adds only its scratch).
  std::function<std::unique_ptr<detail::Engine>()> make_single;
  std::vector<std::unique_ptr<detail::Engine>> workers;
};

Recognizer::Recognizer(std::shared_ptr<const Model> model, RecognizerOptions options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw Error("Recognizer needs a model");
  if (options_.threads < 1) throw Error("threads must be >= 1");
  if (options_.beam_width < 1) throw Error("beam width must be >= 1");
  if (options_.language_model && options_.decoder != Decoder::beam)
    throw Error("a language model needs the beam decoder");
  if (options_.lstm_precision == Precision::bf16)
    throw Error("there is no bf16 LSTM: its precision is fp32 or int8 (bf16 is for convolutions)");
  if (options_.lstm_precision != Precision::fp32 && options_.backend == Backend::reference)
    throw Error(
        "the reference backend runs fp32 LSTMs only (int8 LSTM steps run on the onednn backend)");
  auto make = [model = model_, options = options_](int threads) {
    return options.backend == Backend::reference
               ? detail::make_reference_engine(ModelAccess::network(*model), threads,
                                               options.conv_precision)
               : detail::make_onednn_engine(*model, {.threads = threads,
                                                     .isa = options.isa,
                                                     .conv_algorithm = options.conv_algorithm,
                                                     .tucker = options.tucker,
                                                     .lstm_precision = options.lstm_precision,
                                                     .conv_precision = options.conv_precision});
  };
  engine_ = std::make_unique<Engine>(make(options_.threads), [make] { return make(1); });
}

Recognizer::~Recognizer() = default;
Recognizer::Recognizer(Recognizer&&) noexcept = default;
Recognizer& Recognizer::operator=(Recognizer&&) noexcept = default;

void Recognizer::check_usable() const {
  if (!engine_) throw Error("this Recognizer was moved from; use the one it was moved to");
}

const Model& Recognizer::model() const {
  check_usable();
  return *model_;
}

std::vector<LogProbs> Recognizer::forward(std::span<const LineTensor> lines) {
  check_usable();
  return engine_->backend->forward(lines);
}

LineResult Recognizer::decode(const LogProbs& lp, float scale_x, float offset_x) const {
  check_usable();
  if (lp.classes != model_->num_classes() || lp.frames < 0 ||
      lp.values.size() != static_cast<std::size_t>(lp.frames) * lp.classes)
    throw Error("log-probabilities of " + std::to_string(lp.frames) + " frames x " +
                std::to_string(lp.classes) + " classes (" + std::to_string(lp.values.size()) +
                " values) do not fit this model's " + std::to_string(model_->num_classes()) +
                " classes");
  // NaN would make the decoders' comparisons meaningless; infinity is -inf
  // at most (log of 0). A model with finite but huge weights can overflow.
  for (std::size_t i = 0; i < lp.values.size(); ++i)
    if (std::isnan(lp.values[i]) || lp.values[i] == INFINITY)
      throw Error(model_->source() + ": the network's output is not a number at frame " +
                      std::to_string(i / static_cast<std::size_t>(lp.classes)) +
                      " (weights so large that the computation overflows?)",
                  ErrorKind::bad_model);
  std::vector<int> labels;
  std::vector<ctc::LabelSpan> spans;
  double log_prob = 0;
  if (options_.decoder == Decoder::beam) {
    auto hyps = options_.language_model
                    ? ctc::prefix_beam_search(lp, options_.beam_width, *options_.language_model,
                                              model_->alphabet(), options_.language_model_options)
                    : ctc::prefix_beam_search(lp, options_.beam_width,
                                              options_.language_model_options.prune_log_prob);
    labels = hyps.front().labels;
    log_prob = hyps.front().log_prob;
    spans = ctc::align(lp, labels);
  } else {
    spans = ctc::best_path_spans(lp);
    for (const auto& span : spans)
      labels.push_back(span.label);
    log_prob = ctc::sequence_log_prob(lp, labels);
  }
  LineResult r;
  // A probability: rounding in frames that each sum to one (within float) can
  // add up to a hair above log 1 over a long line.
  r.confidence = static_cast<float>(std::exp(std::min(0.0, log_prob)));
  const auto& alphabet = model_->alphabet();
  const double stride = model_->architecture().width_stride();
  for (const auto& span : spans) {
    CharResult c;
    c.text = alphabet[span.label];
    float peak = -INFINITY;
    for (int t = span.frame_begin; t < span.frame_end; ++t)
      peak = std::max(peak, lp.frame(t)[span.label]);
    c.confidence = std::exp(peak);
    c.frame_begin = span.frame_begin;
    c.frame_end = span.frame_end;
    c.x_begin =
        std::max(0, static_cast<int>(std::floor(offset_x + span.frame_begin * stride * scale_x)));
    c.x_end = std::max(c.x_begin + 1,
                       static_cast<int>(std::ceil(offset_x + span.frame_end * stride * scale_x)));
    r.text += c.text;
    r.chars.push_back(std::move(c));
  }
  return r;
}

ConvAlgorithm parse_conv_algorithm(std::string_view name) {
  if (name == "auto") return ConvAlgorithm::automatic;
  if (name == "direct") return ConvAlgorithm::direct;
  if (name == "winograd") return ConvAlgorithm::winograd;
  throw Error("convolution algorithm must be auto, direct or winograd, not '" + std::string(name) +
              "'");
}

Orientation parse_orientation(std::string_view name) {
  if (name == "auto") return Orientation::automatic;
  if (name == "upright") return Orientation::upright;
  throw Error("orientation must be auto or upright, not '" + std::string(name) + "'");
}

TuckerExecution parse_tucker_execution(std::string_view name) {
  if (name == "auto") return TuckerExecution::automatic;
  if (name == "chain") return TuckerExecution::chain;
  if (name == "composed") return TuckerExecution::composed;
  throw Error("Tucker execution must be auto, chain or composed, not '" + std::string(name) + "'");
}

Precision parse_precision(std::string_view name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "int8") return Precision::int8;
  if (name == "bf16") return Precision::bf16;
  throw Error("precision must be fp32, int8 or bf16, not '" + std::string(name) + "'");
}

bool int8_conv_supported() {
  return detail::kernels::cpu_has_avx512_vnni();
}

bool bf16_conv_supported() {
  return detail::kernels::cpu_has_avx512_bf16();
}

Precision default_conv_precision(const Model& model, Backend backend, Isa isa) {
  if (model.stored_weights() == Precision::bf16)
    return backend == Backend::onednn && bf16_conv_supported() ? Precision::bf16 : Precision::fp32;
  return fastest_precision(backend, isa);
}

Precision default_lstm_precision(const Model& model, Backend backend, Isa isa) {
  if (model.stored_weights() == Precision::bf16) return Precision::fp32;
  return fastest_precision(backend, isa);
}

Precision fastest_precision(Backend backend, Isa isa) {
  return backend == Backend::onednn && resolve_isa(isa) == Isa::avx512 && int8_conv_supported()
             ? Precision::int8
             : Precision::fp32;
}

bool int8_lstm_supported(Isa isa) {
  return detail::kernels::kernel_table(resolve_isa(isa)).lstm_step_int8 != nullptr;
}

LanguageModelOptions tuned_language_model_options(const Model& model) {
  LanguageModelOptions options;
  auto read = [&](const char* key, float& value) {
    const auto it = model.metadata().find(key);
    if (it == model.metadata().end()) return;
    const std::string& text = it->second;
    float parsed = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(parsed))
      throw Error(model.source() + ": metadata " + key + " is '" + text + "', not a number",
                  ErrorKind::bad_model);
    value = parsed;
  };
  read(kMetadataLmWeight, options.weight);
  read(kMetadataLmBonus, options.bonus);
  return options;
}

namespace {

// The last frames may reach past the image (its width rounded up to the
// network's stride): boxes stay inside it.
void clamp_boxes(LineResult& result, int image_width) {
  for (CharResult& c : result.chars) {
    c.x_end = std::min(c.x_end, image_width);
    c.x_begin = std::min(c.x_begin, c.x_end - 1);
  }
}

}  // namespace

std::vector<LineResult> Recognizer::recognize(std::span<const ImageView> images) {
  check_usable();
  std::vector<LineTensor> lines;
  lines.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    try {
      lines.push_back(normalize_line(images[i], model_->preprocessing()));
    } catch (const Error& e) {
      throw Error("image " + std::to_string(i) + " of the batch: " + e.what(), e.kind());
    }
  }
  auto log_probs = forward(lines);
  std::vector<LineOutcome> outcomes(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    outcomes[i].result = decode(log_probs[i], lines[i].scale_x, lines[i].offset_x);
    clamp_boxes(*outcomes[i].result, images[i].width);
  }
  if (options_.orientation == Orientation::automatic)
    read_turned_on(*engine_->backend, images, outcomes,
                   std::max(1, static_cast<int>(images.size())));
  std::vector<LineResult> out;
  out.reserve(outcomes.size());
  for (auto& o : outcomes)
    out.push_back(std::move(*o.result));
  return out;
}

std::vector<LineOutcome> Recognizer::recognize_each(std::span<const ImageView> images,
                                                    int batch_size) {
  check_usable();
  if (batch_size < 1) throw Error("batch size must be >= 1");
  return recognize_each_on(*engine_->backend, images, batch_size);
}

std::vector<LineOutcome> Recognizer::recognize_each_on(detail::Engine& engine,
                                                       std::span<const ImageView> images,
                                                       int batch_size) const {
  std::vector<LineOutcome> out = read_as_given_on(engine, images, batch_size);
  if (options_.orientation == Orientation::automatic)
    read_turned_on(engine, images, out, batch_size);
  return out;
}

void Recognizer::read_turned_on(detail::Engine& engine, std::span<const ImageView> images,
                                std::vector<LineOutcome>& outcomes, int batch_size) const {
  // Each doubted line turned as it may need (usually none: a few in a hundred
  // upright lines), read like any other; a turned image that cannot be read
  // leaves the line as it was read.
  std::vector<std::size_t> line;
  std::vector<int> turn;
  std::vector<Image> turned;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].result) continue;
    for (int degrees : detail::turns_to_try(images[i], *outcomes[i].result)) {
      line.push_back(i);
      turn.push_back(degrees);
      turned.push_back(detail::rotate_image(images[i], degrees));
    }
  }
  if (turned.empty()) return;
  const std::vector<ImageView> views(turned.begin(), turned.end());
  auto readings = read_as_given_on(engine, views, batch_size);
  for (std::size_t k = 0; k < readings.size(); ++k) {
    if (!readings[k].result) continue;
    LineResult& current = *outcomes[line[k]].result;
    if (detail::better_reading(*readings[k].result, current)) {
      current = std::move(*readings[k].result);
      current.rotation = turn[k];
    }
  }
}

std::vector<LineOutcome> Recognizer::read_as_given_on(detail::Engine& engine,
                                                      std::span<const ImageView> images,
                                                      int batch_size) const {
  std::vector<LineOutcome> out(images.size());
  std::vector<LineTensor> lines(images.size());
  std::vector<std::size_t> order;  // lines that normalised, widest first
  for (std::size_t i = 0; i < images.size(); ++i) {
    try {
      lines[i] = normalize_line(images[i], model_->preprocessing());
      order.push_back(i);
    } catch (const Error& e) {
      out[i].error = e;
    } catch (const std::bad_alloc&) {
      out[i].error = Error("out of memory while normalising the line");
    }
  }
  // Widest first: a batch whose shape the engine has not built yet can then
  // run at the wider shape of the batch before it.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lines[a].width > lines[b].width; });
  // Runs lines [b0, b1) of `order` as one batch; false if the batch failed.
  auto run = [&](std::size_t b0, std::size_t b1) {
    std::vector<LineTensor> batch;
    for (std::size_t k = b0; k < b1; ++k)
      batch.push_back(std::move(lines[order[k]]));
    try {
      const auto log_probs = engine.forward(batch);
      std::vector<LineResult> results;
      for (std::size_t k = b0; k < b1; ++k) {
        const LineTensor& l = batch[k - b0];
        results.push_back(decode(log_probs[k - b0], l.scale_x, l.offset_x));
        clamp_boxes(results.back(), images[order[k]].width);
      }
      for (std::size_t k = b0; k < b1; ++k)
        out[order[k]].result = std::move(results[k - b0]);
      return true;
    } catch (const std::exception& e) {
      const Error* known = dynamic_cast<const Error*>(&e);
      for (std::size_t k = b0; k < b1; ++k) {
        lines[order[k]] = std::move(batch[k - b0]);
        out[order[k]].error = Error(std::string("recognition failed: ") + e.what(),
                                    known ? known->kind() : ErrorKind::internal);
      }
      return false;
    }
  };
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t b0 = 0; b0 < order.size(); b0 += step) {
    const std::size_t b1 = std::min(order.size(), b0 + step);
    // A failed batch is run again line by line, so that only the lines that
    // fail on their own are reported.
    if (!run(b0, b1) && b1 - b0 > 1)
      for (std::size_t k = b0; k < b1; ++k)
        if (run(k, k + 1)) out[order[k]].error.reset();
  }
  return out;
}

std::vector<LineOutcome> Recognizer::read_files_on(detail::Engine& engine,
                                                   std::span<const ImageFile> files, int batch_size,
                                                   std::int64_t max_pixels) const {
  std::vector<LineOutcome> outcomes(files.size());
  std::vector<Image> images;
  std::vector<std::size_t> loaded;  // index in `outcomes` of each image
  for (std::size_t i = 0; i < files.size(); ++i) {
    try {
      images.push_back(files[i].page < 0
                           ? load_image(files[i].path, max_pixels)
                           : load_image_page(files[i].path, files[i].page, max_pixels));
      loaded.push_back(i);
    } catch (const Error& e) {
      outcomes[i].error = e;
    } catch (const std::bad_alloc&) {
      outcomes[i].error = Error(files[i].path.string() + ": out of memory while loading the image");
    }
  }
  const std::vector<ImageView> views(images.begin(), images.end());
  auto recognised = recognize_each_on(engine, views, batch_size);
  for (std::size_t k = 0; k < recognised.size(); ++k)
    outcomes[loaded[k]] = std::move(recognised[k]);
  return outcomes;
}

void Recognizer::recognize_files(std::span<const ImageFile> paths, OutcomeCallback each,
                                 void* context, int batch_size, std::int64_t max_pixels) {
  check_usable();
  if (!each) throw Error("recognize_files needs a callback");
  if (batch_size < 1) throw Error("batch size must be >= 1");
  // A task: a few batches of files, read, normalised, recognised and decoded
  // together; a window of them is in memory at a time.
  const std::size_t task = static_cast<std::size_t>(batch_size) * 8;
  const std::size_t tasks = (paths.size() + task - 1) / task;
  auto files_of = [&](std::size_t k) {
    return paths.subspan(k * task, std::min(task, paths.size() - k * task));
  };
  auto deliver = [&](std::size_t k, std::vector<LineOutcome>& outcomes) {
    for (std::size_t i = 0; i < outcomes.size(); ++i)
      each(context, k * task + i, std::move(outcomes[i]));
  };
  const int threads = options_.threads;
  if (threads == 1 || tasks <= 1) {
    for (std::size_t k = 0; k < tasks; ++k) {
      auto outcomes = read_files_on(*engine_->backend, files_of(k), batch_size, max_pixels);
      deliver(k, outcomes);
    }
    return;
  }

  // Several threads: the whole program in parallel (loading, normalising,
  // the network, decoding), one single-thread engine per worker, each taking
  // the next task; this thread hands the results over in input order. A
  // worker runs at most `window` tasks ahead of the next to deliver, so
  // memory stays bounded.
  while (engine_->workers.size() < static_cast<std::size_t>(threads))
    engine_->workers.push_back(engine_->make_single());
  const std::size_t window = static_cast<std::size_t>(threads) * 4;
  std::vector<std::optional<std::vector<LineOutcome>>> ready(window);  // task k at k % window
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t next_task = 0, delivered = 0;
  bool stop = false;
  std::exception_ptr failure;
  auto work = [&](detail::Engine& engine) {
    for (;;) {
      std::size_t k;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock,
                     [&] { return stop || next_task >= tasks || next_task < delivered + window; });
        if (stop || next_task >= tasks) return;
        k = next_task++;
      }
      std::vector<LineOutcome> outcomes;
      try {
        outcomes = read_files_on(engine, files_of(k), batch_size, max_pixels);
      } catch (...) {  // not one line's problem (those are in the outcomes)
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
        changed.notify_all();
        return;
      }
      std::lock_guard lock(mutex);
      ready[k % window] = std::move(outcomes);
      changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(threads);
  auto finish = [&] {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (auto& w : workers)
      w.join();
  };
  try {
    for (int t = 0; t < threads; ++t)
      workers.emplace_back(work, std::ref(*engine_->workers[static_cast<std::size_t>(t)]));
    for (std::size_t k = 0; k < tasks; ++k) {
      std::vector<LineOutcome> outcomes;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return failure || ready[k % window].has_value(); });
        if (!ready[k % window]) break;  // a worker failed
        outcomes = std::move(*ready[k % window]);
        ready[k % window].reset();
        delivered = k + 1;
      }
      changed.notify_all();
      deliver(k, outcomes);  // the caller's callback, on this thread, in order
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (failure) std::rethrow_exception(failure);
}

LineResult Recognizer::recognize(const ImageView& image) {
  return std::move(recognize(std::span<const ImageView>(&image, 1)).front());
}

}  // namespace ocrcore
