from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from apps.core.text import text_problem

from . import registry
from .models import Connector


class ConnectorForm(forms.ModelForm):
    kind = forms.ChoiceField(label="CRM", choices=())

    class Meta:
        model = Connector
        fields = ["name", "kind", "is_active", "is_paused"]
        labels = {"is_active": "Active", "is_paused": "Paused"}

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["kind"].choices = registry.choices()
        if self.instance.pk:
            self.fields["kind"].disabled = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save"))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        problem = text_problem(name, max_length=Connector._meta.get_field("name").max_length)
        if problem:
            raise forms.ValidationError(f"The name {problem}.")
        clash = Connector.objects.filter(account=self.account, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another connector of this account already has this name.")
        return name
