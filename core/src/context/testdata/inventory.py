"""Stock keeping for a small shop: items, a ledger of movements, reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Iterable, Iterator

MAX_ITEMS = 10_000
DEFAULT_UNIT = "piece"


class InventoryError(Exception):
    """Raised when a movement would leave a negative stock."""


@dataclasses.dataclass(frozen=True)
class Item:
    """One kind of thing on the shelves.

    The SKU is the key everywhere; the name is only shown.
    Units are free text ("piece", "kg", "box of 12").
    Prices are in cents to stay exact.
    A discontinued item keeps its history but takes no new stock.
    Items compare by SKU only.
    See `Ledger.record` for what a movement checks.
    """

    sku: str
    name: str
    unit: str = DEFAULT_UNIT
    price_cents: int = 0
    discontinued: bool = False

    def label(self) -> str:
        return f"{self.name} ({self.unit})"


class Ledger:
    """Every movement of stock, in the order it happened."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items = {item.sku: item for item in items}
        self._movements: list[tuple[dt.datetime, str, int]] = []
        self._stock: dict[str, int] = defaultdict(int)

    def add_item(self, item: Item) -> None:
        if len(self._items) >= MAX_ITEMS:
            raise InventoryError(f"more than {MAX_ITEMS} items")
        self._items[item.sku] = item

    def record(self, sku: str, quantity: int, when: dt.datetime | None = None) -> int:
        """Add (or, negative, remove) `quantity` of `sku`; return the new stock."""
        item = self._items[sku]
        if item.discontinued and quantity > 0:
            raise InventoryError(f"{sku} is discontinued")
        stock = self._stock[sku] + quantity
        if stock < 0:
            raise InventoryError(f"only {self._stock[sku]} of {sku} left")
        self._stock[sku] = stock
        self._movements.append((when or dt.datetime.now(), sku, quantity))
        return stock

    def stock(self, sku: str) -> int:
        return self._stock[sku]

    @property
    def skus(self) -> list[str]:
        return sorted(self._items)

    def movements(self, since: dt.datetime | None = None) -> Iterator[tuple[dt.datetime, str, int]]:
        for movement in self._movements:
            if since is None or movement[0] >= since:
                yield movement

    class Snapshot:
        """The stock at one moment, detached from the ledger."""

        def __init__(self, stock: dict[str, int]) -> None:
            self.stock = dict(stock)

        def total(self) -> int:
            return sum(self.stock.values())

    def snapshot(self) -> "Ledger.Snapshot":
        return Ledger.Snapshot(self._stock)


def value_of(ledger: Ledger, prices: dict[str, int]) -> int:
    """The value of the stock in cents."""
    return sum(ledger.stock(sku) * prices.get(sku, 0) for sku in ledger.skus)


def report(ledger: Ledger) -> str:
    lines = []
    for sku in ledger.skus:
        lines.append(f"{sku:>10} {ledger.stock(sku):>8}")
    return "\n".join(lines)


if __name__ == "__main__":
    shop = Ledger([Item("A1", "apples", "kg"), Item("B2", "boxes")])
    shop.record("A1", 12)
    shop.record("B2", 3)
    print(report(shop))
