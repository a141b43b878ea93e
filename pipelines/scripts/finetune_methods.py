"""The fine-tuning methods: which weights train, how the base model is loaded, what is saved.

``full`` trains every weight. The others train a small set of new weights beside a frozen
base through Hugging Face PEFT: ``lora`` (low-rank updates), ``qlora`` (LoRA over a 4-bit NF4
base through bitsandbytes), ``prompt-tuning`` and ``prefix-tuning`` (learned virtual tokens at
the input or at every layer) and ``llama-adapter`` (PEFT's adaption prompt: gated prompts in
the top layers).

Saved layout, the one TGI and DJL LMI load from ``/opt/ml/model``: full weights (``full``, and
LoRA/QLoRA merged into the base when asked) at the root with the tokenizer; PEFT adapters under
``adapter/``; ``llmops_model.json`` says which it is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

METHODS = ("full", "lora", "qlora", "prompt-tuning", "prefix-tuning", "llama-adapter")
MERGEABLE = frozenset({"lora", "qlora"})
MODEL_CARD = "llmops_model.json"


@dataclass(frozen=True)
class MethodSettings:
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = "all-linear"
    virtual_tokens: int = 20
    adapter_len: int = 10
    adapter_layers: int = 8


def peft_config(method: str, settings: MethodSettings, num_layers: int) -> Any:
    """The PEFT configuration of a method; None for full fine-tuning."""
    from peft import (
        AdaptionPromptConfig,
        LoraConfig,
        PrefixTuningConfig,
        PromptTuningConfig,
        PromptTuningInit,
        TaskType,
    )

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "full":
        return None
    if method in MERGEABLE:
        names = settings.lora_target_modules
        targets = names if names == "all-linear" else [name.strip() for name in names.split(",") if name.strip()]
        return LoraConfig(
            r=settings.lora_rank,
            lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout,
            target_modules=targets,
            task_type=TaskType.CAUSAL_LM,
        )
    if method == "prompt-tuning":
        return PromptTuningConfig(
            num_virtual_tokens=settings.virtual_tokens,
            prompt_tuning_init=PromptTuningInit.RANDOM,
            task_type=TaskType.CAUSAL_LM,
        )
    if method == "prefix-tuning":
        return PrefixTuningConfig(num_virtual_tokens=settings.virtual_tokens, task_type=TaskType.CAUSAL_LM)
    return AdaptionPromptConfig(
        adapter_len=settings.adapter_len,
        adapter_layers=min(settings.adapter_layers, num_layers),
        task_type=TaskType.CAUSAL_LM,
    )


def weights_dtype(device_type: str) -> Any:
    import torch

    return torch.float32 if device_type == "cpu" else torch.bfloat16


def dtype_option(dtype: Any) -> dict[str, Any]:
    """``from_pretrained``'s dtype keyword: ``dtype`` since transformers 4.56, ``torch_dtype`` before
    (the Neuron training containers ship 4.55)."""
    import transformers

    major, minor = (int(part) for part in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def load_base(model_dir: Path, method: str, device: Any) -> Any:
    """The base model on ``device``; 4-bit NF4 for QLoRA."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    dtype = weights_dtype(device.type)
    if method != "qlora":
        return AutoModelForCausalLM.from_pretrained(model_dir, **dtype_option(dtype)).to(device)
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype,
    )
    return AutoModelForCausalLM.from_pretrained(
        model_dir, **dtype_option(dtype), quantization_config=quantization, device_map={"": device}
    )


def build_model(model_dir: Path, method: str, settings: MethodSettings, device: Any) -> Any:
    """The model to train: the base itself for ``full``, else the base frozen under a PEFT wrapper."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    base = load_base(model_dir, method, device)
    if method == "full":
        base.train()
        return base
    if method == "qlora":
        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    config = peft_config(method, settings, num_layers=base.config.num_hidden_layers)
    model = get_peft_model(base, config)
    model.train()
    return model


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters; 4-bit weights count as stored elements."""
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in model.parameters())
    return trainable, total


@dataclass(frozen=True)
class SavedModel:
    method: str
    layout: str  # "full", "merged" or "adapter"
    adapter: str | None
    trainable_parameters: int
    total_parameters: int


def save_model(
    model: Any, tokenizer: Any, output_dir: Path, *, method: str, base_dir: Path, merge: bool, dtype: Any
) -> SavedModel:
    """Write the trained model in the serving layout; merging reloads the base unquantized in ``dtype``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    trainable, total = parameter_counts(model)
    adapter = None
    if method == "full":
        model.save_pretrained(output_dir)
        layout = "full"
    else:
        adapter_dir = output_dir / "adapter"
        model.save_pretrained(adapter_dir)
        adapter = "adapter"
        layout = "adapter"
        if merge and method in MERGEABLE:
            merged_model(base_dir, adapter_dir, dtype).save_pretrained(output_dir)
            layout = "merged"
    tokenizer.save_pretrained(output_dir)
    saved = SavedModel(method, layout, adapter, trainable, total)
    (output_dir / MODEL_CARD).write_text(json.dumps(asdict(saved), indent=2, sort_keys=True))
    return saved


def merged_model(base_dir: Path, adapter_dir: Path, dtype: Any) -> Any:
    """The base with a LoRA adapter folded into its weights, on the CPU (host memory holds the whole model)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir, **dtype_option(dtype))
    return PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()


def load_trained(model_dir: Path, base_dir: Path | None, device: Any) -> Any:
    """A saved model ready for inference, whatever its layout."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    card = json.loads((model_dir / MODEL_CARD).read_text())
    dtype = weights_dtype(device.type)
    if card["layout"] in ("full", "merged"):
        return AutoModelForCausalLM.from_pretrained(model_dir, **dtype_option(dtype)).to(device).eval()
    if base_dir is None:
        raise ValueError(f"{model_dir} holds a {card['method']} adapter: the base model is needed to load it")
    base = AutoModelForCausalLM.from_pretrained(base_dir, **dtype_option(dtype)).to(device)
    return PeftModel.from_pretrained(base, model_dir / card["adapter"]).eval()
