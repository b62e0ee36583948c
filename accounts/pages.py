"""The small pages that account email links open by default (PASSWORD_RESET_URL,
EMAIL_VERIFICATION_URL): plain forms posting to the same services as the API, no script."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, retry_after_header

from . import services
from .models import User
from .throttles import AccountLinkThrottle
from .tokens import email_verification_tokens, password_reset_tokens, uid_decode


def _link_is_valid(uid, token, generator):
    user_id = uid_decode(uid)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    return user is not None and generator.check_token(user, token)


def _messages(error: ApplicationError):
    return [item["message"] for item in error.errors] or [error.detail]


def _throttled(request, template, context):
    """The API's link throttle (the same counter: a token tried here or there is one attempt),
    checked before the link is: a page that answers 200 to every guess would be a free oracle."""
    throttle = AccountLinkThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = retry_after_header(throttle.wait())
    minutes = -(-int(wait) // 60)
    context = {
        **context,
        "errors": [f"Too many attempts from your address; please try again in {minutes} minutes."],
        "link_invalid": True,
    }
    response = render(request, template, context, status=429)
    response["Retry-After"] = wait
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_page(request):
    source = request.POST if request.method == "POST" else request.GET
    uid, token = source.get("uid", "")[:64], source.get("token", "")[:128]
    context = {"shop_name": settings.SHOP_NAME, "uid": uid, "token": token, "errors": []}
    if throttled := _throttled(request, "accounts/password_reset.html", context):
        return throttled
    if request.method == "POST":
        password, repeated = request.POST.get("new_password", ""), request.POST.get("repeat", "")
        if password != repeated:
            context["errors"] = ["The two passwords differ."]
        else:
            try:
                services.user_password_reset_confirm(uid=uid, token=token, new_password=password)
            except ApplicationError as error:
                context["errors"] = _messages(error)
            else:
                return render(request, "accounts/password_reset_done.html", context)
    elif not _link_is_valid(uid, token, password_reset_tokens):
        context["errors"] = ["This link is not valid or has expired. Please ask for a new one."]
        context["link_invalid"] = True
    return render(request, "accounts/password_reset.html", context, status=200)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_email_page(request):
    source = request.POST if request.method == "POST" else request.GET
    uid, token = source.get("uid", "")[:64], source.get("token", "")[:128]
    context = {"shop_name": settings.SHOP_NAME, "uid": uid, "token": token, "errors": []}
    if throttled := _throttled(request, "accounts/verify_email.html", context):
        return throttled
    # Opening the link only shows a button: mail scanners that fetch links verify nothing.
    if request.method == "POST":
        try:
            newly_verified = services.user_email_verify(uid=uid, token=token)
        except ApplicationError as error:
            context["errors"] = _messages(error)
        else:
            context["verified" if newly_verified else "already_verified"] = True
    elif services.user_email_verification_link_used(uid=uid, token=token):
        context["already_verified"] = True
    elif not _link_is_valid(uid, token, email_verification_tokens):
        context["errors"] = ["This link is not valid or has expired."]
    return render(request, "accounts/verify_email.html", context)
