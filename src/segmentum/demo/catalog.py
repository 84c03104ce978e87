"""Fixed vocabularies of the demo business: cities, names, products, companies.

Kept apart from the generator so that the generator reads as behaviour, not as lists. Everything here is
static: the same for every seed, so product ids and prices are stable across demo workspaces.
"""

from __future__ import annotations

import numpy as np

# city, region, country, postal code pattern ('#' = digit), IANA time zone, weight, languages (code: share)
CITIES: list[tuple[str, str, str, str, str, float, dict[str, float]]] = [
    ("Kyiv", "Kyiv City", "UA", "0####", "Europe/Kyiv", 22.0, {"uk": 0.75, "ru": 0.15, "en": 0.10}),
    ("Lviv", "Lviv Oblast", "UA", "79###", "Europe/Kyiv", 9.0, {"uk": 0.92, "en": 0.05, "pl": 0.03}),
    ("Odesa", "Odesa Oblast", "UA", "65###", "Europe/Kyiv", 8.0, {"uk": 0.55, "ru": 0.40, "en": 0.05}),
    ("Kharkiv", "Kharkiv Oblast", "UA", "61###", "Europe/Kyiv", 8.0, {"uk": 0.60, "ru": 0.38, "en": 0.02}),
    (
        "Dnipro",
        "Dnipropetrovsk Oblast",
        "UA",
        "49###",
        "Europe/Kyiv",
        6.0,
        {"uk": 0.65, "ru": 0.33, "en": 0.02},
    ),
    ("Vinnytsia", "Vinnytsia Oblast", "UA", "21###", "Europe/Kyiv", 3.0, {"uk": 0.95, "ru": 0.05}),
    ("Warsaw", "Masovian", "PL", "0#-###", "Europe/Warsaw", 7.0, {"pl": 0.75, "uk": 0.18, "en": 0.07}),
    ("Kraków", "Lesser Poland", "PL", "3#-###", "Europe/Warsaw", 4.0, {"pl": 0.80, "uk": 0.15, "en": 0.05}),
    ("Gdańsk", "Pomeranian", "PL", "80-###", "Europe/Warsaw", 2.5, {"pl": 0.85, "uk": 0.12, "en": 0.03}),
    ("Wrocław", "Lower Silesian", "PL", "5#-###", "Europe/Warsaw", 2.5, {"pl": 0.82, "uk": 0.15, "en": 0.03}),
    (
        "Berlin",
        "Berlin",
        "DE",
        "1####",
        "Europe/Berlin",
        6.0,
        {"de": 0.70, "uk": 0.15, "en": 0.10, "ru": 0.05},
    ),
    ("Munich", "Bavaria", "DE", "8####", "Europe/Berlin", 3.0, {"de": 0.80, "uk": 0.10, "en": 0.10}),
    ("Hamburg", "Hamburg", "DE", "2####", "Europe/Berlin", 2.5, {"de": 0.82, "uk": 0.10, "en": 0.08}),
    ("Vienna", "Vienna", "AT", "1###", "Europe/Vienna", 3.5, {"de": 0.80, "uk": 0.10, "en": 0.10}),
    ("Prague", "Prague", "CZ", "1## ##", "Europe/Prague", 3.5, {"en": 0.55, "uk": 0.30, "ru": 0.15}),
    ("London", "England", "GB", "SW# #XX", "Europe/London", 5.0, {"en": 0.85, "uk": 0.10, "pl": 0.05}),
    ("Manchester", "England", "GB", "M## #XX", "Europe/London", 2.0, {"en": 0.90, "pl": 0.10}),
]
LANGUAGES = ("uk", "pl", "de", "en", "ru")

# first names (female, male) and last names per language: (native spelling, ASCII for e-mail addresses)
FIRST_F = {
    "uk": [
        ("Олена", "olena"),
        ("Ірина", "iryna"),
        ("Наталія", "nataliia"),
        ("Оксана", "oksana"),
        ("Марія", "mariia"),
        ("Анна", "anna"),
        ("Юлія", "yuliia"),
        ("Тетяна", "tetiana"),
        ("Софія", "sofiia"),
        ("Катерина", "kateryna"),
    ],
    "ru": [
        ("Елена", "elena"),
        ("Ольга", "olga"),
        ("Наталья", "natalia"),
        ("Светлана", "svetlana"),
        ("Анастасия", "anastasia"),
        ("Екатерина", "ekaterina"),
    ],
    "pl": [
        ("Anna", "anna"),
        ("Katarzyna", "katarzyna"),
        ("Magdalena", "magdalena"),
        ("Agnieszka", "agnieszka"),
        ("Zofia", "zofia"),
        ("Joanna", "joanna"),
    ],
    "de": [
        ("Anna", "anna"),
        ("Lena", "lena"),
        ("Julia", "julia"),
        ("Sabine", "sabine"),
        ("Laura", "laura"),
        ("Katharina", "katharina"),
    ],
    "en": [
        ("Emma", "emma"),
        ("Olivia", "olivia"),
        ("Sophie", "sophie"),
        ("Charlotte", "charlotte"),
        ("Amelia", "amelia"),
        ("Grace", "grace"),
    ],
}
FIRST_M = {
    "uk": [
        ("Олександр", "oleksandr"),
        ("Андрій", "andrii"),
        ("Дмитро", "dmytro"),
        ("Сергій", "serhii"),
        ("Тарас", "taras"),
        ("Максим", "maksym"),
        ("Богдан", "bohdan"),
        ("Іван", "ivan"),
        ("Микола", "mykola"),
    ],
    "ru": [
        ("Алексей", "aleksei"),
        ("Дмитрий", "dmitrii"),
        ("Сергей", "sergei"),
        ("Андрей", "andrei"),
        ("Игорь", "igor"),
        ("Михаил", "mikhail"),
    ],
    "pl": [
        ("Piotr", "piotr"),
        ("Krzysztof", "krzysztof"),
        ("Tomasz", "tomasz"),
        ("Marek", "marek"),
        ("Jakub", "jakub"),
        ("Paweł", "pawel"),
    ],
    "de": [
        ("Lukas", "lukas"),
        ("Jonas", "jonas"),
        ("Michael", "michael"),
        ("Thomas", "thomas"),
        ("Felix", "felix"),
        ("Stefan", "stefan"),
    ],
    "en": [
        ("James", "james"),
        ("Oliver", "oliver"),
        ("Harry", "harry"),
        ("George", "george"),
        ("Jack", "jack"),
        ("William", "william"),
    ],
}
LAST = {
    "uk": [
        ("Коваленко", "kovalenko"),
        ("Шевченко", "shevchenko"),
        ("Бондаренко", "bondarenko"),
        ("Ткаченко", "tkachenko"),
        ("Кравченко", "kravchenko"),
        ("Мельник", "melnyk"),
        ("Бойко", "boiko"),
        ("Коваль", "koval"),
        ("Олійник", "oliinyk"),
        ("Лисенко", "lysenko"),
        ("Гончаренко", "honcharenko"),
    ],
    "ru": [
        ("Иванов", "ivanov"),
        ("Смирнов", "smirnov"),
        ("Попов", "popov"),
        ("Соколов", "sokolov"),
        ("Новиков", "novikov"),
        ("Морозов", "morozov"),
    ],
    "pl": [
        ("Nowak", "nowak"),
        ("Kowalski", "kowalski"),
        ("Wiśniewski", "wisniewski"),
        ("Wójcik", "wojcik"),
        ("Kamiński", "kaminski"),
        ("Lewandowski", "lewandowski"),
    ],
    "de": [
        ("Müller", "mueller"),
        ("Schmidt", "schmidt"),
        ("Schneider", "schneider"),
        ("Fischer", "fischer"),
        ("Weber", "weber"),
        ("Wagner", "wagner"),
    ],
    "en": [
        ("Smith", "smith"),
        ("Jones", "jones"),
        ("Taylor", "taylor"),
        ("Brown", "brown"),
        ("Williams", "williams"),
        ("Wilson", "wilson"),
    ],
}
EMAIL_DOMAINS = ["gmail.com", "ukr.net", "outlook.com", "i.ua", "wp.pl", "gmx.de", "yahoo.com", "proton.me"]
PHONE_PREFIX = {"UA": "+380", "PL": "+48", "DE": "+49", "AT": "+43", "CZ": "+420", "GB": "+44"}

ACCOUNT_OWNERS = [
    "Olena Kovalenko",
    "Taras Melnyk",
    "Iryna Bondarenko",
    "Marek Nowak",
    "Anna Schmidt",
    "Dmytro Lysenko",
    "Sophie Taylor",
]

CATEGORIES = ("electronics", "home", "fashion", "beauty", "books", "toys", "garden")
CATEGORY_WEIGHTS = np.array([0.20, 0.18, 0.20, 0.14, 0.10, 0.09, 0.09])
# products per category: (noun, base list price in UAH)
PRODUCT_NOUNS: dict[str, list[tuple[str, float]]] = {
    "electronics": [
        ("USB-C charger", 499),
        ("Wireless earbuds", 1899),
        ("Bluetooth speaker", 2499),
        ("Smartwatch", 6999),
        ('Tablet 10"', 11999),
        ("Smartphone", 17999),
        ('Laptop 14"', 32999),
        ('OLED TV 55"', 45999),
        ("Power bank", 899),
        ("Mechanical keyboard", 3299),
    ],
    "home": [
        ("Scented candle", 249),
        ("Cotton towel set", 699),
        ("Table lamp", 1299),
        ("Frying pan", 1099),
        ("Bedding set", 2199),
        ("Robot vacuum", 12999),
        ("Coffee machine", 8999),
        ("Wool blanket", 1899),
    ],
    "fashion": [
        ("Socks (5 pairs)", 299),
        ("T-shirt", 499),
        ("Jeans", 1499),
        ("Sneakers", 2999),
        ("Winter jacket", 4999),
        ("Leather bag", 3999),
        ("Dress", 1999),
        ("Scarf", 699),
    ],
    "beauty": [
        ("Lip balm", 149),
        ("Shampoo", 299),
        ("Face cream", 799),
        ("Serum", 1199),
        ("Perfume", 3499),
        ("Hair dryer", 2599),
        ("Make-up palette", 999),
    ],
    "books": [
        ("Paperback novel", 299),
        ("Cookbook", 549),
        ("Children's book", 249),
        ("Biography", 449),
        ("Business book", 499),
        ("Art album", 1299),
    ],
    "toys": [
        ("Puzzle 1000", 399),
        ("Board game", 999),
        ("Doll", 699),
        ("Construction set", 1899),
        ("RC car", 2299),
        ("Plush bear", 449),
    ],
    "garden": [
        ("Seeds assortment", 129),
        ("Garden gloves", 199),
        ("Hose 25 m", 899),
        ("Planter", 549),
        ("Pruning shears", 649),
        ("Lawn mower", 9999),
        ("Garden chair", 1499),
    ],
}
BRANDS = [("Basic", 0.8), ("Nova", 1.0), ("Prime", 1.35), ("Lux", 1.9)]

# re-bought periodically: (product id, name, list price, typical interval in days: low, high)
CONSUMABLES: list[tuple[str, str, float, int, int]] = [
    ("CONS-INK-305", "Printer cartridge HP 305 black", 899, 60, 120),
    ("CONS-COF-50", "Coffee capsules (50 pcs)", 649, 21, 45),
    ("CONS-PET-12", "Dry dog food 12 kg", 1549, 30, 60),
    ("CONS-LENS-30", "Daily contact lenses (30 pcs)", 1099, 28, 35),
]

INTERESTS = (
    "electronics",
    "home",
    "fashion",
    "beauty",
    "books",
    "toys",
    "garden",
    "sports",
    "travel",
    "cooking",
    "pets",
    "gaming",
)

# B2B
INDUSTRIES = (
    "software",
    "transport",
    "retail",
    "manufacturing",
    "healthcare",
    "finance",
    "education",
    "agriculture",
)
COMPANY_WORDS = [
    "Nova",
    "Sich",
    "Dnipro",
    "Karpaty",
    "Polissia",
    "Vertex",
    "Orion",
    "Baltic",
    "Atlas",
    "Lumen",
    "Stepove",
    "Borysfen",
    "Kvant",
    "Zenit",
    "Alpha",
    "Meridian",
    "Volta",
    "Horyzont",
]
COMPANY_SUFFIX = {
    "software": ["Soft", "Labs", "Digital", "Systems"],
    "transport": ["Logistics", "Trans", "Cargo", "Express"],
    "retail": ["Market", "Trade", "Store", "Retail"],
    "manufacturing": ["Plant", "Industries", "Works", "Steel"],
    "healthcare": ["Clinic", "Med", "Pharma", "Health"],
    "finance": ["Capital", "Invest", "Finance", "Bank"],
    "education": ["Academy", "School", "Edu", "Learning"],
    "agriculture": ["Agro", "Farm", "Harvest", "Grain"],
}
LEGAL_FORMS = ["LLC", "Ltd", "Sp. z o.o.", "GmbH", "PJSC"]
JOB_TITLES = [
    "CEO",
    "CTO",
    "CFO",
    "Head of Operations",
    "Procurement Manager",
    "Marketing Director",
    "IT Manager",
    "Office Manager",
    "Sales Director",
]
# plan: price per seat per month (UAH)
PLANS = {"starter": 150, "team": 300, "business": 450, "enterprise": 600}
FEATURES = ("dashboards", "reports", "exports", "api", "integrations", "automation", "alerts", "sso")
CANCEL_REASONS = ("price", "missing_feature", "switched_competitor", "budget_cuts", "poor_support")

# tickets
B2C_TOPICS = ("delivery", "return", "payment", "product_question", "account")
B2B_TOPICS = ("technical", "billing", "onboarding", "feature_request", "integration")
TICKET_CHANNELS = ("email", "chat", "phone")

# needs questionnaire (survey `needs`); documented in docs/demo.md
PRIORITIES = ("price", "quality", "speed", "service")
SHOPPING_STYLES = ("planner", "impulse", "researcher", "deal_seeker")
PREFERRED_CHANNELS = ("online", "store", "both")
INTEREST_QUESTIONS = ("electronics", "home", "fashion", "beauty", "books")


def product_catalog() -> dict[str, np.ndarray]:
    """The shop's products, ordered by category then list price: arrays id, name, category, price_cents.

    Also returns, per category, the start offset and count of its products (`cat_start`, `cat_count`), so
    a generator can pick "a cheap/expensive product of category c" by position.
    """
    ids: list[str] = []
    names: list[str] = []
    cats: list[str] = []
    prices: list[int] = []
    cat_start: list[int] = []
    cat_count: list[int] = []
    for c, category in enumerate(CATEGORIES):
        rows = []
        for noun, base in PRODUCT_NOUNS[category]:
            for brand, mult in BRANDS:
                price = max(49.0, round(base * mult, -1) - 1)  # shelf prices end in 9
                rows.append((price, f"{brand} {noun}"))
        rows.sort()
        cat_start.append(len(ids))
        cat_count.append(len(rows))
        for i, (price, name) in enumerate(rows):
            ids.append(f"{category[:3].upper()}-{c + 1}{i + 1:03d}")
            names.append(name)
            cats.append(category)
            prices.append(int(round(price * 100)))
    return {
        "id": np.array(ids, dtype=object),
        "name": np.array(names, dtype=object),
        "category": np.array(cats, dtype=object),
        "price_cents": np.array(prices, dtype=np.int64),
        "cat_start": np.array(cat_start, dtype=np.int64),
        "cat_count": np.array(cat_count, dtype=np.int64),
    }
