"""The binding against ocr-infer, and its handling of every kind of input."""

import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

import ocrcore
from conftest import SAMPLES, SOURCE_DIR, ocr_infer_jsonl

SAMPLE_PATHS = sorted(str(p) for p in SAMPLES.glob("*.png"))


def grey(path: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("L"))


@pytest.fixture(scope="module")
def model():
    return ocrcore.Model.load()


@pytest.fixture(scope="module")
def reader(model):
    return ocrcore.Recognizer(model)


def test_samples_read_as_ocr_infer_reads_them(reader):
    expected = ocr_infer_jsonl(SAMPLE_PATHS, "-t", "1")
    got = reader.read_many(SAMPLE_PATHS)
    assert len(got) == len(expected) == len(SAMPLE_PATHS)
    for result, line in zip(got, expected):
        assert result.text == line["text"]
        assert abs(result.confidence - line["confidence"]) <= 1e-6
        assert [c.text for c in result.chars] == [c["text"] for c in line["chars"]]
        assert [[c.x_begin, c.x_end] for c in result.chars] == [c["x"] for c in line["chars"]]
        for char, expected_char in zip(result.chars, line["chars"]):
            assert abs(char.confidence - expected_char["confidence"]) <= 1e-6
    # One at a time, from every kind of input, the same.
    for path, line in zip(SAMPLE_PATHS[:3], expected):
        for image in (path, Path(path), Path(path).read_bytes(), grey(path)):
            result = reader.read(image)
            assert result.text == line["text"]
            assert abs(result.confidence - line["confidence"]) <= 1e-6


def test_beam_decoder_with_language_model_as_ocr_infer(model):
    lm = SOURCE_DIR / "models" / "printed-english.ocrlm"
    expected = ocr_infer_jsonl(SAMPLE_PATHS, "-t", "1", "--lm", str(lm))
    reader = ocrcore.Recognizer(model, lm=lm)
    assert reader.decoder == "beam"
    for result, line in zip(reader.read_many(SAMPLE_PATHS), expected):
        assert result.text == line["text"]
        assert abs(result.confidence - line["confidence"]) <= 1e-6


def test_pil_images(reader):
    from PIL import Image

    path = SAMPLE_PATHS[0]
    expected = reader.read(path)
    for image in (Image.open(path), Image.open(path).convert("RGB")):
        assert reader.read(image).text == expected.text


def test_numpy_views_read_in_place_or_copied(reader):
    pixels = grey(SAMPLE_PATHS[1])
    expected = reader.read(pixels)
    h, w = pixels.shape
    # Rows at a larger stride: a window of a wider array (read without a copy).
    wide = np.full((h + 4, w + 30), 255, np.uint8)
    wide[2 : 2 + h, 10 : 10 + w] = pixels
    window = wide[2 : 2 + h, 10 : 10 + w]
    assert not window.flags["C_CONTIGUOUS"]
    assert reader.read(window).text == expected.text
    assert abs(reader.read(window).confidence - expected.confidence) <= 1e-6
    # Column-major, every other column, flipped: copied, same as the packed form.
    assert reader.read(np.asfortranarray(pixels)).text == expected.text
    halved = pixels[:, ::2]
    assert reader.read(halved).text == reader.read(np.ascontiguousarray(halved)).text
    flipped = pixels[::-1, :]
    assert reader.read(flipped).confidence == pytest.approx(
        reader.read(np.ascontiguousarray(flipped)).confidence, abs=1e-6
    )
    # Read-only memory is fine.
    frozen = pixels.copy()
    frozen.setflags(write=False)
    assert reader.read(frozen).text == expected.text


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((20, 30), np.float32), "expected uint8 pixels"),
        (np.zeros((20, 30), np.int16), "expected uint8 pixels"),
        (np.zeros((20, 30, 3), np.uint8), "3 dimensions"),
        (np.zeros(30, np.uint8), "1 dimensions"),
        (np.zeros((0, 30), np.uint8), "empty image"),
        (np.zeros((20, 0), np.uint8), "empty image"),
        (b"", "image"),
        (b"not an image at all", "image"),
    ],
)
def test_bad_arrays_and_bytes_raise_error(reader, image, message):
    with pytest.raises(ocrcore.Error, match=message) as caught:
        reader.read(image)
    assert caught.value.kind == "bad_input"
    assert isinstance(caught.value, RuntimeError)


def test_not_an_image_is_a_type_error(reader):
    for thing in (5, None, [1, 2], {"a": 1}):
        with pytest.raises(TypeError, match="expected a path"):
            reader.read(thing)


def test_missing_and_corrupt_files_name_the_file(reader, tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(ocrcore.Error, match="missing.png") as caught:
        reader.read(missing)
    assert caught.value.kind == "io"
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    with pytest.raises(ocrcore.Error, match="corrupt.png"):
        reader.read(str(corrupt))
    # In a batch: named, and the other lines still read.
    results = reader.read_many([SAMPLE_PATHS[0], corrupt, missing, SAMPLE_PATHS[1]], return_errors=True)
    assert isinstance(results[0], ocrcore.LineResult)
    assert isinstance(results[1], ocrcore.Error) and "corrupt.png" in str(results[1])
    assert isinstance(results[2], ocrcore.Error) and "missing.png" in str(results[2])
    assert results[3].text == reader.read(SAMPLE_PATHS[1]).text
    with pytest.raises(ocrcore.Error, match="missing.png"):
        reader.read_many([SAMPLE_PATHS[0], missing])
    # Mixed kinds in one batch (arrays and paths), errors in place.
    mixed = reader.read_many([grey(SAMPLE_PATHS[2]), missing, np.zeros((0, 1), np.uint8)],
                             return_errors=True)
    assert mixed[0].text == reader.read(SAMPLE_PATHS[2]).text
    assert isinstance(mixed[1], ocrcore.Error)
    assert isinstance(mixed[2], ocrcore.Error) and "image 2" in str(mixed[2])


def test_models_and_settings_errors(tmp_path):
    with pytest.raises(ocrcore.Error, match="nowhere.ocrm") as caught:
        ocrcore.Model.load(tmp_path / "nowhere.ocrm")
    assert caught.value.kind == "io"
    bad = tmp_path / "bad.ocrm"
    bad.write_bytes(b"OCRM" + os.urandom(100))
    with pytest.raises(ocrcore.Error, match="bad.ocrm") as caught:
        ocrcore.Model.load(bad)
    assert caught.value.kind == "bad_model"
    model = ocrcore.Model.load()
    for options, message in (
        ({"decoder": "viterbi"}, "decoder"),
        ({"threads": 0}, "threads"),
        ({"beam_width": 0}, "beam_width"),
        ({"conv_precision": "fp16"}, "fp16"),
        ({"backend": "gpu"}, "backend"),
        ({"orientation": "sideways"}, "orientation"),
        ({"decoder": "greedy", "lm": SOURCE_DIR / "models/printed-english.ocrlm"}, "lm"),
        ({"lm": tmp_path / "none.ocrlm"}, "none.ocrlm"),
    ):
        with pytest.raises(ocrcore.Error, match=message):
            ocrcore.Recognizer(model, **options)
    with pytest.raises(TypeError):
        ocrcore.Recognizer("not a model")


def test_default_model_follows_environment(monkeypatch, tmp_path):
    default = ocrcore.Model.load()
    assert default.path.endswith("compact-printed.ocrm")
    assert default.input_height > 0 and default.num_classes == len(default.alphabet)
    monkeypatch.setenv("OCRCORE_MODEL", str(tmp_path / "elsewhere.ocrm"))
    with pytest.raises(ocrcore.Error, match="elsewhere.ocrm"):
        ocrcore.Model.load()


def test_results_pickle_and_print(reader):
    result = reader.read(SAMPLE_PATHS[0])
    again = pickle.loads(pickle.dumps(result))
    assert again.text == result.text and again.confidence == result.confidence
    assert [c.x_begin for c in again.chars] == [c.x_begin for c in result.chars]
    assert result.text in repr(result)


def test_turned_lines_read_upright(model, reader):
    upright = reader.read(SAMPLE_PATHS[0])
    assert upright.rotation == 0
    as_given = ocrcore.Recognizer(model, orientation="upright")
    # The line turned clockwise by 90 (numpy): turned back by 270 and read as upright.
    for turns, rotation in ((1, 90), (2, 180), (3, 270)):
        turned = np.ascontiguousarray(np.rot90(grey(SAMPLE_PATHS[0]), k=-turns))
        result = reader.read(turned)
        assert (result.text, result.rotation) == (upright.text, (360 - rotation) % 360)
        assert as_given.read(turned).rotation == 0
    again = pickle.loads(pickle.dumps(result))
    assert again.rotation == result.rotation == 90
    assert "rotation=90" in repr(result)


def test_help_shows_usage():
    assert "Recognizer(model)" in ocrcore.__doc__
    assert "read(image)" in ocrcore.Recognizer.read.__doc__
    assert "return_errors" in ocrcore.Recognizer.read_many.__doc__
    assert "Model.load(path=None)" in ocrcore.Model.load.__doc__
    assert ocrcore.__version__
    stubs = Path(ocrcore.__file__).parent / "_core.pyi"
    assert "def read_many" in stubs.read_text()


def test_reading_releases_the_gil(model):
    """While a thread reads, Python code in another thread keeps running."""
    reader = ocrcore.Recognizer(model)
    lines = SAMPLE_PATHS * 20
    ticks = 0
    done = threading.Event()

    def work():
        reader.read_many(lines)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    while not done.is_set():
        ticks += 1
    worker.join()
    # Holding the GIL for the whole batch would leave the loop a few switch
    # intervals at most; released, it spins freely the whole time.
    assert ticks > 10000


def test_one_recognizer_shared_by_threads_is_safe(model):
    reader = ocrcore.Recognizer(model)
    expected = [r.text for r in reader.read_many(SAMPLE_PATHS)]
    outputs = [None] * 4

    def work(i):
        outputs[i] = [reader.read(p).text for p in SAMPLE_PATHS]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out == expected for out in outputs)
