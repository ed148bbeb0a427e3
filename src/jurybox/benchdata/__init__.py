"""Loaders for public human-labelled benchmark data the user already has on disk.

jurybox ships no benchmark data; these functions read the files in their published layout.
"""

from jurybox.benchdata.llmbar import LLMBAR_SETS, load_llmbar, load_llmbar_evaluator

__all__ = ["LLMBAR_SETS", "load_llmbar", "load_llmbar_evaluator"]
