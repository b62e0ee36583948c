import json
import logging

import django_filters
import stripe
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from djstripe.models import WebhookEndpoint
from djstripe.views import ProcessWebhookView
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.addresses import address_lines
from core import parsers as json_body
from core.errors import ApplicationError, not_found, retry_after_header
from core.exceptions import problem_json_response
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from core.permissions import HasPerm, IsOwnerOrHasPerm
from orders.models import PAID_STATUSES, UNPAID_CLOSED_STATUSES, Order
from orders.selectors import return_list
from orders.serializers import ReturnSerializer

from . import selectors, services
from .models import OPEN_STATUSES, Payment, PaymentStatus
from .permissions import REFUND_PERMISSION, RETURN_REFUND_PERMISSIONS
from .serializers import (
    PaymentConfirmResultSerializer,
    PaymentConfirmSerializer,
    PaymentSerializer,
    PaymentStartSerializer,
    RefundRequestSerializer,
)
from .throttles import PaymentAttemptThrottle, PaymentStripeThrottle, first_refusal

logger = logging.getLogger(__name__)


class PaymentFilter(django_filters.FilterSet):
    # A number, not a choice among every order in the shop: a choice filter answered 400 for
    # an order that does not exist and 200 for someone else's, telling them apart.
    order = django_filters.NumberFilter(field_name="order_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Payment
        fields = ["status", "order"]


@extend_schema_view(
    create=extend_schema(
        request=PaymentStartSerializer,
        responses={201: PaymentSerializer, 200: PaymentSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        description="Start paying a pending order; an order's still-open payment is returned "
        "(200) instead of a second one.",
    ),
)
class PaymentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PaymentSerializer
    permission_classes = [IsOwnerOrHasPerm]
    owner_id_attribute = "order.user_id"
    filterset_class = PaymentFilter
    # The business-rule answers each action can give, for the schema (core/schema.py):
    # 402 payment_failed (a declined card); 409 order_not_payable, order_expired,
    # order_below_minimum, request_in_progress; 422 idempotency_key_reused; 502
    # payment_provider_error (Stripe failed or could not be reached).
    problem_statuses = {
        "create": ("409", "422", "502"),
        "confirm": ("402", "409", "502"),
        "refund": ("409", "502"),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Payment.objects.none()
        payments = selectors.payment_list(user=self.request.user)
        # Confirming pays with a card: only the order's owner, whoever else may see the payment.
        if self.action == "confirm":
            return payments.filter(order__user=self.request.user)
        return payments

    def get_permissions(self):
        if self.action == "refund":
            return [HasPerm(REFUND_PERMISSION)]
        return super().get_permissions()

    def create(self, request, *args, **kwargs):
        def start():
            serializer = PaymentStartSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            _refuse_past(request, PaymentAttemptThrottle(request.user.pk))
            payment, created = services.payment_start(
                user=request.user, order_id=serializer.validated_data["order"]
            )
            return Response(
                PaymentSerializer(payment).data,
                status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            )

        # payment_start calls Stripe between short transactions, and a retry after a crash
        # returns the order's open payment (Stripe's own idempotency keys make it one intent).
        return idempotent(request, scope="payments.create", handler=start, atomic=False)

    @extend_schema(
        request=PaymentConfirmSerializer, responses={200: PaymentConfirmResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        payment = self.get_object()
        if payment.order.user_id != request.user.pk:
            raise not_found()
        serializer = PaymentConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _refuse_past(
            request,
            PaymentStripeThrottle("confirm", payment.pk),
            PaymentAttemptThrottle(request.user.pk),
        )
        payment, next_step = services.payment_confirm(
            payment=payment, payment_method=serializer.validated_data["payment_method"]
        )
        payment.next_step = next_step
        return Response(PaymentConfirmResultSerializer(payment).data)

    @extend_schema(request=RefundRequestSerializer, responses={200: PaymentSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.payment_refund(
            payment=self.get_object(),
            actor=request.user,
            amount=serializer.validated_data.get("amount"),
        )
        return Response(PaymentSerializer(self.get_queryset().get(pk=pk)).data)


def _refuse_past(request, *throttles) -> None:
    refusing = first_refusal(request, *throttles)
    if refusing is not None:
        raise Throttled(wait=refusing.wait())


class ReturnRefundView(APIView):
    """Refund a received return: exactly its `refund_amount`, at Stripe, once (a retry answers
    the refunded return). Part of /api/returns/, served here because refunds are the payments
    app's."""

    problem_statuses = {None: ("409", "502")}  # return_not_allowed, invalid_status_transition

    def get_permissions(self):
        return [HasPerm(*RETURN_REFUND_PERMISSIONS)]

    @extend_schema(request=None, responses={200: ReturnSerializer}, tags=["returns"])
    def post(self, request, pk):
        returns = return_list(user=request.user)
        order_return = returns.filter(pk=pk).first()
        if order_return is None:
            raise not_found()
        services.return_refund(order_return=order_return, actor=request.user)
        return Response(ReturnSerializer(returns.get(pk=pk)).data)


# --- The hosted pay page ---------------------------------------------------------------------
# Reached through the unguessable token that only the order's owner received.


@never_cache
@require_GET
def pay_page(request, token):
    payment = get_object_or_404(Payment.objects.select_related("order"), token=token)
    return render(
        request,
        "payments/pay.html",
        {
            "payment": payment,
            "order": payment.order,
            "items": payment.order.items.all(),
            "shipping_lines": address_lines(payment.order.shipping_address),
            "stripe_js_url": settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "shop_name": settings.SHOP_NAME,
        },
    )


@never_cache
@require_POST
def pay_page_confirm(request, token):
    payment = get_object_or_404(Payment.objects.select_related("order"), token=token)
    try:
        body = json_body.loads(json_body.read_limited(request) or b"{}")
    except ValidationError:  # well-formed JSON the parser refuses (a NUL character)
        return problem_json_response("validation_error", "payment_method is missing or invalid.")
    except APIException as exc:
        code = "payload_too_large" if exc.status_code == 413 else "parse_error"
        return problem_json_response(code, str(exc.detail))
    serializer = PaymentConfirmSerializer(data=body if isinstance(body, dict) else {})
    if not serializer.is_valid():
        return problem_json_response("validation_error", "payment_method is missing or invalid.")
    # Counted only for a card that would go to Stripe: a malformed request spends nothing.
    refusing = first_refusal(
        request,
        PaymentStripeThrottle("confirm", payment.pk),
        PaymentAttemptThrottle(payment.order.user_id, per_address=True),
    )
    if refusing is not None:
        response = problem_json_response("throttled", "Too many attempts; try again later.")
        response["Retry-After"] = retry_after_header(refusing.wait())
        return response
    try:
        payment, next_step = services.payment_confirm(
            payment=payment, payment_method=serializer.validated_data["payment_method"]
        )
    except ApplicationError as exc:
        return problem_json_response(exc.code, exc.detail)
    return JsonResponse(
        {
            "status": payment.status,
            "next_step": next_step,
            "client_secret": payment.stripe_client_secret,
        }
    )


@never_cache
@require_GET
def pay_page_result(request, token):
    payment = get_object_or_404(Payment.objects.select_related("order"), token=token)
    # Past the limit the page shows what the shop knows (the webhook brings the rest) rather
    # than asking Stripe on every reload.
    if PaymentStripeThrottle("result", payment.pk).allow_request(request, None):
        payment = services.payment_refresh_unsettled(payment=payment)
    order = Order.objects.get(pk=payment.order_id)
    if order.status in PAID_STATUSES:
        outcome = "paid"
    elif payment.status == PaymentStatus.FAILED:
        outcome = "failed"
    elif order.display_status in UNPAID_CLOSED_STATUSES:
        outcome = order.display_status
    else:
        outcome = "processing"
    return render(
        request,
        "payments/result.html",
        {
            "payment": payment,
            "order": order,
            "outcome": outcome,
            "items": order.items.all(),
            "shipping_lines": address_lines(order.shipping_address),
            "shop_name": settings.SHOP_NAME,
        },
    )


class StripeWebhookThrottle(SimpleRateThrottle):
    """Requests to the webhook endpoint per client address (REST_FRAMEWORK's "stripe_webhook"
    rate). Stripe spreads its deliveries out and retries a 429 later."""

    scope = "stripe_webhook"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class StripeWebhookView(ProcessWebhookView):
    """dj-stripe's webhook endpoint behind checks of our own, so that what a stranger can send
    costs nothing and stores nothing: a rate limit per address, a size limit (413), the
    endpoint id, and the Stripe-Signature checked against the endpoint's secret (never a
    secret the request itself names, whatever DEBUG says). Only then does dj-stripe store and
    process the event. Every refusal is a problem document."""

    def post(self, request, uuid):
        throttle = StripeWebhookThrottle()
        if not throttle.allow_request(request, self):
            response = problem_json_response("throttled", "Too many webhook requests.")
            response["Retry-After"] = retry_after_header(throttle.wait())
            return response
        if _content_length(request) > settings.STRIPE_WEBHOOK_MAX_BYTES:
            return problem_json_response(
                "payload_too_large",
                f"A webhook body may have at most {settings.STRIPE_WEBHOOK_MAX_BYTES} bytes.",
            )
        endpoint = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).first()
        if endpoint is None:
            return problem_json_response("not_found", "Not found.")
        if not _verified_event(
            request, secret=endpoint.secret, tolerance=endpoint.djstripe_tolerance
        ):
            return problem_json_response(
                "validation_error", "The webhook's signature is missing, invalid or too old."
            )
        # dj-stripe would take this header's value as the signing secret when DEBUG is on.
        request.META.pop("HTTP_X_DJSTRIPE_WEBHOOK_SECRET", None)
        request.__dict__.pop("headers", None)
        try:
            response = super().post(request, uuid)
        except ApplicationError as exc:
            # Stripe delivers the event again later.
            logger.error("Webhook event could not be applied: %s", exc.detail)
            return problem_json_response(exc.code, exc.detail)
        except stripe.StripeError as exc:
            logger.error("Webhook event could not be applied: %s", exc)
            return problem_json_response(
                "payment_provider_error", "Stripe could not be asked about the event."
            )
        if response.status_code == 400:
            return problem_json_response(
                "validation_error", "The webhook's signature is missing, invalid or too old."
            )
        return response


def _content_length(request):
    try:
        return int(request.headers.get("content-length") or 0)
    except ValueError:
        return 0


def _verified_event(request, *, secret, tolerance):
    """True for a body signed with `secret` that is a JSON event object."""
    signature = request.headers.get("Stripe-Signature")
    if not signature or not secret:
        return False
    try:
        body = request.body.decode("utf-8")
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance)
        if "\x00" in body or "\\u0000" in body:
            return False  # PostgreSQL cannot store NUL in text or jsonb
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError, stripe.SignatureVerificationError):
        return False
    return isinstance(event, dict) and {"id", "livemode", "type", "data"} <= event.keys()


@never_cache
@require_http_methods(["GET", "POST"])
def pay_order(request, order_token):
    """The link in the order emails. A GET changes nothing (mail scanners and link previews
    follow links): it goes to the order's open payment if there is one, or shows a page whose
    form (sent at once by a script) POSTs here to start the payment, then opens the pay page."""
    order = get_object_or_404(Order, payment_token=order_token)
    if request.method == "GET":
        open_payment = order.payments.filter(status__in=OPEN_STATUSES).order_by("-pk").first()
        if open_payment and order.display_status == "pending":
            return redirect("pay-page", open_payment.token)
        if order.display_status == "pending":
            return render(
                request, "payments/start.html", {"order": order, "shop_name": settings.SHOP_NAME}
            )
    throttle = PaymentStripeThrottle("start", order.pk)
    if not throttle.allow_request(request, None):
        detail = "Too many attempts to start paying this order; please try again later."
        response = render(
            request,
            "payments/not_payable.html",
            {"order": order, "detail": detail, "shop_name": settings.SHOP_NAME},
            status=429,
        )
        response["Retry-After"] = retry_after_header(throttle.wait())
        return response
    try:
        payment, _ = services.payment_start(user=order.user, order_id=order.pk)
    except ApplicationError as exc:
        if exc.code in ("order_not_payable", "order_expired"):
            paid = selectors.order_captured_payment(order=order)
            if paid:
                return redirect("pay-page-result", paid.token)
            return render(
                request,
                "payments/not_payable.html",
                {"order": order, "detail": exc.detail, "shop_name": settings.SHOP_NAME},
                status=409,
            )
        raise
    return redirect("pay-page", payment.token)
