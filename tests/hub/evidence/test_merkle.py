"""RFC 6962 hashing against the RFC's own published vectors, and proofs that verify exactly when they should."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.evidence.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_head,
    verify_consistency,
    verify_inclusion,
)

# The leaves and roots of the certificate-transparency reference tests (RFC 6962's test data).
CT_LEAVES = [bytes.fromhex(text) for text in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert tree_head([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" == EMPTY_ROOT.hex()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference_vectors(size: int) -> None:
    assert tree_head(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_a_three_leaf_tree_splits_two_and_one() -> None:
    a, b, c = (leaf_hash(data) for data in (b"a", b"b", b"c"))
    assert tree_head([b"a", b"b", b"c"]) == node_hash(node_hash(a, b), c)
    assert leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()


def test_reference_inclusion_and_consistency_proofs() -> None:
    root = tree_head(CT_LEAVES)
    # Leaf 0 of 8: its sibling, then the right-hand subtrees of sizes 2 and 4.
    assert inclusion_proof(CT_LEAVES, 0)[0] == leaf_hash(CT_LEAVES[1])
    for index, leaf in enumerate(CT_LEAVES):
        verify_inclusion(leaf, index, 8, inclusion_proof(CT_LEAVES, index), root)
    # PROOF(4, D[8]) is the single right subtree; PROOF(1, D[8]) needs three nodes (RFC 6962 §2.1.3 examples).
    assert consistency_proof(CT_LEAVES, 4) == [tree_head(CT_LEAVES[4:])]
    assert len(consistency_proof(CT_LEAVES, 1)) == 3
    assert len(consistency_proof(CT_LEAVES, 6)) == 3


@settings(max_examples=200)
@given(leaves=leaf_lists, data=st.data())
def test_every_inclusion_proof_verifies_and_an_altered_one_fails(leaves: list[bytes], data: st.DataObject) -> None:
    root, size = tree_head(leaves), len(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(leaves, index)
    verify_inclusion(leaves[index], index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index] + b"!", index, size, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        altered = list(proof)
        altered[position] = bytes([altered[position][0] ^ 1]) + altered[position][1:]
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, altered, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)


@settings(max_examples=200)
@given(leaves=leaf_lists, data=st.data())
def test_every_consistency_proof_verifies_and_an_altered_one_fails(leaves: list[bytes], data: st.DataObject) -> None:
    new_size = len(leaves)
    old_size = data.draw(st.integers(1, new_size))
    old_root, new_root = tree_head(leaves[:old_size]), tree_head(leaves)
    proof = consistency_proof(leaves, old_size)
    verify_consistency(old_size, new_size, old_root, new_root, proof)
    if old_size == new_size:
        assert proof == []
        return
    position = data.draw(st.integers(0, len(proof) - 1))
    altered = list(proof)
    altered[position] = bytes([altered[position][0] ^ 1]) + altered[position][1:]
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, old_root, new_root, altered)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, old_root, new_root, proof[:-1])
    forked = leaves[:old_size - 1] + [leaves[old_size - 1] + b"x"]
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, tree_head(forked), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, old_root, tree_head(leaves[:-1] + [leaves[-1] + b"x"]), proof)
