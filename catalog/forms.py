"""Forms of the back office's catalogue pages (the admin's stock adjustment and CSV import)."""

from django import forms
from django.conf import settings

# Far beyond any real delivery or write-off; catches a mistyped ISBN pasted into the box.
MAX_STOCK_DELTA = 100_000


class StockAdjustmentForm(forms.Form):
    """Add (or, negative, remove) the same number of copies to each selected book."""

    delta = forms.IntegerField(
        label="Change in copies on hand",
        min_value=-MAX_STOCK_DELTA,
        max_value=MAX_STOCK_DELTA,
        help_text="A whole number: 12 when a delivery of 12 arrived, -2 for two damaged copies.",
        widget=forms.NumberInput(attrs={"autofocus": True}),
    )
    note = forms.CharField(
        label="Reason",
        max_length=200,
        help_text="Kept in each book's history, e.g. “Delivery from the distributor”.",
    )

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("A change of 0 changes nothing; enter how many copies.")
        return delta


class BookImportForm(forms.Form):
    csv_file = forms.FileField(
        label="Books CSV",
        help_text=(
            "A goodbooks-10k style books.csv (UTF-8, with at least the book_id and title "
            "columns). Books are matched on ISBN-13, else on book_id; price and stock of books "
            "already in the shop are kept."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_csv_file(self):
        upload = self.cleaned_data["csv_file"]
        if upload.size > settings.BOOK_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.BOOK_IMPORT_MAX_BYTES // (1024 * 1024)} MB."
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text; save it from the spreadsheet as “CSV UTF-8”."
            ) from None
