"""Training job of the fine-tuning pipeline: one script for every method, one device or many.

Runs as the SageMaker training job's entry point, alone or under torchrun (PyTorch DDP, the
job's ``torch_distributed`` setting); on GPUs (NCCL), on Trainium through torch-neuronx (XLA)
and on CPUs (gloo). Inputs are SageMaker channels: ``train`` and ``validation`` (the
preprocessing job's JSONL) and ``model`` (the base model in Hugging Face layout, from S3: the
job runs without internet). Checkpoints go to ``/opt/ml/checkpoints`` every
``checkpoint_every`` steps, so a managed Spot job that is interrupted resumes where it stopped.
Metrics are printed as ``name=value;`` for the pipeline's metric definitions.

    torchrun --nproc_per_node 2 train.py --method lora --epochs 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.scripts.finetune_data import Example, batches, collate, encode_all, mean_token_loss, read_jsonl
from pipelines.scripts.finetune_methods import (
    METHODS,
    MethodSettings,
    SavedModel,
    build_model,
    save_model,
    weights_dtype,
)

CHECKPOINT_FILE = "checkpoint.pt"
METRIC_NAMES = ("train_loss", "validation_loss", "validation_perplexity", "tokens_per_second", "trainable_parameters")


def _flag(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path(env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")))
    parser.add_argument(
        "--validation", type=Path, default=Path(env("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"))
    )
    parser.add_argument("--model_dir", type=Path, default=Path(env("SM_CHANNEL_MODEL", "/opt/ml/input/data/model")))
    parser.add_argument("--output_dir", type=Path, default=Path(env("SM_MODEL_DIR", "/opt/ml/model")))
    parser.add_argument("--checkpoint_dir", type=Path, default=Path("/opt/ml/checkpoints"))
    parser.add_argument("--method", choices=METHODS, default="lora")
    parser.add_argument("--accelerator", choices=("auto", "cpu", "gpu", "trainium"), default="auto")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max_steps", type=int, default=0, help="stop after this many optimizer steps (0: epochs)")
    parser.add_argument("--learning_rate", type=float, default=2e-4)
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--warmup_ratio", type=float, default=0.03)
    parser.add_argument("--per_device_batch_size", type=int, default=4)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=1)
    parser.add_argument("--max_seq_length", type=int, default=1024)
    parser.add_argument("--lora_rank", type=int, default=16)
    parser.add_argument("--lora_alpha", type=int, default=32)
    parser.add_argument("--lora_dropout", type=float, default=0.05)
    parser.add_argument("--lora_target_modules", default="all-linear")
    parser.add_argument("--virtual_tokens", type=int, default=20)
    parser.add_argument("--adapter_len", type=int, default=10)
    parser.add_argument("--adapter_layers", type=int, default=8)
    parser.add_argument("--merge_weights", type=_flag, default=True)
    parser.add_argument("--checkpoint_every", type=int, default=100)
    parser.add_argument("--log_every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.per_device_batch_size < 1 or args.gradient_accumulation_steps < 1:
        parser.error("per_device_batch_size and gradient_accumulation_steps must be at least 1")
    if args.method == "qlora" and args.accelerator == "trainium":
        parser.error("qlora needs bitsandbytes' 4-bit kernels, which Trainium does not run; use lora")
    return args


def method_settings(args: argparse.Namespace) -> MethodSettings:
    return MethodSettings(
        lora_rank=args.lora_rank,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        lora_target_modules=args.lora_target_modules,
        virtual_tokens=args.virtual_tokens,
        adapter_len=args.adapter_len,
        adapter_layers=args.adapter_layers,
    )


@dataclass
class Runtime:
    """Where this process trains and who it trains with."""

    device: Any
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    xla: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def total(self, value: float) -> float:
        """The sum of ``value`` over every process."""
        if not self.distributed:
            return value
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor.item())

    def mean(self, value: float) -> float:
        return self.total(value) / self.world_size

    def step_done(self) -> None:
        if self.xla:
            import torch_xla.core.xla_model as xm

            xm.mark_step()


def start_runtime(accelerator: str) -> Runtime:
    import torch
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if accelerator == "trainium":
        import torch_xla.core.xla_model as xm
        import torch_xla.distributed.xla_backend  # noqa: F401  registers the "xla" process group

        runtime = Runtime(xm.xla_device(), rank, world_size, local_rank, xla=True)
        backend, init_method = "xla", "xla://"
    elif accelerator == "gpu" or (accelerator == "auto" and torch.cuda.is_available()):
        torch.cuda.set_device(local_rank)
        runtime = Runtime(torch.device("cuda", local_rank), rank, world_size, local_rank)
        backend, init_method = "nccl", "env://"
    else:
        runtime = Runtime(torch.device("cpu"), rank, world_size, local_rank)
        backend, init_method = "gloo", "env://"
    if runtime.distributed and not dist.is_initialized():
        dist.init_process_group(backend, init_method=init_method)
    return runtime


@dataclass
class TrainingResult:
    model: Any
    saved: SavedModel | None
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    resumed_from: int = 0
    trained_tokens: int = 0
    seconds: float = 0.0
    validation_loss: float | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.trained_tokens / self.seconds if self.seconds else 0.0


def log_metrics(**metrics: float) -> None:
    print(" ".join(f"{name}={value:.6g};" for name, value in metrics.items()), flush=True)


def unwrap(model: Any) -> Any:
    return model.module if hasattr(model, "module") else model


def trainable_state(model: Any) -> dict[str, Any]:
    return {name: p.detach().cpu() for name, p in unwrap(model).named_parameters() if p.requires_grad}


def save_checkpoint(directory: Path, model: Any, optimizer: Any, scheduler: Any, step: int) -> None:
    """Atomic: a job stopped mid-write keeps the previous checkpoint."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"{CHECKPOINT_FILE}.partial"
    state = {
        "step": step,
        "model": trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": torch.get_rng_state(),
    }
    torch.save(state, partial)
    os.replace(partial, directory / CHECKPOINT_FILE)


def resume(directory: Path, model: Any, optimizer: Any, scheduler: Any) -> int:
    """The optimizer step to continue from: 0 without a checkpoint."""
    import torch

    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=True)
    unexpected = unwrap(model).load_state_dict(state["model"], strict=False).unexpected_keys
    if unexpected:
        raise ValueError(f"{path} does not match this model and method: unexpected {unexpected[:3]}")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return int(state["step"])


def epoch_order(count: int, epoch: int, seed: int, runtime: Runtime) -> list[int]:
    """This rank's share of a seeded shuffle; every rank gets the same number of examples."""
    order = list(range(count))
    random.Random(seed + epoch).shuffle(order)
    usable = count - count % runtime.world_size
    return order[runtime.rank : usable : runtime.world_size]


def optimizer_steps(
    examples: list[Example], args: argparse.Namespace, runtime: Runtime
) -> Iterator[list[list[Example]]]:
    """Micro-batches grouped by optimizer step, across epochs, in a resumable order."""
    per_step = args.per_device_batch_size * args.gradient_accumulation_steps
    for epoch in range(args.epochs):
        order = epoch_order(len(examples), epoch, args.seed, runtime)
        for start in range(0, len(order), per_step):
            step_indices = order[start : start + per_step]
            yield list(batches(examples, step_indices, args.per_device_batch_size))


def train(args: argparse.Namespace) -> TrainingResult:
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    runtime = start_runtime(args.accelerator)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    examples = encode_all(read_jsonl(args.train), tokenizer, args.max_seq_length)
    if len(examples) < runtime.world_size * args.per_device_batch_size:
        raise ValueError(
            f"{len(examples)} training examples cannot fill one batch of {args.per_device_batch_size} "
            f"on each of {runtime.world_size} devices"
        )

    model = build_model(args.model_dir, args.method, method_settings(args), runtime.device)
    if runtime.distributed:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [runtime.local_rank] if runtime.device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=device_ids)
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.learning_rate, weight_decay=args.weight_decay)
    per_epoch = math.ceil(
        len(epoch_order(len(examples), 0, args.seed, runtime))
        / (args.per_device_batch_size * args.gradient_accumulation_steps)
    )
    total_steps = args.max_steps or per_epoch * args.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * args.warmup_ratio), total_steps)
    start = resume(args.checkpoint_dir, model, optimizer, scheduler)
    result = TrainingResult(model=model, saved=None, resumed_from=start, steps=start)
    if runtime.main and start:
        print(f"resumed from {args.checkpoint_dir / CHECKPOINT_FILE} at step {start}", flush=True)

    began = time.perf_counter()
    for step, micro_batches in enumerate(optimizer_steps(examples, args, runtime), start=1):
        if step > total_steps:
            break
        if step <= start:
            continue
        tokens = sum(example.trained_tokens for batch in micro_batches for example in batch)
        step_loss = 0.0
        for index, batch in enumerate(micro_batches):
            inputs = {key: value.to(runtime.device) for key, value in collate(batch, pad).items()}
            last = index == len(micro_batches) - 1
            sync = contextlib.nullcontext() if last or not runtime.distributed else model.no_sync()
            with sync:
                loss = model(**inputs).loss / len(micro_batches)
                loss.backward()
            step_loss += float(loss.detach())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        runtime.step_done()
        result.steps = step
        result.losses.append(runtime.mean(step_loss))
        result.trained_tokens += int(runtime.total(tokens))
        if runtime.main and (step % args.log_every == 0 or step == total_steps):
            log_metrics(step=step, train_loss=result.losses[-1])
        if step % args.checkpoint_every == 0:
            if runtime.main:
                save_checkpoint(args.checkpoint_dir, model, optimizer, scheduler, step)
            runtime.barrier()
    result.seconds = time.perf_counter() - began

    if runtime.main:
        validation = encode_all(read_jsonl(args.validation), tokenizer, args.max_seq_length)
        result.validation_loss = mean_token_loss(
            unwrap(model), validation, args.per_device_batch_size, pad, runtime.device
        )
        trained = unwrap(model).to("cpu") if runtime.xla else unwrap(model)  # XLA tensors do not serialise
        result.saved = save_model(
            trained,
            tokenizer,
            args.output_dir,
            method=args.method,
            base_dir=args.model_dir,
            merge=args.merge_weights,
            dtype=weights_dtype(runtime.device.type),
        )
        log_metrics(
            validation_loss=result.validation_loss,
            validation_perplexity=math.exp(min(result.validation_loss, 50.0)),
            tokens_per_second=result.tokens_per_second,
            trainable_parameters=result.saved.trainable_parameters,
        )
        report = {
            "method": args.method,
            "steps": result.steps,
            "resumed_from": result.resumed_from,
            "world_size": runtime.world_size,
            "final_train_loss": result.losses[-1] if result.losses else None,
            "validation_loss": result.validation_loss,
            "tokens_per_second": result.tokens_per_second,
            "layout": result.saved.layout,
            "trainable_parameters": result.saved.trainable_parameters,
            "total_parameters": result.saved.total_parameters,
        }
        (args.output_dir / "training_report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    runtime.barrier()
    return result


def main(argv: list[str] | None = None) -> int:
    result = train(parse_args(argv))
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    if result.losses and not all(math.isfinite(loss) for loss in result.losses):
        print("training diverged: a loss is not finite", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
