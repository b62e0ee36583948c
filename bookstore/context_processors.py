from django.conf import settings


def shop(request):
    """What the pages we render for customers show in their header: the way back to the shop."""
    return {"shop_url": settings.SHOP_URL}
