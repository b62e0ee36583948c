"""The address book: /api/users/me/addresses/."""

import pytest

from accounts.models import Address
from accounts.tests.factories import AddressFactory, UserFactory
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors

pytestmark = pytest.mark.django_db

URL = "/api/users/me/addresses/"
NEW_YORK = {
    "full_name": "Ada Reader",
    "line1": "1 Library Way",
    "city": "Albany",
    "region": "ny",
    "postal_code": "12207",
    "country": "US",
    "phone": "+1 518 555 0100",
}


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def test_create_list_update_delete(user_client):
    created = user_client.post(URL, NEW_YORK)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["region"] == "NY"  # normalised to the ISO 3166-2 code
    assert body["country"] == "US"
    assert body["is_default_shipping"] is True  # the first address is the default
    assert [a["id"] for a in user_client.get(URL).json()["results"]] == [body["id"]]

    changed = user_client.patch(
        f"{URL}{body['id']}/", {"line2": "Apt 4", "region": "US-NJ", "postal_code": "07030"}
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["line2"], changed.json()["region"]) == ("Apt 4", "NJ")
    assert changed.json()["full_name"] == "Ada Reader"

    assert user_client.delete(f"{URL}{body['id']}").status_code == 204
    assert not Address.objects.exists()


def test_someone_elses_address_is_404_and_untouched(user_client):
    theirs = AddressFactory(user=UserFactory(), line1="Their street 1")
    path = f"{URL}{theirs.pk}/"
    assert_problem(user_client.get(path), 404, "not_found")
    assert_problem(user_client.patch(path, {"line1": "Mine now"}), 404, "not_found")
    assert_problem(user_client.delete(path), 404, "not_found")
    assert user_client.get(URL).json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.line1 == "Their street 1"


def test_anonymous_is_401(api_client):
    assert_problem(api_client.get(URL), 401, "not_authenticated")
    assert_problem(api_client.post(URL, NEW_YORK), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "usa"}, "country"),
        ({"region": ""}, "region"),  # the US needs a state
        ({"region": "Narnia"}, "region"),
        ({"country": "CA", "region": "NY"}, "region"),  # not a Canadian province
        ({"line1": ""}, "line1"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"postal_code": ""}, "postal_code"),  # a US address needs a ZIP code
        ({"postal_code": "1220"}, "postal_code"),
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"postal_code": "90210"}, "postal_code"),  # a California ZIP code, not New York's
        ({"city": ""}, "city"),
        ({"country": "GB", "region": "", "postal_code": "12207"}, "postal_code"),
        ({"country": "DE", "region": "", "postal_code": "1011"}, "postal_code"),
        ({"country": "DE", "region": "", "postal_code": ""}, "postal_code"),
        ({"country": "JP", "region": "", "postal_code": "100-0001"}, "region"),
    ],
)
def test_invalid_addresses_are_400_naming_the_field(user_client, change, field):
    body = assert_problem(user_client.post(URL, {**NEW_YORK, **change}), 400, "validation_error")
    assert field in field_errors(body)
    assert not Address.objects.exists()


def test_a_us_address_without_a_zip_code_is_refused(user_client):
    body = assert_problem(
        user_client.post(URL, {**NEW_YORK, "postal_code": ""}), 400, "validation_error"
    )
    assert body["errors"] == [
        {
            "field": "postal_code",
            "code": "required",
            "message": "Addresses in US need a postal code.",
        }
    ]


def test_a_bad_postal_code_is_named_with_an_example(user_client):
    body = assert_problem(
        user_client.post(URL, {**NEW_YORK, "postal_code": "1220"}), 400, "validation_error"
    )
    assert body["errors"][0]["code"] == "invalid"
    assert "'1220'" in body["detail"] and "95014" in body["detail"]


def test_postal_codes_and_regions_are_stored_as_the_post_writes_them(user_client):
    london = {"full_name": "L", "line1": "1 Strand", "city": "London", "country": "GB"}
    created = user_client.post(URL, {**london, "postal_code": " wc2n 5hr "})
    assert created.status_code == 201, created.json()
    assert created.json()["postal_code"] == "WC2N 5HR"
    named = user_client.post(URL, {**NEW_YORK, "region": "New York"})
    assert named.json()["region"] == "NY"
    mumbai = {"full_name": "M", "line1": "1 Marine Drive", "city": "Mumbai", "country": "IN"}
    india = user_client.post(URL, {**mumbai, "region": "Maharashtra", "postal_code": "400001"})
    assert india.json()["region"] == "MH"  # the ISO 3166-2 code tax rates are keyed by


def test_a_change_is_checked_with_the_rest_of_the_address(user_client):
    created = user_client.post(URL, NEW_YORK).json()
    # Moving to New Jersey with New York's ZIP code: the stored ZIP no longer fits.
    moved = user_client.patch(f"{URL}{created['id']}/", {"region": "NJ"})
    assert field_errors(assert_problem(moved, 400, "validation_error")) == {"postal_code"}
    assert Address.objects.get().region == "NY"


def test_region_is_optional_where_tax_does_not_need_it(user_client):
    berlin = {"full_name": "B", "line1": "Unter den Linden 1", "city": "Berlin", "country": "DE"}
    created = user_client.post(URL, {**berlin, "postal_code": "10117"})
    assert created.status_code == 201, created.json()
    assert created.json()["region"] == ""


def test_one_default_shipping_address_per_user(user):
    client = client_for(user)
    first = client.post(URL, NEW_YORK).json()
    second = client.post(URL, {**NEW_YORK, "line1": "2 Other St"}).json()
    assert second["is_default_shipping"] is False
    client.patch(f"{URL}{second['id']}/", {"is_default_shipping": True})
    defaults = Address.objects.filter(user=user, is_default_shipping=True)
    assert list(defaults.values_list("pk", flat=True)) == [second["id"]]
    third = client.post(URL, {**NEW_YORK, "line1": "3 Third St", "is_default_shipping": True})
    assert list(defaults.values_list("pk", flat=True)) == [third.json()["id"]]
    assert Address.objects.get(pk=first["id"]).is_default_shipping is False


def test_put_is_not_offered(user_client):
    address = AddressFactory(user=user_client.user)
    assert_problem(user_client.put(f"{URL}{address.pk}/", NEW_YORK), 405, "method_not_allowed")
