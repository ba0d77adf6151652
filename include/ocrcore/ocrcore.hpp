#pragma once

// Umbrella header: everything a product needs to recognise text lines.
#include "ocrcore/architecture.hpp"
#include "ocrcore/cpu.hpp"
#include "ocrcore/ctc.hpp"
#include "ocrcore/error.hpp"
#include "ocrcore/evaluation.hpp"
#include "ocrcore/export.hpp"
#include "ocrcore/image.hpp"
#include "ocrcore/language_model.hpp"
#include "ocrcore/metrics.hpp"
#include "ocrcore/model.hpp"
#include "ocrcore/recognizer.hpp"
#include "ocrcore/tensor.hpp"
#include "ocrcore/types.hpp"
#include "ocrcore/version.hpp"
