"""RFC 6962 Merkle trees (RFC 9162 §2.1): tree heads, inclusion proofs and consistency proofs, and their checks.

Leaves are hashed as SHA-256(0x00 || data) and nodes as SHA-256(0x01 || left || right), so a leaf can never pass
for a node. A tree of n > 1 leaves splits at k, the largest power of two smaller than n. The verifiers follow
RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; hub/evidence/verify_bundle.py carries its own copy of the few lines
it needs, and a test holds the two to the same answers.
"""

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not prove what it claims, with the reason."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def tree_head(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]): the root hash over the leaves' data."""
    return _root_of_hashes([leaf_hash(leaf) for leaf in leaves])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index`."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside a tree of {len(leaves)}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return _path(m, hashes[:k]) + [_root_of_hashes(hashes[k:])]
    return _path(m - k, hashes[k:]) + [_root_of_hashes(hashes[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `old_size` leaves is a prefix of the whole."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to {len(leaves)}")
    return _subproof(old_size, [leaf_hash(leaf) for leaf in leaves], True)


def _subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [_root_of_hashes(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, hashes[:k], whole) + [_root_of_hashes(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [_root_of_hashes(hashes[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `index` in the tree of `size` leaves with `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is outside a tree of {size}")
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("the proof leads to a different root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`)."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency from size {old_size} to {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself the first node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the trees are deep")
    if fr != old_root:
        raise ProofError("the proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("the proof does not lead to the new root")
