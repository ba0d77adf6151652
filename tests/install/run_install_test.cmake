# Installs the build into a scratch prefix, checks the installed library's
# dynamic symbols (public API only), then configures, builds and runs a
# tiny outside project against it twice: through find_package(ocrcore CONFIG)
# and through pkg-config.
file(REMOVE_RECURSE ${WORK_DIR})
set(PREFIX ${WORK_DIR}/prefix)

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(rc)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
run_step(${CMAKE_COMMAND} -DLIBRARY=${PREFIX}/${LIBDIR}/libocrcore.so
         -DREADME=${SOURCE_DIR}/README.md -P ${SOURCE_DIR}/tests/install/check_exported_symbols.cmake)
foreach(mode CONFIG PKGCONFIG)
  set(bin ${WORK_DIR}/${mode})
  run_step(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${PREFIX}/${LIBDIR}/pkgconfig
           ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install -B ${bin} -G ${GENERATOR}
           -DCMAKE_PREFIX_PATH=${PREFIX} -DFIND_MODE=${mode})
  run_step(${CMAKE_COMMAND} --build ${bin})
  run_step(${bin}/consumer ${SOURCE_DIR}/tests/fixtures/torch_crnn.ocrm)
endforeach()
# The installed tool finds its library and the installed default model.
run_step(${PREFIX}/bin/ocr-infer --version)
# The installed Python package imports from the prefix alone: its module finds
# the installed library (RPATH) and Model.load() the installed default model.
if(PYTHON)
  set(check "import ocrcore, sys
assert ocrcore.__file__.startswith(sys.argv[1]), ocrcore.__file__
model = ocrcore.Model.load()
assert model.path.startswith(sys.argv[1]), model.path
print('installed python package reads:', ocrcore.Recognizer(model).read(sys.argv[2]).text)")
  run_step(${CMAKE_COMMAND} -E env --unset=OCRCORE_MODEL
           PYTHONPATH=${PREFIX}/${PYTHON_INSTALL_DIR} ${PYTHON} -c "${check}" ${PREFIX}
           ${SOURCE_DIR}/models/samples/000001.png)
endif()
