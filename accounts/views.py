from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from . import lockout, services
from .exports import DataExportSerializer, user_data_export
from .models import Address
from .serializers import (
    AcceptedSerializer,
    AccountCloseSerializer,
    AddressBookInputSerializer,
    AddressSerializer,
    EmailVerifySerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from .throttles import (
    AccountLinkThrottle,
    CurrentPasswordThrottle,
    DataExportThrottle,
    EmailChangeThrottle,
    PasswordResetEmailThrottle,
    RegisterEmailThrottle,
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterSerializer,
        responses={201: RegisteredSerializer},
        tags=["users"],
        description=(
            "Creates the account and emails a link that verifies the address. An address that "
            "already has an account gets the same answer, and its owner an email."
        ),
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The per-address limit caps the emails an address receives; it never refuses the
        # request, or anyone could keep the owner from registering by trying three times first.
        address_throttle = RegisterEmailThrottle()
        user = services.user_register(
            **serializer.validated_data,
            may_send=lambda: address_throttle.allow_request(request, self),
        )
        return Response(RegisteredSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: TokenPairSerializer}, tags=["users"])
class LoginView(jwt_views.TokenObtainPairView):
    """Email and password in, an access and a refresh token out."""

    serializer_class = LoginSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def post(self, request, *args, **kwargs):
        # The same lockout as the admin's login (accounts/lockout.py); failures are recorded by
        # django-axes through authenticate(), which the serializer calls.
        email = request.data.get("email") if isinstance(request.data, dict) else None
        email = email if isinstance(email, str) else None
        if lockout.login_locked_out(request, email=email):
            raise lockout.login_locked_error()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A login like the admin's: resets the failure count (and records last_login).
        user_logged_in.send(sender=type(serializer.user), request=request, user=serializer.user)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(responses={200: TokenPairSerializer}, tags=["users"])
class TokenRefreshView(jwt_views.TokenRefreshView):
    """A refresh token in, a new access and refresh token out; the old refresh token is revoked.
    Presenting a revoked refresh token again revokes every token of its user."""

    serializer_class = RefreshSerializer


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=LogoutSerializer, responses={204: None}, tags=["users"])
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_logout(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    # Only requests that carry a password or a new email count (accounts/throttles.py).
    throttle_classes = [CurrentPasswordThrottle, EmailChangeThrottle]
    delete_request_body = True  # the password confirms closing the account

    @extend_schema(responses={200: UserSerializer}, tags=["users"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: UserSerializer}, tags=["users"])
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        password = serializer.validated_data.get("password")
        with lockout.current_password_attempt(
            request, user=request.user, password=password, field="password"
        ):
            user = services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=AccountCloseSerializer,
        responses={204: None},
        tags=["users"],
        description=(
            "Closes the account: pending orders are cancelled, personal data is anonymised, "
            "every token is revoked. Orders and payments are kept for the shop's accounts. A "
            "paid order not shipped yet keeps its shipping address and the email address until "
            "it is shipped, refunded or delivered, then they are removed too."
        ),
    )
    def delete(self, request):
        serializer = AccountCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        password = serializer.validated_data["password"]
        with lockout.current_password_attempt(
            request, user=request.user, password=password, field="password"
        ):
            services.user_close(user=request.user, actor=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [DataExportThrottle]

    @extend_schema(
        responses={200: DataExportSerializer},
        tags=["users"],
        description=(
            "Everything the shop keeps about you, as one JSON document: profile, addresses, "
            "orders with items, history, returns and payments (without secrets), the cart, "
            "reviews, wishlist and alerts, emails sent to you. Limited per customer "
            "(THROTTLE_DATA_EXPORT_RATE)."
        ),
    )
    def get(self, request):
        response = Response(user_data_export(user=request.user))
        response["Content-Disposition"] = 'attachment; filename="my-bookstore-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [CurrentPasswordThrottle]

    @extend_schema(request=PasswordChangeSerializer, responses={204: None}, tags=["users"])
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with lockout.current_password_attempt(
            request,
            user=request.user,
            password=serializer.validated_data["current_password"],
            field="current_password",
        ):
            services.user_change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(tags=["addresses"]),
    retrieve=extend_schema(tags=["addresses"]),
    create=extend_schema(
        tags=["addresses"], request=AddressBookInputSerializer, responses={201: AddressSerializer}
    ),
    partial_update=extend_schema(
        tags=["addresses"], request=AddressBookInputSerializer, responses={200: AddressSerializer}
    ),
    destroy=extend_schema(tags=["addresses"], responses={204: None}),
)
class AddressViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The signed-in customer's address book. Someone else's address is a 404."""

    serializer_class = AddressSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Address.objects.none()
        return Address.objects.filter(user=self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = AddressBookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(user=request.user, **serializer.validated_data)
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        address = self.get_object()
        serializer = AddressBookInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=address, **serializer.validated_data)
        return Response(AddressSerializer(address).data)

    def destroy(self, request, *args, **kwargs):
        services.address_delete(address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


RESET_ACCEPTED = (
    "If an account uses this address, we have emailed it a link to choose a new password."
)
ALREADY_VERIFIED = "This email address is already confirmed."
VERIFICATION_ACCEPTED = "If your address is not verified yet, we have emailed you a new link."


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetRequestSerializer,
        responses={202: AcceptedSerializer},
        tags=["users"],
        description=(
            "Always 202 with the same body, whether the address has an account or not, and "
            "whether or not the address has had its share of reset emails this hour."
        ),
    )
    def post(self, request):
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The per-address limit caps the emails an address receives; it never refuses the
        # request, or anyone could keep the owner from resetting by asking three times first.
        send = PasswordResetEmailThrottle().allow_request(request, self)
        services.user_password_reset_request(**serializer.validated_data, send=send)
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AccountLinkThrottle]

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={204: None},
        tags=["users"],
        description="Sets the new password and signs the user out everywhere.",
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AccountLinkThrottle]

    @extend_schema(
        request=EmailVerifySerializer,
        responses={204: None, 200: AcceptedSerializer},
        description="204: the address is now verified. 200 with a `detail`: the link was "
        "used before and the address is already verified.",
        tags=["users"],
    )
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if services.user_email_verify(**serializer.validated_data):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response({"detail": ALREADY_VERIFIED})


class EmailVerifyResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify_email_resend"

    @extend_schema(request=None, responses={202: AcceptedSerializer}, tags=["users"])
    def post(self, request):
        services.user_email_verification_resend(user=request.user)
        return Response({"detail": VERIFICATION_ACCEPTED}, status=status.HTTP_202_ACCEPTED)
