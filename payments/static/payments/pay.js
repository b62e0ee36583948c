// The hosted pay page (templates/payments/pay.html). A file of its own, not an inline script, so
// that the page's Content-Security-Policy can allow scripts from our origin and Stripe.js only.
(function () {
  const form = document.getElementById("payment-form");
  if (!form) { return; }
  const config = form.dataset;
  const stripe = Stripe(config.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = document.getElementById("pay-button");
  const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    try {
      // 1. The card becomes a PaymentMethod through the SetupIntent (works with Stripe.js and
      //    the local test server alike); 2. our server attaches it and confirms the payment.
      const setup = await stripe.confirmCardSetup(config.setupClientSecret, {
        payment_method: { card: card },
      });
      if (setup.error) { throw new Error(setup.error.message || "The card was not accepted."); }
      const response = await fetch(config.confirmUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ payment_method: setup.setupIntent.payment_method }),
      });
      const body = await response.json();
      if (!response.ok) { throw new Error(body.detail || "The payment failed."); }
      if (body.next_step === "requires_action") {
        const action = await stripe.confirmCardPayment(body.client_secret);
        if (action.error) { throw new Error(action.error.message || "Authentication failed."); }
      }
      window.location.href = config.resultUrl;
    } catch (error) {
      errors.textContent = error.message;
      button.disabled = false;
    }
  });
})();
