"""Column names of exports mapped to canonical column names: explicit `--map Source=target`, then built-in
aliases (English, Ukrainian, Russian), matched ignoring case, spaces, underscores, hyphens and dots.
Other columns are kept under their own name in snake_case."""

from __future__ import annotations

import re
import unicodedata

from segmentum.errors import IngestError, did_you_mean
from segmentum.schema import TABLES

# canonical column -> aliases (any spelling: they are normalized before use). Canonical names match themselves.
COMMON_ALIASES: dict[str, list[str]] = {
    "customer_id": [
        "CustomerID",
        "Customer ID",
        "customer",
        "customer no",
        "customer number",
        "cust_id",
        "client",
        "client_id",
        "client id",
        "client no",
        "user_id",
        "member_id",
        "account_id",
        "contact_id",
        "Клиент",
        "ID клиента",
        "Код клиента",
        "Номер клиента",
        "Покупатель",
        "Код покупателя",
        "Контрагент",
        "Клієнт",
        "ID клієнта",
        "Код клієнта",
        "Номер клієнта",
        "Покупець",
        "Код покупця",
    ],
    "order_id": [
        "order",
        "order no",
        "order number",
        "order_id",
        "invoice",
        "invoice no",
        "invoice number",
        "invoice_id",
        "Заказ",
        "Номер заказа",
        "ID заказа",
        "Чек",
        "Номер чека",
        "Замовлення",
        "Номер замовлення",
        "ID замовлення",
    ],
    "ordered_at": [
        "order date",
        "order_date",
        "invoice date",
        "InvoiceDate",
        "purchase date",
        "purchased_at",
        "Дата заказа",
        "Дата чека",
        "Дата покупки",
        "Дата замовлення",
        "Дата покупки",
    ],
    "amount": [
        "total",
        "order total",
        "total amount",
        "revenue",
        "sum",
        "order amount",
        "order value",
        "Сумма",
        "Сумма заказа",
        "Итого",
        "Сума",
        "Сума замовлення",
        "Разом",
    ],
    "status": ["order status", "Статус", "Статус заказа", "Статус замовлення"],
    "channel": ["Канал"],
    "currency": ["Валюта"],
    "discount": ["Скидка", "Знижка"],
    "product_id": [
        "product",
        "sku",
        "StockCode",
        "stock code",
        "item_id",
        "item code",
        "product code",
        "article",
        "Артикул",
        "Код товара",
        "Код товару",
        "ID товара",
        "ID товару",
    ],
    "product_name": [
        "description",
        "product name",
        "item name",
        "item",
        "Товар",
        "Наименование",
        "Название товара",
        "Найменування",
        "Назва товару",
        "Назва",
    ],
    "quantity": ["qty", "units", "quantity", "Количество", "Кол-во", "Кількість", "К-сть"],
    "unit_price": ["price", "unit price", "item price", "Цена", "Цена за единицу", "Ціна", "Ціна за одиницю"],
    "line": ["line no", "line number", "position", "Позиция", "Строка", "Позиція", "Рядок"],
    "category": ["product category", "Категория", "Категорія"],
    "name": ["full name", "customer name", "client name", "ФИО", "Имя", "Ім'я", "ПІБ", "Імʼя"],
    "email": ["e-mail", "email address", "mail", "Почта", "Электронная почта", "Пошта", "Електронна пошта"],
    "phone": ["telephone", "phone number", "mobile", "Телефон"],
    "country": ["Страна", "Країна"],
    "region": ["province", "Регион", "Область", "Регіон"],
    "city": ["town", "Город", "Місто"],
    "postal_code": ["zip", "zip code", "postcode", "post code", "Индекс", "Індекс"],
    "created_at": [
        "signup date",
        "registered_at",
        "registration date",
        "Дата регистрации",
        "Дата реєстрації",
    ],
    "birth_date": ["date of birth", "dob", "birthday", "Дата рождения", "Дата народження"],
    "gender": ["sex", "Пол", "Стать"],
    "language": ["lang", "Язык", "Мова"],
    "company": ["company name", "Компания", "Компанія"],
    "industry": ["Отрасль", "Галузь"],
    "employees": ["company size", "number of employees", "Сотрудники", "Працівники"],
    "event": ["event name", "event type", "action", "Событие", "Подія"],
    "occurred_at": ["event time", "event date", "Время события", "Час події"],
    "question": ["Вопрос", "Питання"],
    "answer": ["Ответ", "Відповідь"],
    "answered_at": ["submitted_at", "response date", "Дата ответа", "Дата відповіді"],
    "ticket_id": ["ticket", "case_id", "ticket number", "Обращение", "Звернення"],
    "opened_at": ["Дата обращения", "Дата звернення"],
    "resolved_at": ["closed_at"],
    "subscription_id": ["subscription"],
    "started_at": ["start date", "Дата начала", "Дата початку"],
    "renews_at": ["renewal date"],
    "cancelled_at": ["canceled_at", "cancellation date"],
}
CARRIED_ATTRIBUTES = ("country", "region", "city", "postal_code", "email", "phone", "company", "industry")
# Generic time words mean the table's own time column.
TIME_ALIASES = ["date", "datetime", "timestamp", "time", "Дата", "Время", "Дата и время", "Час", "Дата і час"]
# Words whose meaning depends on the table.
TABLE_ALIASES: dict[str, dict[str, list[str]]] = {
    "customers": {"name": ["name"], "region": ["state"]},
    "order_items": {"product_name": ["name"]},
    "tickets": {"opened_at": ["created_at"]},
    "rates": {
        "day": ["date", "rate date", "Дата", "День"],
        "rate": ["exchange rate", "fx rate", "Курс"],
        "currency": ["currency code", "code", "Код валюти", "Код валюты"],
    },
}


def normalize(name: str) -> str:
    """The matching key of a column name: lower case, without spaces, underscores, hyphens, dots, apostrophes."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return re.sub(r"[\s_\-.'ʼ’`/]+", "", text)


def snake_case(name: str) -> str:
    """A column's own name as a stored column name: snake_case, letters of any script kept."""
    text = unicodedata.normalize("NFKC", str(name)).strip()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^\w]+", "_", text.lower(), flags=re.UNICODE).strip("_")
    return text


def alias_table(table: str) -> dict[str, str]:
    """Normalized alias -> canonical column for one table."""
    spec = TABLES[table]
    result: dict[str, str] = {}
    for column in spec.columns:
        for alias in [column, *COMMON_ALIASES.get(column, [])]:
            result.setdefault(normalize(alias), column)
    for column, aliases in TABLE_ALIASES.get(table, {}).items():
        for alias in aliases:
            result[normalize(alias)] = column
    if table != "customers":
        # customer attributes carried on other tables (the country of an order line) keep their canonical name
        for column in CARRIED_ATTRIBUTES:
            if column not in spec.columns:
                for alias in [column, *COMMON_ALIASES.get(column, [])]:
                    result.setdefault(normalize(alias), column)
    if spec.time_column:
        for alias in TIME_ALIASES:
            result.setdefault(normalize(alias), spec.time_column)
    return result


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """`["Source=target", ...]` from the CLI into a dict."""
    mapping: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise IngestError(
                f"--map {item!r} is not of the form Source=target (e.g. --map 'Клиент=customer_id')"
            )
        source, target = item.rsplit("=", 1)
        if not source.strip() or not target.strip():
            raise IngestError(f"--map {item!r} needs both a source column and a target column")
        mapping[source.strip()] = target.strip()
    return mapping


def resolve_columns(table: str, columns: list[str], mapping: dict[str, str] | None) -> dict[str, str]:
    """Source column -> stored column name, for every source column.

    Explicit mapping first (source names matched exactly, then normalized), then aliases, then the column's
    own name in snake_case. Two source columns that would land on one name are an IngestError.
    """
    mapping = dict(mapping or {})
    result: dict[str, str] = {}
    by_norm: dict[str, list[str]] = {}
    for col in columns:
        by_norm.setdefault(normalize(col), []).append(col)
    for source, target in mapping.items():
        if source in columns:
            matched = source
        elif len(by_norm.get(normalize(source), [])) == 1:
            matched = by_norm[normalize(source)][0]
        else:
            raise IngestError(
                f"--map {source}={target}: the source has no column {source!r}{did_you_mean(source, columns)} "
                f"(columns: {', '.join(repr(c) for c in columns)})"
            )
        target_name = snake_case(target) or target
        result[matched] = target_name
    aliases = alias_table(table)
    taken = set(result.values())
    canonical_keys = {normalize(c): c for c in TABLES[table].columns}
    # Two passes: a column spelled like the canonical name beats one that is only an alias of it.
    for exact in (True, False):
        for col in columns:
            if col in result:
                continue
            key = normalize(col)
            canonical = canonical_keys.get(key) if exact else aliases.get(key)
            if canonical and canonical not in taken:
                result[col] = canonical
                taken.add(canonical)
    for index, col in enumerate(columns):
        if col in result:
            continue
        name = snake_case(col) or f"column_{index + 1}"
        if name.startswith("__"):
            name = name.lstrip("_") or f"column_{index + 1}"
        base, n = name, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        result[col] = name
        taken.add(name)
    targets: dict[str, str] = {}
    for source, target in result.items():
        if target in targets:
            raise IngestError(
                f"columns {targets[target]!r} and {source!r} both map to {target!r}; map one of them elsewhere "
                f"with --map '{source}=<name>'"
            )
        targets[target] = source
    return result
