from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from core.permissions import HasPerm, IsOwnerOrHasPerm

from . import services
from .checkout import shipping_methods_for
from .filters import OrderFilter
from .models import Order
from .selectors import order_list
from .serializers import (
    OrderCreateSerializer,
    OrderQuoteInputSerializer,
    OrderQuoteSerializer,
    OrderSerializer,
    OrderShipSerializer,
    ShippingMethodQuerySerializer,
    ShippingMethodSerializer,
    quote_representation,
)
from .throttles import DiscountAttemptThrottle, OrderPlacementThrottle


@extend_schema_view(
    create=extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    ),
)
class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    permission_classes = [IsOwnerOrHasPerm]
    owner_id_attribute = "user_id"
    filterset_class = OrderFilter
    # The business-rule answers each action can give, for the schema (core/schema.py):
    # 409 insufficient_stock, hold_limit_exceeded, request_in_progress, invalid_status_transition;
    # 422 idempotency_key_reused.
    problem_statuses = {
        "create": ("409", "422"),
        "cancel": ("409",),
        "ship": ("409",),
        "deliver": ("409",),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return order_list(user=self.request.user)

    def get_permissions(self):
        if self.action in ("ship", "deliver"):
            return [HasPerm("orders.change_order")]
        return super().get_permissions()

    def get_throttles(self):
        if self.action == "create":
            return [OrderPlacementThrottle(), DiscountAttemptThrottle()]
        if self.action == "quote":  # a quote shows whether a code works, as placing does
            return [DiscountAttemptThrottle()]
        return super().get_throttles()

    def _respond(self, order, status_code=status.HTTP_200_OK):
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data, status=status_code)

    def create(self, request, *args, **kwargs):
        def place():
            serializer = OrderCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            order = services.order_place(
                user=request.user, require_shipping=True, **serializer.validated_data
            )
            return self._respond(order, status.HTTP_201_CREATED)

        return idempotent(request, scope="orders.create", handler=place)

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = services.order_cancel(order=self.get_object(), actor=request.user)
        return self._respond(order)

    @extend_schema(request=OrderQuoteInputSerializer, responses={200: OrderQuoteSerializer})
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def quote(self, request):
        """Price an order without placing it: holds no stock, counts no discount use. What
        would stop it being placed is listed in `problems` (problem documents)."""
        serializer = OrderQuoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.order_quote(user=request.user, **serializer.validated_data)
        return Response(
            quote_representation(
                quote, discount_code=serializer.validated_data.get("discount_code")
            )
        )

    @extend_schema(request=OrderShipSerializer, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        order = self.get_object()
        serializer = OrderShipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(
            services.order_ship(order=order, actor=request.user, **serializer.validated_data)
        )

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        return self._respond(services.order_deliver(order=self.get_object(), actor=request.user))


class ShippingMethodListView(APIView):
    """Active shipping methods serving a country (all active methods without `country`), with
    their standard price; `POST /api/orders/quote/` prices them for a cart."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[ShippingMethodQuerySerializer],
        responses={200: ShippingMethodSerializer(many=True)},
        tags=["shipping"],
    )
    def get(self, request):
        query = ShippingMethodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        methods = shipping_methods_for(query.validated_data.get("country", ""))
        return Response(ShippingMethodSerializer(methods, many=True).data)
