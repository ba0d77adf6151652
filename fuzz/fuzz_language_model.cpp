// Character language models, ARPA or binary (ocr-lm writes them; users may bring their
// own): loaded, or refused with an ocrcore::Error that names the file; what
// loads scores every token from every reachable context with a finite score.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocrcore;
  const auto path = fuzz::write_scratch(data, size, ".arpa");
  std::shared_ptr<const LanguageModel> lm;
  try {
    lm = LanguageModel::load(path);
  } catch (const Error& e) {
    fuzz::check_error_names(e, path.filename().string());
    return 0;
  }
  fuzz::check(lm->order() >= 1, "order below 1");
  const int tokens = 3 + static_cast<int>(lm->characters().size());
  for (const std::string& c : lm->characters())
    fuzz::check(lm->token(c) >= 3 && lm->token(c) < tokens, "a character without its token");
  // Walk a few contexts: every token from each.
  LanguageModel::State state = lm->begin_state();
  for (int step = 0; step < 4; ++step) {
    LanguageModel::State next = state;
    for (int t = 1; t < tokens; ++t) {
      const float s = lm->score(state, t, &next);
      // Finite (back-off weights may be positive, so a sum may exceed 0).
      fuzz::check(std::isfinite(s), "log10 P = " + std::to_string(s));
    }
    lm->score(state, 3 + step % std::max(1, tokens - 3), &state);
  }
  return 0;
}
