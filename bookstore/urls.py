from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bookstore import dashboard
from core.exceptions import api_not_found
from payments import urls as payments_urls

from .metrics import metrics_view
from .views import HealthView

admin.site.site_header = f"{settings.SHOP_NAME} back office"
admin.site.site_title = settings.SHOP_NAME
admin.site.index_title = "Run the shop"
dashboard.install(admin.site)

urlpatterns = [
    re_path(r"^api/health/?$", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/users/", include("accounts.urls")),
    path("api/", include("catalog.urls")),
    path("api/", include("orders.urls")),
    path("api/", include(payments_urls.api_urlpatterns)),
    path("", include(payments_urls.page_urlpatterns)),
    path("", include("accounts.page_urls")),
    path("admin/", admin.site.urls),
    re_path(r"^api/", api_not_found),
]

handler400 = "core.exceptions.bad_request"
handler403 = "core.exceptions.permission_denied"
handler404 = "core.exceptions.page_not_found"
handler500 = "core.exceptions.server_error"
