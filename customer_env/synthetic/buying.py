"""Buying: add to cart or buy now, the cart side bar or confirmation page, the cart page, checkout.

Functions of a :class:`~customer_env.synthetic.shopper.Shopper`; the rules are documented in
:mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Product
from customer_env.synthetic.choices import p_trait
from customer_env.synthetic.session_records import purchase_record
from customer_env.synthetic.shopper import Shopper

#: Categories whose products are bought two at a time (sometimes), and raised in the cart.
CONSUMABLE = {"Beauty", "Pet Supplies", "Office", "Garden"}


def buy(s: Shopper, abandon: bool = False) -> None:
    """Put the product on the page in the cart (or buy it now) and go on to check out; with
    ``abandon``, stop at the cart."""
    choices, v = s.choices, s.view
    assert isinstance(v, views.ProductView)
    product = s.catalogue.by_asin[v.asin]
    quantity = 1
    if product.category in CONSUMABLE and choices.chance(0.12):
        quantity = 2
        s.click(names.QUANTITY_SELECTOR, v, product=product)
    line = views.CartLine(product.asin, quantity, v.selected)
    record = (purchase_record(s.catalogue, line),)
    end = not abandon and choices.chance(0.33)  # added to the cart and left: the session ends
    if not abandon and choices.chance(p_trait(0.05, 0.45, s.profile.impulsive) - 0.05 * s.profile.price):
        s.click(names.BUY_NOW, v, product=product, products=record, motive="purchase")
    s.cart = s.cart + (line,)
    after = replace(v, cart=s.cart, side_bar=False)
    confirmation = s.cart_confirmation(product)
    if confirmation == "popup":
        s.click(names.ADD_TO_CART, replace(after, popup=True), product=product, products=record, end=end)
        s.click(names.NO_THANKS, replace(after, side_bar=True), product=product)
    elif confirmation == "side_bar":
        s.click(names.ADD_TO_CART, replace(after, side_bar=True), product=product, products=record, end=end)
    else:
        s.click(
            names.ADD_TO_CART,
            views.AddedView(s.cart, product.asin),
            product=product,
            products=record,
            end=end,
        )
    cart_view = s.cart_view()
    if isinstance(s.view, views.AddedView):
        if not abandon and choices.chance(0.4):
            s.click(names.CHECK_OUT, s.view, products=checkout_records(s))
        s.click(names.GO_TO_CART, cart_view)
    else:
        if not abandon and choices.chance(0.45):
            s.click(names.SIDE_BAR_CHECK_OUT, s.view, products=checkout_records(s))
        s.click(names.SIDE_BAR_GO_TO_CART, cart_view)
    if abandon:
        return
    cart_visit(s, checkout=True)


def cart_visit(s: Shopper, checkout: bool = False) -> None:
    """On the cart page: untick or delete older items, raise quantities, maybe check out."""
    choices = s.choices
    newest = s.cart[-1].asin if checkout and s.cart else None
    for i, line in enumerate(s.cart):
        product = s.catalogue.by_asin[line.asin]
        older = line.asin != newest
        raise_quantity = not older and product.category in CONSUMABLE
        band = choices.band((0.4, 0.55) if older else (0.2,) if raise_quantity else ())
        if not line.selected:
            continue
        if older and band == 0:
            _update_cart(s, i, replace(line, selected=False), names.cart_checkbox(product.title), product)
        elif older and band == 1:
            _update_cart(s, i, None, names.cart_quantity(product.title, "delete"), product)
            return cart_visit(s, checkout) if s.cart else None
        elif raise_quantity and band == 0:
            _update_cart(
                s,
                i,
                replace(line, quantity=line.quantity + 1),
                names.cart_quantity(product.title, "increase"),
                product,
            )
    buy_old = not checkout and s.will_buy and choices.chance(0.35)
    if (checkout or buy_old) and any(line.selected for line in s.cart):
        s.click(names.CHECK_OUT, s.view, products=checkout_records(s), motive="purchase")


def _update_cart(
    s: Shopper, index: int, line: views.CartLine | None, target: names.Target, product: Product
) -> None:
    cart = list(s.cart)
    if line is None:
        del cart[index]
    else:
        cart[index] = line
    s.cart = tuple(cart)
    s.click(target, s.cart_view(), product=product)


def checkout_records(s: Shopper) -> tuple[dict[str, Any], ...]:
    """The ``products`` of a checkout: every ticked cart line."""
    return tuple(purchase_record(s.catalogue, line) for line in s.cart if line.selected)
