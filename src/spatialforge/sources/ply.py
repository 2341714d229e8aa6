"""A small, strict PLY reader for vertex positions (and colours), numpy only.

PLY (Turk 1994; the format ScanNet's `*_vh_clean_2.ply` meshes use) is a text header followed by the
data of each declared element, in declaration order:

    ply
    format binary_little_endian 1.0        (or ascii 1.0 / binary_big_endian 1.0)
    comment ...                            (comment and obj_info lines are ignored)
    element vertex 8
    property float x                       (scalar: <type> <name>)
    property uchar red
    element face 12
    property list uchar int vertex_indices (list: list <count type> <item type> <name>)
    end_header
    <data>

What is read: the `vertex` element's `x y z` (any numeric type) and, when all three are present, its
`red green blue` (uint8 after rounding). Every other element (faces, edges, ...) is walked over, not kept:
its rows are checked to be complete (list properties carry a per-row count), so a file whose faces are cut
off is reported as truncated instead of being accepted silently. A vertex element may not carry list
properties (no known writer does that, and it would make row sizes variable).

Every problem is a RecordError naming the file: `unreadable_file` (cannot open), `bad_header` (not PLY,
unknown format / type, malformed element or property line, no end_header, no vertex element or no x y z),
`truncated_data` (fewer rows, numbers or bytes than the header declares), `not_a_number` (ascii token that
is not a number) and `non_finite` (a NaN or infinite coordinate). Sizes are checked against the file
length before anything is allocated, so a header claiming 10^12 vertices costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np

from spatialforge.errors import RecordError

# PLY scalar type names (both spellings of the spec) -> numpy type code (byte order added per format).
PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}
VERTEX_ELEMENT = "vertex"
POSITION_PROPERTIES = ("x", "y", "z")
COLOUR_PROPERTIES = ("red", "green", "blue")
# A header longer than this is not a PLY header (ScanNet's are ~300 bytes); bounds what a garbled file reads.
MAX_HEADER_BYTES = 64 * 1024
_END_HEADER = re.compile(rb"end_header[ \t]*\r?\n")


@dataclass(frozen=True)
class PlyProperty:
    """One property: scalar (`count_type` None) or list (`count_type` and `type` of the items)."""

    name: str
    type: str  # numpy type code without byte order, e.g. "f4"
    count_type: str | None = None

    @property
    def is_list(self) -> bool:
        return self.count_type is not None


@dataclass(frozen=True)
class PlyElement:
    name: str
    count: int
    properties: tuple[PlyProperty, ...]

    @property
    def has_lists(self) -> bool:
        return any(p.is_list for p in self.properties)


@dataclass(frozen=True)
class PlyHeader:
    format: str  # "ascii", "binary_little_endian" or "binary_big_endian"
    elements: tuple[PlyElement, ...]
    data_offset: int  # byte offset of the first data byte

    @property
    def byte_order(self) -> str | None:
        return FORMATS[self.format]

    def element(self, name: str) -> PlyElement | None:
        for e in self.elements:
            if e.name == name:
                return e
        return None


class PlyVertices(NamedTuple):
    """positions (N, 3) float64 in the file's frame and units; colours (N, 3) uint8 or None."""

    positions: np.ndarray
    colours: np.ndarray | None


def read_ply_vertices(path: str | Path) -> np.ndarray:
    """(N, 3) float64 vertex positions of a PLY file (ascii or binary), in the file's own frame and units."""
    return read_ply(path).positions


def read_ply(path: str | Path) -> PlyVertices:
    """Vertex positions and (when present) colours; every other element is checked and skipped."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RecordError("unreadable_file", f"cannot read: {e}", file=str(path)) from None
    header = parse_header(data, file=str(path))
    vertex = header.element(VERTEX_ELEMENT)
    assert vertex is not None  # parse_header guarantees it
    if header.format == "ascii":
        values = _read_ascii(data, header, file=str(path))
    else:
        values = _read_binary(data, header, file=str(path))
    positions = np.stack([values[name] for name in POSITION_PROPERTIES], axis=1).astype(np.float64)
    if not np.all(np.isfinite(positions)):
        bad = int(np.argwhere(~np.isfinite(positions).all(axis=1))[0, 0])
        raise RecordError(
            "non_finite", f"vertex {bad} has a NaN or infinite coordinate", file=str(path), field="vertex"
        )
    colours = None
    if all(name in values for name in COLOUR_PROPERTIES):
        rgb = np.stack([values[name] for name in COLOUR_PROPERTIES], axis=1)
        colours = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    return PlyVertices(positions, colours)


# ---------------------------------------------------------------- header


def parse_header(data: bytes, *, file: str) -> PlyHeader:
    """The header of a PLY file's bytes; RecordError("bad_header") naming the offending line."""
    if not data.startswith(b"ply"):
        raise RecordError("bad_header", "not a PLY file (no 'ply' magic)", file=file, field="header")
    match = _END_HEADER.search(data, 0, MAX_HEADER_BYTES)
    if match is None:
        raise RecordError(
            "bad_header",
            f"no end_header line in the first {MAX_HEADER_BYTES} bytes",
            file=file,
            field="header",
        )
    try:
        text = data[: match.start()].decode("ascii")
    except UnicodeDecodeError:
        raise RecordError("bad_header", "header is not ASCII text", file=file, field="header") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "ply":
        raise RecordError("bad_header", "first line must be 'ply'", file=file, field="header")
    fmt: str | None = None
    elements: list[PlyElement] = []
    current: tuple[str, int, list[PlyProperty]] | None = None
    for line_no, line in enumerate(lines[1:], start=2):
        tokens = line.split()
        if not tokens or tokens[0] in ("comment", "obj_info"):
            continue
        where = {"file": file, "field": f"header line {line_no}"}
        keyword = tokens[0]
        if keyword == "format":
            if len(tokens) != 3 or tokens[1] not in FORMATS or tokens[2] != "1.0":
                raise RecordError("bad_header", f"unsupported format line {line!r}", **where)
            fmt = tokens[1]
        elif keyword == "element":
            if len(tokens) != 3 or not tokens[2].isdigit():
                raise RecordError("bad_header", f"malformed element line {line!r}", **where)
            if current is not None:
                elements.append(PlyElement(current[0], current[1], tuple(current[2])))
            current = (tokens[1], int(tokens[2]), [])
        elif keyword == "property":
            if current is None:
                raise RecordError("bad_header", f"property before any element: {line!r}", **where)
            current[2].append(_parse_property(tokens, line, where))
        else:
            raise RecordError("bad_header", f"unknown header keyword {keyword!r}", **where)
    if current is not None:
        elements.append(PlyElement(current[0], current[1], tuple(current[2])))
    if fmt is None:
        raise RecordError("bad_header", "no format line", file=file, field="header")
    header = PlyHeader(fmt, tuple(elements), match.end())
    _check_vertex_element(header, file=file)
    return header


def _parse_property(tokens: list[str], line: str, where: dict[str, str]) -> PlyProperty:
    if len(tokens) == 3 and tokens[1] in PLY_TYPES:
        return PlyProperty(tokens[2], PLY_TYPES[tokens[1]])
    if len(tokens) == 5 and tokens[1] == "list" and tokens[2] in PLY_TYPES and tokens[3] in PLY_TYPES:
        if PLY_TYPES[tokens[2]][0] == "f":
            raise RecordError("bad_header", f"list count type must be an integer type: {line!r}", **where)
        return PlyProperty(tokens[4], PLY_TYPES[tokens[3]], PLY_TYPES[tokens[2]])
    raise RecordError("bad_header", f"malformed property line {line!r}", **where)


def _check_vertex_element(header: PlyHeader, *, file: str) -> None:
    vertex = header.element(VERTEX_ELEMENT)
    if vertex is None:
        raise RecordError("bad_header", "no 'element vertex' in the header", file=file, field="header")
    names = [p.name for p in vertex.properties]
    missing = [n for n in POSITION_PROPERTIES if n not in names]
    if missing:
        raise RecordError(
            "bad_header", f"vertex element lacks properties {missing}", file=file, field="element vertex"
        )
    if vertex.has_lists:
        raise RecordError(
            "bad_header",
            "list properties on the vertex element are not supported",
            file=file,
            field="element vertex",
        )
    if len(set(names)) != len(names):
        raise RecordError(
            "bad_header", f"duplicate vertex properties {names}", file=file, field="element vertex"
        )


# ---------------------------------------------------------------- binary data


def _read_binary(data: bytes, header: PlyHeader, *, file: str) -> dict[str, np.ndarray]:
    """Walk every element in order; return the vertex element's columns."""
    order = header.byte_order
    assert order is not None
    offset = header.data_offset
    out: dict[str, np.ndarray] = {}
    for element in header.elements:
        if element.has_lists:
            offset = _skip_binary_list_element(data, offset, element, order, file=file)
            continue
        row = np.dtype([(p.name, order + p.type) for p in element.properties])
        size = row.itemsize * element.count
        if offset + size > len(data):
            raise RecordError(
                "truncated_data",
                f"element {element.name!r} needs {size} bytes at offset {offset}, "
                f"file has {len(data) - offset}",
                file=file,
                field=f"element {element.name}",
            )
        if element.name == VERTEX_ELEMENT:
            rows = np.frombuffer(data, dtype=row, count=element.count, offset=offset)
            out = {p.name: rows[p.name] for p in element.properties}
        offset += size
    return out


def _skip_binary_list_element(data: bytes, offset: int, element: PlyElement, order: str, *, file: str) -> int:
    """Offset just past `element`'s rows. Fast path: every list in every row has the first row's count
    (triangle meshes), checked on the whole block at once; otherwise rows are walked one by one."""
    fast = _uniform_rows_end(data, offset, element, order)
    if fast is not None:
        return fast
    for row in range(element.count):
        for prop in element.properties:
            if prop.is_list:
                assert prop.count_type is not None
                count_type = np.dtype(order + prop.count_type)
                if offset + count_type.itemsize > len(data):
                    _truncated_row(element, row, file)
                count = int(np.frombuffer(data, dtype=count_type, count=1, offset=offset)[0])
                if count < 0:
                    raise RecordError(
                        "truncated_data",
                        f"negative list count {count} in row {row}",
                        file=file,
                        field=f"element {element.name}",
                    )
                offset += count_type.itemsize + count * np.dtype(prop.type).itemsize
            else:
                offset += np.dtype(prop.type).itemsize
            if offset > len(data):
                _truncated_row(element, row, file)
    return offset


def _uniform_rows_end(data: bytes, offset: int, element: PlyElement, order: str) -> int | None:
    """End offset when all rows have the same list counts as the first row (verified), else None."""
    if element.count == 0:
        return offset
    fields: list[tuple[str, str] | tuple[str, str, tuple[int]]] = []
    probe = offset
    for i, prop in enumerate(element.properties):
        if prop.is_list:
            assert prop.count_type is not None
            count_type = np.dtype(order + prop.count_type)
            if probe + count_type.itemsize > len(data):
                return None
            count = int(np.frombuffer(data, dtype=count_type, count=1, offset=probe)[0])
            if count < 0:
                return None
            fields.append((f"n{i}", order + prop.count_type))
            fields.append((f"v{i}", order + prop.type, (count,)))
            probe += count_type.itemsize + count * np.dtype(prop.type).itemsize
        else:
            fields.append((f"s{i}", order + prop.type))
            probe += np.dtype(prop.type).itemsize
    row = np.dtype(fields)  # type: ignore[arg-type]
    end = offset + row.itemsize * element.count
    if end > len(data):
        return None
    rows = np.frombuffer(data, dtype=row, count=element.count, offset=offset)
    for i, prop in enumerate(element.properties):
        if prop.is_list and not np.all(rows[f"n{i}"] == rows[f"n{i}"][0]):
            return None
    return end


def _truncated_row(element: PlyElement, row: int, file: str) -> NoReturn:
    raise RecordError(
        "truncated_data",
        f"element {element.name!r} ends inside row {row} of {element.count}",
        file=file,
        field=f"element {element.name}",
    )


# ---------------------------------------------------------------- ascii data


def _read_ascii(data: bytes, header: PlyHeader, *, file: str) -> dict[str, np.ndarray]:
    """One row per line, elements in order; the vertex rows parsed as one float block."""
    try:
        text = data[header.data_offset :].decode("ascii")
    except UnicodeDecodeError:
        raise RecordError(
            "not_a_number", "ascii PLY data is not ASCII text", file=file, field="data"
        ) from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    needed = sum(e.count for e in header.elements)
    if len(lines) < needed:
        raise RecordError(
            "truncated_data",
            f"header declares {needed} data lines, file has {len(lines)}",
            file=file,
            field="data",
        )
    out: dict[str, np.ndarray] = {}
    start = 0
    for element in header.elements:
        rows = lines[start : start + element.count]
        if element.name == VERTEX_ELEMENT:
            out = _ascii_vertex_rows(rows, element, start, file=file)
        else:
            _check_ascii_rows(rows, element, start, file=file)
        start += element.count
    return out


def _ascii_vertex_rows(
    rows: list[str], element: PlyElement, first_line: int, *, file: str
) -> dict[str, np.ndarray]:
    n_props = len(element.properties)
    tokens = [r.split() for r in rows]
    for i, t in enumerate(tokens):
        if len(t) != n_props:
            raise RecordError(
                "truncated_data",
                f"vertex row {i} has {len(t)} values, expected {n_props}",
                file=file,
                field=f"data line {first_line + i + 1}",
            )
    try:
        block = np.array(tokens, dtype=np.float64).reshape(len(rows), n_props)
    except ValueError:
        raise RecordError(
            "not_a_number", "a vertex value is not a number", file=file, field="element vertex"
        ) from None
    return {p.name: block[:, j] for j, p in enumerate(element.properties)}


def _check_ascii_rows(rows: list[str], element: PlyElement, first_line: int, *, file: str) -> None:
    """Each row holds exactly its scalars and, per list, its count followed by that many items."""
    for i, row in enumerate(rows):
        tokens = row.split()
        pos = 0
        for prop in element.properties:
            if pos >= len(tokens):
                _bad_ascii_row(element, i, first_line, file, "too few values")
            if prop.is_list:
                try:
                    count = int(tokens[pos])
                except ValueError:
                    _bad_ascii_row(
                        element, i, first_line, file, f"list count {tokens[pos]!r} is not an integer"
                    )
                if count < 0:
                    _bad_ascii_row(element, i, first_line, file, f"negative list count {count}")
                pos += 1 + count
            else:
                pos += 1
        if pos != len(tokens):
            _bad_ascii_row(element, i, first_line, file, f"{len(tokens)} values, expected {pos}")


def _bad_ascii_row(element: PlyElement, row: int, first_line: int, file: str, why: str) -> NoReturn:
    raise RecordError(
        "truncated_data",
        f"element {element.name!r} row {row}: {why}",
        file=file,
        field=f"data line {first_line + row + 1}",
    )
