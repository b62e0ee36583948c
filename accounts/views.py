from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from . import selectors, services
from .serializers import (
    AcceptedSerializer,
    AccountCloseSerializer,
    DataExportSerializer,
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
from .throttles import PasswordResetEmailThrottle


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
        user = services.user_register(**serializer.validated_data)
        return Response(RegisteredSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: TokenPairSerializer}, tags=["users"])
class LoginView(jwt_views.TokenObtainPairView):
    """Email and password in, an access and a refresh token out."""

    serializer_class = LoginSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


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
    delete_request_body = True  # the password confirms closing the account

    @extend_schema(responses={200: UserSerializer}, tags=["users"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: UserSerializer}, tags=["users"])
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=AccountCloseSerializer,
        responses={204: None},
        tags=["users"],
        description=(
            "Closes the account: pending orders are cancelled, personal data is anonymised, "
            "every token is revoked. Orders and payments are kept for the shop's accounts."
        ),
    )
    def delete(self, request):
        serializer = AccountCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_close(user=request.user, actor=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: DataExportSerializer},
        tags=["users"],
        description=(
            "Everything the shop keeps about you, as one JSON document: profile, addresses, "
            "orders with items, history and payments (without secrets), emails sent to you."
        ),
    )
    def get(self, request):
        response = Response(selectors.user_data_export(user=request.user))
        response["Content-Disposition"] = 'attachment; filename="my-bookstore-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PasswordChangeSerializer, responses={204: None}, tags=["users"])
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_change_password(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


RESET_ACCEPTED = (
    "If an account uses this address, we have emailed it a link to choose a new password."
)
VERIFICATION_ACCEPTED = "If your address is not verified yet, we have emailed you a new link."


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle, PasswordResetEmailThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetRequestSerializer,
        responses={202: AcceptedSerializer},
        tags=["users"],
        description="Always 202 with the same body, whether the address has an account or not.",
    )
    def post(self, request):
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_reset_request(**serializer.validated_data)
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "account_link"

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
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "account_link"

    @extend_schema(request=EmailVerifySerializer, responses={204: None}, tags=["users"])
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_email_verify(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyResendView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify_email_resend"

    @extend_schema(request=None, responses={202: AcceptedSerializer}, tags=["users"])
    def post(self, request):
        services.user_email_verification_resend(user=request.user)
        return Response({"detail": VERIFICATION_ACCEPTED}, status=status.HTTP_202_ACCEPTED)
