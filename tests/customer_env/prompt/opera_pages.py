"""Hand-made OPeRA-style pages (the simplified HTML of OPeRA's page table) and a generator of big search pages.

Shared by the prompt, action and reward tests (imported by name: this directory is on sys.path).
"""

from __future__ import annotations

LONG_SLUG = ("tiger_jbv_s18u_10_cup_microcomputer_controlled_4_in_1_rice_cooker_white_with_"
             "steam_basket_and_synchro_cooking_function_made_in_japan_" * 3).rstrip("_")

SEARCH_PAGE = f"""<html><head><title>Amazon.com : rice cooker</title>
<style>.a-price {{ color: red }}</style><script>window.ue = 1;</script></head><body>
<div name="nav_bar" role="navigation" aria-label="Primary">
  <div name="nav_bar.homepage">Homepage</div>
  <form role="search"><select name="nav_bar.search_dropdown" aria-label="Search in"><option>All Departments</option></select>
  <input name="nav_bar.search_input" type="text" aria-label="Search Amazon" value="rice cooker">
  <input name="nav_bar.search_button" type="submit" value="Go"></form>
  <a name="nav_bar.cart_button" aria-label="2 items in cart">Cart</a>
</div>
<!-- a comment that must vanish -->
<div class="s-main"><span>1-48 of over 2,000 results for "rice cooker"</span>
<div name="refinements"><div name="refinements.brand.zojirushi"><input type="checkbox" name="refinements.brand.zojirushi.checkbox"><span>Zojirushi</span></div></div>
<div name="4_stars_and_above">
  <div><div name="4_stars_and_above.{LONG_SLUG}">
    <div name="4_stars_and_above.{LONG_SLUG}.product_title"><h2><span>Tiger JBV-S18U 10-Cup Microcomputer Controlled 4-in-1 Rice Cooker (White)</span></h2></div>
    <div><span aria-label="4.6 out of 5 stars">4.6 out of 5 stars</span> <span>(1,234)</span></div>
    <div><span>$</span><span>139</span><span>.99</span></div>
  </div></div>
  <div><div name="4_stars_and_above.aroma_housewares_arc_914sbd.product_title">Aroma Housewares ARC-914SBD <span>$29.99</span></div></div>
</div>
<div name="pagination"><a name="pagination.2">2</a><a name="pagination.next">Next</a></div>
<div name="">an element with an empty name</div>
</div>
<div class="footer"><a>Conditions of Use</a> <a>Privacy Notice</a></div>
<div class="footer"><a>Conditions of Use</a> <a>Privacy Notice</a></div>
</body></html>"""

SEARCH_PAGE_NAMES = (
    "nav_bar", "nav_bar.homepage", "nav_bar.search_dropdown", "nav_bar.search_input",
    "nav_bar.search_button", "nav_bar.cart_button", "refinements", "refinements.brand.zojirushi",
    "refinements.brand.zojirushi.checkbox", "4_stars_and_above", f"4_stars_and_above.{LONG_SLUG}",
    f"4_stars_and_above.{LONG_SLUG}.product_title", "4_stars_and_above.aroma_housewares_arc_914sbd.product_title",
    "pagination", "pagination.2", "pagination.next",
)

PRODUCT_PAGE = """<html><body>
<div name="nav_bar" role="navigation"><div name="nav_bar.homepage">Homepage</div>
<input name="nav_bar.search_input" type="text"></div>
<div name="product_title">Zojirushi NS-LAC05XT Micom 3-Cup Rice Cooker</div>
<a name="reviews">4.7 out of 5 stars 12,345 ratings</a>
<div name="product_options"><div name="product_options.color">Color: <span>Stainless</span>
  <ul><li name="product_options.color.button_list.stainless" aria-selected="true">Stainless</li>
      <li name="product_options.color.button_list.white">White</li></ul></div></div>
<div name="buybox"><span>$165.00</span><span>FREE Returns</span>
  <form name="buybox.purchase_form"><select name="buybox.purchase_form.quantity"><option>1</option></select>
  <input name="buybox.purchase_form.add_to_cart" type="submit" value="Add to Cart">
  <input name="buybox.purchase_form.buy_now" type="submit" value="Buy Now"></form></div>
<div name="nav_bar" role="navigation"><div name="nav_bar.homepage">Homepage</div>
<input name="nav_bar.search_input" type="text"></div>
</body></html>"""

CART_PAGE = """<html><body><div name="active_item_list">
<div name="active_item_list.zojirushi_ns_lac05xt.product_detail">Zojirushi NS-LAC05XT <span>$165.00</span> In Stock</div>
<input name="active_item_list.zojirushi_ns_lac05xt.delete" type="submit" value="Delete"></div>
<input name="check_out" type="submit" value="Proceed to checkout (1 item)"></body></html>"""


def product_card(i: int) -> str:
    slug = f"brand_{i}_stainless_steel_rice_cooker_10_cup_microcomputer_controlled_model_{i:04d}_white"
    return (
        '<div class="s-result-item s-asin sg-col-4-of-12"><div class="sg-col-inner"><div class="s-widget">'
        f'<div name="search_result.{slug}" role="listitem" data-asin="B0{i:08d}">'
        '<div class="a-section"><span class="rush-component"><a class="a-link-normal" tabindex="-1">'
        f'<div class="a-image-container"><img class="s-image" alt="Sponsored Ad - Brand {i} Rice Cooker"></div></a></span></div>'
        f'<div name="search_result.{slug}.product_title" class="a-section a-spacing-none"><h2 class="a-size-mini">'
        f'<a class="a-link-normal s-underline-text"><span class="a-size-base-plus a-color-base a-text-normal">'
        f'Brand {i} Stainless Steel Rice Cooker, 10-Cup, Microcomputer Controlled, Model {i}</span></a></h2></div>'
        f'<div class="a-row a-size-small"><span aria-label="4.{i % 10} out of 5 stars"><i class="a-icon a-icon-star-small">'
        f'<span class="a-icon-alt">4.{i % 10} out of 5 stars</span></i></span><span class="a-size-base">({1000 + i:,})</span></div>'
        f'<div class="a-row"><span class="a-price"><span class="a-offscreen">${50 + i}.99</span></span></div>'
        '<div class="a-row a-size-base a-color-secondary"><span>FREE delivery </span><span class="a-text-bold">Mon, Apr 21</span></div>'
        f'<button name="search_result.{slug}.add_to_cart" type="button" class="a-button-text">Add to cart</button>'
        '<script>P.when("A").execute(function(){ /* tracking */ });</script>'
        '</div></div></div></div>'
    )


def big_search_page(target_chars: int = 100_000) -> str:
    """A search page of product cards, about ``target_chars`` long, with realistic wrappers."""
    head = ('<html><head><style>' + ".a{color:red}" * 200 + '</style></head><body>'
            '<div name="nav_bar" role="navigation" aria-label="Primary"><div name="nav_bar.homepage">Homepage</div>'
            '<input name="nav_bar.search_input" type="text" aria-label="Search Amazon"></div><div class="s-main-slot">')
    parts, size, i = [head], len(head), 0
    while size < target_chars:
        card = product_card(i)
        parts.append(card)
        size += len(card)
        i += 1
    parts.append('</div><div name="pagination"><a name="pagination.2">2</a></div></body></html>')
    return "".join(parts)
