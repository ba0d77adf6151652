#pragma once

// Process-wide policies of the batch tools (ocr-infer): they concern the
// whole process, so they belong to the tools, not to the library.

namespace ocrcore::tools {

// Tells the C allocator to keep freed memory for reuse instead of returning
// it to the system at once. A batch job allocates and frees the same few
// large buffers (decoded images, normalised lines, activations) for every
// line; by default glibc hands blocks of the largest of these sizes back
// (mmap and trim thresholds) and every line then faults its pages in again,
// which perf showed as a tenth of ocr-infer's time on a virtual machine. Peak
// memory does not change: what is kept is what the next line reuses.
void keep_freed_memory_for_reuse();

// Ends the process with `code` once the output is flushed, without running
// static destructors: a job's oneDNN primitives (generated code, hundreds of
// them after a few hundred lines of assorted widths) are freed one by one at
// exit otherwise, 4% of ocr-infer's time over 210 lines (perf). Files are
// closed by then (written atomically). Sanitizer builds exit normally, so
// that their leak check still runs.
int exit_without_teardown(int code);

}  // namespace ocrcore::tools
