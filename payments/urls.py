from django.urls import path, re_path

from core.routers import OptionalSlashRouter

from . import views

router = OptionalSlashRouter()
router.register("payments", views.PaymentViewSet, basename="payment")

api_urlpatterns = [
    re_path(
        r"^returns/(?P<pk>[0-9]{1,18})/refund/?$",
        views.ReturnRefundView.as_view(),
        name="return-refund",
    ),
    *router.urls,
]

page_urlpatterns = [
    path("pay/order/<uuid:order_token>/", views.pay_order, name="pay-order"),
    path("pay/<uuid:token>/", views.pay_page, name="pay-page"),
    path("pay/<uuid:token>/confirm/", views.pay_page_confirm, name="pay-page-confirm"),
    path("pay/<uuid:token>/result/", views.pay_page_result, name="pay-page-result"),
    re_path(
        r"^stripe/webhook/(?P<uuid>[0-9a-f-]{36})/?$",
        views.StripeWebhookView.as_view(),
        name="stripe-webhook",
    ),
]
