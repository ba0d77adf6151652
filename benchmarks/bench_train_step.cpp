// Training-step throughput of ocrcore's trainer on an architecture, on the
// same synthetic batch as benchmarks/torch_train_step.py gives PyTorch: full
// CTC steps (forward, loss, backward, Adam update), median over timed steps.
// Prints one JSON object; benchmarks/run_train_step.sh runs both side by side.

#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "training/train/ctc_loss.hpp"
#include "training/train/network.hpp"
#include "training/train/optimizer.hpp"

using namespace ocrcore;

int main(int argc, char** argv) {
  std::string arch_path;
  int batch = 16, width = 512, label_length = 40, threads = 1, warmup = 2, steps = 5;
  bool profile = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(argv[++i]); };
    if (a == "--arch")
      arch_path = next();
    else if (a == "--batch")
      batch = std::stoi(next());
    else if (a == "--width")
      width = std::stoi(next());
    else if (a == "--label-length")
      label_length = std::stoi(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--warmup")
      warmup = std::stoi(next());
    else if (a == "--steps")
      steps = std::stoi(next());
    else if (a == "--profile")
      profile = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_train_step --arch A.json [--batch N] [--width W] [--threads T] "
                   "[--steps S]\n");
      return 2;
    }
  }
  std::ifstream in(arch_path);
  std::stringstream ss;
  ss << in.rdbuf();
  omp_set_num_threads(threads);
  if (std::getenv("FTZ")) _mm_setcsr(_mm_getcsr() | 0x8040);
  auto arch = Architecture::from_json(ss.str());
  train::Network net(arch);
  net.initialize(0);
  train::Optimizer opt({});
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<LineTensor> lines(batch);
  for (auto& l : lines) {
    l.height = arch.input_height;
    l.width = width;
    l.pixels.resize(static_cast<std::size_t>(l.height) * width);
    for (float& p : l.pixels)
      p = u(rng);
  }
  const int classes = arch.validate();
  std::vector<std::vector<int>> targets(batch, std::vector<int>(label_length));
  for (auto& t : targets)
    for (int& c : t)
      c = std::uniform_int_distribution<int>(1, classes - 1)(rng);
  std::vector<double> times;
  for (int s = 0; s < warmup + steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    net.zero_grad();
    const auto& lp = net.forward(train::Network::make_input(lines), train::Mode::training);
    train::Activations grad;
    train::ctc_loss(lp, targets, &grad, 1.0f / static_cast<float>(batch));
    net.backward(grad);
    opt.step(net.parameters(), 1e-4f);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= warmup) times.push_back(dt);
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double med = sorted[sorted.size() / 2];
  std::printf(
      "{\"peer\": \"ocrcore\", \"threads\": %d, \"batch\": %d, \"width\": %d, \"step_s\": %.6f, "
      "\"lines_per_s\": %.4f, \"step_times\": [",
      threads, batch, width, med, batch / med);
  for (std::size_t i = 0; i < times.size(); ++i)
    std::printf("%s%.6f", i ? ", " : "", times[i]);
  std::printf("]}\n");
  if (profile) {
    const int total_steps = warmup + steps;
    for (int i = 0; i < net.layer_count(); ++i) {
      const std::string type = i < static_cast<int>(arch.layers.size())
                                   ? std::string(arch.layers[i].type())
                                   : "log_softmax";
      std::fprintf(stderr, "layer %2d %-12s forward %7.1f ms  backward %7.1f ms\n", i, type.c_str(),
                   1e3 * net.forward_seconds()[i] / total_steps,
                   1e3 * net.backward_seconds()[i] / total_steps);
    }
  }
  return 0;
}
