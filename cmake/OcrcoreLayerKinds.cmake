# ocrcore_layer_kind(<kind>): adds src/layers/<kind>/ to the build (see
# src/layers/kinds.cmake for what each file of a kind is). After the list,
# ocrcore_write_layer_registries() generates the files that register every
# kind (its layer, its oneDNN executors, its training layer):
# OCRCORE_LAYER_RUNTIME_SOURCES and OCRCORE_LAYER_TRAIN_SOURCES then hold the
# kinds' sources and their registries for each library.

set(OCRCORE_LAYER_RUNTIME_SOURCES "")
set(OCRCORE_LAYER_TRAIN_SOURCES "")
set(OCRCORE_LAYER_KINDS "")
set(OCRCORE_TRAINABLE_LAYER_KINDS "")
set(OCRCORE_ONEDNN_LAYER_KINDS "")
set(OCRCORE_ONNX_LAYER_KINDS "")
set(OCRCORE_LAYER_ONNX_SOURCES "")

macro(ocrcore_layer_kind kind)
  set(_ocrcore_dir ${PROJECT_SOURCE_DIR}/src/layers/${kind})
  if(NOT EXISTS ${_ocrcore_dir}/${kind}_spec.cpp)
    message(FATAL_ERROR "layer kind ${kind}: ${_ocrcore_dir}/${kind}_spec.cpp is missing")
  endif()
  foreach(_ocrcore_part spec reference onednn)
    if(EXISTS ${_ocrcore_dir}/${kind}_${_ocrcore_part}.cpp)
      list(APPEND OCRCORE_LAYER_RUNTIME_SOURCES ${_ocrcore_dir}/${kind}_${_ocrcore_part}.cpp)
    endif()
  endforeach()
  if(EXISTS ${_ocrcore_dir}/${kind}_onednn.cpp)
    list(APPEND OCRCORE_ONEDNN_LAYER_KINDS ${kind})
  endif()
  if(EXISTS ${_ocrcore_dir}/${kind}_onnx.cpp)
    list(APPEND OCRCORE_LAYER_ONNX_SOURCES ${_ocrcore_dir}/${kind}_onnx.cpp)
    list(APPEND OCRCORE_ONNX_LAYER_KINDS ${kind})
  endif()
  if(EXISTS ${_ocrcore_dir}/${kind}_train.cpp)
    list(APPEND OCRCORE_LAYER_TRAIN_SOURCES ${_ocrcore_dir}/${kind}_train.cpp)
    list(APPEND OCRCORE_TRAINABLE_LAYER_KINDS ${kind})
  endif()
  list(APPEND OCRCORE_LAYER_KINDS ${kind})
endmacro()

# Writes `path`: a function `function` in `namespace` that calls
# register_<kind>_<suffix>(registry) for each of `kinds`.
function(ocrcore_write_layer_registry path header namespace registry function suffix)
  set(declarations "")
  set(calls "")
  foreach(kind ${ARGN})
    string(APPEND declarations "void register_${kind}_${suffix}(${registry}& registry);\n")
    string(APPEND calls "  register_${kind}_${suffix}(registry);\n")
  endforeach()
  file(CONFIGURE OUTPUT ${path} CONTENT
"// Generated from src/layers/kinds.cmake (one line per layer kind): do not edit.
#include \"${header}\"

namespace ${namespace} {

${declarations}
void ${function}(${registry}& registry) {
${calls}}

}  // namespace ${namespace}
" @ONLY)
endfunction()

macro(ocrcore_write_layer_registries)
  set(_ocrcore_generated ${PROJECT_BINARY_DIR}/generated/layers)
  ocrcore_write_layer_registry(${_ocrcore_generated}/layer_kinds_registry.cpp
    layers/layer_registry.hpp ocrcore::detail LayerKindRegistry register_layer_kinds layer
    ${OCRCORE_LAYER_KINDS})
  ocrcore_write_layer_registry(${_ocrcore_generated}/train_layers_registry.cpp
    training/train/layer_factory.hpp ocrcore::train TrainLayerRegistry register_train_layers train
    ${OCRCORE_TRAINABLE_LAYER_KINDS})
  ocrcore_write_layer_registry(${_ocrcore_generated}/onednn_executors_registry.cpp
    runtime/engines/onednn/onednn_batch.hpp ocrcore::detail::onednn ExecutorRegistry
    register_onednn_executors onednn ${OCRCORE_ONEDNN_LAYER_KINDS})
  list(APPEND OCRCORE_LAYER_RUNTIME_SOURCES ${_ocrcore_generated}/layer_kinds_registry.cpp
       ${_ocrcore_generated}/onednn_executors_registry.cpp)
  list(APPEND OCRCORE_LAYER_TRAIN_SOURCES ${_ocrcore_generated}/train_layers_registry.cpp)
  ocrcore_write_layer_registry(${_ocrcore_generated}/onnx_layers_registry.cpp
    onnx/layer_onnx.hpp ocrcore::onnx_io OnnxLayerRegistry register_onnx_layers onnx
    ${OCRCORE_ONNX_LAYER_KINDS})
  list(APPEND OCRCORE_LAYER_ONNX_SOURCES ${_ocrcore_generated}/onnx_layers_registry.cpp)
endmacro()
