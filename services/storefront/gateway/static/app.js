// The storefront page: products from /api/products, orders to /api/orders, status polled until fulfilled.
"use strict";

const $ = (id) => document.getElementById(id);
const customer = $("customer");
const placeButton = $("place-order");
const statusLine = $("order-status");

customer.value = localStorage.getItem("customer") || "web-" + Math.random().toString(36).slice(2, 10);
customer.addEventListener("change", () => {
  localStorage.setItem("customer", customer.value);
  loadOrders();
});

async function api(path, options = {}) {
  const answer = await fetch(path, options);
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    throw new Error(body.detail || body.title || `HTTP ${answer.status}`);
  }
  return body;
}

function money(cents, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(36).slice(2);
}

async function loadProducts() {
  const rows = $("products").querySelector("tbody");
  try {
    const page = await api("/api/products?limit=100");
    rows.replaceChildren(
      ...page.items.map((product) => {
        const row = document.createElement("tr");
        row.dataset.productId = product.id;
        row.innerHTML = "<td><strong></strong><small></small></td><td></td>" +
          '<td><input class="quantity" type="number" min="0" max="100" value="0"></td>';
        row.querySelector("strong").textContent = product.name;
        row.querySelector("small").textContent = product.description || "";
        row.children[1].textContent = money(product.price_cents, product.currency);
        row.querySelector("input").setAttribute("aria-label", `Quantity of ${product.name}`);
        return row;
      }),
    );
    $("products-error").textContent = "";
    placeButton.disabled = false;
  } catch (error) {
    $("products-error").textContent = `Products are unavailable: ${error.message}`;
  }
}

function showStatus(order) {
  statusLine.dataset.status = order.status;
  statusLine.dataset.orderId = order.id;
  statusLine.textContent = `Order ${order.id}: ${order.status} (${money(order.total_cents, order.currency)})`;
}

async function placeOrder() {
  const items = [...document.querySelectorAll("#products tbody tr")]
    .map((row) => ({ product_id: row.dataset.productId, quantity: Number(row.querySelector("input").value) }))
    .filter((item) => item.quantity > 0);
  if (!items.length) {
    statusLine.textContent = "Choose a quantity of at least one product.";
    return;
  }
  placeButton.disabled = true;
  // One key per order: if the answer is lost and we send it again, the gateway returns the same order.
  const key = newKey();
  const request = {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify({ customer_id: customer.value, items }),
  };
  try {
    let order;
    try {
      order = await api("/api/orders", request);
    } catch (error) {
      order = await api("/api/orders", request); // once more, safely: same Idempotency-Key
    }
    showStatus(order);
    await watch(order.id);
  } catch (error) {
    statusLine.dataset.status = "failed";
    statusLine.textContent = `The order failed: ${error.message}`;
  } finally {
    placeButton.disabled = false;
    loadOrders();
  }
}

async function watch(orderId) {
  for (let attempt = 0; attempt < 120; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const order = await api(`/api/orders/${encodeURIComponent(orderId)}`).catch(() => null);
    if (order) {
      showStatus(order);
      if (order.status === "fulfilled") return;
    }
  }
}

async function loadOrders() {
  const list = $("orders");
  try {
    const page = await api(`/api/customers/${encodeURIComponent(customer.value)}/orders`);
    list.replaceChildren(
      ...page.items.map((order) => {
        const item = document.createElement("li");
        item.dataset.status = order.status;
        item.textContent = `${order.created_at.slice(0, 19).replace("T", " ")} ${order.id}: ` +
          `${order.status}, ${money(order.total_cents, order.currency)}`;
        return item;
      }),
    );
  } catch (error) {
    list.replaceChildren();
  }
}

placeButton.addEventListener("click", placeOrder);
loadProducts();
loadOrders();
