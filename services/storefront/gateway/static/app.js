// The storefront page: products from /api/products; a customer signs in against the user pool (Cognito's
// InitiateAuth, USER_PASSWORD_AUTH, at the endpoint /api/sign-in names), then places orders to /api/orders and
// lists them from /api/me/orders with the access token; an order's status is polled until fulfilled.
// The token lives in this page's memory only (never in localStorage or a cookie): a reload or sign-out forgets it.
"use strict";

const $ = (id) => document.getElementById(id);
const placeButton = $("place-order");
const statusLine = $("order-status");

let session = null; // {username, token} while a customer is signed in
let productsLoaded = false;

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const answer = await fetch(path, { ...options, headers });
  const body = await answer.json().catch(() => ({}));
  if (answer.status === 401 && session) {
    signedOut("Your session has ended; sign in again.");
  }
  if (!answer.ok) {
    throw new Error(body.detail || body.title || `HTTP ${answer.status}`);
  }
  return body;
}

// One call of the user pool's API, as the AWS SDKs make it (this action needs no AWS credentials).
async function cognito(settings, action, request) {
  const answer = await fetch(settings.endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
    },
    body: JSON.stringify(request),
  });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    throw new Error(body.message || body.__type || `HTTP ${answer.status}`);
  }
  return body;
}

async function signIn(event) {
  event.preventDefault();
  const username = $("username").value.trim();
  const button = $("sign-in-button");
  button.disabled = true;
  $("sign-in-error").textContent = "";
  try {
    const settings = await api("/api/sign-in");
    const answer = await cognito(settings, "InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: settings.client_id,
      AuthParameters: { USERNAME: username, PASSWORD: $("password").value },
    });
    if (!answer.AuthenticationResult) {
      throw new Error(`this account needs ${answer.ChallengeName || "another step"} first`);
    }
    session = { username, token: answer.AuthenticationResult.AccessToken };
    $("password").value = "";
    $("customer").textContent = username;
    $("sign-in").hidden = true;
    $("signed-in").hidden = false;
    placeButton.disabled = !productsLoaded;
    statusLine.textContent = "";
    delete statusLine.dataset.status;
    loadOrders();
  } catch (error) {
    $("sign-in-error").textContent = `Sign-in failed: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function signedOut(message = "Sign in to place an order.") {
  session = null;
  $("sign-in").hidden = false;
  $("signed-in").hidden = true;
  $("customer").textContent = "";
  $("orders").replaceChildren();
  placeButton.disabled = true;
  statusLine.textContent = message;
  delete statusLine.dataset.status;
  delete statusLine.dataset.orderId;
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
    productsLoaded = true;
    placeButton.disabled = !session;
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
    body: JSON.stringify({ items }),
  };
  try {
    let order;
    try {
      order = await api("/api/orders", request);
    } catch (error) {
      if (!session) throw error;
      order = await api("/api/orders", request); // once more, safely: same Idempotency-Key
    }
    showStatus(order);
    await watch(order.id);
  } catch (error) {
    statusLine.dataset.status = "failed";
    statusLine.textContent = `The order failed: ${error.message}`;
  } finally {
    placeButton.disabled = !session;
    loadOrders();
  }
}

async function watch(orderId) {
  for (let attempt = 0; attempt < 120 && session; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const order = await api(`/api/orders/${encodeURIComponent(orderId)}`).catch(() => null);
    if (order && session) {
      showStatus(order);
      if (order.status === "fulfilled") return;
    }
  }
}

async function loadOrders() {
  const list = $("orders");
  if (!session) {
    list.replaceChildren();
    return;
  }
  try {
    const page = await api("/api/me/orders");
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

$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signedOut());
placeButton.addEventListener("click", placeOrder);
loadProducts();
