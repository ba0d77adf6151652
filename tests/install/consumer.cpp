// Loads a model through the installed headers and library and reads one
// synthetic line.
#include <cstdio>
#include <ocrcore/ocrcore.hpp>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  try {
    auto model = ocrcore::Model::load(argv[1]);
    ocrcore::Recognizer recognizer(model, {.decoder = ocrcore::Decoder::beam, .beam_width = 8});
    ocrcore::Image line(120, 32, 255);
    for (int x = 10; x < 110; x += 4)
      line.at(x, 16) = 0;
    auto result = recognizer.recognize(line);
    if (std::string_view(ocrcore::version()) != ocrcore::kVersion) {
      std::fprintf(stderr, "headers %s, library %s\n", ocrcore::kVersion, ocrcore::version());
      return 1;
    }
    std::printf("ocrcore %s: %zu classes, '%s' (confidence %.3f)\n", ocrcore::version(),
                model->alphabet().size(), result.text.c_str(), result.confidence);
    return 0;
  } catch (const ocrcore::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
