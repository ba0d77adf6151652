#include "runtime/engines/onednn/onednn_batch.hpp"

namespace ocrcore::detail::onednn {

bool Layout::from(const memory::desc& md, Layout& out) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked || d.ndims != 4 || d.offset0 != 0) return false;
  const auto& bk = d.format_desc.blocking;
  if (bk.inner_nblks > 1 || (bk.inner_nblks == 1 && bk.inner_idxs[0] != 1)) return false;
  out.block = bk.inner_nblks == 1 ? static_cast<int>(bk.inner_blks[0]) : 1;
  out.sb = static_cast<std::size_t>(bk.strides[0]);
  out.sc = static_cast<std::size_t>(bk.strides[1]);
  out.sy = static_cast<std::size_t>(bk.strides[2]);
  out.sx = static_cast<std::size_t>(bk.strides[3]);
  return true;
}

void FeatureMaps::reset(const memory::desc& desc, int b, int c, int h, int w) {
  batch = b, channels = c, height = h, width = w;
  md = desc;
  if (!Layout::from(md, layout))
    throw Error("oneDNN chose a memory layout ocrcore cannot mask (internal error)",
                ErrorKind::internal);
  values.resize(md.get_size() / sizeof(float));
}

void FeatureMaps::fill_padding(float value) {
  const int block = layout.block;
  // Channels innermost and dense (nhwc): one run per row.
  const bool rows = block == 1 && layout.sc == 1 && layout.sx == static_cast<std::size_t>(channels);
  for (int b = 0; b < batch; ++b) {
    const int w0 = widths[b];
    if (w0 >= width) continue;
    if (rows) {
      for (int y = 0; y < height; ++y) {
        float* p = values.data() + layout.at(b, 0, y, w0);
        std::fill(p, p + static_cast<std::size_t>(width - w0) * channels, value);
      }
      continue;
    }
    for (int c0 = 0; c0 < channels; c0 += block) {
      const int lanes = std::min(block, channels - c0);
      for (int y = 0; y < height; ++y)
        for (int x = w0; x < width; ++x) {
          float* p = values.data() + layout.at(b, c0, y, x);
          std::fill(p, p + lanes, value);
        }
    }
  }
}

memory::desc plain_desc(int b, int c, int h, int w) {
  return memory::desc({b, c, h, w}, memory::data_type::f32, memory::format_tag::nhwc);
}

}  // namespace ocrcore::detail::onednn

namespace ocrcore::detail::onednn {

void ExecutorRegistry::add(Entry entry) {
  for (const Entry& e : entries_)
    if (e.type == entry.type)
      throw Error("an op type has two oneDNN executors registered", ErrorKind::internal);
  entries_.push_back(entry);
}

const ExecutorRegistry::Entry& ExecutorRegistry::find(const Op& op) const {
  for (const Entry& e : entries_)
    if (e.type == std::type_index(typeid(op))) return e;
  throw Error("the oneDNN engine cannot run " + op.describe() + " (no executor for it)",
              ErrorKind::unsupported);
}

void run_in_sequence(Context& context, std::span<OpExecutor* const> steps, const OpData& data,
                     FeatureMaps& scratch) {
  const std::size_t n = steps.size();
  FeatureMaps* src = data.maps_in;
  for (std::size_t k = 0; k < n; ++k) {
    if (steps[k]->dataflow() != Dataflow::maps_to_maps)
      throw Error("run_in_sequence: " + steps[k]->name() + " is not maps_to_maps",
                  ErrorKind::internal);
    // Counted back from the last, which writes maps_out, the outputs
    // alternate with maps_in; the first cannot write maps_in, which it reads.
    FeatureMaps* dst = (n - 1 - k) % 2 == 0 ? data.maps_out : k == 0 ? &scratch : data.maps_in;
    steps[k]->run(context, {src, dst, nullptr});
    src = dst;
  }
}

const ExecutorRegistry& executors() {
  static const ExecutorRegistry registry = [] {
    ExecutorRegistry r;
    register_onednn_executors(r);
    return r;
  }();
  return registry;
}

}  // namespace ocrcore::detail::onednn
