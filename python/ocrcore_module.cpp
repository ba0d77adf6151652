// ocrcore._core: the Python binding of libocrcore's public API (pybind11).
// The Python package (python/ocrcore) re-exports it; its docstrings are the
// ones help(ocrcore) shows. Recognition releases the GIL, so Python threads
// with a Recognizer each run in parallel.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ocrcore/ocrcore.hpp"
#include "progress.hpp"
#include "runtime/core/file_io.hpp"
#include "tool_support/line_sources.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;
using ocrcore::Error;
using ocrcore::ErrorKind;

namespace {

// ocrcore.Error, made at import (a RuntimeError subclass with a `kind`).
PyObject* error_type = nullptr;

const char* kind_identifier(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_input:
      return "bad_input";
    case ErrorKind::bad_model:
      return "bad_model";
    case ErrorKind::io:
      return "io";
    case ErrorKind::unsupported:
      return "unsupported";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

py::object make_error(const Error& e) {
  py::object instance = py::reinterpret_borrow<py::object>(error_type)(e.what());
  instance.attr("kind") = kind_identifier(e.kind());
  return instance;
}

struct ModelHandle {
  std::shared_ptr<const ocrcore::Model> model;
};
struct LanguageModelHandle {
  std::shared_ptr<const ocrcore::LanguageModel> lm;
};

fs::path to_path(const py::handle& object) {
  return fs::path(py::str(py::module_::import("os").attr("fspath")(object)).cast<std::string>());
}

bool is_path_like(const py::handle& object) {
  return py::isinstance<py::str>(object) || py::hasattr(object, "__fspath__");
}

// One image as the caller gave it, made readable without the GIL: a file
// (path, page), an encoded file in memory, or pixels (a view of the caller's
// buffer where its strides allow, else a packed copy).
struct ImageInput {
  std::string name;  // for messages: the path, or "image N"
  std::optional<ocrcore::ImageFile> file;
  std::optional<py::bytes> encoded;  // held: its bytes are read without the GIL
  std::string_view encoded_bytes;
  std::optional<py::buffer_info> buffer;  // held: keeps the caller's pixels alive
  ocrcore::Image copy;
  ocrcore::ImageView view;

  // Decodes a file or encoded bytes (without the GIL); pixels need nothing.
  void load(std::int64_t max_pixels) {
    if (file) {
      copy = file->page < 0 ? ocrcore::load_image(file->path, max_pixels)
                            : ocrcore::load_image_page(file->path, file->page, max_pixels);
      view = copy.view();
    } else if (encoded) {
      copy = ocrcore::decode_image(
          std::span(reinterpret_cast<const std::uint8_t*>(encoded_bytes.data()),
                    encoded_bytes.size()),
          name, max_pixels);
      view = copy.view();
    }
  }
};

std::string describe_type(const py::handle& object) {
  return py::str(py::type::handle_of(object).attr("__name__")).cast<std::string>();
}

// A file argument: a str or os.PathLike, else a TypeError naming the argument.
fs::path path_argument(const py::handle& object, const std::string& argument) {
  if (!is_path_like(object))
    throw py::type_error(argument + ": expected a str or os.PathLike, got " +
                         describe_type(object));
  return to_path(object);
}

// "0.9714": how results show their confidences.
std::string format_confidence(float confidence) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", confidence);
  return text;
}

// Pixels from anything with the buffer protocol (numpy arrays, memoryview):
// 2-D, one unsigned byte per pixel, rows at any stride. A view without a
// copy when pixels within a row are adjacent and rows go forward by at least
// a row; a packed copy otherwise.
void take_pixels(ImageInput& in, const py::buffer& buffer) {
  py::buffer_info info = buffer.request();
  if (info.ndim != 2)
    throw Error(in.name + ": expected a 2-D array of grey pixels (height x width), got " +
                std::to_string(info.ndim) + " dimensions" +
                (info.ndim == 3 ? " (convert colour to grey first, e.g. PIL's convert('L'))" : ""));
  if (info.itemsize != 1 || (info.format != "B" && info.format != "=B" && info.format != "<B"))
    throw Error(in.name + ": expected uint8 pixels, got format '" + info.format + "' (" +
                std::to_string(info.itemsize) +
                " bytes per item); convert with astype(numpy.uint8)");
  if (info.shape[0] == 0 || info.shape[1] == 0)
    throw Error(in.name + ": empty image (" + std::to_string(info.shape[0]) + "x" +
                std::to_string(info.shape[1]) + ")");
  if (info.shape[0] > INT32_MAX || info.shape[1] > INT32_MAX)
    throw Error(in.name + ": image too large");
  const int height = static_cast<int>(info.shape[0]), width = static_cast<int>(info.shape[1]);
  const auto* data = static_cast<const std::uint8_t*>(info.ptr);
  const py::ssize_t row = info.strides[0], col = info.strides[1];
  if (col == 1 && row >= width) {
    in.view = ocrcore::ImageView(data, width, height, row);
  } else {
    in.copy = ocrcore::Image(width, height);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        in.copy.at(x, y) = data[y * row + x * col];
    in.view = in.copy.view();
  }
  in.buffer.emplace(std::move(info));
}

// What read() accepts: a path (str or os.PathLike), a (path, page) pair for a
// page of a multi-page TIFF, bytes of an encoded image file, a 2-D uint8
// array (numpy or any buffer), or a PIL image (converted to grey).
ImageInput take_image(const py::handle& object, const std::string& name) {
  ImageInput in;
  in.name = name;
  if (is_path_like(object)) {
    in.file = ocrcore::ImageFile{to_path(object), -1};
    in.name = in.file->path.string();
  } else if (py::isinstance<py::tuple>(object) && py::len(object) == 2 &&
             is_path_like(py::reinterpret_borrow<py::tuple>(object)[0]) &&
             py::isinstance<py::int_>(py::reinterpret_borrow<py::tuple>(object)[1])) {
    auto pair = py::reinterpret_borrow<py::tuple>(object);
    const int page = pair[1].cast<int>();
    in.file = ocrcore::ImageFile{to_path(pair[0]), page};
    in.name = in.file->path.string() + "#page=" + std::to_string(page + 1);
    if (page < 0) throw Error(in.name + ": pages are numbered from 0");
  } else if (py::isinstance<py::bytes>(object)) {
    in.encoded = py::reinterpret_borrow<py::bytes>(object);
    char* data = nullptr;
    py::ssize_t size = 0;
    if (PYBIND11_BYTES_AS_STRING_AND_SIZE(in.encoded->ptr(), &data, &size) != 0)
      throw py::error_already_set();
    in.encoded_bytes = std::string_view(data, static_cast<std::size_t>(size));
  } else if (py::hasattr(object, "convert") && py::hasattr(object, "mode") &&
             py::hasattr(object, "size")) {
    // A PIL image: its grey form, through numpy's array interface.
    py::object grey = py::reinterpret_borrow<py::object>(object);
    if (object.attr("mode").cast<std::string>() != "L") grey = object.attr("convert")("L");
    take_pixels(in, py::module_::import("numpy").attr("asarray")(grey));
  } else if (PyObject_CheckBuffer(object.ptr())) {
    take_pixels(in, py::reinterpret_borrow<py::buffer>(object));
  } else {
    throw py::type_error(name +
                         ": expected a path, a (path, page) pair, bytes of an image file, a 2-D "
                         "uint8 array or a PIL image, got " +
                         describe_type(object));
  }
  return in;
}

std::string prefixed(const std::string& name, const std::string& message) {
  return message.starts_with(name) ? message : name + ": " + message;
}

// A Recognizer for Python: its options by name, one call at a time (a second
// thread waits rather than racing on the scratch memory).
class PyRecognizer {
 public:
  PyRecognizer(const ModelHandle& model, const std::optional<std::string>& decoder, int beam_width,
               const py::object& lm, std::optional<float> lm_weight, std::optional<float> lm_bonus,
               std::optional<float> lm_prune, int threads, const std::string& backend,
               const std::string& isa, const std::string& conv_precision,
               const std::string& lstm_precision, const std::string& conv_algorithm,
               const std::string& tucker, std::optional<int> batch_size,
               std::int64_t max_image_pixels, const std::string& orientation)
      : model_(model.model) {
    if (!model_) throw Error("model: not loaded");
    ocrcore::RecognizerOptions o;
    if (decoder && *decoder != "greedy" && *decoder != "beam")
      throw Error("decoder: '" + *decoder + "' is not one of 'greedy', 'beam'");
    o.decoder = decoder == "beam" ? ocrcore::Decoder::beam : ocrcore::Decoder::greedy;
    if (beam_width < 1)
      throw Error("beam_width: must be at least 1, got " + std::to_string(beam_width));
    o.beam_width = beam_width;
    if (!lm.is_none()) {
      // A language model is used by the beam decoder: giving one selects it.
      if (decoder == "greedy") throw Error("lm: the greedy decoder uses no language model");
      o.decoder = ocrcore::Decoder::beam;
      if (py::isinstance<LanguageModelHandle>(lm))
        o.language_model = lm.cast<const LanguageModelHandle&>().lm;
      else if (is_path_like(lm))
        o.language_model = ocrcore::LanguageModel::load(to_path(lm));
      else
        throw py::type_error("lm: expected a path or an ocrcore.LanguageModel, got " +
                             describe_type(lm));
      // What `ocr-lm tune` recorded in the model, unless given here.
      o.language_model_options = ocrcore::tuned_language_model_options(*model_);
    }
    if (lm_weight) o.language_model_options.weight = *lm_weight;
    if (lm_bonus) o.language_model_options.bonus = *lm_bonus;
    if (lm_prune) o.language_model_options.prune_log_prob = *lm_prune;
    if (threads < 1) throw Error("threads: must be at least 1, got " + std::to_string(threads));
    o.threads = threads;
    if (backend != "onednn" && backend != "reference")
      throw Error("backend: '" + backend + "' is not one of 'onednn', 'reference'");
    o.backend = backend == "reference" ? ocrcore::Backend::reference : ocrcore::Backend::onednn;
    o.isa = ocrcore::parse_isa(isa);
    ocrcore::resolve_isa(o.isa);  // a path this CPU lacks is refused now
    o.conv_algorithm = ocrcore::parse_conv_algorithm(conv_algorithm);
    o.tucker = ocrcore::parse_tucker_execution(tucker);
    o.orientation = ocrcore::parse_orientation(orientation);
    // "auto": the library's default for this model, as in ocr-infer.
    o.conv_precision = conv_precision == "auto"
                           ? ocrcore::default_conv_precision(*model_, o.backend, o.isa)
                           : ocrcore::parse_precision(conv_precision);
    o.lstm_precision = lstm_precision == "auto"
                           ? ocrcore::default_lstm_precision(*model_, o.backend, o.isa)
                           : ocrcore::parse_precision(lstm_precision);
    batch_size_ = batch_size.value_or(threads);
    if (batch_size_ < 1)
      throw Error("batch_size: must be at least 1, got " + std::to_string(batch_size_));
    if (max_image_pixels < 1) throw Error("max_image_pixels: must be positive");
    max_pixels_ = max_image_pixels;
    recognizer_.emplace(model_, o);
  }

  ocrcore::LineResult read(const py::handle& image) {
    ImageInput in = take_image(image, "image");
    py::gil_scoped_release unlocked;
    std::lock_guard lock(mutex_);
    try {
      in.load(max_pixels_);
      return recognizer_->recognize(in.view);
    } catch (const Error& e) {
      throw Error(prefixed(in.name, e.what()), e.kind());
    }
  }

  py::list read_many(const py::iterable& images, bool return_errors) {
    std::vector<ImageInput> inputs;
    std::vector<ocrcore::LineOutcome> outcomes;
    for (const py::handle item : images) {
      const std::string name = "image " + std::to_string(inputs.size());
      outcomes.emplace_back();
      try {
        inputs.push_back(take_image(item, name));
      } catch (const Error& e) {  // unusable pixels: this line's error, not the batch's
        inputs.emplace_back().name = name;
        outcomes.back().error = e;
      }
    }
    const bool all_files =
        std::all_of(inputs.begin(), inputs.end(), [](const ImageInput& in) { return in.file; });
    {
      py::gil_scoped_release unlocked;
      std::lock_guard lock(mutex_);
      if (all_files) {
        // Files are read a window of batches at a time: memory stays bounded.
        std::vector<ocrcore::ImageFile> files;
        files.reserve(inputs.size());
        for (const auto& in : inputs)
          files.push_back(*in.file);
        recognizer_->recognize_files(
            std::span<const ocrcore::ImageFile>(files),
            [&](std::size_t i, ocrcore::LineOutcome&& outcome) {
              outcomes[i] = std::move(outcome);
            },
            batch_size_, max_pixels_);
      } else {
        std::vector<ocrcore::ImageView> views(inputs.size());
        std::vector<std::size_t> readable;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          if (outcomes[i].error) continue;
          try {
            inputs[i].load(max_pixels_);
            views[readable.size()] = inputs[i].view;
            readable.push_back(i);
          } catch (const Error& e) {
            outcomes[i].error = e;
          }
        }
        auto done = recognizer_->recognize_each(
            std::span<const ocrcore::ImageView>(views.data(), readable.size()), batch_size_);
        for (std::size_t k = 0; k < readable.size(); ++k)
          outcomes[readable[k]] = std::move(done[k]);
      }
    }
    py::list results;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].result) {
        results.append(py::cast(std::move(*outcomes[i].result)));
        continue;
      }
      const Error error = outcomes[i].error.value_or(Error("not recognised", ErrorKind::internal));
      const Error named(prefixed(inputs[i].name, error.what()), error.kind());
      if (!return_errors) throw named;
      results.append(make_error(named));
    }
    return results;
  }

  ModelHandle model() const { return {model_}; }
  int threads() const { return recognizer_->options().threads; }
  int batch_size() const { return batch_size_; }
  std::string decoder() const {
    return recognizer_->options().decoder == ocrcore::Decoder::beam ? "beam" : "greedy";
  }

 private:
  std::shared_ptr<const ocrcore::Model> model_;
  std::optional<ocrcore::Recognizer> recognizer_;
  std::mutex mutex_;
  int batch_size_ = 1;
  std::int64_t max_pixels_ = ocrcore::kDefaultMaxImagePixels;
};

const char* precision_name(ocrcore::Precision p) {
  return p == ocrcore::Precision::int8 ? "int8" : p == ocrcore::Precision::bf16 ? "bf16" : "fp32";
}

std::string repr_text(const std::string& text) {
  return py::repr(py::str(text)).cast<std::string>();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "libocrcore's Python binding (use the ocrcore package, not this module)";

  error_type = PyErr_NewExceptionWithDoc(
      "ocrcore.Error",
      "What ocrcore raises: a RuntimeError whose message names the file or argument and what is "
      "wrong.\n\n"
      "kind says what it is about: 'bad_input' (an image, a list, an argument), 'bad_model' (a "
      "model or language-model file that is not valid), 'io' (reading or writing failed), "
      "'unsupported' (this CPU or build cannot run it) or 'internal' (a bug).",
      PyExc_RuntimeError, nullptr);
  if (!error_type) throw py::error_already_set();
  py::setattr(error_type, "kind", py::str("bad_input"));
  m.attr("Error") = py::reinterpret_borrow<py::object>(error_type);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object instance = make_error(e);
      PyErr_SetObject(error_type, instance.ptr());
    }
  });

  py::class_<ocrcore::CharResult>(m, "CharResult",
                                  "One recognised character: its text, confidence and where it "
                                  "is (columns x_begin..x_end of the image, frames "
                                  "frame_begin..frame_end of the network's output).")
      .def_readonly("text", &ocrcore::CharResult::text)
      .def_readonly("confidence", &ocrcore::CharResult::confidence,
                    "Peak posterior of this character over its frames, 0 to 1.")
      .def_readonly("x_begin", &ocrcore::CharResult::x_begin,
                    "First column of the source image this character covers.")
      .def_readonly("x_end", &ocrcore::CharResult::x_end,
                    "One past the last column this character covers.")
      .def_readonly("frame_begin", &ocrcore::CharResult::frame_begin)
      .def_readonly("frame_end", &ocrcore::CharResult::frame_end)
      .def("__repr__",
           [](const ocrcore::CharResult& c) {
             return "CharResult(" + repr_text(c.text) +
                    ", confidence=" + format_confidence(c.confidence) +
                    ", x=" + std::to_string(c.x_begin) + ".." + std::to_string(c.x_end) + ")";
           })
      .def(py::pickle(
          [](const ocrcore::CharResult& c) {
            return py::make_tuple(c.text, c.confidence, c.frame_begin, c.frame_end, c.x_begin,
                                  c.x_end);
          },
          [](const py::tuple& t) {
            return ocrcore::CharResult{t[0].cast<std::string>(), t[1].cast<float>(),
                                       t[2].cast<int>(),         t[3].cast<int>(),
                                       t[4].cast<int>(),         t[5].cast<int>()};
          }));

  py::class_<ocrcore::LineResult>(m, "LineResult",
                                  "What a line reads as: text, confidence (P(text | image) under "
                                  "the CTC model, 0 to 1), chars, one CharResult per "
                                  "character, and rotation: the degrees (0, 90, 180 or 270) "
                                  "the image was turned clockwise to read it (the chars' "
                                  "columns are the turned image's).")
      .def_readonly("text", &ocrcore::LineResult::text)
      .def_readonly("confidence", &ocrcore::LineResult::confidence)
      .def_readonly("chars", &ocrcore::LineResult::chars)
      .def_readonly("rotation", &ocrcore::LineResult::rotation)
      .def("__repr__",
           [](const ocrcore::LineResult& r) {
             return "LineResult(" + repr_text(r.text) +
                    ", confidence=" + format_confidence(r.confidence) +
                    (r.rotation ? ", rotation=" + std::to_string(r.rotation) : std::string()) + ")";
           })
      .def(py::pickle(
          [](const ocrcore::LineResult& r) {
            return py::make_tuple(r.text, r.confidence, r.chars, r.rotation);
          },
          [](const py::tuple& t) {
            return ocrcore::LineResult{t[0].cast<std::string>(), t[1].cast<float>(),
                                       t[2].cast<std::vector<ocrcore::CharResult>>(),
                                       t[3].cast<int>()};
          }));

  py::class_<ModelHandle>(m, "Model",
                          "A recognition model (a .ocrm file), loaded once and read-only: share "
                          "one between any number of threads and Recognizers.")
      .def_static(
          "load",
          [](const py::object& path) {
            fs::path file;
            if (path.is_none()) {
              // The bundled default: $OCRCORE_MODEL, the installed model, or
              // the source tree's (ocrcore/_paths.py decides).
              py::object found = py::module_::import("ocrcore._paths").attr("default_model")();
              if (found.is_none())
                throw Error(
                    "no model given and no bundled default model found (set "
                    "OCRCORE_MODEL or give a path)",
                    ErrorKind::io);
              file = to_path(found);
            } else {
              file = path_argument(path, "path");
            }
            py::gil_scoped_release unlocked;
            return ModelHandle{ocrcore::Model::load(file)};
          },
          py::arg("path") = py::none(),
          "Model.load(path=None) -> Model\n\n"
          "Loads and validates a model file; None loads the bundled default model "
          "($OCRCORE_MODEL if set). Raises ocrcore.Error naming the file if it cannot be read "
          "or is not a valid model.")
      .def_property_readonly(
          "path", [](const ModelHandle& h) { return h.model->source(); },
          "The file the model was loaded from.")
      .def_property_readonly(
          "alphabet", [](const ModelHandle& h) { return h.model->alphabet(); },
          "The characters it reads; index 0 is CTC's blank.")
      .def_property_readonly("num_classes",
                             [](const ModelHandle& h) { return h.model->num_classes(); })
      .def_property_readonly("parameter_count",
                             [](const ModelHandle& h) { return h.model->parameter_count(); })
      .def_property_readonly(
          "input_height", [](const ModelHandle& h) { return h.model->architecture().input_height; },
          "Rows of the network's input: lines are scaled to it.")
      .def_property_readonly(
          "stored_weights",
          [](const ModelHandle& h) { return precision_name(h.model->stored_weights()); },
          "How the file stores its weights: 'fp32', 'int8' or 'bf16'.")
      .def_property_readonly(
          "metadata", [](const ModelHandle& h) { return h.model->metadata(); },
          "The file's free-form metadata (recipe, figures, tuned settings).")
      .def("__repr__", [](const ModelHandle& h) {
        return "Model(" + repr_text(h.model->source()) + ", " +
               std::to_string(h.model->parameter_count()) + " parameters)";
      });

  py::class_<LanguageModelHandle>(m, "LanguageModel",
                                  "A character n-gram language model (ARPA or ocr-lm's binary "
                                  "form) for the beam decoder; read-only, share it freely.")
      .def_static(
          "load",
          [](const py::object& path) {
            const fs::path file = path_argument(path, "path");
            py::gil_scoped_release unlocked;
            return LanguageModelHandle{ocrcore::LanguageModel::load(file)};
          },
          py::arg("path"),
          "LanguageModel.load(path) -> LanguageModel\n\nRaises ocrcore.Error naming the file "
          "(and line) of anything malformed.")
      .def_property_readonly("order", [](const LanguageModelHandle& h) { return h.lm->order(); })
      .def_property_readonly("ngram_count",
                             [](const LanguageModelHandle& h) { return h.lm->ngram_count(); })
      .def("__repr__", [](const LanguageModelHandle& h) {
        return "LanguageModel(order=" + std::to_string(h.lm->order()) +
               ", ngrams=" + std::to_string(h.lm->ngram_count()) + ")";
      });

  py::class_<PyRecognizer>(
      m, "Recognizer",
      "Reads text-line images with a model.\n\n"
      "Recognizer(model, *, decoder=None, beam_width=10, lm=None, lm_weight=None,\n"
      "           lm_bonus=None, lm_prune=None, threads=1, backend='onednn', isa='auto',\n"
      "           conv_precision='auto', lstm_precision='auto', conv_algorithm='auto',\n"
      "           tucker='auto', batch_size=None, max_image_pixels=...,\n"
      "           orientation='auto')\n\n"
      "model: an ocrcore.Model. decoder: 'greedy' (best path, the default) or 'beam'. lm: a "
      "character\n"
      "language model (path or ocrcore.LanguageModel) for the beam decoder; giving one selects\n"
      "it, with the weight and bonus the model records (ocr-lm tune) unless lm_weight and\n"
      "lm_bonus are given. threads: threads of one call (keep 1 when Python threads or\n"
      "processes already use every core). Precisions 'auto': int8 where the CPU has AVX-512\n"
      "VNNI, as ocr-infer. batch_size: lines per batch in read_many (default: threads).\n"
      "orientation: 'auto' reads a line the network doubts turned as well (a quarter turn\n"
      "either way when the image is taller than wide, else a half turn) and keeps the turned\n"
      "reading when the network is sure of it (LineResult.rotation); 'upright' reads every\n"
      "line as given.\n\n"
      "Reading releases the GIL: give each Python thread its own Recognizer (they may share\n"
      "one Model) and they run in parallel. A Recognizer used from two threads at once runs\n"
      "one call at a time.")
      .def(py::init<const ModelHandle&, const std::optional<std::string>&, int, const py::object&,
                    std::optional<float>, std::optional<float>, std::optional<float>, int,
                    const std::string&, const std::string&, const std::string&, const std::string&,
                    const std::string&, const std::string&, std::optional<int>, std::int64_t,
                    const std::string&>(),
           py::arg("model"), py::kw_only(), py::arg("decoder") = py::none(),
           py::arg("beam_width") = 10, py::arg("lm") = py::none(),
           py::arg("lm_weight") = py::none(), py::arg("lm_bonus") = py::none(),
           py::arg("lm_prune") = py::none(), py::arg("threads") = 1, py::arg("backend") = "onednn",
           py::arg("isa") = "auto", py::arg("conv_precision") = "auto",
           py::arg("lstm_precision") = "auto", py::arg("conv_algorithm") = "auto",
           py::arg("tucker") = "auto", py::arg("batch_size") = py::none(),
           py::arg("max_image_pixels") = ocrcore::kDefaultMaxImagePixels,
           py::arg("orientation") = "auto")
      .def("read", &PyRecognizer::read, py::arg("image"),
           "read(image) -> LineResult\n\n"
           "Recognises one line. image: a path (str or os.PathLike), a (path, page) pair for a\n"
           "page of a multi-page TIFF, bytes of an image file (PNG, JPEG, TIFF, PNM, BMP,\n"
           "WebP), a 2-D uint8 array (numpy: read in place when rows are contiguous) or a PIL\n"
           "image. Raises ocrcore.Error naming the file or argument when it cannot be read.")
      .def("read_many", &PyRecognizer::read_many, py::arg("images"), py::kw_only(),
           py::arg("return_errors") = false,
           "read_many(images, *, return_errors=False) -> list[LineResult]\n\n"
           "Recognises many lines (any of read()'s kinds), batched by width, results in input\n"
           "order; paths are read a window at a time, so memory stays bounded. A line that\n"
           "cannot be read raises ocrcore.Error naming it, or with return_errors=True takes its\n"
           "place in the list as an ocrcore.Error while every other line is read.")
      .def_property_readonly("model", &PyRecognizer::model)
      .def_property_readonly("threads", &PyRecognizer::threads)
      .def_property_readonly("batch_size", &PyRecognizer::batch_size)
      .def_property_readonly("decoder", &PyRecognizer::decoder);

  // The command-line tools' input rules, for python -m ocrcore.dask.
  m.def(
      "expand_line_inputs",
      [](const std::vector<std::string>& inputs) {
        std::vector<std::filesystem::path> images;
        {
          py::gil_scoped_release unlocked;
          images = ocrcore::expand_inputs(inputs, std::cin);
        }
        auto sources =
            ocrcore::split_pages(ocrcore::attach_ground_truth(images, std::nullopt), std::nullopt);
        std::vector<std::tuple<std::string, std::string, int>> lines;
        lines.reserve(sources.size());
        for (const auto& s : sources)
          lines.emplace_back(s.name(), s.image.string(), s.page);
        return lines;
      },
      py::arg("inputs"),
      "expand_line_inputs(inputs) -> list[tuple[str, str, int]]\n\n"
      "ocr-infer's inputs: image files, directories (recursive, sorted), @list files, '-'\n"
      "(paths on standard input); each page of a multi-page TIFF a line of its own.\n"
      "Returns (name, path, page) per line, page -1 for a file's only image.");

  // ocrcore's one writer of output files (atomic replacement through
  // symlinks; FIFOs, devices and '-' written in place; every write checked).
  py::class_<ocrcore::OutputFile>(m, "OutputFile",
                                  "An output written as ocrcore's tools write theirs: a regular "
                                  "file replaced atomically on commit() (through symlinks), a "
                                  "FIFO, device or '-' written in place; every write checked.")
      .def(py::init<const fs::path&>(), py::arg("path"))
      .def(
          "write", [](ocrcore::OutputFile& f, const std::string& text) { f.write(text); },
          py::arg("text"))
      .def("flush", &ocrcore::OutputFile::flush)
      .def("commit", &ocrcore::OutputFile::commit)
      .def_property_readonly("streams", [](const ocrcore::OutputFile& f) {
        return f.kind() != ocrcore::OutputKind::replace_file;
      });

  // The tools' progress line (done/total, rate, ETA on standard error).
  py::class_<ocrcore::tools::Progress>(m, "Progress",
                                       "The tools' progress line on standard error: done/total, "
                                       "rate and ETA.")
      .def(py::init<std::size_t, std::string, bool>(), py::arg("total"), py::arg("unit"),
           py::arg("enabled"))
      .def("update", &ocrcore::tools::Progress::update, py::arg("done"))
      .def("finish", &ocrcore::tools::Progress::finish);

  // The public classes are ocrcore's (help, repr and pickle say ocrcore.X).
  for (const char* name : {"CharResult", "LineResult", "Model", "LanguageModel", "Recognizer"})
    m.attr(name).attr("__module__") = "ocrcore";
  m.attr("__version__") = ocrcore::version();
}
