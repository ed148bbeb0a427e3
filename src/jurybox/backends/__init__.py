"""Backends talk to models through two primitives: option_logprobs and generate."""
