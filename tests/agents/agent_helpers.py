"""Toy observations for the agent tests (imported as a plain module, like tests/.../opera_pages)."""

from __future__ import annotations

PAGES = [
    '<div name="nav_bar"><input name="nav_bar.search_input"/></div><div name="reviews">4.5 stars</div>',
    '<div name="search_result.red_mug.product_title">Red mug</div><button name="buybox.add_to_cart">Add</button>',
]


def observation(i: int = 0, persona: str = "I am a frugal shopper.") -> dict[str, str]:
    """A small observation in the environment's shape."""
    page = PAGES[i % len(PAGES)]
    names = [part.split('"')[1] for part in page.split("name=")[1:]]
    return {"persona": persona, "history": "" if i == 0 else "1. click reviews", "url": f"https://shop/{i}",
            "page": page, "actionable_names": "\n".join(names)}
