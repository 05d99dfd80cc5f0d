"""Official tambon codes and names, from the ``geothai`` package (data CC-BY-4.0)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import geothai

_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name_th: str
    amphoe_th: str
    province_th: str
    name_en: str
    amphoe_en: str
    province_en: str


class UnknownTambon(LookupError):
    """No tambon has this code in the gazetteer."""


def valid_code(code: str) -> bool:
    return bool(_CODE.match(code))


def lookup(code: str) -> Place:
    """The tambon with official 6-digit ``code``; raises UnknownTambon."""
    address = geothai.address(code) if valid_code(code) else None
    if address is None:
        raise UnknownTambon(code)
    return Place(
        code=code,
        name_th=address.subdistrict.name_th,
        amphoe_th=address.district.name_th,
        province_th=address.province.name_th,
        name_en=address.subdistrict.name_en,
        amphoe_en=address.district.name_en,
        province_en=address.province.name_en,
    )
