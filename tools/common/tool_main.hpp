#pragma once

// The frame every command-line tool runs in: what concerns the process's
// standard streams, in one place.

namespace ocrcore::tools {

// Runs `body` as the tool `name`:
//  - a standard stream the caller closed (`tool >&-`) is held by /dev/null
//    opened the wrong way round (read-only for an output), so that writing to
//    it fails (EBADF) and is reported instead of landing in the first file
//    the tool opens, which would otherwise take its number;
//  - standard output is flushed at the end and every write to it checked: a
//    failure (a full disk: ENOSPC, a closed stream: EBADF) is reported as
//    "NAME: standard output: write error: REASON" and exits 1 when `body`
//    returned 0. A reader that goes away (`tool | head -1`) ends the process
//    by SIGPIPE, quietly, as standard tools do.
int run_tool(const char* name, int argc, char** argv, int (*body)(int, char**));

}  // namespace ocrcore::tools
