app_name = "keap"
urlpatterns: list = []
