// Sends the "continue to payment" form at once; without JavaScript its button does the same.
document.querySelectorAll("form[data-autosubmit]").forEach((form) => form.submit());
