import hashlib

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import not_found
from core.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from core.permissions import HasPerm, IsOwnerOrHasPerm

from . import carts, services
from .checkout import shipping_methods_for
from .filters import OrderFilter
from .models import Order, Return
from .selectors import order_list, return_list
from .serializers import (
    CartCheckoutSerializer,
    CartLineQuantitySerializer,
    CartMergeSerializer,
    CartSerializer,
    CartUpdateSerializer,
    DisputeClearSerializer,
    OrderCreateSerializer,
    OrderLineInputSerializer,
    OrderQuoteInputSerializer,
    OrderQuoteSerializer,
    OrderSerializer,
    OrderShipSerializer,
    ReturnCreateSerializer,
    ReturnQuoteInputSerializer,
    ReturnQuoteSerializer,
    ReturnReceiveSerializer,
    ReturnRejectSerializer,
    ReturnSerializer,
    ShippingMethodQuerySerializer,
    ShippingMethodSerializer,
    cart_representation,
    quote_representation,
)
from .throttles import (
    CartCreationThrottle,
    CartUseThrottle,
    DiscountAttemptThrottle,
    OrderPlacementThrottle,
    ReturnRequestThrottle,
)


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
    # 409 return_not_allowed, order_disputed.
    problem_statuses = {
        "create": ("409", "422"),
        "cancel": ("409",),
        "ship": ("409",),
        "deliver": ("409",),
        "clear_dispute": ("409",),
        "returns": ("409",),
        "returns_quote": ("409",),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return order_list(user=self.request.user)

    def get_permissions(self):
        if self.action in ("ship", "deliver", "clear_dispute"):
            return [HasPerm("orders.change_order")]
        return super().get_permissions()

    def get_throttles(self):
        if self.action == "create":
            return [OrderPlacementThrottle(), DiscountAttemptThrottle()]
        if self.action == "quote":  # a quote shows whether a code works, as placing does
            return [DiscountAttemptThrottle()]
        if self.action == "returns":
            return [ReturnRequestThrottle()]
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

    @extend_schema(request=DisputeClearSerializer, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"], url_path="clear-dispute")
    def clear_dispute(self, request, pk=None):
        """Lift the hold a payment dispute put on the order, so it can be shipped."""
        serializer = DisputeClearSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(
            services.order_dispute_clear(
                order=self.get_object(), actor=request.user, **serializer.validated_data
            )
        )

    @extend_schema(
        request=ReturnCreateSerializer, responses={201: ReturnSerializer}, tags=["returns"]
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def returns(self, request, pk=None):
        """Ask to return copies of your shipped or delivered order, within RETURN_WINDOW_DAYS of
        shipping. `refund_amount` is what comes back once the books arrive."""
        serializer = ReturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_return = services.return_request(
            user=request.user, order_id=_id(pk), **serializer.validated_data
        )
        return Response(
            ReturnSerializer(return_list(user=request.user).get(pk=order_return.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ReturnQuoteInputSerializer, responses={200: ReturnQuoteSerializer}, tags=["returns"]
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="returns/quote",
        filterset_class=None,
        pagination_class=None,
    )
    def returns_quote(self, request, pk=None):
        """What a return of these copies would refund, creating nothing."""
        serializer = ReturnQuoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.return_quote(
            user=request.user, order_id=_id(pk), items=serializer.validated_data["items"]
        )
        return Response(ReturnQuoteSerializer(quote).data)


def _id(pk):
    """A path's id as a number; anything else is nobody's object (404)."""
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise not_found() from None
    if not 1 <= value <= 2**63 - 1:
        raise not_found()
    return value


class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Returns: customers see their own; staff who may view returns see all (filter `status`)
    and, with the permission to change returns, take each step."""

    serializer_class = ReturnSerializer
    permission_classes = [IsOwnerOrHasPerm]
    owner_id_attribute = "order.user_id"
    filterset_fields = ["status"]
    problem_statuses = {"approve": ("409",), "reject": ("409",), "receive": ("409",)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Return.objects.none()
        return return_list(user=self.request.user)

    def get_permissions(self):
        if self.action in ("approve", "reject", "receive"):
            return [HasPerm("orders.change_return")]
        return super().get_permissions()

    def _respond(self, order_return):
        return Response(self.get_serializer(self.get_queryset().get(pk=order_return.pk)).data)

    @extend_schema(request=None, responses={200: ReturnSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._respond(
            services.return_approve(order_return=self.get_object(), actor=request.user)
        )

    @extend_schema(request=ReturnRejectSerializer, responses={200: ReturnSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        serializer = ReturnRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_return = self.get_object()
        return self._respond(
            services.return_reject(
                order_return=order_return, actor=request.user, **serializer.validated_data
            )
        )

    @extend_schema(request=ReturnReceiveSerializer, responses={200: ReturnSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        serializer = ReturnReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_return = self.get_object()
        return self._respond(
            services.return_receive(
                order_return=order_return, actor=request.user, **serializer.validated_data
            )
        )


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


def _cart_response(cart, status_code=status.HTTP_200_OK):
    return Response(cart_representation(cart, carts.cart_price(cart=cart)), status=status_code)


def _user_or_none(request):
    return request.user if request.user.is_authenticated else None


class CartCreateView(APIView):
    """A new anonymous cart. Its `id` is its key: keep it (anyone holding it may use the cart)."""

    permission_classes = [AllowAny]
    throttle_classes = [CartCreationThrottle]

    @extend_schema(request=None, responses={201: CartSerializer}, tags=["carts"])
    def post(self, request):
        return _cart_response(carts.cart_create(), status.HTTP_201_CREATED)


class _CartHolderView(APIView):
    """Anyone holding an anonymous cart's id; a customer's cart answers only to them."""

    permission_classes = [AllowAny]
    throttle_classes = [CartUseThrottle]

    def _cart(self, request, cart_id):
        return carts.cart_get(cart_id=cart_id, user=_user_or_none(request))


class CartView(_CartHolderView):
    """A cart priced now, in the quote's shape, with what would stop its checkout."""

    def get_throttles(self):
        # A changed code shows at once whether it works: the budget of quotes and orders.
        if self.request.method == "PATCH":
            return [*super().get_throttles(), DiscountAttemptThrottle()]
        return super().get_throttles()

    @extend_schema(responses={200: CartSerializer}, tags=["carts"])
    def get(self, request, cart_id):
        return _cart_response(self._cart(request, cart_id))

    @extend_schema(request=CartUpdateSerializer, responses={200: CartSerializer}, tags=["carts"])
    def patch(self, request, cart_id):
        cart = self._cart(request, cart_id)
        serializer = CartUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(carts.cart_update(cart=cart, **serializer.validated_data))


class CartItemsView(_CartHolderView):
    @extend_schema(
        request=OrderLineInputSerializer, responses={200: CartSerializer}, tags=["carts"]
    )
    def post(self, request, cart_id):
        cart = self._cart(request, cart_id)
        serializer = OrderLineInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _cart_response(
            carts.cart_line_add(cart=cart, book_id=data["book"], quantity=data["quantity"])
        )


class CartItemView(_CartHolderView):
    @extend_schema(
        request=CartLineQuantitySerializer, responses={200: CartSerializer}, tags=["carts"]
    )
    def patch(self, request, cart_id, book_id):
        cart = self._cart(request, cart_id)
        serializer = CartLineQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(
            carts.cart_line_set(
                cart=cart, book_id=int(book_id), quantity=serializer.validated_data["quantity"]
            )
        )

    @extend_schema(request=None, responses={200: CartSerializer}, tags=["carts"])
    def delete(self, request, cart_id, book_id):
        cart = self._cart(request, cart_id)
        return _cart_response(carts.cart_line_remove(cart=cart, book_id=int(book_id)))


class CartCheckoutView(APIView):
    """Place the cart's order exactly as POST /api/orders/ would; the cart is emptied."""

    throttle_classes = [OrderPlacementThrottle, DiscountAttemptThrottle]

    @extend_schema(
        request=CartCheckoutSerializer,
        responses={201: OrderSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        tags=["carts"],
    )
    def post(self, request, cart_id):
        def place():
            cart = carts.cart_get(cart_id=cart_id, user=request.user)
            serializer = CartCheckoutSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            order = carts.cart_checkout(cart=cart, user=request.user, **serializer.validated_data)
            return Response(
                OrderSerializer(order_list(user=request.user).get(pk=order.pk)).data,
                status=status.HTTP_201_CREATED,
            )

        # One key per cart: the same key on another cart is another checkout. The id is a
        # secret, so the stored scope names it by a digest. A retry replays the checkout while
        # the customer has not changed the cart since (its emptying by the checkout is no
        # change); the key used again on a cart changed since is idempotency_key_reused.
        cart_digest = hashlib.sha256(cart_id.encode()).hexdigest()[:32]
        return idempotent(
            request,
            scope=f"carts.checkout.{cart_digest}",
            handler=place,
            state=f"revision:{carts.cart_revision(cart_id=cart_id)}",
        )


class MyCartView(APIView):
    """The customer's one cart, made on first use."""

    throttle_classes = [CartUseThrottle]

    @extend_schema(responses={200: CartSerializer}, tags=["carts"])
    def get(self, request):
        return _cart_response(carts.cart_of_customer(user=request.user))


class MyCartMergeView(APIView):
    """Fold an anonymous cart into yours (quantities add, capped by the copies available and
    the per-line maximum); the anonymous cart is deleted."""

    throttle_classes = [CartUseThrottle]

    @extend_schema(request=CartMergeSerializer, responses={200: CartSerializer}, tags=["carts"])
    def post(self, request):
        serializer = CartMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _cart_response(
            carts.cart_merge(user=request.user, cart_id=serializer.validated_data["cart"])
        )
