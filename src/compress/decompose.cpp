#include "compress/decompose.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "compress/tucker.hpp"
#include "layers/conv2d/conv2d.hpp"
#include "layers/tucker_conv/tucker_conv.hpp"
#include "ocrcore/error.hpp"
#include "runtime/graph/shapes.hpp"

namespace ocrcore::compress {

RankRule parse_rank_rule(const std::string& text) {
  RankRule r;
  std::string main = text, rest;
  if (auto semi = text.find(';'); semi != std::string::npos) {
    main = text.substr(0, semi);
    rest = text.substr(semi + 1);
  }
  auto fail = [&](const std::string& why) -> RankRule {
    throw Error("--ranks '" + text + "': " + why +
                " (energy:0.95, vbmf, fixed:R1,R2, budget:flops=0.5, budget:params=0.5; per-layer "
                "overrides after ';' as NAME=R1,R2)");
  };
  auto number = [&](const std::string& s) {
    try {
      std::size_t used = 0;
      const double v = std::stod(s, &used);
      if (used != s.size()) fail("'" + s + "' is not a number");
      return v;
    } catch (const std::invalid_argument&) {
      fail("'" + s + "' is not a number");
    }
    return 0.0;
  };
  auto pair = [&](const std::string& s) {
    const auto comma = s.find(',');
    if (comma == std::string::npos) fail("expected R1,R2 in '" + s + "'");
    return std::pair{static_cast<int>(number(s.substr(0, comma))),
                     static_cast<int>(number(s.substr(comma + 1)))};
  };
  if (main.rfind("energy:", 0) == 0) {
    r.kind = RankRule::Kind::energy;
    r.value = number(main.substr(7));
    if (r.value <= 0 || r.value > 1) fail("the energy fraction must be in (0, 1]");
  } else if (main == "vbmf") {
    r.kind = RankRule::Kind::vbmf;
  } else if (main.rfind("fixed:", 0) == 0) {
    r.kind = RankRule::Kind::fixed;
    std::tie(r.rank_in, r.rank_out) = pair(main.substr(6));
    if (r.rank_in < 0 || r.rank_out < 1) fail("ranks must be R1 >= 0, R2 >= 1");
  } else if (main.rfind("budget:flops=", 0) == 0 || main.rfind("budget:params=", 0) == 0) {
    const bool flops = main.rfind("budget:flops=", 0) == 0;
    r.kind = flops ? RankRule::Kind::budget_flops : RankRule::Kind::budget_params;
    r.value = number(main.substr(flops ? 13 : 14));
    if (r.value <= 0 || r.value >= 1) fail("the budget must be a fraction in (0, 1)");
  } else {
    fail("unknown rule");
  }
  std::istringstream items(rest);
  for (std::string item; std::getline(items, item, ';');) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail("override '" + item + "' is not NAME=R1,R2");
    r.overrides[item.substr(0, eq)] = pair(item.substr(eq + 1));
  }
  return r;
}

std::vector<std::pair<int, int>> layer_output_sizes(const Architecture& a, int width) {
  // Each kind's own shape rule (the one its work count follows).
  std::vector<std::pair<int, int>> out;
  detail::WorkCount w{a.input_height, width, 0.0};
  for (const LayerSpec& l : a.layers) {
    l.impl().count(w);
    out.emplace_back(w.height, w.width);
  }
  return out;
}

namespace {

struct Candidate {
  std::size_t index;
  Conv2dSpec spec;
  ModeSpectra spectra;
  double positions;  // output positions per 32x512 line
};

// Ranks for one layer under the rule (energy threshold `energy` for budgets).
std::pair<int, int> choose_ranks(const Candidate& c, const RankRule& rule, double energy) {
  const Conv2dSpec& s = c.spec;
  const bool pointwise = s.kernel_h == 1 && s.kernel_w == 1;
  const bool input_mode = s.in_channels > 1 && !pointwise;  // Tucker-1 / SVD keep the input mode
  if (auto it = rule.overrides.find(s.name); it != rule.overrides.end())
    return {input_mode ? std::clamp(it->second.first, 1, s.in_channels) : 0,
            std::clamp(it->second.second, 1, s.out_channels)};
  int r1 = 0, r2 = 1;
  switch (rule.kind) {
    case RankRule::Kind::fixed:
      r1 = input_mode ? std::clamp(rule.rank_in, 1, s.in_channels) : 0;
      r2 = std::clamp(rule.rank_out, 1, s.out_channels);
      break;
    case RankRule::Kind::vbmf: {
      const int area = s.kernel_h * s.kernel_w;
      r2 = rank_by_vbmf(c.spectra.out, s.out_channels, s.in_channels * area);
      if (input_mode) r1 = rank_by_vbmf(c.spectra.in, s.in_channels, s.out_channels * area);
      break;
    }
    default:
      r2 =
          rank_for_energy(c.spectra.out, rule.kind == RankRule::Kind::energy ? rule.value : energy);
      if (input_mode)
        r1 = rank_for_energy(c.spectra.in,
                             rule.kind == RankRule::Kind::energy ? rule.value : energy);
  }
  return {r1, r2};
}

}  // namespace

DecomposedModel decompose_model(const Architecture& arch, const TensorMap& tensors,
                                const RankRule& rule, int hooi_iterations) {
  const auto sizes = layer_output_sizes(arch, 512);
  std::vector<Candidate> candidates;
  for (std::size_t i = 0; i < arch.layers.size(); ++i)
    if (auto* c = arch.layers[i].as<Conv2dSpec>()) {
      auto it = tensors.find(c->name + ".weight");
      if (it == tensors.end()) throw Error("decompose: no tensor " + c->name + ".weight");
      candidates.push_back(
          {i, *c, mode_spectra(it->second), static_cast<double>(sizes[i].first) * sizes[i].second});
    }
  if (candidates.empty()) throw Error("decompose: the network has no convolution to decompose");
  for (const auto& [name, ranks] : rule.overrides) {
    bool found = false;
    for (const auto& c : candidates)
      found = found || c.spec.name == name;
    if (!found) throw Error("--ranks: no convolution named " + name);
  }

  auto cost_of = [&](double energy, bool flops) {
    double before = 0, after = 0;
    for (const auto& c : candidates) {
      const auto& s = c.spec;
      const auto [r1, r2] = choose_ranks(c, rule, energy);
      const double w = flops ? c.positions : 1.0;
      const double orig = conv_cost(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w);
      before += w * orig;
      after += w * std::min(orig, tucker_cost(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w,
                                              r1, r2));
    }
    return after / before;
  };
  double energy = rule.value;
  if (rule.kind == RankRule::Kind::budget_flops || rule.kind == RankRule::Kind::budget_params) {
    const bool flops = rule.kind == RankRule::Kind::budget_flops;
    double lo = 0.0, hi = 1.0;  // cost grows with the energy kept
    if (cost_of(0.0, flops) > rule.value)
      throw Error("--ranks: even rank 1 everywhere costs more than the budget");
    for (int it = 0; it < 40; ++it) {
      const double mid = (lo + hi) / 2;
      (cost_of(mid, flops) <= rule.value ? lo : hi) = mid;
    }
    energy = lo;
  }

  DecomposedModel out;
  out.architecture = arch;
  out.tensors = tensors;
  for (const auto& c : candidates) {
    const Conv2dSpec& s = c.spec;
    const auto [r1, r2] = choose_ranks(c, rule, energy);
    LayerDecomposition rep;
    rep.name = s.name;
    rep.in_channels = s.in_channels, rep.out_channels = s.out_channels;
    rep.kernel_h = s.kernel_h, rep.kernel_w = s.kernel_w;
    rep.spectra = c.spectra;
    const double orig = conv_cost(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w);
    const double fact = tucker_cost(s.in_channels, s.out_channels, s.kernel_h, s.kernel_w, r1, r2);
    const std::int64_t bias = s.bias ? s.out_channels : 0;
    rep.params_before = static_cast<std::int64_t>(orig) + bias;
    rep.flops_before = 2 * orig * c.positions;
    if (fact >= orig) {
      rep.method = "kept";
      rep.params_after = rep.params_before;
      rep.flops_after = rep.flops_before;
      out.layers.push_back(rep);
      continue;
    }
    const TuckerFactors f = tucker2(tensors.at(s.name + ".weight"), r1, r2, hooi_iterations);
    rep.method = r1 > 0 ? "tucker2" : (s.kernel_h == 1 && s.kernel_w == 1 ? "svd" : "tucker1");
    rep.rank_in = r1, rep.rank_out = r2;
    rep.params_after = static_cast<std::int64_t>(fact) + bias;
    rep.flops_after = 2 * fact * c.positions;
    rep.relative_error = f.relative_error;
    TuckerConvSpec t;
    t.name = s.name;
    t.in_channels = s.in_channels, t.out_channels = s.out_channels;
    t.kernel_h = s.kernel_h, t.kernel_w = s.kernel_w, t.stride_h = s.stride_h,
    t.stride_w = s.stride_w;
    t.pad_h = s.pad_h, t.pad_w = s.pad_w;
    t.rank_in = r1, t.rank_out = r2;
    t.bias = s.bias;
    out.architecture.layers[c.index] = t;
    out.tensors.erase(s.name + ".weight");
    if (r1 > 0) out.tensors[s.name + ".in.weight"] = f.in;
    out.tensors[s.name + ".core.weight"] = f.core;
    out.tensors[s.name + ".out.weight"] = f.out;
    if (s.bias) {
      out.tensors[s.name + ".out.bias"] = out.tensors.at(s.name + ".bias");
      out.tensors.erase(s.name + ".bias");
    }
    out.layers.push_back(rep);
  }
  out.architecture.validate();
  return out;
}

}  // namespace ocrcore::compress
