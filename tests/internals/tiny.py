"""A tiny randomly initialised transformers model and a byte-level BPE tokenizer, built offline."""

from __future__ import annotations

from typing import Any

CORPUS = [
    "The following are multiple choice questions (with answers).",
    "Which of these is a fruit?\nA. apple\nB. stone\nC. car\nD. river\nAnswer: A",
    "The quick brown fox jumps over the lazy dog. 0123456789 ANSWER: B C D",
    "Write a poem about the sea. The sea is blue and wide, it rolls with every tide.",
] * 20


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")


def tiny_model(arch: str = "qwen2", seed: int = 0, vocab: int = 400) -> Any:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    if arch == "qwen2":
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                          eos_token_id=0, bos_token_id=0, pad_token_id=0)
        model = Qwen2ForCausalLM(cfg)
    else:
        cfg = Gemma3TextConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                               num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                               max_position_embeddings=512, sliding_window=16, eos_token_id=0, bos_token_id=0,
                               pad_token_id=0)
        model = Gemma3ForCausalLM(cfg)
    return model.float().eval()


def tiny_backend(arch: str = "qwen2", seed: int = 0) -> Any:
    from jurybox.internals.backend import TransformersBackend

    return TransformersBackend.from_model(tiny_model(arch, seed), tiny_tokenizer(), identity=f"tiny-{arch}-{seed}")
