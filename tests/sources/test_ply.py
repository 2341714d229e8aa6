"""sources.ply: ascii and binary (both byte orders), faces skipped, truncated and garbled files named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.sources.ply import parse_header, read_ply, read_ply_vertices
from tests.sources.posed_scans import write_binary_ply

# Four vertices with values exact in float32, and two faces (a triangle and a quad: mixed list counts).
VERTICES = np.array([[0.0, 0.0, 0.0], [1.5, 0.0, -2.25], [0.0, 3.0, 0.125], [-1.0, -1.0, 4.0]])
ASCII = """ply
format ascii 1.0
comment made by hand
obj_info nothing
element vertex 4
property double x
property double y
property double z
property uchar red
property uchar green
property uchar blue
element face 2
property list uchar int vertex_indices
end_header
0 0 0 255 0 0
1.5 0 -2.25 0 255 0
0 3 0.125 0 0 255
-1 -1 4 7 8 9
3 0 1 2
4 0 1 2 3
"""


def write(tmp_path: Path, text: str | bytes, name: str = "m.ply") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("ascii") if isinstance(text, str) else text)
    return path


def error_of(path: Path) -> RecordError:
    with pytest.raises(RecordError) as e:
        read_ply(path)
    assert str(path) in str(e.value)  # every error names the file
    return e.value


def test_ascii_vertices_colours_and_mixed_faces(tmp_path: Path) -> None:
    out = read_ply(write(tmp_path, ASCII))
    np.testing.assert_array_equal(out.positions, VERTICES)
    assert out.positions.dtype == np.float64
    assert out.colours is not None and out.colours.tolist() == [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [7, 8, 9],
    ]
    np.testing.assert_array_equal(read_ply_vertices(tmp_path / "m.ply"), VERTICES)


@pytest.mark.parametrize("order", ["<", ">"])
def test_binary_both_byte_orders_read_the_same(tmp_path: Path, order: str) -> None:
    path = tmp_path / "b.ply"
    write_binary_ply(path, VERTICES, faces=[[0, 1, 2], [0, 2, 3]], order=order)
    out = read_ply(path)
    np.testing.assert_array_equal(out.positions, VERTICES)
    assert out.colours is not None and out.colours.tolist() == [[10, 20, 30]] * 4


def _binary(
    elements_before: bytes,
    header_before: str,
    vertices: np.ndarray,
    tail: bytes = b"",
    header_after: str = "",
) -> bytes:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        + header_before
        + f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        + header_after
        + "end_header\n"
    )
    return header.encode() + elements_before + vertices.astype("<f4").tobytes() + tail


def test_list_element_before_the_vertices_is_walked_row_by_row(tmp_path: Path) -> None:
    # Two rows of a list element with different counts (2 and 3 int16 items) and a trailing float each:
    # the uniform fast path must refuse it and the row walk find the vertex data after 2+4+4 + 2+6+4 bytes.
    rows = (
        np.array([2], "u1").tobytes() + np.array([1, 2], "<i2").tobytes() + np.array([0.5], "<f4").tobytes()
    ) + (
        np.array([3], "u1").tobytes()
        + np.array([1, 2, 3], "<i2").tobytes()
        + np.array([1.5], "<f4").tobytes()
    )
    header = "element tag 2\nproperty list uchar short ids\nproperty float weight\n"
    path = write(tmp_path, _binary(rows, header, VERTICES))
    np.testing.assert_array_equal(read_ply_vertices(path), VERTICES)
    assert read_ply(path).colours is None


def test_truncated_faces_are_reported_not_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.ply"
    write_binary_ply(path, VERTICES, faces=[[0, 1, 2], [0, 2, 3]])
    data = path.read_bytes()
    write(tmp_path, data[:-3], "cut.ply")  # the last face loses 3 of its 13 bytes
    e = error_of(tmp_path / "cut.ply")
    assert e.reason == "truncated_data" and e.field == "element face"


def test_truncated_vertex_block(tmp_path: Path) -> None:
    path = tmp_path / "t.ply"
    write_binary_ply(path, VERTICES)
    header_end = path.read_bytes().index(b"end_header\n") + len(b"end_header\n")
    write(tmp_path, path.read_bytes()[: header_end + 20], "cut.ply")  # 4 rows x 15 bytes declared
    e = error_of(tmp_path / "cut.ply")
    assert e.reason == "truncated_data" and e.field == "element vertex"


def test_a_huge_declared_count_is_refused_without_allocating(tmp_path: Path) -> None:
    path = write(
        tmp_path, _binary(b"", "", VERTICES).replace(b"element vertex 4", b"element vertex 999999999999")
    )
    assert error_of(path).reason == "truncated_data"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (ASCII.replace("0 3 0.125 0 0 255\n", ""), "data"),  # a vertex line missing: 5 lines for 6
        (ASCII.replace("4 0 1 2 3", "4 0 1 2"), "data line 6"),  # the quad lost an index
        (ASCII.replace("-1 -1 4 7 8 9", "-1 -1 4 7 8"), "data line 4"),  # a vertex row lost its blue
    ],
)
def test_ascii_short_rows(tmp_path: Path, text: str, field: str) -> None:
    e = error_of(write(tmp_path, text))
    assert e.reason == "truncated_data" and e.field == field


def test_ascii_non_number_and_non_finite(tmp_path: Path) -> None:
    assert (
        error_of(write(tmp_path, ASCII.replace("1.5 0 -2.25", "1.5 zero -2.25"), "a.ply")).reason
        == "not_a_number"
    )
    e = error_of(write(tmp_path, ASCII.replace("1.5 0 -2.25", "1.5 nan -2.25"), "b.ply"))
    assert e.reason == "non_finite" and "vertex 1" in str(e)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda t: t.replace("ply\n", "plx\n", 1), "magic"),
        (lambda t: t.replace("format ascii 1.0", "format ascii 2.0"), "format"),
        (lambda t: t.replace("format ascii 1.0", "format binary_middle_endian 1.0"), "format"),
        (lambda t: t.replace("comment made by hand", "colour red"), "unknown header keyword"),
        (lambda t: t.replace("end_header\n", "end_headr\n"), "end_header"),
        (lambda t: t.replace("property double z\n", ""), "lacks properties ['z']"),
        (lambda t: t.replace("property double z", "property quadruple z"), "malformed property"),
        (lambda t: t.replace("property uchar red", "property list uchar int red"), "list properties"),
        (lambda t: t.replace("list uchar int", "list float int"), "count type"),
        (lambda t: t.replace("element vertex 4", "element vertex four"), "malformed element"),
        (lambda t: t.replace("element vertex 4", "element point 4"), "no 'element vertex'"),
    ],
)
def test_garbled_headers(tmp_path: Path, mutate, needle: str) -> None:  # noqa: ANN001
    e = error_of(write(tmp_path, mutate(ASCII)))
    assert e.reason == "bad_header" and needle in str(e), str(e)


def test_header_offsets_and_elements(tmp_path: Path) -> None:
    data = ASCII.encode()
    header = parse_header(data, file="x")
    assert header.format == "ascii" and data[header.data_offset :].startswith(b"0 0 0 255")
    assert [(e.name, e.count, e.has_lists) for e in header.elements] == [
        ("vertex", 4, False),
        ("face", 2, True),
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    e = error_of(tmp_path / "missing.ply")
    assert e.reason == "unreadable_file"
