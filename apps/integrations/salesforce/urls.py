app_name = "salesforce"
urlpatterns: list = []
