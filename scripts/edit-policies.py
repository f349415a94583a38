#!/usr/bin/env python3
"""Writes a copy of a cluster file with a few NetworkPolicies edited, for `palisade diff` at
scale (the "what does this pull request change" question on a large cluster).

    python3 scripts/edit-policies.py bench-data/large.yaml bench-data/large-edited.yaml [EDITS]

EDITS (default 6) ingress NetworkPolicies, evenly spaced through the file, are edited in
turn: the first port of the policy becomes 9999 (changed ports), the policy is deleted
(connections lost), or a copy named `<name>-open` admitting every source on every port is
added beside it (connections gained). Deterministic: the same input gives the same output.
What was edited is printed on stderr.
"""

import re
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    edits = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    with open(src, encoding="utf-8") as f:
        docs = f.read().split("\n---\n")
    candidates = [
        i
        for i, d in enumerate(docs)
        if "\nkind: NetworkPolicy\n" in "\n" + d and "\n  ingress:\n" in d
    ]
    if len(candidates) < edits:
        sys.exit(f"only {len(candidates)} ingress NetworkPolicies in {src}")
    step = len(candidates) // edits
    chosen = [candidates[k * step + step // 2] for k in range(edits)]
    out = []
    for i, d in enumerate(docs):
        if i not in chosen:
            out.append(d)
            continue
        name = re.search(r"\n  name: (\S+)", d).group(1)
        ns = re.search(r"\n  namespace: (\S+)", d).group(1)
        kind = chosen.index(i) % 3
        if kind == 0:
            edited, n = re.subn(r"\n(\s+)port: \S+", r"\n\1port: 9999", d, count=1)
            print(f"{ns}/{name}: first port -> 9999" if n else f"{ns}/{name}: unchanged (no port)",
                  file=sys.stderr)
            out.append(edited)
        elif kind == 1:
            print(f"{ns}/{name}: deleted", file=sys.stderr)
        else:
            out.append(d)
            head = d[: d.index("\n  ingress:\n")]
            head = head.replace(f"\n  name: {name}", f"\n  name: {name}-open", 1)
            out.append(head + "\n  ingress:\n  - {}")
            print(f"{ns}/{name}-open: added (every source, every port)", file=sys.stderr)
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n---\n".join(out))


if __name__ == "__main__":
    main()
