"""The weight-repacking decision for llama.cpp (AMX machines) and how it reaches llama's parameters."""

from __future__ import annotations

import pytest

from jurybox.backends.llama_params import library_has_amx, use_extra_bufts
from jurybox.errors import JuryboxError

AMX = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | REPACK = 1 | "
NO_AMX = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | REPACK = 1 | "


def test_auto_turns_extra_buffers_off_only_for_a_library_with_amx_kernels():
    assert library_has_amx(AMX) and not library_has_amx(NO_AMX)
    assert use_extra_bufts("auto", AMX) is False
    assert use_extra_bufts("auto", NO_AMX) is True
    assert use_extra_bufts("", NO_AMX) is True


def test_the_environment_forces_either_path():
    for info in (AMX, NO_AMX):
        assert use_extra_bufts("on", info) is True
        assert use_extra_bufts(" OFF ", info) is False
    with pytest.raises(JuryboxError, match=r"\$JURYBOX_REPACK must be one of auto, on, off, got 'maybe'"):
        use_extra_bufts("maybe", AMX)


def test_the_override_reaches_the_parameters_llama_builds_and_is_undone():
    low = pytest.importorskip("llama_cpp.llama_cpp")
    from jurybox.backends.llama_params import install_process_wide, model_params_override

    original = low.llama_model_default_params
    assert original().use_extra_bufts is True  # llama.cpp's default
    with model_params_override(False) as decided:
        assert decided is False and low.llama_model_default_params().use_extra_bufts is False
    assert low.llama_model_default_params is original
    try:
        assert install_process_wide(False) is False
        assert install_process_wide(False) is False  # twice: wraps the original, not the wrapper
        assert low.llama_model_default_params().use_extra_bufts is False
        assert low.llama_model_default_params().n_gpu_layers == original().n_gpu_layers
    finally:
        low.llama_model_default_params = original
