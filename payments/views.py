import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from djstripe.views import ProcessWebhookView
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from bookstore.errors import ApplicationError
from bookstore.exceptions import problem_json_response
from bookstore.permissions import IsOwnerOrStaff, IsStaff
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from orders.models import PAID_STATUSES, UNPAID_CLOSED_STATUSES, Order

from . import selectors, services
from .models import Payment, PaymentStatus
from .serializers import (
    PaymentConfirmResultSerializer,
    PaymentConfirmSerializer,
    PaymentSerializer,
    PaymentStartSerializer,
    RefundRequestSerializer,
)


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
    permission_classes = [IsOwnerOrStaff]
    owner_id_attribute = "order.user_id"
    filterset_fields = ["status", "order"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Payment.objects.none()
        return selectors.payment_list(user=self.request.user)

    def get_permissions(self):
        if self.action == "refund":
            return [IsStaff()]
        return super().get_permissions()

    def create(self, request, *args, **kwargs):
        def start():
            serializer = PaymentStartSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payment, created = services.payment_start(
                user=request.user, order_id=serializer.validated_data["order"]
            )
            return Response(
                PaymentSerializer(payment).data,
                status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            )

        return idempotent(request, scope="payments.create", handler=start)

    @extend_schema(
        request=PaymentConfirmSerializer, responses={200: PaymentConfirmResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        payment = self.get_object()
        if payment.order.user_id != request.user.pk:
            raise ApplicationError("not_found", "Not found.")
        serializer = PaymentConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
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


# --- The hosted pay page ---------------------------------------------------------------------
# Reached through the unguessable token that only the order's owner received.


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
            "stripe_js_url": settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "shop_name": settings.SHOP_NAME,
        },
    )


@require_POST
def pay_page_confirm(request, token):
    payment = get_object_or_404(Payment, token=token)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return problem_json_response("parse_error", "The body is not JSON.")
    serializer = PaymentConfirmSerializer(data=body if isinstance(body, dict) else {})
    if not serializer.is_valid():
        return problem_json_response("validation_error", "payment_method is missing or invalid.")
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


@require_GET
def pay_page_result(request, token):
    payment = get_object_or_404(Payment.objects.select_related("order"), token=token)
    order = payment.order
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
        {"payment": payment, "order": order, "outcome": outcome, "shop_name": settings.SHOP_NAME},
    )


class StripeWebhookView(ProcessWebhookView):
    """dj-stripe's webhook endpoint, with its bare 400s turned into problem documents."""

    def post(self, request, uuid):
        response = super().post(request, uuid)
        if response.status_code == 400:
            return problem_json_response(
                "validation_error", "The webhook's signature is missing, invalid or too old."
            )
        return response


@require_GET
def pay_order(request, order_token):
    """The link in the order emails: start (or resume) paying, then go to the pay page."""
    order = get_object_or_404(Order, payment_token=order_token)
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
