"""What a simulated session is made of: its actions and steps, and the product records they carry.

Example:
    >>> from customer_env.synthetic import names
    >>> a = SimAction("click", names.ADD_TO_CART)
    >>> a.name, a.click_type
    ('buybox.purchase_form.add_to_cart', 'purchase')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from customer_env.synthetic import views
from customer_env.synthetic.catalogue import Catalogue, Product
from customer_env.synthetic.names import Target

#: A session ends (with terminate) once it has this many steps.
MAX_STEPS = 180


@dataclass(frozen=True)
class SimAction:
    """A recorded action with the context its row needs (element meta, products, rationale)."""

    type: str
    target: Target | None = None
    text: str | None = None
    meta_section: str | None = None
    meta_data: Mapping[str, Any] | None = None
    products: tuple[Mapping[str, Any], ...] | None = None
    rationale: str | None = None

    @property
    def name(self) -> str | None:
        return self.target.name if self.target else None

    @property
    def click_type(self) -> str | None:
        return self.target.click_type if self.type == "click" and self.target else None


@dataclass(frozen=True)
class SimStep:
    """The view the action was taken on, the action, the seconds since the previous step, and the
    view the action led to (None after terminate; the next step may start elsewhere when the
    shopper went back in the browser, which is no recorded action)."""

    view: views.View
    action: SimAction
    dwell: float
    after: views.View | None = None


@dataclass(frozen=True)
class SimSession:
    user_id: str
    intent: str
    steps: tuple[SimStep, ...]


class SessionEnded(Exception):
    """Raised inside the walk once the session has ended (purchase click or terminate)."""


def product_data(product: Product, price: float | None = None, quantity: str = "") -> dict[str, str]:
    """The product record an element's meta ``data`` carries (title, asin, price, quantity)."""
    price_text = product.price_text if price is None else f"${price:,.2f}"
    return {"title": product.title, "asin": product.asin, "price": price_text, "quantity": quantity}


def purchase_record(catalogue: Catalogue, line: views.CartLine) -> dict[str, Any]:
    """An entry of a purchase action's ``products`` list."""
    product = catalogue.by_asin[line.asin]
    price = product.price
    for dim, value in line.options:
        price = max(price, product.option_price(dim, value))
    return {
        "asin": product.asin,
        "title": product.title,
        "price": f"${price:,.2f}",
        "quantity": line.quantity,
        "options": [{"name": dim.title(), "value": value} for dim, value in line.options],
    }
