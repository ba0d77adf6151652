# The layer kinds, one line each. A kind is its folder src/layers/<kind>/;
# each of its files goes to the library that serves it, by its name:
#   <kind>_spec.cpp        the architecture entry: JSON fields, shape rules,
#                          tensors, work, lowering; register_<kind>_layer()  libocrcore
#   <kind>_reference.cpp   the plain reference forward                        libocrcore
#   <kind>_onednn.cpp      the oneDNN engine's executors and weight
#                          preparation; register_<kind>_onednn()             libocrcore
#   <kind>_train.cpp       the training layer; register_<kind>_train()         ocrcore_train
#   <kind>_onnx.cpp        the ONNX export and import; register_<kind>_onnx() ocrcore_onnx
# and the registries generated below call every kind's register functions, so
# no code outside the kind's folder lists the kinds.
ocrcore_layer_kind(conv2d)
ocrcore_layer_kind(grouped_conv)
ocrcore_layer_kind(tucker_conv)
ocrcore_layer_kind(batch_norm)
ocrcore_layer_kind(relu)
ocrcore_layer_kind(max_pool)
ocrcore_layer_kind(dropout)
ocrcore_layer_kind(collapse)
ocrcore_layer_kind(lstm)
ocrcore_layer_kind(linear)
