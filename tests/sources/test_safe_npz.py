"""sources.safe_npz: legit object arrays round-trip; hostile pickles are refused before they run."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from spatialforge.errors import RecordError
from spatialforge.sources.safe_npz import npz_member_names, read_npz, read_npz_array


def object_array(items: list[object]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def legit_annotations() -> np.ndarray:
    """Dicts of what ImageNet3D stores: Python and numpy numbers, strings, small arrays, plus list/None."""
    return object_array(
        [
            {
                "azimuth": 1.25,
                "elevation": np.float64(0.5),
                "theta": np.float32(0.25),
                "distance": 4.5,
                "viewport": 3000,
                "height": np.uint16(375),
                "width": np.uint16(500),
                "bbox": np.array([10.0, 20.0, 110.0, 220.0]),
                "principal": np.array([60.0, 120.0]),
                "class": "bed",
                "cad_index": np.int64(2),
                "flags": [True, None, (1, 2)],
            },
            {"class": "bed", "bbox": np.array([1, 2, 3, 4], dtype=np.int32)},
        ]
    )


def assert_same_annotations(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype == object and a.shape == b.shape
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        assert x.keys() == y.keys()
        for key in x:
            if isinstance(x[key], np.ndarray):
                assert x[key].dtype == y[key].dtype
                np.testing.assert_array_equal(x[key], y[key])
            else:
                assert type(x[key]) is type(y[key]) and x[key] == y[key]


class Evil:
    """Unpickling this calls os.system (module `posix` on Linux): the classic npz attack."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


class EvilEval:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (eval, ("__import__('os').getcwd()",))


def npz_with_raw_member(path: Path, name: str, header: dict, payload: bytes) -> None:
    """An .npz whose member `name` has the given .npy header followed by raw bytes (a crafted pickle)."""
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name + ".npy", buf.getvalue() + payload)


# ---------------------------------------------------------------- legit files


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_object_array_of_dicts_round_trips(tmp_path: Path, save) -> None:
    path = tmp_path / "a.npz"
    annotations = legit_annotations()
    save(path, annotations=annotations, numbers=np.arange(6, dtype=np.float32).reshape(2, 3))
    assert npz_member_names(path) == ["annotations", "numbers"]
    assert_same_annotations(read_npz_array(path, "annotations"), annotations)
    # The same as numpy's own (unsafe) loader gives.
    with np.load(path, allow_pickle=True) as trusted:
        assert_same_annotations(read_npz_array(path, "annotations"), trusted["annotations"])
    everything = read_npz(path)
    assert sorted(everything) == ["annotations", "numbers"]
    np.testing.assert_array_equal(everything["numbers"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert everything["numbers"].dtype == np.float32


def test_fortran_order_and_scalar_members(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.savez(path, fortran=fortran, scalar=np.float64(2.5), text=np.array("bed"))
    arrays = read_npz(path)
    np.testing.assert_array_equal(arrays["fortran"], fortran)
    assert arrays["scalar"].shape == () and float(arrays["scalar"]) == 2.5
    assert str(arrays["text"]) == "bed"


def test_missing_member_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, other=np.zeros(2))
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "missing_field" and e.value.field == "annotations"
    assert e.value.file == str(path) and "other" in str(e.value)


# ---------------------------------------------------------------- hostile files


def test_os_system_inside_an_annotation_dict_is_refused_before_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    np.savez(path, annotations=object_array([{"azimuth": 1.0, "payload": Evil(marker)}]))
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unsafe_pickle"
    assert f"{os.system.__module__}.system" in str(e.value)  # posix.system on Linux
    assert e.value.file == str(path) and e.value.field == "annotations"
    assert not marker.exists()


def test_builtins_eval_as_the_whole_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    npz_with_raw_member(
        path,
        "annotations",
        {"descr": "|O", "fortran_order": False, "shape": (1,)},
        pickle.dumps(EvilEval(), protocol=3),
    )
    with pytest.raises(RecordError) as e:
        read_npz(path)
    assert e.value.reason == "unsafe_pickle" and "builtins.eval" in str(e.value)
    assert str(path) in str(e.value)


def test_other_numpy_globals_are_refused(tmp_path: Path) -> None:
    """Only the array reconstructor, scalar, ndarray and dtype: numpy.load itself is not let through."""
    path = tmp_path / "evil.npz"
    payload = b"\x80\x03cnumpy\nload\nq\x00X\x03\x00\x00\x00/etcq\x01\x85q\x02Rq\x03."
    npz_with_raw_member(path, "annotations", {"descr": "|O", "fortran_order": False, "shape": (1,)}, payload)
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unsafe_pickle" and "numpy.load" in str(e.value)


def test_a_pickle_that_is_not_the_headers_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.npz"
    npz_with_raw_member(
        path,
        "annotations",
        {"descr": "|O", "fortran_order": False, "shape": (1,)},
        pickle.dumps({"not": "an array"}, protocol=3),
    )
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unreadable_file" and "dict" in str(e.value)


# ---------------------------------------------------------------- broken files


def test_garbage_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a zip file at all")
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unreadable_file" and e.value.file == str(path)
    assert "garbage.npz" in str(e.value)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_zip_is_a_clear_error_naming_the_file(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "cut.npz"
    np.savez(path, annotations=legit_annotations())
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unreadable_file" and "cut.npz" in str(e.value)


def test_corrupt_member_data_is_a_clear_error(tmp_path: Path) -> None:
    """A member whose pickle stops half-way (zip intact): unreadable, named, not a crash."""
    path = tmp_path / "half.npz"
    good = pickle.dumps(legit_annotations(), protocol=3)
    npz_with_raw_member(
        path, "annotations", {"descr": "|O", "fortran_order": False, "shape": (2,)}, good[: len(good) // 2]
    )
    with pytest.raises(RecordError) as e:
        read_npz_array(path, "annotations")
    assert e.value.reason == "unreadable_file" and e.value.field == "annotations"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as e:
        read_npz_array(tmp_path / "nope.npz", "annotations")
    assert e.value.reason == "missing_file" and "nope.npz" in str(e.value)
