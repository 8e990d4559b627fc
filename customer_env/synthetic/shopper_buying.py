"""The buying flows of a simulated session: add to cart or buy now, cart side bar or
confirmation page, the cart page, checkout.

Mixed into :class:`~customer_env.synthetic.shopper.Shopper`; the rules are documented in
:mod:`customer_env.synthetic.behaviour`.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import Catalogue, Product
from customer_env.synthetic.personas import ShopperProfile
from customer_env.synthetic.steps import p_trait, purchase_record

CONSUMABLE = {"Beauty", "Pet Supplies", "Office", "Garden"}
_POPUP = {"Electronics", "Kitchen"}


class BuyingFlows:
    p: ShopperProfile
    cat: Catalogue
    rng: random.Random
    cart: views.Cart
    view: views.View
    will_buy: bool
    intent: str

    def buy(self, abandon: bool = False) -> None:
        rng, p, v = self.rng, self.p, self.view
        assert isinstance(v, views.ProductView)
        product = self.cat.by_asin[v.asin]
        quantity = 1
        if product.category in CONSUMABLE and rng.random() < 0.12:
            quantity = 2
            self.click(names.QUANTITY_SELECTOR, v, product=product)
        line = views.CartLine(product.asin, quantity, v.selected)
        record = (purchase_record(self.cat, line),)
        end = not abandon and rng.random() < 0.33  # added to the cart and left: the session ends
        if not abandon and rng.random() < p_trait(0.05, 0.45, p.impulsive) - 0.05 * p.price:
            self.click(names.BUY_NOW, v, product=product, products=record, motive="purchase")
        self.cart = self.cart + (line,)
        after = replace(v, cart=self.cart, side_bar=False)
        if product.category in _POPUP and rng.random() < 0.45:
            self.click(
                names.ADD_TO_CART, replace(after, popup=True), product=product, products=record, end=end
            )
            self.click(names.NO_THANKS, replace(after, side_bar=True), product=product)
        elif rng.random() < 0.68:
            self.click(
                names.ADD_TO_CART, replace(after, side_bar=True), product=product, products=record, end=end
            )
        else:
            self.click(
                names.ADD_TO_CART,
                views.AddedView(self.cart, product.asin),
                product=product,
                products=record,
                end=end,
            )
        cart_view = views.CartView(self.cart, self._cart_recs())
        if isinstance(self.view, views.AddedView):
            if not abandon and rng.random() < 0.4:
                self.click(names.CHECK_OUT, self.view, products=self._checkout_records())
            self.click(names.GO_TO_CART, cart_view)
        else:
            if not abandon and rng.random() < 0.45:
                self.click(names.SIDE_BAR_CHECK_OUT, self.view, products=self._checkout_records())
            self.click(names.SIDE_BAR_GO_TO_CART, cart_view)
        if abandon:
            return
        self.cart_visit(checkout=True)

    def cart_visit(self, checkout: bool = False) -> None:
        """On the cart page: untick or delete older items, raise quantities, maybe check out."""
        rng = self.rng
        newest = self.cart[-1].asin if checkout and self.cart else None
        for i, line in enumerate(self.cart):
            product = self.cat.by_asin[line.asin]
            r = rng.random()
            if not line.selected:
                continue
            if line.asin != newest and r < 0.4:
                self._update_cart(
                    i, replace(line, selected=False), names.cart_checkbox(product.title), product
                )
            elif line.asin != newest and r < 0.55:
                self._update_cart(i, None, names.cart_quantity(product.title, "delete"), product)
                return self.cart_visit(checkout) if self.cart else None
            elif line.asin == newest and product.category in CONSUMABLE and r < 0.2:
                self._update_cart(
                    i,
                    replace(line, quantity=line.quantity + 1),
                    names.cart_quantity(product.title, "increase"),
                    product,
                )
        buy_old = not checkout and self.will_buy and rng.random() < 0.35
        if (checkout or buy_old) and any(line.selected for line in self.cart):
            self.click(names.CHECK_OUT, self.view, products=self._checkout_records(), motive="purchase")

    def _update_cart(
        self, index: int, line: views.CartLine | None, target: names.Target, product: Product
    ) -> None:
        cart = list(self.cart)
        if line is None:
            del cart[index]
        else:
            cart[index] = line
        self.cart = tuple(cart)
        self.click(target, views.CartView(self.cart, self._cart_recs()), product=product)

    def _checkout_records(self) -> tuple[dict[str, Any], ...]:
        return tuple(purchase_record(self.cat, line) for line in self.cart if line.selected)

    def _cart_recs(self) -> tuple[str, ...]:
        pool = self.cat.by_type[self.intent]
        return tuple(p.asin for p in pool[:4])
