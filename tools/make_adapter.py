#!/usr/bin/env python3
"""Write a LoRA adapter in llama.cpp's GGUF adapter format for a catalog model.

    .venv/bin/python tools/make_adapter.py --role base --domain code [--rank 8] [--std 0.02]

With random factors it is a format and plumbing check (the adapter changes the model's
output but teaches it nothing): real adapters are trained by DREAM. The file goes to
<state_dir>/adapters/<domain>.gguf unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sage.cascade.adapters import DOMAINS, adapters_dir, write_lora
from sage.catalog import ModelCache
from sage.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="base")
    parser.add_argument("--domain", choices=DOMAINS, required=True)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--std", type=float, default=0.02, help="spread of the random factors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config()
    base = ModelCache(config.paths.cache_dir).path(args.role)
    out = args.out or adapters_dir(config) / f"{args.domain}.gguf"
    write_lora(base, out, rank=args.rank, init_std=args.std, seed=args.seed)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
