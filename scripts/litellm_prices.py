#!/usr/bin/env python3
"""Regenerate spate's embedded Claude price table from a LiteLLM price file.

    pip download litellm --no-deps -d /tmp/litellm
    unzip -o /tmp/litellm/litellm-*.whl \
        'litellm/model_prices_and_context_window_backup.json' -d /tmp/litellm
    python3 scripts/litellm_prices.py \
        /tmp/litellm/litellm/model_prices_and_context_window_backup.json \
        --source 'LiteLLM 1.110.2 (PyPI wheel)' \
        > crates/spate-agents/src/pricing/table.rs

(or pass the file from https://github.com/BerriAI/litellm, model_prices_and_context_window.json).

Which entries: every key that names a Claude model and carries an input and an output price,
reduced to its family name the way spate looks models up (lower case, no provider prefix such
as `anthropic/` or `us.anthropic.`, no `@date`, `-v1:0`, `-latest` or `-YYYYMMDD` suffix, dots
in versions as dashes: `claude-opus-4.5` is `claude-opus-4-5`). Names not starting with
`claude-` (resellers' own names) are left out. When several entries reduce to one family the
first-party one wins (provider `anthropic`); else the entry with the most price fields (explicit
cache prices), then Vertex AI before Bedrock before the others, then the lowest input price
(regional endpoints carry a surcharge), then the key in sorted order. When the chosen entry has
no long-context rates, those of the best-ranked entry of the same model at the same base input
price are used (LiteLLM lists them for some providers only). `alias_of` entries without prices
take their target's.

Rates are stored in picodollars per token (every published price is a whole number of them).
A missing cache price takes Anthropic's published multiple of the input price (5-minute write
1.25x, 1-hour write 2x, read 0.1x). Long-context rates (`*_above_200k_tokens`, or
`*_above_100k_tokens`) apply to a whole request whose prompt exceeds the threshold.
"""

import argparse
import hashlib
import json
import re
import sys

PROVIDER_RANK = {
    "anthropic": 0,
    "vertex_ai-anthropic_models": 1,
    "bedrock_converse": 2,
    "bedrock": 3,
}


def family(key: str) -> str:
    s = key.strip().lower()
    if "/" in s:
        s = s[s.rfind("/") + 1:]
    if "anthropic." in s:
        s = s[s.find("anthropic.") + len("anthropic."):]
    if "@" in s:
        s = s[: s.find("@")]
    m = re.search(r"-v[0-9:]+$", s)
    if m:
        s = s[: m.start()]
    if s.endswith("-latest"):
        s = s[: -len("-latest")]
    m = re.search(r"-\d{8}$", s)
    if m:
        s = s[: m.start()]
    return s.replace(".", "-")


def pico(v, what):
    if v is None:
        return None
    if not isinstance(v, (int, float)) or not (0 <= v < 1):
        sys.exit(f"litellm_prices: {what}: not a price per token: {v!r}")
    p = round(v * 1e12)
    if abs(p - v * 1e12) > 1e-3 * max(1, p):
        sys.exit(f"litellm_prices: {what}: {v!r} is not a whole number of picodollars")
    return p


def rates(e, key, suffix):
    """(input, output, write 5m, write 1h, read) in picodollars, or None without input/output."""
    inp = pico(e.get("input_cost_per_token" + suffix), key)
    out = pico(e.get("output_cost_per_token" + suffix), key)
    if inp is None or out is None:
        return None
    w5 = pico(e.get("cache_creation_input_token_cost" + suffix), key)
    w1 = pico(e.get("cache_creation_input_token_cost_above_1hr" + suffix), key)
    rd = pico(e.get("cache_read_input_token_cost" + suffix), key)
    return (
        inp,
        out,
        w5 if w5 is not None else inp * 5 // 4,
        w1 if w1 is not None else inp * 2,
        rd if rd is not None else inp // 10,
    )


def price(e, key):
    std = rates(e, key, "")
    if std is None:
        return None
    long = None
    for threshold in (200_000, 100_000):
        r = rates(e, key, f"_above_{threshold // 1000}k_tokens")
        if r is not None:
            long = (threshold, r)
            break
    return std, long


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", help="LiteLLM model_prices_and_context_window(.json|_backup.json)")
    ap.add_argument("--source", default=None,
                    help="how to name the source in the table (default: the file name)")
    args = ap.parse_args()
    raw = open(args.file, "rb").read()
    doc = json.loads(raw)
    candidates = {}
    for key, e in doc.items():
        if not isinstance(e, dict) or "claude" not in key.lower():
            continue
        if "alias_of" in e and "input_cost_per_token" not in e:
            target = doc.get(e["alias_of"])
            if not isinstance(target, dict):
                continue
            e = dict(target, litellm_provider=target.get("litellm_provider"))
        p = price(e, key)
        if p is None:
            continue
        fam = family(key)
        if not fam.startswith("claude-"):
            continue
        rank = PROVIDER_RANK.get(e.get("litellm_provider"), 9)
        fields = sum(1 for k in e if "cost" in k)
        first_party = 0 if rank == 0 else 1
        order = (first_party, -fields, rank, p[0][0], key)
        candidates.setdefault(fam, []).append((order, key, p))
    out = sys.stdout
    source = args.source or args.file.rsplit("/", 1)[-1]
    digest = hashlib.sha256(raw).hexdigest()[:16]
    out.write("// @generated by scripts/litellm_prices.py: do not edit by hand, run the script.\n")
    out.write("//! The embedded price table (see `scripts/litellm_prices.py` for how it is made).\n\n")
    out.write("use super::{lc, p, ModelPrice};\n\n")
    out.write("/// Where the embedded prices come from.\n")
    out.write(f"pub const SOURCE: &str = {json.dumps(source + ', model_prices_and_context_window file sha256:' + digest)};\n\n")
    out.write("/// Model family → price (picodollars per token: input, output, 5-minute write,\n")
    out.write("/// 1-hour write, read) and the LiteLLM key it was taken from.\n")
    out.write("pub(super) const TABLE: &[(&str, ModelPrice, &str)] = &[\n")
    for fam in sorted(candidates):
        ranked = sorted(candidates[fam])
        _, key, (std, long) = ranked[0]
        if long is None:
            # the long-context rates of the same model at the same base price, from the
            # best-ranked entry that lists them (LiteLLM gives them for some providers only)
            long = next((c[2][1] for c in ranked if c[2][1] and c[2][0][0] == std[0]), None)
        std_s = ", ".join(f"{x}" for x in std)
        if long is None:
            expr = f"p({std_s})"
        else:
            threshold, lr = long
            expr = f"lc(p({std_s}), {threshold}, [{', '.join(str(x) for x in lr)}])"
        out.write(f"    ({json.dumps(fam)}, {expr}, {json.dumps(key)}),\n")
    out.write("];\n")


if __name__ == "__main__":
    main()
