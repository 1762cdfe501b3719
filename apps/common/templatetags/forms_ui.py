from django import template

register = template.Library()

_SELECT_WIDGETS = {"select", "selectmultiple", "nullbooleanselect"}


@register.simple_tag
def widget(field, **attrs):
    """Render a bound field's widget with Bootstrap classes and `is-invalid` when it has errors."""
    css = "form-select" if field.widget_type in _SELECT_WIDGETS else "form-control"
    if field.errors:
        css += " is-invalid"
    extra = attrs.pop("class", "")
    attrs["class"] = f"{css} {extra}".strip()
    return field.as_widget(attrs=attrs)
