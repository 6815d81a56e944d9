"""The bilingual glossary of the conflict's entities: finds them in text and names them in both languages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from .textnorm import normalize, tokens

_CLITICS = "وبلفك"  # one-letter Arabic proclitics that glue onto names ("وأرمينيا", "بباكو")


@dataclass(frozen=True)
class Entity:
    id: str
    type: str
    en: tuple[str, ...]
    ar: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.en + self.ar

    def name(self, lang: str) -> str:
        return (self.ar if lang == "ar" else self.en)[0]


class Glossary:
    def __init__(self, entities: list[Entity]):
        self.entities = entities
        self._by_first: dict[str, list[tuple[tuple[str, ...], Entity]]] = {}
        self._by_name: dict[str, Entity] = {}
        for entity in entities:
            for name in entity.names:
                key = tuple(tokens(name))
                if key:
                    self._by_first.setdefault(key[0], []).append((key, entity))
                self._by_name[" ".join(normalize(name).split())] = entity
        for options in self._by_first.values():
            options.sort(key=lambda item: -len(item[0]))  # longest alias wins

    @classmethod
    def load(cls, path: str | None = None) -> Glossary:
        source = Path(path) if path else resources.files("retrieval").joinpath("data/glossary.json")
        raw = source.read_text("utf-8")
        return cls([Entity(e["id"], e["type"], tuple(e["en"]), tuple(e["ar"])) for e in json.loads(raw)["entities"]])

    def find(self, text: str) -> list[Entity]:
        """Entities named in `text`, in order of first mention, each once."""
        words = tokens(text)
        found: dict[str, Entity] = {}
        i = 0
        while i < len(words):
            matched = 0
            for word in self._variants(words[i]):
                for key, entity in self._by_first.get(word, ()):
                    if tuple([word, *words[i + 1 : i + len(key)]]) == key:
                        found.setdefault(entity.id, entity)
                        matched = len(key)
                        break
                if matched:
                    break
            i += matched or 1
        return list(found.values())

    def ids(self, text: str) -> frozenset[str]:
        """The ids of the entities named in `text`, cached: the same passages come back question after question."""
        return _ids(self, text)

    def outlet(self, name: str) -> Entity | None:
        """The outlet entity for a name as written in a dateline, if the glossary knows it."""
        entity = self._by_name.get(" ".join(normalize(name).split()))
        return entity if entity and entity.type == "outlet" else None

    def expansion(self, text: str) -> list[str]:
        """All names, in both languages, of the non-outlet entities mentioned in `text`."""
        return [name for entity in self.find(text) if entity.type != "outlet" for name in entity.names]

    @staticmethod
    def _variants(word: str) -> tuple[str, ...]:
        if len(word) > 3 and word[0] in _CLITICS:
            return (word, word[1:])
        return (word,)


@lru_cache(maxsize=100_000)
def _ids(glossary: Glossary, text: str) -> frozenset[str]:
    return frozenset(e.id for e in glossary.find(text))


@cache
def default_glossary() -> Glossary:
    return Glossary.load()
