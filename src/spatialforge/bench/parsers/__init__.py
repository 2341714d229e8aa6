"""Answer parsers: model replies -> typed answers with an explicit status, versioned by PARSER_VERSION.

Every parser is a pure function of the reply text (and, for choices, the offered options) returning `Parsed`;
none raises on any reply. Conventions and sources are documented per module.
"""

from spatialforge.bench.parsers.base import PARSER_VERSION, Parsed
from spatialforge.bench.parsers.box import parse_box
from spatialforge.bench.parsers.choice import parse_choice
from spatialforge.bench.parsers.clock import parse_clock
from spatialforge.bench.parsers.image_point import parse_image_point
from spatialforge.bench.parsers.index_list import parse_index_list
from spatialforge.bench.parsers.numbers import parse_angle, parse_number
from spatialforge.bench.parsers.points import parse_points
from spatialforge.bench.parsers.qspatial import parse_qspatial
from spatialforge.bench.parsers.units import UNIT_TO_M
from spatialforge.bench.parsers.vector import parse_vector
from spatialforge.bench.parsers.viewchange import parse_view_change
from spatialforge.bench.parsers.yesno import parse_yes_no

__all__ = [
    "PARSER_VERSION",
    "UNIT_TO_M",
    "Parsed",
    "parse_angle",
    "parse_box",
    "parse_choice",
    "parse_clock",
    "parse_image_point",
    "parse_index_list",
    "parse_number",
    "parse_points",
    "parse_qspatial",
    "parse_vector",
    "parse_view_change",
    "parse_yes_no",
]
