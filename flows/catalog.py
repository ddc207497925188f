"""Reply texts, one YAML file per language in `flows/catalog/`, editable without code changes."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Formatter
from typing import Literal

import yaml

Language = Literal["fa", "en"]
LANGUAGES: tuple[Language, ...] = ("fa", "en")
CATALOG_DIR = Path(__file__).with_name("catalog")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


class Catalog:
    def __init__(self, texts: dict[str, dict[str, str]]) -> None:
        self._texts = texts

    @classmethod
    def load(cls, directory: Path = CATALOG_DIR) -> Catalog:
        return cls({lang: _read(directory / f"{lang}.yaml") for lang in LANGUAGES})

    def render(self, lang: Language, key: str, **params: object) -> str:
        """The text for `key`; integers are written in Persian digits in Persian texts.
        `{send}`/`{Send}` are the SMS word (`word_send`) unless given (a USSD screen's)."""
        template = self._texts[lang][key]
        if "send" not in params and "word_send" in self._texts[lang]:
            word = self._texts[lang]["word_send"]
            params = {"send": word, "Send": word[:1].upper() + word[1:], **params}
        return template.format(**{name: _show(lang, value) for name, value in params.items()})

    def has(self, lang: Language, key: str) -> bool:
        return key in self._texts[lang]

    def keys(self, lang: Language) -> set[str]:
        return set(self._texts[lang])

    def placeholders(self, lang: Language, key: str) -> set[str]:
        return {field for _, field, _, _ in Formatter().parse(self._texts[lang][key]) if field}


def _show(lang: Language, value: object) -> str:
    if isinstance(value, int) and lang == "fa":
        return str(value).translate(_PERSIAN_DIGITS)
    return str(value)


def _read(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        texts = yaml.safe_load(handle)
    return {key: _tidy(str(text)) for key, text in texts.items()}


def _tidy(text: str) -> str:
    """Collapse runs of spaces; keep explicit line breaks (USSD menus put options on lines)."""
    return "\n".join(" ".join(line.split()) for line in text.strip().split("\n"))


@cache
def default_catalog() -> Catalog:
    return Catalog.load()
