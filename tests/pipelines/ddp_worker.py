"""One rank of the DDP test: trains through the real script, then writes what it ended with.

torchrun --nproc_per_node 2 tests/pipelines/ddp_worker.py <out> <training arguments...>
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from pipelines.scripts import train


def main() -> None:
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    result = train.train(train.parse_args(argv))
    torch.save(
        {"weights": train.trainable_state(result.model), "losses": result.losses, "steps": result.steps},
        out / f"rank{os.environ['RANK']}.pt",
    )
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
