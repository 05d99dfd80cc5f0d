"""Thai NLP: the tagger that turns free Thai text into categories, kind and village."""

from bot.nlp.tagger import KeywordTagger, normalise

__all__ = ["KeywordTagger", "normalise"]
