"""Read numpy `.npz` files without running arbitrary code.

`np.load(path, allow_pickle=True)` unpickles object arrays with the full pickle machinery, so a crafted
file can call any importable function (`os.system`, `builtins.eval`, ...). Datasets such as ImageNet3D
store their annotations as object arrays of dicts, so we need the pickle, but only a tiny part of it:

- the `.npz` is opened as a zip (zipfile) and each member's `.npy` header is read with numpy's own header
  readers (format versions 1.0 and 2.0);
- a member whose dtype is not object is read by `numpy.lib.format.read_array(allow_pickle=False)`;
- an object member is unpickled by `RestrictedUnpickler`, whose `find_class` allows only the globals that
  numpy object arrays of dicts of numbers, strings and small arrays need (ALLOWED_GLOBALS: the ndarray
  reconstructor and scalar constructor under both `numpy.core` (numpy 1.x files) and `numpy._core`
  (numpy 2.x files), `numpy.ndarray` and `numpy.dtype`). dict, list, tuple, str, int, float, bool, None
  and bytes are pickle opcodes, not globals, so nothing else is needed. Anything else raises a RecordError
  ("unsafe_pickle") naming the file, the member and the refused global.

Every other problem (not a zip, truncated, bad CRC, bad header, a pickle that does not build an array of
the header's shape) is a RecordError "unreadable_file" naming the file and the member.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from spatialforge.errors import RecordError

UNSAFE_PICKLE = "unsafe_pickle"
UNREADABLE_FILE = "unreadable_file"
MISSING_MEMBER = "missing_field"
NPY_SUFFIX = ".npy"
# An object member larger than this (uncompressed bytes) is refused before unpickling: annotation files are
# kilobytes; this bounds the memory a hostile file can make us allocate (our choice).
MAX_OBJECT_MEMBER_BYTES = 64 * 1024 * 1024


def _numpy_multiarray() -> Any:
    """The installed numpy's multiarray module (numpy._core in 2.x, numpy.core in 1.x)."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


_MULTIARRAY = _numpy_multiarray()
# (module, name) -> the object it stands for. Both module spellings map to the installed numpy's objects, so
# files written by numpy 1.x and 2.x read the same.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{
        (module, name): getattr(_MULTIARRAY, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    },
}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only ALLOWED_GLOBALS; any other global raises RecordError(unsafe_pickle)."""

    def __init__(self, stream: IO[bytes], *, file: str, member: str) -> None:
        super().__init__(stream)
        self._file = file
        self._member = member

    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise RecordError(
                UNSAFE_PICKLE,
                f"refused to unpickle global {module}.{name} (only numpy array reconstruction is allowed)",
                file=self._file,
                field=self._member,
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise RecordError(
            UNSAFE_PICKLE, "refused a persistent id in the pickle", file=self._file, field=self._member
        )


def npz_member_names(path: str | Path) -> list[str]:
    """Array names in the .npz (member names without '.npy'), in archive order."""
    with _open_zip(Path(path)) as zf:
        return [n[: -len(NPY_SUFFIX)] for n in zf.namelist() if n.endswith(NPY_SUFFIX)]


def read_npz_array(path: str | Path, name: str) -> np.ndarray:
    """One array of the .npz; RecordError "missing_field" (field = name) when the file has no such member."""
    path = Path(path)
    with _open_zip(path) as zf:
        member = name + NPY_SUFFIX
        try:
            info = zf.getinfo(member)
        except KeyError:
            present = sorted(n[: -len(NPY_SUFFIX)] for n in zf.namelist() if n.endswith(NPY_SUFFIX))
            raise RecordError(
                MISSING_MEMBER, f"no array {name!r} in the .npz (has: {present})", file=str(path), field=name
            ) from None
        return _read_member(zf, info, file=str(path), name=name)


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the .npz by name."""
    path = Path(path)
    with _open_zip(path) as zf:
        return {
            info.filename[: -len(NPY_SUFFIX)]: _read_member(
                zf, info, file=str(path), name=info.filename[: -len(NPY_SUFFIX)]
            )
            for info in zf.infolist()
            if info.filename.endswith(NPY_SUFFIX)
        }


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise RecordError("missing_file", "file not found", file=str(path)) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise RecordError(UNREADABLE_FILE, f"not a readable .npz (zip) file: {e}", file=str(path)) from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, file: str, name: str) -> np.ndarray:
    """One .npy member: header first, then the data by the reader its dtype calls for."""
    try:
        with zf.open(info) as f:
            shape, fortran_order, dtype = _read_header(f, file=file, name=name)
        if not dtype.hasobject:
            with zf.open(info) as f:
                array = npy_format.read_array(f, allow_pickle=False)
            return array
        if info.file_size > MAX_OBJECT_MEMBER_BYTES:
            raise RecordError(
                UNREADABLE_FILE,
                f"object array member is {info.file_size} bytes (limit {MAX_OBJECT_MEMBER_BYTES})",
                file=file,
                field=name,
            )
        with zf.open(info) as f:
            _read_header(f, file=file, name=name)  # position the stream at the pickle
            loaded = RestrictedUnpickler(f, file=file, member=name).load()
    except RecordError:
        raise
    except Exception as e:  # noqa: BLE001 - a hostile pickle or a corrupt zip can raise almost any type
        raise RecordError(
            UNREADABLE_FILE, f"cannot read array {name!r}: {type(e).__name__}: {e}", file=file, field=name
        ) from None
    if not isinstance(loaded, np.ndarray) or loaded.dtype != dtype or loaded.shape != shape:
        got = f"{type(loaded).__name__} {getattr(loaded, 'dtype', '')} {getattr(loaded, 'shape', '')}"
        raise RecordError(
            UNREADABLE_FILE,
            f"array {name!r}: the pickle is not the header's {dtype} array of shape {shape} (got {got})",
            file=file,
            field=name,
        )
    return loaded


def _read_header(f: IO[bytes], *, file: str, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from a .npy header; only format versions 1.0 and 2.0."""
    version = npy_format.read_magic(f)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(f)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(f)
    raise RecordError(
        UNREADABLE_FILE, f"array {name!r}: unsupported .npy format version {version}", file=file, field=name
    )
