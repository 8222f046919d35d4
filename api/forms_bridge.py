"""A JSON body through the same Django form the web page uses (the same validation, the same messages):
fields the body leaves out take the form's defaults; fractions of the API become the form's percentages."""

from decimal import Decimal

from django import forms

from api.errors import ApiError
from strategies.forms import PercentField


def form_data(form: forms.BaseForm, given: dict) -> dict:
    data = {}
    for name, field in form.fields.items():
        if name in given and given[name] is not None:
            value = given[name]
            if isinstance(field, PercentField) and value != "":
                value = Decimal(str(value)) * 100
            if isinstance(field, forms.BooleanField):
                if not value:
                    continue  # an unchecked box is absent from a form post
                value = "on"
            data[name] = value
        else:
            value = form[name].value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[name] = "on"
                continue
            if value is not None:
                data[name] = value
    return data


def form_errors(form: forms.BaseForm) -> ApiError:
    errors = [{"field": None if name == "__all__" else name, "message": str(message)}
              for name, messages in form.errors.items() for message in messages]
    first = errors[0]["message"] if errors else "invalid"
    return ApiError(422, "invalid", first, details={"errors": errors})
