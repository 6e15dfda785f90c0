//! RFC 9162 §2.1 Merkle tree hashing and proofs as plain functions over plain data.
//!
//! A log stores the hash of every complete, aligned subtree (`Node { level, index }` covers leaves
//! `index·2^level .. (index+1)·2^level`). Every subtree that the RFC's MTH, PATH and PROOF recursions touch is
//! either such a node or the right edge of the tree, which splits again into nodes; so a proof is first planned
//! as ranges ([`inclusion_ranges`], [`consistency_ranges`]), the nodes those ranges need are fetched in one
//! query ([`nodes_of`]), and the hashes are assembled ([`range_hash`]). Nothing is ever recomputed from all leaves.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A complete aligned subtree: leaves `index << level .. (index + 1) << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub level: u8,
    pub index: u64,
}

/// Leaves `start .. end` (end exclusive), as the RFC writes D[start:end].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// The largest power of two smaller than `n` (n ≥ 2), the RFC's split point k.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The nodes a range's MTH is made of, left to right (a range of a proof is always aligned to its split points).
pub fn range_nodes(r: Range, out: &mut Vec<Node>) {
    let len = r.end - r.start;
    if len.is_power_of_two() && r.start.is_multiple_of(len) {
        out.push(Node { level: len.trailing_zeros() as u8, index: r.start >> len.trailing_zeros() });
    } else {
        let k = split(len);
        range_nodes(Range { start: r.start, end: r.start + k }, out);
        range_nodes(Range { start: r.start + k, end: r.end }, out);
    }
}

/// Every node the ranges need, deduplicated.
pub fn nodes_of(ranges: &[Range]) -> Vec<Node> {
    let mut out = Vec::new();
    for r in ranges {
        range_nodes(*r, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// MTH(D[start:end]) from stored nodes; `None` when a node is missing.
pub fn range_hash(r: Range, nodes: &HashMap<Node, Hash>) -> Option<Hash> {
    let len = r.end - r.start;
    if len.is_power_of_two() && r.start.is_multiple_of(len) {
        nodes.get(&Node { level: len.trailing_zeros() as u8, index: r.start >> len.trailing_zeros() }).copied()
    } else {
        let k = split(len);
        let left = range_hash(Range { start: r.start, end: r.start + k }, nodes)?;
        let right = range_hash(Range { start: r.start + k, end: r.end }, nodes)?;
        Some(node_hash(&left, &right))
    }
}

/// The ranges whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), in proof order.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<Range> {
    fn path(m: u64, start: u64, end: u64, out: &mut Vec<Range>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            path(m, start, start + k, out);
            out.push(Range { start: start + k, end });
        } else {
            path(m - k, start + k, end, out);
            out.push(Range { start, end: start + k });
        }
    }
    let mut out = Vec::new();
    if index < size {
        path(index, 0, size, &mut out);
    }
    out
}

/// The ranges whose hashes form PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1), in proof order; empty when
/// `first == second` or `first == 0`.
pub fn consistency_ranges(first: u64, second: u64) -> Vec<Range> {
    fn subproof(m: u64, start: u64, end: u64, whole: bool, out: &mut Vec<Range>) {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(Range { start, end });
            }
            return;
        }
        let k = split(n);
        if m <= k {
            subproof(m, start, start + k, whole, out);
            out.push(Range { start: start + k, end });
        } else {
            subproof(m - k, start + k, end, false, out);
            out.push(Range { start, end: start + k });
        }
    }
    let mut out = Vec::new();
    if first > 0 && first < second {
        subproof(first, 0, second, true, &mut out);
    }
    out
}

/// The nodes completed by appending leaf `index` (level 0 first), given the leaf's hash and the left siblings
/// it completes (as [`left_siblings`] lists them).
pub fn completed_nodes(index: u64, leaf: Hash, left: &HashMap<Node, Hash>) -> Option<Vec<(Node, Hash)>> {
    let mut out = vec![(Node { level: 0, index }, leaf)];
    let (mut level, mut i, mut h) = (0u8, index, leaf);
    while i & 1 == 1 {
        let sibling = left.get(&Node { level, index: i - 1 })?;
        h = node_hash(sibling, &h);
        level += 1;
        i >>= 1;
        out.push((Node { level, index: i }, h));
    }
    Some(out)
}

/// The stored nodes appending leaf `index` combines with.
pub fn left_siblings(index: u64) -> Vec<Node> {
    let mut out = Vec::new();
    let (mut level, mut i) = (0u8, index);
    while i & 1 == 1 {
        out.push(Node { level, index: i - 1 });
        level += 1;
        i >>= 1;
    }
    out
}

/// The nodes of the root of a tree of `size` leaves.
pub fn root_nodes(size: u64) -> Vec<Node> {
    if size == 0 { Vec::new() } else { nodes_of(&[Range { start: 0, end: size }]) }
}

/// MTH(D[0:size]).
pub fn root(size: u64, nodes: &HashMap<Node, Hash>) -> Option<Hash> {
    if size == 0 { Some(empty_root()) } else { range_hash(Range { start: 0, end: size }, nodes) }
}

/// Every node of a list of leaf hashes (tests, the benchmark's bare reference, rebuilding).
pub fn all_nodes(leaves: &[Hash]) -> HashMap<Node, Hash> {
    let mut map = HashMap::new();
    for (i, leaf) in leaves.iter().enumerate() {
        let done = completed_nodes(i as u64, *leaf, &map).unwrap_or_default();
        map.extend(done);
    }
    map
}

/// RFC 9162 §2.1.3.2: does `proof` show the leaf hash at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree of `first` leaves with `first_root` is a prefix of the tree of
/// `second` leaves with `second_root`?
pub fn verify_consistency(first: u64, second: u64, first_root: &Hash, second_root: &Hash, proof: &[Hash]) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    fr == *first_root && sr == *second_root && s_n == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // The leaves and known answers of transparency-dev/merkle `testonly/reference_test.go` (RFC 6962 = RFC 9162
    // hashing), the vectors Certificate Transparency implementations are checked against.
    const LEAVES: &[&str] =
        &["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
    const ROOTS: &[&str] = &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const INCLUSION: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (0, 2, &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
        (1, 2, &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (1, 5, &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
        (0, 8, &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (5, 8, &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
    ];
    const CONSISTENCY: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (1, 8, &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (2, 5, &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
        (6, 8, &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
    ];

    fn leaves() -> Vec<Hash> {
        LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())).collect()
    }

    fn hexes(list: &[Hash]) -> Vec<String> {
        list.iter().map(hex::encode).collect()
    }

    fn hashes(ranges: &[Range], nodes: &HashMap<Node, Hash>) -> Vec<Hash> {
        ranges.iter().map(|r| range_hash(*r, nodes).unwrap()).collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        for (i, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(i as u64 + 1, &nodes).unwrap()), *want, "size {}", i + 1);
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference_vectors_and_verify() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        for (index, size, want) in INCLUSION {
            let proof = hashes(&inclusion_ranges(*index, *size), &nodes);
            assert_eq!(hexes(&proof), want.to_vec(), "index {index} size {size}");
            let r = root(*size, &nodes).unwrap();
            assert!(verify_inclusion(*index, *size, &leaves[*index as usize], &proof, &r));
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference_vectors_and_verify() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        for (first, second, want) in CONSISTENCY {
            let proof = hashes(&consistency_ranges(*first, *second), &nodes);
            assert_eq!(hexes(&proof), want.to_vec(), "{first} → {second}");
            let (a, b) = (root(*first, &nodes).unwrap(), root(*second, &nodes).unwrap());
            assert!(verify_consistency(*first, *second, &a, &b, &proof));
        }
    }

    /// Every proof of every pair of sizes up to 40 verifies, and one flipped bit, a wrong index or a wrong size
    /// makes it fail.
    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        let leaves: Vec<Hash> = (0..40u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let nodes = all_nodes(&leaves);
        for size in 1..=40u64 {
            let r = root(size, &nodes).unwrap();
            for index in 0..size {
                let proof = hashes(&inclusion_ranges(index, size), &nodes);
                assert!(verify_inclusion(index, size, &leaves[index as usize], &proof, &r), "{index}/{size}");
                if size < 40 {
                    let bigger = root(size + 1, &nodes).unwrap();
                    assert!(!verify_inclusion(index, size + 1, &leaves[index as usize], &proof, &bigger));
                }
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(!verify_inclusion(other, size, &leaves[index as usize], &proof, &r));
                    let mut bad = proof.clone();
                    bad[0][7] ^= 1;
                    assert!(!verify_inclusion(index, size, &leaves[index as usize], &bad, &r));
                }
            }
            for first in 1..=size {
                let a = root(first, &nodes).unwrap();
                let proof = hashes(&consistency_ranges(first, size), &nodes);
                assert!(verify_consistency(first, size, &a, &r, &proof), "{first} → {size}");
                if first < size {
                    let mut bad = proof.clone();
                    let last = bad.len() - 1;
                    bad[last][0] ^= 0x80;
                    assert!(!verify_consistency(first, size, &a, &r, &bad));
                    assert!(!verify_consistency(first, size, &r, &a, &proof));
                }
            }
        }
    }

    #[test]
    fn appending_stores_exactly_the_completed_subtrees() {
        assert_eq!(left_siblings(0), vec![]);
        assert_eq!(left_siblings(3), vec![Node { level: 0, index: 2 }, Node { level: 1, index: 0 }]);
        let leaves: Vec<Hash> = (0..9u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let nodes = all_nodes(&leaves);
        // 9 leaves + 4 + 2 + 1 parents.
        assert_eq!(nodes.len(), 16);
        assert_eq!(root_nodes(9), vec![Node { level: 0, index: 8 }, Node { level: 3, index: 0 }]);
    }
}
