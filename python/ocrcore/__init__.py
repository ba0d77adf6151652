"""ocrcore: fast, accurate text-line recognition on x86 CPUs (CNN-DBLSTM-CTC models).

Read a line::

    import ocrcore
    model = ocrcore.Model.load()              # the bundled printed-English model
    reader = ocrcore.Recognizer(model)
    result = reader.read("line.png")          # a path, bytes, a 2-D uint8 array or a PIL image
    print(result.text, result.confidence)
    for char in result.chars:
        print(char.text, char.confidence, char.x_begin, char.x_end)

Many lines: ``reader.read_many(paths)`` (batched, input order). Python threads run in
parallel, each with its own Recognizer (recognition releases the GIL). On a Dask
cluster: ``ocrcore.dask.read_lines(paths)`` or ``python3 -m ocrcore.dask``.

Everything ocrcore raises about files, images and arguments is an ``ocrcore.Error``
(a RuntimeError) whose message names the file or argument; its ``kind`` says what it
is about ('bad_input', 'bad_model', 'io', 'unsupported', 'internal').
"""

from ocrcore._core import (
    CharResult,
    Error,
    LanguageModel,
    LineResult,
    Model,
    Recognizer,
    __version__,
)

__all__ = [
    "CharResult",
    "Error",
    "LanguageModel",
    "LineResult",
    "Model",
    "Recognizer",
    "__version__",
]
