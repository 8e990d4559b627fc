"""The simulated store's catalogue: categories, product types, brands, products and options.

Brands are invented; product titles follow Amazon's long "Brand Model Spec Type, Feature,
Feature (Colour)" shape, so their slugs are as long as the real ones. The catalogue depends
only on the seed.

Example:
    >>> catalogue = build_catalogue(0)
    >>> product = catalogue.products[0]
    >>> product.asin.startswith("B0") and len(product.asin) == 10, product.price_text.startswith("$")
    (True, True)
    >>> catalogue.by_asin[product.asin] is product
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from customer_env.synthetic.seeds import clamp, derive_rng

_COLOURS = ("Black", "White", "Silver", "Navy Blue", "Red", "Sage Green", "Gray", "Pink", "Beige")


@dataclass(frozen=True)
class ProductType:
    """A kind of product shoppers search for (``rice cooker``)."""

    category: str
    name: str
    price_range: tuple[float, float]
    specs: tuple[str, ...]
    features: tuple[str, ...]
    option_dims: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _t(
    category: str, name: str, low: float, high: float, specs: str, features: str, **dims: tuple[str, ...]
) -> ProductType:
    return ProductType(
        category, name, (low, high), tuple(specs.split("|")), tuple(features.split("|")), tuple(dims.items())
    )


# fmt: off
PRODUCT_TYPES: tuple[ProductType, ...] = (
    _t("Kitchen", "rice cooker", 25, 190, "3-Cup|5.5-Cup|10-Cup|Micom 6-Cup",
       "Keep Warm Function|Nonstick Inner Pot|Steam Basket Included|Fuzzy Logic Cooking", color=_COLOURS[:3]),
    _t("Kitchen", "air fryer", 45, 220, "4 Qt|5.8 Qt|8 Qt Dual Basket",
       "Dishwasher Safe Basket|One-Touch Digital Presets|Rapid Air Circulation|Nonstick Coating", color=_COLOURS[:4]),
    _t("Kitchen", "coffee maker", 20, 260, "12-Cup|Single Serve|Programmable 14-Cup",
       "Brew Strength Control|Auto Shut Off|Reusable Filter|Thermal Carafe", color=_COLOURS[:3]),
    _t("Kitchen", "electric kettle", 18, 90, "1.7 Liter|1.0 Liter|Gooseneck 0.9L",
       "Fast Boiling|Temperature Control|BPA Free|Boil-Dry Protection", color=_COLOURS[:5]),
    _t("Kitchen", "knife set", 25, 200, "15-Piece|8-Piece|6-Piece",
       "High Carbon Stainless Steel|Wooden Block|Ergonomic Handles|Sharpener Included"),
    _t("Electronics", "wireless earbuds", 15, 250, "Bluetooth 5.3|Noise Cancelling|Open-Ear",
       "40H Playtime|IPX7 Waterproof|Wireless Charging Case|Built-in Mic", color=_COLOURS[:4]),
    _t("Electronics", "usb c charger", 9, 60, "20W|65W GaN|100W 4-Port",
       "Fast Charging|Foldable Plug|Compact Design|Universal Compatibility", color=_COLOURS[:2]),
    _t("Electronics", "bluetooth speaker", 20, 180, "Portable|Mini|Party 60W",
       "24H Battery|Deep Bass|Waterproof IP67|Stereo Pairing", color=_COLOURS[:5]),
    _t("Electronics", "power bank", 15, 90, "10000mAh|20000mAh|26800mAh",
       "USB-C PD|LED Display|Slim Design|Airline Approved", color=_COLOURS[:3]),
    _t("Electronics", "laptop stand", 15, 80, "Adjustable|Foldable Aluminum|Ergonomic",
       "Ventilated Design|Fits 10-17 Inch Laptops|Non-Slip Pads|Portable", color=_COLOURS[:3]),
    _t("Home", "bed sheets", 20, 140, "Queen|4-Piece Microfiber|Deep Pocket",
       "Breathable|Wrinkle Free|Hotel Luxury|Machine Washable", color=_COLOURS, size=("Twin", "Full", "Queen", "King")),
    _t("Home", "throw pillow covers", 10, 45, "Set of 2 18x18|Set of 4|Boho 20x20",
       "Soft Velvet|Hidden Zipper|Decorative|Farmhouse Style", color=_COLOURS),
    _t("Home", "desk lamp", 15, 90, "LED|Dimmable|Architect Swing Arm",
       "USB Charging Port|Eye Caring|5 Color Modes|Touch Control", color=_COLOURS[:3]),
    _t("Home", "storage bins", 15, 60, "6-Pack|Collapsible|Large Fabric",
       "With Handles|Closet Organizer|Foldable|Linen Look", color=_COLOURS[4:]),
    _t("Home", "bath towels", 18, 80, "6-Piece Set|Oversized|Quick Dry",
       "100% Cotton|Highly Absorbent|Hotel Quality|Soft", color=_COLOURS),
    _t("Beauty", "face moisturizer", 8, 70, "Daily|Oil-Free|SPF 30",
       "Hyaluronic Acid|Fragrance Free|Non-Comedogenic|For Sensitive Skin", size=("1.7 Fl Oz", "3.4 Fl Oz")),
    _t("Beauty", "shampoo", 6, 40, "Sulfate Free|Volumizing|Moisturizing",
       "For Dry Hair|Color Safe|Argan Oil|Paraben Free", size=("12 Fl Oz", "25 Fl Oz", "33.8 Fl Oz")),
    _t("Beauty", "sunscreen", 7, 35, "SPF 50|Mineral SPF 30|Sport SPF 70",
       "Water Resistant|Reef Friendly|Lightweight|Broad Spectrum", size=("3 Fl Oz", "6 Fl Oz")),
    _t("Beauty", "hair dryer", 20, 180, "1875W Ionic|Travel|Professional",
       "Diffuser Attachment|Fast Drying|3 Heat Settings|Cool Shot", color=_COLOURS[:5]),
    _t("Beauty", "makeup brush set", 8, 45, "14-Piece|Vegan|Travel",
       "Synthetic Bristles|With Case|Foundation Brush|Blending", color=_COLOURS[4:8]),
    _t("Garden", "insecticidal soap", 7, 30, "32 oz Ready-to-Use|Concentrate 16 oz|Spray",
       "For Organic Gardening|Kills Aphids and Mites|Indoor and Outdoor Plants|OMRI Listed"),
    _t("Garden", "garden hose", 20, 90, "50 ft|100 ft Expandable|25 ft",
       "Kink Free|Leakproof|Lightweight|10 Function Nozzle", color=_COLOURS[:5]),
    _t("Garden", "plant pots", 12, 60, "Set of 3|8 Inch|Self Watering",
       "Drainage Holes|Ceramic|Modern Design|Indoor Planters", color=_COLOURS[1:6]),
    _t("Garden", "pruning shears", 9, 45, "Bypass|Ratchet|Heavy Duty",
       "SK5 Blade|Ergonomic Grip|Safety Lock|Rust Resistant"),
    _t("Garden", "potting soil", 8, 35, "8 Qt|16 Qt|Organic 2 cu ft",
       "For Indoor Plants|Fertilized|Perlite Mix|Moisture Control"),
    _t("Pet Supplies", "dog toys", 8, 40, "Chew|Squeaky 5-Pack|Rope",
       "Durable|For Aggressive Chewers|Teeth Cleaning|Non-Toxic", size=("Small", "Medium", "Large")),
    _t("Pet Supplies", "cat litter", 10, 40, "Clumping 20 lb|Unscented 40 lb|Lightweight",
       "Odor Control|Low Dust|Multi-Cat|Easy Scoop"),
    _t("Pet Supplies", "dog bed", 20, 120, "Orthopedic|Calming Donut|Washable",
       "Non-Slip Bottom|Memory Foam|Removable Cover|Waterproof Liner", color=_COLOURS[4:], size=("Medium", "Large", "X-Large")),
    _t("Pet Supplies", "cat tree", 30, 150, "Multi-Level|Small|Large 72 Inch",
       "Scratching Posts|Cozy Condo|Plush Perch|Stable Base", color=_COLOURS[4:7]),
    _t("Pet Supplies", "pet water fountain", 15, 55, "2.5L|Stainless Steel|Wireless",
       "Quiet Pump|Triple Filtration|LED Water Level|BPA Free", color=_COLOURS[:3]),
    _t("Sports", "yoga mat", 15, 90, "1/4 Inch|Extra Thick|Non Slip 6mm",
       "With Carrying Strap|Eco Friendly TPE|Alignment Lines|Sweat Resistant", color=_COLOURS),
    _t("Sports", "water bottle", 10, 45, "32 oz|24 oz Insulated|40 oz Tumbler",
       "Leak Proof|Stainless Steel|Straw Lid|Keeps Cold 24 Hours", color=_COLOURS, size=("24 oz", "32 oz", "40 oz")),
    _t("Sports", "resistance bands", 9, 40, "Set of 5|Loop|Heavy",
       "Door Anchor|Handles Included|Workout Guide|Latex Free"),
    _t("Sports", "running shoes", 40, 160, "Lightweight|Cushioned|Trail",
       "Breathable Mesh|Arch Support|Slip On|Non Slip Sole", color=_COLOURS[:6], size=("7", "8", "9", "10", "11")),
    _t("Sports", "dumbbells", 20, 200, "Adjustable 25 lb|Neoprene Pair|Hex 10 lb",
       "Anti-Roll|Comfort Grip|Home Gym|Quick Weight Change", size=("5 lb", "10 lb", "15 lb")),
    _t("Office", "notebooks", 6, 30, "College Ruled 5-Pack|Hardcover A5|Spiral",
       "Thick Paper|Pocket Folder|Lay Flat|Perforated Pages", color=_COLOURS[3:]),
    _t("Office", "gel pens", 6, 25, "0.5mm 12-Pack|Retractable|Fine Point 24 Colors",
       "Smooth Writing|Quick Dry Ink|Comfort Grip|No Smudge"),
    _t("Office", "desk organizer", 12, 50, "Mesh|Bamboo|5 Compartment",
       "Pen Holder|Drawer|Sturdy|Office Supplies Caddy", color=_COLOURS[:3]),
    _t("Office", "printer paper", 8, 55, "8.5 x 11 500 Sheets|Ream Case 10|Premium 24 lb",
       "Bright White|Jam Free|Multipurpose|FSC Certified"),
    _t("Office", "office chair", 60, 300, "Ergonomic Mesh|High Back|Mid Back",
       "Lumbar Support|Adjustable Armrests|Swivel|Tilt Function", color=_COLOURS[:4]),
    _t("Clothing", "t-shirt", 8, 40, "Crew Neck|V-Neck 3-Pack|Short Sleeve",
       "Cotton Blend|Relaxed Fit|Tagless|Everyday", color=_COLOURS, size=("S", "M", "L", "XL")),
    _t("Clothing", "socks", 8, 30, "6 Pairs|Athletic|Ankle 10-Pack",
       "Cushioned|Moisture Wicking|Breathable|Arch Compression", color=_COLOURS[:4], size=("S/M", "L/XL")),
    _t("Clothing", "rain jacket", 30, 130, "Waterproof|Packable|Hooded",
       "Lightweight|Windbreaker|Zip Pockets|Breathable Lining", color=_COLOURS[:6], size=("S", "M", "L", "XL")),
    _t("Clothing", "sweatpants", 15, 50, "Jogger|Open Bottom|Fleece",
       "Drawstring|Side Pockets|Soft Fleece|Tapered", color=_COLOURS[:5], size=("S", "M", "L", "XL")),
    _t("Clothing", "baseball cap", 10, 35, "Adjustable|Classic|Low Profile",
       "Cotton Twill|Breathable|Unisex|Washed", color=_COLOURS),
    _t("Toys", "building blocks", 15, 90, "500 Pieces|Classic 1000 Pieces|Starter Set",
       "STEM Toy|Compatible With Major Brands|Storage Box|Ages 4+"),
    _t("Toys", "jigsaw puzzle", 10, 30, "1000 Piece|500 Piece|300 Piece Large",
       "Premium Quality|Poster Included|Family Puzzle|Landscape"),
    _t("Toys", "board game", 15, 60, "Family|Strategy|Party",
       "2-6 Players|Ages 8+|Quick Setup|Game Night"),
    _t("Toys", "remote control car", 20, 90, "1:16 Scale|Off Road 4WD|Stunt",
       "Rechargeable Battery|2.4GHz|All Terrain|High Speed", color=_COLOURS[:5]),
    _t("Toys", "plush toy", 8, 35, "12 Inch|Jumbo 24 Inch|Mini Set",
       "Super Soft|Huggable|Gift for Kids|Machine Washable", color=_COLOURS[4:]),
)
# fmt: on

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(t.category for t in PRODUCT_TYPES))

BRANDS: dict[str, tuple[str, ...]] = {
    "Kitchen": ("Kitchora", "Vantrel", "Cookwise", "Hearthly", "Zestara", "Brevano"),
    "Electronics": ("Voltix", "Sonora", "Ampliq", "Nexbeam", "Qubix", "Lumatek"),
    "Home": ("Cozyloom", "Nestwell", "Linenly", "Homara", "Brightnook", "Softhaven"),
    "Beauty": ("Glowen", "Purelle", "Dermaly", "Silkora", "Veluxe", "Aurabloom"),
    "Garden": ("Greenpatch", "Rootwise", "Bloomfield Gardens", "Terrafirm", "Leafline", "Sproutly"),
    "Pet Supplies": ("Pawfect", "Furbuddy", "Tailwise", "Petlora", "Barkley Co", "Whiskerly"),
    "Sports": ("Stridex", "Fitcore", "Peakform", "Aquaflo", "Trailon", "Movara"),
    "Office": ("Deskly", "Inkwell", "Paperline", "Officio", "Scribeo", "Ergonix"),
    "Clothing": ("Threadly", "Urbanweave", "Coastline Apparel", "Northfold", "Basicwear", "Kindred"),
    "Toys": ("Playnest", "Brickbloom", "Joyforge", "Tinkerbee", "Puzzlio", "Funvoy"),
}

_ASIN_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Product:
    """One catalogue item. ``options`` lists each option dimension and its values."""

    asin: str
    title: str
    brand: str
    category: str
    type_name: str
    price: float
    rating: float
    review_count: int
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def price_text(self) -> str:
        return f"${self.price:,.2f}"

    def option_price(self, dim: str, value: str) -> float:
        """Price with ``dim`` set to ``value``: later sizes cost more, colours cost the same."""
        for name, values in self.options:
            if name == dim and name == "size" and value in values:
                return round(self.price * (1 + 0.18 * values.index(value)), 2)
        return self.price


@dataclass(frozen=True)
class Catalogue:
    """All products, with the indexes the simulator and the page renderer need."""

    products: tuple[Product, ...]
    by_asin: dict[str, Product] = field(repr=False)
    by_type: dict[str, tuple[Product, ...]] = field(repr=False)
    by_category: dict[str, tuple[Product, ...]] = field(repr=False)
    types: dict[str, ProductType] = field(repr=False)

    def same_category(self, product: Product) -> tuple[Product, ...]:
        return self.by_category[product.category]


def _asin(rng: random.Random, taken: set[str]) -> str:
    while True:
        asin = "B0" + "".join(rng.choice(_ASIN_CHARS) for _ in range(8))
        if asin not in taken:
            taken.add(asin)
            return asin


def _product(rng: random.Random, ptype: ProductType, brand: str, asin: str) -> Product:
    model = f"{brand[:2].upper()}-{rng.randint(100, 999)}{rng.choice('ABCDEFGHJKMNPRSTX')}"
    spec = rng.choice(ptype.specs)
    feats = rng.sample(ptype.features, k=rng.randint(2, len(ptype.features)))
    colour_dim = dict(ptype.option_dims).get("color")
    colour = f" ({rng.choice(colour_dim)})" if colour_dim and rng.random() < 0.5 else ""
    title = f"{brand} {model} {spec} {ptype.name.title()}, {', '.join(feats)}{colour}"
    low, high = ptype.price_range
    price = round(low * (high / low) ** rng.random(), 0) - 0.01
    options = []
    for dim, values in ptype.option_dims:
        k = rng.randint(min(2, len(values)), len(values))
        chosen = set(rng.sample(values, k))
        options.append((dim, tuple(v for v in values if v in chosen)))
    rating = round(clamp(rng.gauss(4.35, 0.3), 3.1, 4.9), 1)
    reviews = int(clamp(rng.lognormvariate(6.3, 1.5), 3, 150_000))
    return Product(
        asin, title, brand, ptype.category, ptype.name, float(price), rating, reviews, tuple(options)
    )


@lru_cache(maxsize=4)
def build_catalogue(seed: int, products_per_type: int = 10) -> Catalogue:
    """Build the catalogue: ``products_per_type`` products of every product type.

    Every brand of a category gets at least one product of each type, so a brand filter never
    comes back empty. The result is cached per seed (it is immutable).
    """
    rng = derive_rng(seed, "catalogue")
    taken: set[str] = set()
    products: list[Product] = []
    for ptype in PRODUCT_TYPES:
        brands = BRANDS[ptype.category]
        for i in range(products_per_type):
            brand = brands[i] if i < len(brands) else rng.choice(brands)
            products.append(_product(rng, ptype, brand, _asin(rng, taken)))
    by_type: dict[str, list[Product]] = {}
    by_category: dict[str, list[Product]] = {}
    for product in products:
        by_type.setdefault(product.type_name, []).append(product)
        by_category.setdefault(product.category, []).append(product)
    return Catalogue(
        products=tuple(products),
        by_asin={product.asin: product for product in products},
        by_type={k: tuple(v) for k, v in by_type.items()},
        by_category={k: tuple(v) for k, v in by_category.items()},
        types={t.name: t for t in PRODUCT_TYPES},
    )
